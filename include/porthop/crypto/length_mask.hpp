// The mask over a hop-link record's length on TCP (docs/PROTOCOL.md, "TCP framing"). An agent's
// TCP connection carries each hop-link v2 frame as one record: a u16 length, then the frame,
// which starts with its own 8-byte random salt. The length goes out XORed with the first two
// bytes (big-endian) of
//
//   ChaCha20-IETF(key = the mask subkey, nonce = salt || (0x10 | direction) || 00 00 00, block 0)
//
// so the record's first bytes read as random like the rest, yet a reader can unmask the length
// as soon as the 10 bytes of length and salt are in: no state carried from record to record,
// nothing to lose sync on. The nonce's ninth byte (0x11 agent -> server, 0x12 server -> agent)
// keeps this keystream apart from the frame's own (crypto/frame_mask.hpp, 0x01/0x02), so the
// two bytes say nothing about the frame's masked header, and from the other direction's.
//
// Like the frame mask it hides and does not authenticate: a wrong length makes the reader
// split the stream wrongly, the frames it then cuts out fail to open, and the connection ends
// (a length out of range closes it at once).
//
// A small value (the key copied, 33 bytes): a stream keeps its own, so a reload that changes
// the codec leaves no dangling reference. One ChaCha20 block per record.
#pragma once

#include <cstdint>
#include <span>

#include "porthop/crypto/frame_mask.hpp"
#include "porthop/crypto/hop_key.hpp"

namespace porthop::crypto {

class LengthMask {
public:
    // `direction`: which way the records it masks travel.
    LengthMask(const HopKey& mask_key, MaskDirection direction) noexcept;

    // The 16-bit mask for the record whose frame starts with `salt`.
    std::uint16_t operator()(std::span<const std::byte, kMaskSaltSize> salt) const noexcept;

    // The nonce's ninth byte for `direction` (documented in PROTOCOL.md; tests check it).
    static constexpr std::uint8_t domain(MaskDirection direction) noexcept {
        return static_cast<std::uint8_t>(0x10 | static_cast<std::uint8_t>(direction));
    }

private:
    HopKey key_;
    std::uint8_t domain_;
};

}  // namespace porthop::crypto
