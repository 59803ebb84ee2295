#include "porthop/crypto/stream_random.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "porthop/crypto/hop_key.hpp"
#include "sodium_bytes.hpp"

namespace porthop::crypto {

static_assert(StreamRandom::kSeedSize == crypto_stream_chacha20_ietf_KEYBYTES);
static_assert(crypto_stream_chacha20_ietf_NONCEBYTES == 12);
static_assert(StreamRandom::kRefillSize % 64 ==
              0);  // whole blocks: refill k + 1 starts at block 0 of nonce k + 1

StreamRandom::StreamRandom(std::span<const std::byte, kSeedSize> seed) noexcept {
    std::memcpy(key_.data(), seed.data(), kSeedSize);
}

StreamRandom StreamRandom::from_os() {
    if (!init_sodium()) throw std::runtime_error("libsodium cannot initialise (no randomness source?)");
    std::array<std::byte, kSeedSize> seed;
    randombytes_buf(seed.data(), seed.size());
    StreamRandom random(seed);
    sodium_memzero(seed.data(), seed.size());
    return random;
}

void StreamRandom::refill_into(std::span<std::byte, kRefillSize> out) noexcept {
    crypto_stream_chacha20_ietf(u8(out.data()), out.size(), u8(nonce_.data()), u8(key_.data()));
    for (std::byte& b : nonce_) {  // k + 1, little-endian, carry upwards
        b = static_cast<std::byte>(std::to_integer<unsigned>(b) + 1);
        if (b != std::byte{0}) break;
    }
}

void StreamRandom::fill(std::span<std::byte> out) noexcept {
    while (!out.empty()) {
        if (used_ == kRefillSize) {
            // A whole refill that the caller takes entirely goes straight into its buffer: the
            // same bytes, without the copy (long padding).
            if (out.size() >= kRefillSize) {
                refill_into(out.first<kRefillSize>());
                out = out.subspan(kRefillSize);
                continue;
            }
            refill_into(buffer_);
            used_ = 0;
        }
        const std::size_t n = std::min(out.size(), kRefillSize - used_);
        std::memcpy(out.data(), buffer_.data() + used_, n);
        used_ += n;
        out = out.subspan(n);
    }
}

std::uint32_t StreamRandom::next_u32() noexcept {
    std::array<std::byte, 4> b;
    fill(b);
    return std::to_integer<std::uint32_t>(b[0]) | std::to_integer<std::uint32_t>(b[1]) << 8 |
           std::to_integer<std::uint32_t>(b[2]) << 16 | std::to_integer<std::uint32_t>(b[3]) << 24;
}

std::uint32_t StreamRandom::uniform(std::uint32_t bound) noexcept {
    if (bound == 0) return 0;
    // 2^32 mod bound, in 32-bit arithmetic: (2^32 - bound) mod bound.
    const std::uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        const std::uint32_t r = next_u32();
        if (r >= threshold) return r % bound;
    }
}

}  // namespace porthop::crypto
