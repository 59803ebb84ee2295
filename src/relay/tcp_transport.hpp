// The relay's TCP transport: the one file (tcp_transport.cpp) that knows a stream is a TCP
// socket. The server's accepted connections and the agent's outgoing one are set up there
// (TCP_NODELAY, a net::FramedStream over the socket) and leave it as a TcpConnection, a
// TcpIntake (TLS on the port: tcp_intake.hpp) or a net::FrameChannel; the rest of the relay
// sees only those.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "porthop/net/endpoint.hpp"
#include "porthop/net/framed_stream.hpp"
#include "porthop/relay/guard_tables.hpp"

namespace porthop::relay {

struct TcpListener;
struct TlsFront;
class StreamHost;

// What the accept loop needs of its worker (TcpHost implements it).
class AcceptHost {
public:
    // Whether a connection from `peer` may have a slot; `source` is set to its source key. A
    // refusal is counted; the connection is closed. `rate`: the source's handshake rate is
    // checked here too (without TLS); a TLS port's intake checks it only for a connection that
    // is a VPN's or an agent's (web clients open several connections at once, as browsers do).
    virtual bool admit_connection(const net::Endpoint& peer, std::optional<SourceKey>& source, bool rate) = 0;
    // The host of the connections it accepts, and the budget of their reply queues.
    virtual StreamHost& stream_host() noexcept = 0;
    virtual net::QueueBudget& stream_budget() noexcept = 0;
    virtual void connection_accepted() noexcept = 0;  // counts it
    // TLS on the TCP ports (null: none): each connection then starts in a TcpIntake.
    virtual std::shared_ptr<const TlsFront> tls_front() const noexcept = 0;
    virtual void accept_failed(const TcpListener& listener, const boost::system::error_code& ec) = 0;

protected:
    ~AcceptHost() = default;
};

// Accepts on `listener` until it is closed: each admitted connection becomes a TcpConnection
// and starts (its first frame decides what it is), or with TLS a TcpIntake (its first bytes
// decide: tcp_intake.hpp). A failed accept is reported and retried
// after 100 ms (out of descriptors, accept would otherwise fail at once, forever).
void accept_connections(const std::shared_ptr<TcpListener>& listener, AcceptHost& host);

// An outgoing connection being made (connect_stream); cancel() abandons it.
class OutgoingStream {
public:
    virtual ~OutgoingStream() = default;
    // Closes the socket; `done` is not called afterwards.
    virtual void cancel() noexcept = 0;
};

// TLS around an outgoing connection (the agent's TLS rung: docs/PROTOCOL.md, "TLS transport").
struct TlsClient {
    std::shared_ptr<boost::asio::ssl::context> context;  // net::make_client_context
    std::string name;  // SNI, and the name a CA-checked certificate must carry
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds{10}};
};

// Connects to `server` (and, with `tls`, completes a TLS handshake); then `done` gets a framed
// stream over the connection with `handler` and `limits` (not started: the caller starts it),
// or why not ("connect: Connection refused", "TLS: certificate has expired") and null. Runs once.
// A failure of the connect itself also has its error code (`connect_error`; for a TLS failure
// it is empty and the text starts "TLS: ").
using StreamConnected = std::function<void(const std::string& error, const boost::system::error_code& connect_error,
                                           std::unique_ptr<net::FrameChannel>)>;
std::shared_ptr<OutgoingStream> connect_stream(boost::asio::io_context& io,
                                               const boost::asio::ip::tcp::endpoint& server,
                                               net::FrameHandler& handler, net::FrameReader::Limits limits,
                                               net::QueueBudget& budget, StreamConnected done,
                                               const TlsClient* tls = nullptr);

}  // namespace porthop::relay
