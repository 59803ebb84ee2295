// A fast deterministic random generator for the per-frame choices of hop link v2: salts
// (crypto/frame_mask.hpp) and padding. The server
// and the agent draw several per datagram, so one draw must cost a memcpy from a buffer, not a
// system call (randombytes_buf is one getrandom per call where the kernel has it).
//
// Output: ChaCha20-IETF keystream under the 32-byte seed, kRefillSize bytes at a time; refill
// k (k = 0, 1, 2, ...) is the first kRefillSize bytes of the keystream with nonce = k as 12
// bytes little-endian and block counter 0. Every call takes the next bytes of that one
// sequence in order: fill() takes n bytes, next_u32() 4 bytes read little-endian, uniform()
// one or more next_u32(). tests/vectors/make_mask_vectors.py writes the same sequence from
// RFC 8439's description.
//
// The salts need to be unpredictable and, above all, not to repeat: two frames with one salt
// share a keystream, and the XOR of their masked bytes is the XOR of their plaintexts. So the
// seed comes from the operating system (from_os()) in the product; the seed-taking constructor
// is for tests, which need the same outputs every run. The 96-bit nonce counter never repeats
// (2^96 refills), unlike a 32-bit block counter.
//
// Pure: no clock, no allocation, no system call after from_os(). Not thread-safe: one per
// worker or event loop. Not copyable, since a copy would repeat its original's outputs; a
// moved-from generator must not be used again for the same reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace porthop::crypto {

class StreamRandom {
public:
    static constexpr std::size_t kSeedSize = 32;
    // Eight ChaCha20 blocks: libsodium's AVX2 code computes eight at once, and at an 8-byte
    // salt and a 4-byte padding draw per datagram one refill serves about forty datagrams.
    static constexpr std::size_t kRefillSize = 512;

    explicit StreamRandom(std::span<const std::byte, kSeedSize> seed) noexcept;
    // Seeded with randombytes_buf. Throws std::runtime_error if libsodium cannot initialise
    // (no randomness source), like generate_hop_key(); called at start-up, not per packet.
    static StreamRandom from_os();

    StreamRandom(const StreamRandom&) = delete;
    StreamRandom& operator=(const StreamRandom&) = delete;
    StreamRandom(StreamRandom&&) noexcept = default;
    StreamRandom& operator=(StreamRandom&&) noexcept = default;
    ~StreamRandom() = default;

    // The next out.size() bytes.
    void fill(std::span<std::byte> out) noexcept;
    // The next 4 bytes, little-endian.
    std::uint32_t next_u32() noexcept;
    // Uniform on [0, bound), without modulo bias: draws next_u32() until the value is at least
    // 2^32 mod bound (the values below it would make the low results more likely), then
    // returns it mod bound. Fewer than 2 draws on average for any bound; 1 draw for a power
    // of two. bound 0 returns 0 and draws nothing.
    std::uint32_t uniform(std::uint32_t bound) noexcept;

private:
    void refill_into(std::span<std::byte, kRefillSize> out) noexcept;  // the next refill

    std::array<std::byte, kSeedSize> key_;
    std::array<std::byte, 12> nonce_{};  // the next refill's number, 96 bits little-endian
    std::array<std::byte, kRefillSize> buffer_;
    std::size_t used_ = kRefillSize;  // bytes of buffer_ handed out; all of them: refill first
};

}  // namespace porthop::crypto
