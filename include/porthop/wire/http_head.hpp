// A small, strict HTTP/1.x request-head parser for the relay's built-in decoy site (issue 15):
// a prober that reaches the site must get the reactions nginx would give, so `bad` means
// "nginx would answer 400 here", and it is reported at the first byte that makes the head bad,
// as nginx's incremental parser does (garbage gets its 400 at once, not after a timeout).
//
// Pure, no allocation (the views point into the input), safe on any input. Call it again on
// the whole buffer when more bytes arrive. Monotone: a prefix that is `bad` stays bad for
// every longer input, and a prefix that is `complete` gives the same head for every longer
// input (what follows the head is the next request or a body, never read here).
//
// What is accepted, and where it differs from nginx 1.22:
//   - Request line: method SP+ target SP+ "HTTP/1.0" or "HTTP/1.1" SP* line-end.
//     method: [A-Z_-]+ (nginx's rule; any such token, the site decides 405).
//     target: "/..." or an absolute URI "scheme://..." (letter, then [A-Za-z0-9+.-]*); then any
//     byte but a control character, space or DEL. nginx refuses "*" and "host:port" too.
//     Runs of spaces between the parts and before the line end are tolerated, as by nginx.
//     Refused: control characters, a missing version ("GET /": HTTP/0.9, which nginx still
//     serves), and any version but 1.0 and 1.1 (nginx serves 1.2-1.99 as 1.x, and answers 2.x
//     with 505).
//   - Line ends: CRLF or a bare LF (nginx takes both, and so do `printf ... | nc` probes); a CR
//     not followed by LF is bad. Empty lines before the request line are skipped (nginx does,
//     RFC 9112 2.2), and counted in head_length.
//   - Header lines: name ":" OWS value OWS line-end. A name is any bytes but controls, space,
//     DEL and ":"; nginx ignores lines whose name has bytes outside [A-Za-z0-9-], and so does
//     this parser (it only reads Host and Connection). Refused: a line without a colon (nginx
//     takes it as a header with an empty value: a difference a prober could see), an empty
//     name, a space or control in the name, obs-fold (a line starting with SP or HT), a NUL in
//     the value (nginx refuses it too). Other control characters in a value pass, as in nginx.
//   - Host: a second Host line, or HTTP/1.1 without one, is bad (nginx: 400). Its value is bad
//     if its host part (before a port, or a [literal]) is empty, or it has "/", ".." or a
//     control character (nginx's ngx_http_validate_host).
//   - Connection: comma-separated tokens, case-insensitive; "close" wins over "keep-alive".
//     keep_alive is HTTP/1.1's default (true) or HTTP/1.0's (false), then those tokens. (nginx
//     searches the value for the substrings, so it also closes on "closed"; no client sends it.)
//   - Size: a head longer than kMaxRequestHead (8 KiB) is bad. nginx's default
//     large_client_header_buffers is "4 8k": a request line or a header line over 8 KiB gets
//     414 or 400, a whole head up to 32 KiB passes; 8 KiB for the whole head keeps the
//     built-in site's buffer small, and no browser request comes near it.
//
// Bodies (Content-Length, Transfer-Encoding) are not read: the caller decides what follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace porthop::wire {

inline constexpr std::size_t kMaxRequestHead = 8192;

enum class HttpHeadStatus : std::uint8_t { need_more, complete, bad };

enum class HttpVersion : std::uint8_t { none, http_1_0, http_1_1 };

// Why a head is bad (for logs and tests; the answer is 400 either way).
enum class HttpHeadError : std::uint8_t {
    none,
    too_long,         // no end of head within kMaxRequestHead bytes
    method,           // empty, or a byte outside [A-Z_-]
    target,           // empty, not "/" or "scheme://", or a control byte
    version,          // missing, not "HTTP/", or not 1.0 / 1.1
    line_end,         // a CR not followed by LF, or bytes after the version
    header_name,      // empty, a space or a control byte in it, or no colon
    header_value,     // a NUL
    obs_fold,         // a header line starting with SP or HT
    host_missing,     // HTTP/1.1 without Host
    host_duplicate,   // two Host lines
    host_invalid,     // empty host part, "/", "..", a control byte
};

struct HttpHead {
    HttpHeadStatus status = HttpHeadStatus::need_more;
    HttpHeadError error = HttpHeadError::none;
    // The fields below are set only when status == complete.
    std::string_view method;
    std::string_view target;
    HttpVersion version = HttpVersion::none;
    std::string_view host;  // the Host value without surrounding whitespace; empty if absent
    bool keep_alive = false;
    std::size_t head_length = 0;  // bytes up to and including the empty line's LF
};

HttpHead parse_request_head(std::span<const std::byte> input) noexcept;

}  // namespace porthop::wire
