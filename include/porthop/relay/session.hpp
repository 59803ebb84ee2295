// A session is one client of the backend. It owns one connected UDP socket to the backend, so
// the backend sees one stable source address per client for as long as the session lives.
// Replies take the session's reply path: back out of the UDP listener the client last used
// (to the client's address, from the local address it sent to), or into its TCP connection.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/counters.hpp"

namespace porthop::relay {

class TcpConnection;
struct UdpListener;

enum class CloseReason : std::uint8_t {
    idle,
    tcp_closed,
    tcp_error,
    frame_too_large,
    tcp_timeout,
    listener_removed,
    shutdown
};
const char* to_string(CloseReason reason) noexcept;

struct Session {
    using Clock = std::chrono::steady_clock;

    Session(std::uint64_t session_id, boost::asio::ip::udp::socket upstream_socket)
        : id(session_id), upstream(std::move(upstream_socket)) {}

    std::uint64_t id;
    boost::asio::ip::udp::socket upstream;

    // Reply path. Exactly one of `listener` (UDP) or `tcp` is set while the session is open.
    UdpListener* listener = nullptr;
    net::Endpoint client;     // the client's address (UDP) or the connection's peer (TCP)
    net::LocalAddress local;  // where the client sent to; the source of our replies (UDP)
    TcpConnection* tcp = nullptr;
    std::shared_ptr<ListenerCounters> stats;  // the listener the client came in through

    Clock::time_point opened{};
    Clock::time_point last_from_client{};  // idleness is judged by the client side only
    bool closed = false;

    std::uint64_t from_client_packets = 0, from_client_bytes = 0;
    std::uint64_t to_client_packets = 0, to_client_bytes = 0;
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace porthop::relay
