// Listening sockets shared by several event loops (workers): the SO_REUSEPORT group a port's
// sockets join, with the steering program that keeps each client on one worker
// (net/steering.hpp), and the check that no other program holds a port before the group forms.
#pragma once

#include <netinet/in.h>

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

}  // namespace porthop::net
