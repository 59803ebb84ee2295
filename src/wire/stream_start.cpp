#include "porthop/wire/stream_start.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace porthop::wire {

namespace {

constexpr std::byte kHandshake{0x16};
constexpr std::byte kMajor3{0x03};
// Record versions 0x0300 (SSL 3.0) to 0x0304. Clients write 0x0301 in the first record for
// compatibility (RFC 8446 5.1, OpenSSL, browsers), a few 0x0303; OpenSSL's record layer takes
// any 0x03xx on a first ClientHello, and this range is what a real TLS stack could send.
constexpr std::uint8_t kMaxMinor = 0x04;

// Answers for a prefix of a TLS record header. Each byte either rules TLS out or keeps it
// possible; the length is in range for every second byte once the first one is 0x01..0x40.
StreamStart sniff_tls(std::span<const std::byte> p) noexcept {
    if (p.size() < 2) return StreamStart::need_more;
    if (p[1] != kMajor3) return StreamStart::other;
    if (p.size() < 3) return StreamStart::need_more;
    if (std::to_integer<std::uint8_t>(p[2]) > kMaxMinor) return StreamStart::other;
    if (p.size() < 4) return StreamStart::need_more;
    const std::size_t high = std::to_integer<std::size_t>(p[3]);
    constexpr std::size_t kMaxHigh = kTlsMaxRecordLength >> 8;  // 0x41
    if (high > kMaxHigh) return StreamStart::other;
    // 0x01..0x40: 256..16639 whatever the low byte is. 0x00 needs a low byte >= 1 (a
    // zero-length handshake record is forbidden, RFC 8446 5.1); 0x41 needs a low byte of 0.
    if (high != 0 && high != kMaxHigh) return StreamStart::tls_handshake;
    if (p.size() < kTlsRecordHeaderSize) return StreamStart::need_more;
    const std::size_t length = high << 8 | std::to_integer<std::size_t>(p[4]);
    return length >= 1 && length <= kTlsMaxRecordLength ? StreamStart::tls_handshake : StreamStart::other;
}

// The request-line starts taken as HTTP. Method tokens carry their space, so "GETX" is not a
// GET; none of these is a prefix of another, so at most one can match a given input. The h2
// preface's first line stands in for the preface (a client that sends it sends the rest).
constexpr std::array<std::string_view, 10> kRequestStarts{
    "GET ",   "HEAD ",    "POST ",    "PUT ",   "DELETE ",
    "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PRI * HTTP/2.0",
};

bool starts_like(std::span<const std::byte> p, std::string_view start, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        if (std::to_integer<char>(p[i]) != start[i]) return false;
    return true;
}

StreamStart sniff_http(std::span<const std::byte> p) noexcept {
    bool could_be = false;
    for (const std::string_view start : kRequestStarts) {
        const std::size_t n = std::min(p.size(), start.size());
        if (!starts_like(p, start, n)) continue;
        if (n == start.size()) return StreamStart::http_request;
        could_be = true;  // a proper prefix: more bytes decide
    }
    return could_be ? StreamStart::need_more : StreamStart::other;
}

}  // namespace

StreamStart sniff_stream_start(std::span<const std::byte> peeked) noexcept {
    if (peeked.empty()) return StreamStart::need_more;
    // A TLS record starts with 0x16, a method with an upper-case letter: never both.
    if (peeked[0] == kHandshake) return sniff_tls(peeked);
    return sniff_http(peeked);
}

}  // namespace porthop::wire
