// Listening sockets, possibly shared by several event loops (workers): the SO_REUSEPORT group a
// port's sockets join, with the steering program that keeps each client on one worker
// (net/steering.hpp), the check that no other program holds a port before the group forms, and
// the whole open-and-bind sequence of a relay's UDP and TCP listening sockets.
#pragma once

#include <netinet/in.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>

namespace porthop::net {

// Before bind (`before_bind`): lets the socket join the port's reuseport group. After bind:
// worker 0 attaches the steering program to the group. Nothing for a single worker.
// Returns 0 or an errno.
int join_reuseport_group(int fd, bool v6, std::uint32_t worker, std::uint32_t workers, bool before_bind) noexcept;

// SO_REUSEPORT lets any socket of the same user join a port, so a second porthop started by
// mistake would silently share the ports of a running one. Before worker 0 binds a port, a
// plain socket (no SO_REUSEPORT) must be able to bind it: if anything holds the port, that
// fails with EADDRINUSE, as a single-worker relay's own bind would. (TCP sets SO_REUSEADDR like
// the acceptor, so connections of an earlier run in TIME_WAIT do not count.) Port 0 is always
// free. Returns 0 or an errno.
int probe_port_free(const sockaddr* address, socklen_t length, bool tcp) noexcept;

// Which socket of a port's reuseport group this is: worker `worker` of `workers` (1: no group).
struct ReuseportGroup {
    std::uint32_t worker = 0;
    std::uint32_t workers = 1;
};

// Opens `socket` (closed on entry) bound to `at`, ready for batched receives: non-blocking, an
// IPv6 socket IPv6-only (separate IPv4 and IPv6 sockets may share a port; "::" alone means IPv6
// only), a wildcard socket told each datagram's destination address (so a reply leaves from the
// address the client sent to), joined to the port's group. Worker 0 of a group first checks
// that no other program holds the port (probe_port_free). On failure the error; the socket may
// be left open, and closes with it.
boost::system::error_code open_udp_listener(boost::asio::ip::udp::socket& socket,
                                            const boost::asio::ip::udp::endpoint& at, ReuseportGroup group);

// The same for a TCP acceptor, listening with `backlog`; SO_REUSEADDR, so a restart does not
// wait for the TIME_WAIT connections of the previous run.
boost::system::error_code open_tcp_listener(boost::asio::ip::tcp::acceptor& acceptor,
                                            const boost::asio::ip::tcp::endpoint& at, ReuseportGroup group,
                                            int backlog);

}  // namespace porthop::net
