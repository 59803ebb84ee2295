// The keystream that masks one hop-link v2 frame (hop/frame_codec_v2.hpp). A v2 frame starts with an 8-byte
// salt in clear, chosen at random per frame; the bytes after it are XORed with
//
//   ChaCha20-IETF(key = the mask subkey, nonce = salt || direction || 00 00 00, block counter from 0)
//
// The direction byte (0x01 agent -> server, 0x02 server -> agent) keeps the two directions
// apart: a salt drawn by the agent and the same salt drawn by the server give two different
// keystreams, so the XOR of two frames never reveals the XOR of their plaintexts across
// directions. (The building-block vectors in docs/PROTOCOL.md use direction byte 0, which no
// frame uses.)
//
// (libsodium's crypto_stream_chacha20_ietf; the mask subkey is HopKeys::mask, id 3). Without
// the key the masked bytes look random, so a DPI box finds no hop-link header and none of the
// VPN's own header bytes (WireGuard's type byte and zeros, OpenVPN's opcode). The mask hides;
// it does not authenticate: a flipped bit in a masked frame flips the same bit of the frame.
//
// This runs once per frame on the server's and the agent's per-packet path, so:
//   - no allocation, no exception, no system call; the object lives on the stack;
//   - the first 64-byte block is computed once, at construction: the light mode masks only the
//     frame's header and the first bytes of its payload, so most frames cost one ChaCha20
//     block and a 64-byte XOR;
//   - longer spans (the full mode masks everything) go through libsodium's vectorised
//     crypto_stream_chacha20_ietf_xor_ic one run of whole blocks at a time, never byte by byte.
//
// One MaskStream is one position in one frame's keystream. apply() and skip() consume it in
// order, so a frame whose header sits in a SendItem's head storage and whose payload sits in
// the receive buffer is masked by apply(head) then apply(payload), with the same result as
// one apply() over the two laid end to end; unmasking is the same calls again. There is no
// rewind, but a MaskStream is a small value (128 bytes) and copies are independent: a copy
// taken before apply() undoes it when applied over the same bytes, without computing a block
// again. That is how an open() that unmasks a header to look at it can give back the bytes of
// a frame it then refuses unchanged (hop/frame_codec.hpp's rule for formats that mask).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "porthop/crypto/hop_key.hpp"

namespace porthop::crypto {

inline constexpr std::size_t kMaskSaltSize = 8;
inline constexpr std::size_t kMaskBlockSize = 64;  // one ChaCha20 block
// ChaCha20-IETF's block counter is 32 bits: one salt gives at most 2^32 blocks (256 GiB).
// Frames are at most 64 KiB; going past the end is a precondition violation, on which
// libsodium aborts the process (sodium_misuse) rather than repeat the keystream.
inline constexpr std::uint64_t kMaskStreamMax = std::uint64_t{kMaskBlockSize} << 32;

using MaskSalt = std::array<std::byte, kMaskSaltSize>;

// Byte 8 of the nonce. MaskDirection{0} is the building blocks' vector value only.
enum class MaskDirection : std::uint8_t {
    agent_to_server = 0x01,
    server_to_agent = 0x02,
};

class MaskStream {
public:
    // Copies the key (32 bytes: the stream never points at the caller's storage) and
    // computes block 0 for nonce = salt || direction || 00 00 00.
    MaskStream(const HopKey& mask_key, std::span<const std::byte, kMaskSaltSize> salt,
               MaskDirection direction) noexcept;

    // XORs the next data.size() bytes of the keystream over `data`, in place, and moves past
    // them. Any length, 0 included, starting at any position.
    void apply(std::span<std::byte> data) noexcept;

    // Moves past n bytes of keystream without using them (a part of the frame that is sent
    // in clear, or masked by another rule). Computes nothing: the next apply() computes the
    // block it lands in if it needs it, so a skip costs at most one block, whatever n.
    void skip(std::size_t n) noexcept;

    // Bytes of keystream consumed so far (applied or skipped).
    std::uint64_t position() const noexcept { return position_; }

private:
    // Makes block_ hold keystream block `index`.
    void load_block(std::uint64_t index) noexcept;

    HopKey key_;
    std::array<std::byte, 12> nonce_{};  // salt || direction || 3 zero bytes
    // Keystream block number block_index_. position_ lies in it (or at its end) whenever it is
    // valid; skip() past its end leaves it stale, and apply() reloads it when needed.
    std::array<std::byte, kMaskBlockSize> block_;
    std::uint64_t block_index_ = 0;
    std::uint64_t position_ = 0;
};

}  // namespace porthop::crypto
