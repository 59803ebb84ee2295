#include "porthop/crypto/length_mask.hpp"

#include <sodium.h>

#include <array>
#include <cstring>

#include "sodium_bytes.hpp"

namespace porthop::crypto {

LengthMask::LengthMask(const HopKey& mask_key, MaskDirection direction) noexcept
    : key_(mask_key), domain_(domain(direction)) {}

std::uint16_t LengthMask::operator()(std::span<const std::byte, kMaskSaltSize> salt) const noexcept {
    std::array<std::byte, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};  // the last 3 bytes stay zero
    std::memcpy(nonce.data(), salt.data(), kMaskSaltSize);
    nonce[kMaskSaltSize] = static_cast<std::byte>(domain_);
    std::array<std::byte, 2> stream{};
    crypto_stream_chacha20_ietf(u8(stream.data()), stream.size(), u8(nonce.data()), u8(key_.data()));
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(stream[0]) << 8) | std::to_integer<unsigned>(stream[1]));
}

}  // namespace porthop::crypto
