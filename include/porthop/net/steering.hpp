// Which worker a client's datagrams and connections go to when several workers listen on one
// port with SO_REUSEPORT. The kernel picks a socket of the port's reuseport group by running a
// classic BPF program on each packet; ours picks by the client's address alone: the IPv4
// address, or the first 64 bits (the /64) of an IPv6 one. Ports are left out on purpose: a
// porthop client hopping ports, a NAT rebinding the client's port, and the client's TCP
// fallback all land on the worker that already holds its session. Only a client that changes
// address may land elsewhere; the relay hands its packets to the owning worker (relay/handoff).
//
// The program returns an index into the group's socket array, which holds the sockets in the
// order they were bound: worker 0 binds every port first, then worker 1, and so on.
#pragma once

#include <linux/filter.h>

#include <array>
#include <cstdint>

#include "porthop/net/endpoint.hpp"

namespace porthop::net {

// The worker (0..workers-1) for a client address: the same arithmetic as the BPF program, so
// tests and the relay can tell where the kernel will deliver. workers must be >= 1.
std::uint32_t steering_worker(const Endpoint& client, std::uint32_t workers) noexcept;

// The BPF program for an IPv4 or IPv6 socket group of `workers` sockets.
struct SteeringProgram {
    std::array<sock_filter, 9> code{};
    unsigned short length = 0;
};
SteeringProgram steering_program(bool v6, std::uint32_t workers) noexcept;

// Attaches the program to `fd`'s reuseport group (any member will do). Returns 0 or an errno.
int attach_steering(int fd, bool v6, std::uint32_t workers) noexcept;

// 0 when this kernel accepts the program on a reuseport UDP socket, else the errno (a
// throwaway socket, never bound). Linux before 4.5 has no SO_ATTACH_REUSEPORT_CBPF, and
// qemu-user does not emulate it (ENOPROTOOPT): several workers cannot run there.
int steering_available() noexcept;

}  // namespace porthop::net
