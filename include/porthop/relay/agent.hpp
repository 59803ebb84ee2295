// `porthop client`: the agent on the user's side. The local WireGuard or OpenVPN client sends
// to the agent's local UDP address; the agent carries each datagram to porthop server over the
// hop link (docs/PROTOCOL.md) on the path the path manager (hop/path_manager.hpp) chose: one
// UDP port of the server at a time, or its TCP port. Replies come back the same way and go to
// the address the local client last sent from. One event loop drives all of it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/path_manager.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/hop/tcp_rotation.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/agent_status.hpp"

namespace boost::asio::ssl {
class context;
}

namespace porthop::relay {

struct AgentOptions {
    net::Endpoint listen;                  // local UDP address for the VPN client
    boost::asio::ip::address server;       // porthop server
    std::vector<std::uint16_t> udp_ports;  // the server's UDP port set (the schedule's domain)
    std::uint16_t tcp_port = 443;
    // The TCP rung in TLS (net::make_client_context; null: plain TCP), with the name sent as
    // SNI and checked in a CA-verified certificate.
    std::shared_ptr<boost::asio::ssl::context> tls;
    std::string tls_name;
    crypto::HopKey key{};
    std::chrono::seconds hop_interval{hop::kDefaultHopInterval};
    // Largest datagram from the VPN client: UDP over IPv4 carries at most 65507 (65535 - 20 - 8).
    std::uint32_t max_datagram = 65507;
    hop::PathTimers timers;
    // When the TCP path moves to a fresh connection (stalled, or a byte budget).
    hop::RotationPolicy rotation;
    std::chrono::system_clock::time_point (*wall_clock)() = &std::chrono::system_clock::now;
    const net::Syscalls* syscalls = &net::system_syscalls();
};

class Agent {
public:
    Agent(boost::asio::io_context& io, AgentOptions options);
    ~Agent();
    Agent(const Agent&) = delete;
    Agent& operator=(const Agent&) = delete;

    // Binds the local address and starts looking for a path. The message names the problem.
    std::optional<std::string> start();
    void stop();
    AgentStatus status() const;  // loop thread only
    net::Endpoint local_endpoint() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace porthop::relay
