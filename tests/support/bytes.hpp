// Byte builders for tests: one way to write a datagram, a frame or a key in a test.
//
//   bytes({0x01, 0x02})        exactly these bytes
//   bytes({0x01, 0x02}, 148)   these first, zeros up to 148 bytes (a message of a fixed size)
//   bytes("hello")             the characters of a string
//   bytes(span)                a copy (of a std::array, a span, a part of a buffer)
//   hex("0a0b")                from hex digits (test vectors, captured packets)
//   hex_array<8>("0a0b...")    the same into a fixed size (a key, a salt, a seed); throws
//                              unless the digits are exactly that many bytes
//   to_hex(span)               back to lower-case hex, for comparing with a vector's text
//   pattern(n, seed)           n bytes that differ with the seed and the position, so that a
//                              datagram delivered to the wrong place or shifted shows up
//   stream_frame(body)         body as one frame of the TCP stream framing (wire/framing.hpp:
//                              a 2-byte big-endian length, then the body)
//   concat({a, b, c})          the parts one after another (several frames in one read)
//
// Builders throw std::invalid_argument on bad input (a hex typo, too many bytes for a size):
// the test then fails with that message.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace porthop::test {

using Bytes = std::vector<std::byte>;

inline Bytes bytes(std::initializer_list<int> values) {
    Bytes out;
    out.reserve(values.size());
    for (int v : values) {
        if (v < 0 || v > 0xFF) throw std::invalid_argument("bytes(): value " + std::to_string(v) + " is not a byte");
        out.push_back(static_cast<std::byte>(v));
    }
    return out;
}

inline Bytes bytes(std::initializer_list<int> first, std::size_t size) {
    if (first.size() > size)
        throw std::invalid_argument("bytes(): " + std::to_string(first.size()) + " values do not fit in " +
                                    std::to_string(size) + " bytes");
    Bytes out = bytes(first);
    out.resize(size);
    return out;
}

inline Bytes bytes(std::string_view text) {
    Bytes out(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<std::byte>(text[i]);
    return out;
}

inline Bytes bytes(std::span<const std::byte> data) { return Bytes(data.begin(), data.end()); }

inline Bytes hex(std::string_view digits) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw std::invalid_argument(std::string("not a hex digit: ") + c);
    };
    if (digits.size() % 2 != 0) throw std::invalid_argument("odd number of hex digits");
    Bytes out(digits.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::byte>(nibble(digits[2 * i]) << 4 | nibble(digits[2 * i + 1]));
    return out;
}

template <std::size_t N>
std::array<std::byte, N> hex_array(std::string_view digits) {
    const Bytes b = hex(digits);
    if (b.size() != N)
        throw std::invalid_argument("hex_array(): " + std::to_string(b.size()) + " bytes, not " +
                                    std::to_string(N));
    std::array<std::byte, N> out{};
    std::copy(b.begin(), b.end(), out.begin());
    return out;
}

inline std::string to_hex(std::span<const std::byte> data) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * data.size());
    for (std::byte b : data) {
        s.push_back(kDigits[std::to_integer<int>(b) >> 4]);
        s.push_back(kDigits[std::to_integer<int>(b) & 0xF]);
    }
    return s;
}

// Byte i is (seed + i * step) mod 256. The default step, 31, is odd, so the bytes run through
// all 256 values before repeating.
inline Bytes pattern(std::size_t n, unsigned seed = 1, unsigned step = 31) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * step + seed) & 0xFF);
    return out;
}

// Bodies over 65535 bytes cannot be framed: throws, like the other builders' bad input.
inline Bytes stream_frame(std::span<const std::byte> body) {
    if (body.size() > 0xFFFF)
        throw std::invalid_argument("stream_frame(): " + std::to_string(body.size()) + " bytes do not fit");
    Bytes out{static_cast<std::byte>(body.size() >> 8), static_cast<std::byte>(body.size() & 0xFF)};
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace porthop::test
