// What the first bytes of a new TCP connection to a relay port (443) are, read with MSG_PEEK
// before the connection is handed to any framing: a TLS handshake, an HTTP/1.x request, or
// something else. The caller routes on the answer (issue 15, notes/issue15-plan.md 1.1); a
// native OpenVPN/WireGuard u16-framed record and a porthop agent's masked record are both
// `other` here, because only the caller (with the policy and the key) can tell them apart.
//
// What nginx (the web server a prober compares the port with) does with the same bytes:
// it peeks at the first byte only. 0x16 (a TLS handshake record) or a set high bit (an SSLv2
// style hello) goes to OpenSSL, which answers a malformed record with an alert or a close;
// anything else is parsed as HTTP, and the connection gets a 400: "The plain HTTP request was
// sent to HTTPS port" for a request that parses, a plain "400 Bad Request" at the first byte
// that cannot be HTTP. `nginx_starts_tls` is that first-byte rule, for the caller's web
// reaction on `other`.
//
//   tls_handshake  16 03 0v LL LL with v in 00..04 and 1 <= LL LL <= 16384 + 256.
//                  nginx: OpenSSL handshakes.
//   http_request   a common method and a space ("GET ", "POST ", ...) or the h2 preface
//                  "PRI * HTTP/2.0". nginx: the HTTP parser; on a TLS port, 400 "plain HTTP
//                  request was sent to HTTPS port" once the head is complete.
//   other          nginx: OpenSSL if nginx_starts_tls(first byte) (an alert or a close), else
//                  the HTTP parser (400 at the first byte that cannot be HTTP, or a wait for
//                  more if the bytes still read as an unknown method such as "FOO").
//
// Pure, no allocation, safe on any input. Monotone: once a prefix gets an answer other than
// need_more, every longer input starting with it gets the same answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace porthop::wire {

enum class StreamStart : std::uint8_t {
    need_more,      // a prefix of a TLS record header or of a request line start: peek again
    tls_handshake,  // a TLS handshake record header (a ClientHello, in practice)
    http_request,   // the start of an HTTP/1.x request line, or the HTTP/2 preface
    other,          // neither: random bytes, a native VPN record, an agent's masked record
};

// TLS record header: type (1), version (2), length (2).
inline constexpr std::size_t kTlsRecordHeaderSize = 5;
// A record's length field is at most 2^14 + 256 (RFC 8446 5.2, TLSCiphertext, the largest any
// TLS version allows a 1.3 peer to send); a plaintext ClientHello record is at most 2^14, so
// this bound refuses nothing a real client sends.
inline constexpr std::size_t kTlsMaxRecordLength = 16384 + 256;
// The longest prefix sniff_stream_start needs: "PRI * HTTP/2.0" (14 bytes). From this many
// bytes on, the answer is never need_more, so a peek buffer of this size always decides.
inline constexpr std::size_t kStreamStartDecisive = 14;

// Classifies the first bytes of a stream, deciding from as few bytes as it can: a first byte
// that starts neither a TLS record nor any method is `other` at once; a TLS header is known at
// 4 bytes when the length's high byte alone proves the length in range, else at 5.
StreamStart sniff_stream_start(std::span<const std::byte> peeked) noexcept;

// nginx's first-byte test on an ssl port (ngx_http_ssl_handshake): true if OpenSSL gets the
// connection (0x16 or the high bit set), false if nginx parses it as plain HTTP.
constexpr bool nginx_starts_tls(std::byte first) noexcept {
    return first == std::byte{0x16} || (first & std::byte{0x80}) != std::byte{0};
}

}  // namespace porthop::wire
