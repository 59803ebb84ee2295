// 32 bytes in standard base64, the text form of a WireGuard key, a porthop key and an SPKI
// pin's hash: exactly 44 characters, 43 of the alphabet (A-Z a-z 0-9 + /) and one '='. The 43
// carry 258 bits, so the last 2 must be zero: every value has one text form, and texts can be
// compared. Private to the crypto layer; each caller words the error for its own kind of key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace porthop::crypto {

inline constexpr std::size_t kBase64Of32 = 44;

struct Base64Error {
    enum class Kind : std::uint8_t {
        length,      // not 44 characters
        padding,     // an '=' before the end (position), or no '=' at the end
        character,   // not in the alphabet (position)
        stray_bits,  // the last character before '=' has non-zero low bits
    };
    Kind kind = Kind::length;
    std::size_t position = 0;  // 1-based, for padding and character
    // Whether the text ends in '=': a caller may name a missing end first (a text shifted or
    // cut by one character shows there), whatever else is wrong.
    bool ends_in_padding = false;
};

std::optional<std::array<std::byte, 32>> decode_base64_32(std::string_view text, Base64Error& error) noexcept;

}  // namespace porthop::crypto
