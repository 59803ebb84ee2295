// A TCP connection that holds one of the server's slots (max_tcp_connections, and its
// source's share) but serves nobody yet: a TcpConnection before its first frame decides what
// it is, or a connection on the TLS port still being sniffed, handshaken, judged or answered
// like a web server (tcp_intake.hpp). When every slot is taken, the server closes the one
// that waited longest to make room for a newcomer (Server::Impl::evict_pending_tcp), and at
// stop it closes them all: neither needs to know which kind it is.
//
// Private to the relay. One event loop.
#pragma once

#include "porthop/net/endpoint.hpp"
#include "porthop/relay/session.hpp"

namespace porthop::relay {

class PendingConnection {
public:
    virtual ~PendingConnection() = default;
    // Still serving nobody (evictable); false once it became a VPN's or an agent's path.
    virtual bool pending() const noexcept = 0;
    virtual bool closed() const noexcept = 0;
    // When it was accepted.
    virtual Session::Clock::time_point waiting_since() const noexcept = 0;
    // Whether the client has sent bytes this relay has not read yet: not a silent connection.
    virtual bool has_unread_input() const noexcept = 0;
    virtual const net::Endpoint& peer() const noexcept = 0;
    // Closes it and gives its slot back (once).
    virtual void close() = 0;
};

}  // namespace porthop::relay
