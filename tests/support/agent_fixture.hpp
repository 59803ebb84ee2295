// The hop link on loopback for Catch2 tests: a keyed relay::Server and a relay::Agent in front
// of it, on the fake wall clock, with path timers short enough that hops, fallbacks and climbs
// take seconds.
//
//   TEST_CASE_METHOD(AgentFixture, "...", "[agent]") {
//       const auto options = server_options(/*v6=*/false, /*udp=*/3);  // change it if needed
//       auto& relay = start_relay(options);
//       auto& agent = start_agent(agent_for(options, key));
//       REQUIRE(on_udp(agent));
//       ...
//   }
//
// The fixture resets the fake wall clock; a test that needs a particular moment moves it
// (FakeWallClock::place, go_to_epoch) before it starts the relay. Teardown order is the
// reverse of the start: agent, relay, backend.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/path_manager.hpp"

namespace porthop::test {

// The hop interval of every agent test: long enough that the real clock never crosses an epoch
// boundary during a test by itself; the tests step the fake clock instead.
inline constexpr std::chrono::seconds kAgentInterval{60};

inline hop::PathTimers fast_timers() {
    hop::PathTimers t;
    t.probe_interval = 100ms;
    t.fast_probe_after = 50ms;
    t.silence = 300ms;
    t.suspect_probe_every = 20ms;  // the default eight probes fit in the 300 ms of silence
    t.attempt_timeout = 200ms;
    t.tcp_connect_timeout = 1000ms;
    t.retry_udp_first = 500ms;
    t.retry_udp_max = 1000ms;
    t.tcp_linger = 300ms;
    return t;
}

inline crypto::HopKey new_key() {
    REQUIRE(crypto::init_sodium());
    return crypto::generate_hop_key();
}

inline boost::asio::ip::address loopback_address(bool v6) {
    return boost::asio::ip::make_address(v6 ? "::1" : "127.0.0.1");
}

// A server on loopback with `udp` UDP ports and one TCP port, all named (free_ports), keyed
// with `key`, on the fake wall clock.
inline relay::ServerOptions keyed_server(const EchoBackend& backend, bool v6, const crypto::HopKey& key,
                                         std::size_t udp) {
    relay::ServerOptions o;
    o.listen = {loopback_address(v6)};
    o.udp_ports = free_ports(v6, SOCK_DGRAM, udp);
    o.tcp_ports = free_ports(v6, SOCK_STREAM, 1);
    REQUIRE(o.udp_ports.size() == udp);
    REQUIRE(o.tcp_ports.size() == 1);
    o.backend = backend.endpoint();
    o.tolerate_missing_ipv6 = false;
    o.hop_keys = crypto::derive_hop_keys(key);
    o.hop_interval = kAgentInterval;
    o.wall_clock = &FakeWallClock::now;
    return o;
}

// An agent for `server`: the same ports, interval and clock, listening on loopback.
inline relay::AgentOptions agent_for(const relay::ServerOptions& server, const crypto::HopKey& key) {
    relay::AgentOptions o;
    const auto address = server.listen.front();
    o.listen = net::Endpoint::from_asio(boost::asio::ip::udp::endpoint(address, 0));
    o.server = address;
    o.udp_ports = server.udp_ports;
    o.tcp_port = server.tcp_ports.front();
    o.key = key;
    o.hop_interval = server.hop_interval;
    o.timers = fast_timers();
    o.wall_clock = &FakeWallClock::now;
    return o;
}

// The agent's path as /status names it: "udp/40017" -> 40017; nullopt for "tcp/..." and "none".
inline std::optional<std::uint16_t> udp_port_of(const std::string& path) {
    if (path.rfind("udp/", 0) != 0) return std::nullopt;
    return static_cast<std::uint16_t>(std::stoul(path.substr(4)));
}

inline std::string udp_path(std::uint16_t port) { return "udp/" + std::to_string(port); }
inline std::string tcp_path(std::uint16_t port) { return "tcp/" + std::to_string(port); }

inline bool on_udp(RunningAgent& agent, std::chrono::milliseconds timeout = 3000ms) {
    return eventually([&] { return udp_port_of(agent.status().path).has_value(); }, timeout);
}

inline bool on_path(RunningAgent& agent, const std::string& path, std::chrono::milliseconds timeout = 3000ms) {
    return eventually([&] { return agent.status().path == path; }, timeout);
}

// Moves the fake wall clock to `into` past the start of `epoch` (which must not be in the past).
inline void go_to_epoch(std::uint64_t epoch, std::chrono::system_clock::duration into) {
    FakeWallClock::place(kAgentInterval, into);
    const auto now = FakeWallClock::epoch(kAgentInterval);
    REQUIRE(epoch >= now);
    FakeWallClock::advance(kAgentInterval * static_cast<long>(epoch - now));
}

struct AgentFixture {
    AgentFixture() { FakeWallClock::reset(); }

    // Options for a server keyed with `key` in front of `backend` (keyed_server).
    relay::ServerOptions server_options(bool v6, std::size_t udp) { return keyed_server(backend, v6, key, udp); }

    // Starts the relay (once per test); it must start.
    RunningRelay& start_relay(const relay::ServerOptions& options) {
        relay_.emplace(options);
        REQUIRE_FALSE(relay_->error());
        return *relay_;
    }
    // Starts the agent (once per test, after the relay); it must start.
    RunningAgent& start_agent(const relay::AgentOptions& options) {
        agent_.emplace(options);
        REQUIRE_FALSE(agent_->error());
        return *agent_;
    }

    EchoBackend backend;
    const crypto::HopKey key = new_key();

private:
    // Declared after the backend, so destroyed before it; the agent before the relay.
    std::optional<RunningRelay> relay_;
    std::optional<RunningAgent> agent_;
};

}  // namespace porthop::test
