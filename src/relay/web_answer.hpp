// What TCP 443 shows whoever is not a porthop agent (issue 15): a web server. After the TLS
// handshake, a connection whose first bytes are not an attach goes either to the operator's
// decoy (a plain HTTP server, spliced both ways) or to the built-in site (wire/http_response:
// Debian's nginx 1.22.1 with its default site, byte for byte); plain HTTP on the TLS port gets
// nginx's 400 "The plain HTTP request was sent to HTTPS port".
//
// The built-in site behaves as that nginx does on the connection too, as probed against it
// (client_header_timeout, keepalive_timeout, lingering close, close_notify or not):
//   - Keep-alive: requests are answered one after another on the connection, pipelined ones
//     from the bytes already read. The first head must be complete by the caller's deadline;
//     between requests the connection may idle keepalive_timeout; a later head must be complete
//     header_timeout after its first byte (nginx replaces the keep-alive timer then).
//   - A request body with Content-Length is read and dropped after the answer (nginx discards
//     it; it waits 5 s per read for it, lingering_timeout, 30 s in all, lingering_time). A
//     chunked body is read and dropped chunk by chunk, as nginx does (its extensions and
//     trailers are skipped, not checked).
//     Content-Length with a value that is not a decimal number, or any Transfer-Encoding but
//     "chunked": nginx answers 400 / 501, wire::builtin_site_response does not model them;
//     here the answer it gives is sent and the connection closed (the body's end is unknown).
//   - A timeout with part of a head read ends the connection silently: TCP FIN, no TLS
//     close_notify (nginx's quiet SSL shutdown on a timed-out request). A timeout with nothing
//     of a request read (waiting for the first or the next one) sends close_notify first, as
//     nginx does there. A discarded body that stops arriving: silent, as a timeout.
//   - An answer that closes (Connection: close, 400, HTTP/1.0 ...): close_notify on TLS (sent,
//     not waited for), then, if the client's bytes are still unread, a lingering close (FIN,
//     what arrives read and dropped, 5 s per read and 30 s in all) so that the answer is not
//     destroyed by a reset; else the socket is closed at once.
//
// Not modelled (nginx's other per-connection limits): send_timeout is 60 s here too, but
// counted per answer, not per write; keepalive_requests (1000) and keepalive_time (1 h).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "porthop/net/endpoint.hpp"
#include "porthop/wire/http_response.hpp"

namespace porthop::relay {

// A connection answered like a web server; the worker keeps these to close them at stop.
class WebConnection {
public:
    virtual ~WebConnection() = default;
    // Idempotent. Closes the socket(s) at once (TLS: the lowest layer, no close_notify),
    // cancels the timers, and runs on_closed (within this call) unless it has run already.
    virtual void close() = 0;
};

struct WebOptions {
    std::optional<net::Endpoint> decoy;  // plain HTTP server to splice to; none: built-in site
    // The built-in site's page. Its body is a view: what it points to must outlive every
    // connection served with these options.
    wire::SitePage page;
    std::chrono::milliseconds header_timeout{std::chrono::seconds{60}};     // nginx client_header_timeout
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds{65}};  // Debian nginx.conf keepalive_timeout
    std::chrono::system_clock::time_point (*wall_clock)() = &std::chrono::system_clock::now;  // Date header
    std::function<void(const std::string&)> warn;  // operator warnings (decoy unreachable...), may be empty
    // How long the decoy gets to accept the connection; then the built-in site answers.
    std::chrono::milliseconds decoy_connect_timeout{std::chrono::seconds{10}};
};

enum class WebMode { site, plain_http_on_tls_port };

// Stream is boost::asio::ip::tcp::socket or boost::asio::ssl::stream<boost::asio::ip::tcp::socket>
// (already past its handshake); both are instantiated in web_answer.cpp. `preread`: bytes
// already read from the stream (copied). `deadline`: when the first request head must be
// complete (nginx counts client_header_timeout from the accept). `on_closed` runs exactly once
// when the connection is over (it releases the server's TCP slot). The connection owns itself
// through its pending handlers; the pointer returned is only for close().
template <class Stream>
std::shared_ptr<WebConnection> serve_site(Stream stream, std::span<const std::byte> preread, const WebOptions& options,
                                          WebMode mode, std::chrono::steady_clock::time_point deadline,
                                          std::function<void()> on_closed);

// Connects to options.decoy (bounded by decoy_connect_timeout), sends it `preread`, then copies
// both ways, one 16 KiB buffer per direction. The client's end of stream (FIN, close_notify)
// is passed on to the decoy as a half-close and the decoy's answer still relayed, for at most
// keepalive_timeout; the decoy's end (or an error on either side) ends the connection: what is
// being written is finished, then TLS close_notify to the client, and both sockets are closed.
// A decoy that cannot be reached (refused, timed out, options.decoy empty) is reported through
// options.warn, once per connection, and the connection served by the built-in site instead
// (serve_site in site mode with the same preread and a deadline header_timeout from then): a
// prober still sees a web server, never a connection that just closes.
template <class Stream>
std::shared_ptr<WebConnection> splice_to_decoy(Stream stream, std::span<const std::byte> preread,
                                               const WebOptions& options, std::function<void()> on_closed);

}  // namespace porthop::relay
