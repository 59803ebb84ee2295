#include "base64_32.hpp"

#include <cstdint>

namespace porthop::crypto {

namespace {
int base64_digit(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}
}  // namespace

std::optional<std::array<std::byte, 32>> decode_base64_32(std::string_view text, Base64Error& error) noexcept {
    if (text.size() != kBase64Of32) {
        error = {Base64Error::Kind::length, 0, false};
        return std::nullopt;
    }
    const bool padded = text.back() == '=';
    std::array<std::byte, 32> out{};
    std::size_t n = 0;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i + 1 < kBase64Of32; ++i) {
        if (text[i] == '=') {
            error = {Base64Error::Kind::padding, i + 1, padded};
            return std::nullopt;
        }
        const int v = base64_digit(text[i]);
        if (v < 0) {
            error = {Base64Error::Kind::character, i + 1, padded};
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = static_cast<std::byte>((acc >> bits) & 0xFF);
        }
    }
    if (!padded) {
        error = {Base64Error::Kind::padding, kBase64Of32, false};
        return std::nullopt;
    }
    if ((acc & 0x3) != 0) {  // the 2 bits past the 32 bytes
        error = {Base64Error::Kind::stray_bits, 0, true};
        return std::nullopt;
    }
    return out;
}

}  // namespace porthop::crypto
