// What the relay's built-in web site answers (issue 15): the exact bytes Debian's nginx 1.22.1
// sends, in Debian's default configuration (one static page, server_tokens on), to the same
// request, so that a prober on TCP 443 cannot tell the built-in site from a stock nginx.
// tests/vectors/http/ holds nginx's own answers, captured by make_http_vectors.sh, and the unit
// test compares every byte with them; the rules below are what those captures show.
//
// Pure: no clock (the caller passes the time for the Date header), no I/O. It allocates the
// answer, which is fine off the per-packet path (a prober's connection, not a tunnel's).
//
// The site (builtin_site_response):
//   - "/" and "/index.html" (after nginx's URI normalization: query and fragment cut off,
//     percent-decoding, merged slashes, "." and ".." resolved; an absolute URI's path) are the
//     page: GET and HEAD get 200 with Last-Modified and ETag from the page's time and size;
//     any other method 405 (nginx's static module).
//   - Any other path: 404, whatever the method (Debian's try_files runs before the method check).
//   - TRACE and CONNECT: 405 and close, before any path is looked at.
//   - A target nginx refuses (".." above the root, a bad or NUL percent-escape, a bad host in
//     an absolute URI) or a head parse_request_head calls bad: 400 and close.
//   - too_long: 414 if the request line alone is over 8 KiB, else 400 "Request Header Or Cookie
//     Too Large" (nginx's answer to one header line over 8 KiB). A difference: nginx reads heads
//     of up to 32 KiB whose lines are each under 8 KiB and answers them normally; the parser
//     stops at 8 KiB.
//   - An HTTP major version above 1 ("HTTP/2.0", "HTTP/10.0"): 505, before the target is
//     looked at, as nginx refuses it at the version's digit.
//   - A field nginx takes once (If-Modified-Since, If-Unmodified-Since, If-Match, If-None-Match,
//     Content-Length, Content-Range, If-Range, Transfer-Encoding, Expect, Authorization) given
//     twice: 400 and close.
//   - Conditional GET/HEAD of the page (nginx's not_modified filter): 304 when If-None-Match
//     matches the ETag (weak comparison, a list, "*") and If-Modified-Since equals the page's
//     time exactly, for each one given; 412 for a failed If-Match (strong) or If-Unmodified-Since,
//     its Connection header as for a 200 but the connection closed. Dates: RFC 1123 only
//     (nginx also reads RFC 850 and asctime dates).
//   - Connection: keep-alive or close as HttpHead::keep_alive says for 200, 404 and 405 (an
//     HTTP/1.0 request closes unless it asks for keep-alive); every other answer closes.
//   - HEAD gets the headers alone, also on an error, once nginx has read the method "HEAD ".
//
// Not modelled: Range (nginx: 206 or 416), Accept-Encoding: gzip (Debian's `gzip on`: a
// chunked gzip body; upstream's default config has it off), Expect: 100-continue, and
// Content-Length / Transfer-Encoding values nginx refuses (400, 501). A request body (POST with
// Content-Length) is the caller's to read and drop, as nginx discards it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "porthop/wire/http_head.hpp"

namespace porthop::wire {

// The version nginx names in its Server header and error pages (server_tokens on).
inline constexpr std::string_view kNginxServer = "nginx/1.22.1";

// The one page the built-in site serves (as text/html).
struct SitePage {
    std::string_view body;
    // Its Last-Modified, and with body.size() its ETag ("<hex seconds>-<hex size>", as nginx
    // forms it from a file's mtime and size). Whole seconds since the epoch; later ones are cut.
    std::chrono::system_clock::time_point modified;
};

struct HttpResponse {
    std::uint16_t status = 0;  // 0: no answer (the head was need_more), bytes empty
    bool close = false;        // close the connection after the bytes (nginx's Connection: close)
    std::string bytes;         // status line, headers, body: all that nginx writes
};

// RFC 9110 IMF-fixdate, as nginx writes Date and Last-Modified: "Mon, 07 Dec 2026 04:56:32 GMT".
std::string format_http_date(std::chrono::system_clock::time_point t);

// The built-in site's answer to `head`, which parse_request_head made from `input` (the bytes
// received so far; only a bad head needs them: nginx's answer then depends on how far it read).
// `now` is the Date.
HttpResponse builtin_site_response(const HttpHead& head, std::span<const std::byte> input,
                                   const SitePage& page, std::chrono::system_clock::time_point now);

// nginx's answer to plain HTTP on an `ssl` listener (the relay's TLS port, for a client whose
// first byte nginx would not give to OpenSSL): 400 "The plain HTTP request was sent to HTTPS
// port" once the head is read, and close. A bad head, a target nginx refuses, TRACE and CONNECT
// get the same answers as on the site, since nginx refuses them before it looks at the port.
HttpResponse plain_http_on_tls_port(const HttpHead& head, std::span<const std::byte> input,
                                    std::chrono::system_clock::time_point now);

}  // namespace porthop::wire
