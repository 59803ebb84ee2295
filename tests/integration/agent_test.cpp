// The hop link end to end: a local client -> relay::Agent -> porthop server -> UDP echo backend,
// on loopback, with short path timers and a wall clock the tests move (FakeWallClock), so hops,
// fallbacks and climbs take seconds. Exact bytes are checked both ways; the backend must see
// one source address per porthop client whatever path it takes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "../support/agent_fixture.hpp"
#include "porthop/crypto/hop_auth.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/wire/hoplink.hpp"
#include "porthop/wire/protocol.hpp"

using namespace porthop;
using namespace porthop::test;

namespace {

constexpr auto kInterval = kAgentInterval;

// UDP sockets of this process's network namespace bound to 127.0.0.1:port (/proc/net/udp).
unsigned udp_sockets_on(std::uint16_t port) {
    std::FILE* f = std::fopen("/proc/net/udp", "r");
    if (!f) return 0;
    char line[512];
    char want[32];
    std::snprintf(want, sizeof want, "0100007F:%04X", port);
    unsigned n = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::strstr(line, want) && std::strstr(line, want) - line < 20) ++n;
    std::fclose(f);
    return n;
}

// The UDP ports a moving-target server keyed with `key` opens in `epoch`.
std::vector<std::uint16_t> schedule_ports_for(const relay::ServerOptions& options, const crypto::HopKey& key,
                                              std::uint64_t epoch) {
    return hop::PortSchedule(crypto::derive_hop_keys(key).schedule, options.udp_ports).moving_target_ports(epoch);
}

std::set<std::uint16_t> as_set(const std::vector<std::uint16_t>& ports) {
    return {ports.begin(), ports.end()};
}

// The local VPN client's steady stream through the agent: one numbered datagram every
// `period`, each echo checked byte for byte as it comes back.
class Stream {
public:
    Stream(bool v6, std::uint16_t agent_port, std::size_t size = 200, std::chrono::milliseconds period = 10ms)
        : client_(v6), port_(agent_port), size_(size), period_(period) {
        thread_ = std::thread([this] { run(); });
    }
    ~Stream() {
        done_ = true;
        thread_.join();
    }

    // Waits until `n` more echoes than now came back.
    bool flows(std::size_t n = 20, std::chrono::milliseconds timeout = 3000ms) {
        const auto target = received() + n;
        return eventually([&] { return received() >= target; }, timeout);
    }
    // Stops sending and waits for the echoes still under way; returns the numbers never echoed.
    std::vector<std::uint32_t> finish(std::chrono::milliseconds timeout = 2000ms) {
        sending_ = false;
        eventually([&] { return received() == sent(); }, timeout);
        std::lock_guard lock(mutex_);
        std::vector<std::uint32_t> missing;
        for (std::uint32_t seq = 0; seq < sent_; ++seq)
            if (!got_.count(seq)) missing.push_back(seq);
        return missing;
    }
    std::size_t sent() {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    std::size_t received() {
        std::lock_guard lock(mutex_);
        return got_.size();
    }
    std::size_t bad() {
        std::lock_guard lock(mutex_);
        return bad_;
    }

    Bytes datagram(std::uint32_t seq) const {
        auto d = pattern(size_, seq);
        for (int i = 0; i < 4; ++i)
            d[static_cast<std::size_t>(i)] = static_cast<std::byte>(seq >> (24 - 8 * i));
        return d;
    }

private:
    void run() {
        auto next = std::chrono::steady_clock::now();
        while (!done_) {
            const auto now = std::chrono::steady_clock::now();
            if (sending_ && now >= next) {
                std::uint32_t seq;
                {
                    std::lock_guard lock(mutex_);
                    seq = sent_++;
                }
                client_.send_to(port_, datagram(seq));
                next += period_;
            }
            const auto wait =
                sending_ ? std::chrono::duration_cast<std::chrono::milliseconds>(next - now) : 10ms;
            auto reply = client_.receive(std::clamp<std::chrono::milliseconds>(wait, 0ms, 10ms));
            if (!reply) continue;
            const auto& d = reply->first;
            std::lock_guard lock(mutex_);
            if (d.size() != size_ || reply->second != port_) {
                ++bad_;
                continue;
            }
            std::uint32_t seq = 0;
            for (int i = 0; i < 4; ++i)
                seq = (seq << 8) | std::to_integer<std::uint32_t>(d[static_cast<std::size_t>(i)]);
            if (seq >= sent_ || d != datagram(seq) || !got_.insert(seq).second) ++bad_;
        }
    }

    UdpClient client_;
    std::uint16_t port_;
    std::size_t size_;
    std::chrono::milliseconds period_;
    std::atomic<bool> done_{false};
    std::atomic<bool> sending_{true};
    std::mutex mutex_;
    std::uint32_t sent_ = 0;
    std::set<std::uint32_t> got_;
    std::size_t bad_ = 0;
    std::thread thread_;
};

// The first packet of an OpenVPN client over TCP: P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7,
// key id 0), an 8-byte session id, no acks, message id 0 (14 bytes, plain wrapping).
Bytes openvpn_hard_reset() {
    Bytes p{std::byte{7 << 3}};
    for (int i = 0; i < 8; ++i) p.push_back(static_cast<std::byte>(0xA0 + i));
    p.push_back(std::byte{0});
    for (int i = 0; i < 4; ++i) p.push_back(std::byte{0});
    return p;
}

}  // namespace

TEST_CASE_METHOD(AgentFixture, "agent: datagrams of every size round-trip exactly through agent and server",
                 "[agent]") {
    const bool v6 = GENERATE(false, true);
    CAPTURE(v6);
    // Buffers for the largest u16 frame, so the sizes below are bounded by the kernel's UDP
    // limits only (the configuration refuses more than 65507, which IPv4 can carry).
    auto options = server_options(v6, 3);
    options.max_datagram = 65535;
    auto& relay = start_relay(options);
    auto agent_options = agent_for(options, key);
    agent_options.max_datagram = 65535;
    auto& agent = start_agent(agent_options);
    REQUIRE(on_udp(agent));

    UdpClient client(v6);
    std::vector<Bytes> sent;
    std::uint64_t total = 0;
    // The largest datagram the hop link carries is the largest UDP payload of the family less
    // the 11 bytes of a v2 frame's salt and header; the echo backend is on IPv4, which bounds
    // the round trip.
    const std::size_t largest_hop = v6 ? 65527 - 11 : 65507 - 11;
    const std::size_t largest = std::min<std::size_t>(largest_hop, 65507);
    for (std::size_t size : {std::size_t{1}, std::size_t{2}, std::size_t{100}, std::size_t{1400},
                             std::size_t{1500}, std::size_t{8000}, std::size_t{60000}, largest}) {
        CAPTURE(size);
        sent.push_back(pattern(size, static_cast<unsigned>(size)));
        total += size;
        client.send_to(agent.port(), sent.back());
        auto reply = client.receive();
        REQUIRE(reply);
        CHECK(reply->first == sent.back());
        CHECK(reply->second == agent.port());
    }
    // One byte more does not fit once the header is on: dropped at the agent and counted.
    client.send_to(agent.port(), pattern(largest_hop + 1, 1));
    CHECK_FALSE(client.receive(300ms));
    CHECK(backend.received() == sent);  // exact datagrams, nothing of the hop link
    CHECK(backend.sources().size() == 1);

    const auto s = agent.status();
    CHECK(s.to_server_packets == sent.size());
    CHECK(s.to_server_bytes == total);
    CHECK(s.from_server_packets == sent.size());
    CHECK(s.from_server_bytes == total);
    CHECK(s.dropped_send == 1);
    CHECK(s.rejected_frames == 0);
    CHECK(s.dropped_no_path == 0);
    CHECK(s.fallbacks == 0);
    CHECK_FALSE(s.local_client.empty());
    CHECK(s.session_id != 0);
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 1);
    CHECK(relay.counter(&relay::Counters::to_backend_bytes) == total);
    CHECK(relay.counter(&relay::Counters::to_client_bytes) == total);
    CHECK(relay.sessions() == 1);
}

TEST_CASE_METHOD(AgentFixture, "agent: scheduled hops follow the schedule and lose no datagram", "[agent][hop]") {
    const auto options = server_options(false, 4);
    const hop::PortSchedule schedule(crypto::derive_hop_keys(key).schedule, options.udp_ports);
    constexpr std::uint64_t kSteps = 4;
    // Start in an epoch from which every step changes the scheduled port, 5 s into it so that
    // the real clock never crosses a boundary by itself during the test.
    std::uint64_t first = FakeWallClock::epoch(kInterval) + 1;
    const auto every_step_hops = [&](std::uint64_t e) {
        for (std::uint64_t k = 0; k < kSteps; ++k)
            if (schedule.port_for(e + k) == schedule.port_for(e + k + 1)) return false;
        return true;
    };
    while (!every_step_hops(first)) ++first;
    go_to_epoch(first, 5s);

    auto& relay = start_relay(options);
    auto& agent = start_agent(agent_for(options, key));
    REQUIRE(on_udp(agent));
    Stream stream(false, agent.port());
    REQUIRE(stream.flows());

    std::uint64_t expected_hops = 0;
    for (std::uint64_t k = 1; k <= kSteps; ++k) {
        CAPTURE(k);
        const auto before = udp_port_of(agent.status().path);
        REQUIRE(before);
        FakeWallClock::advance(kInterval);
        const auto target = schedule.port_for(first + k);
        if (*before != target) ++expected_hops;
        REQUIRE(on_path(agent, udp_path(target)));
        REQUIRE(stream.flows(10));
    }
    const auto missing = stream.finish();
    CHECK(missing.empty());  // make-before-break: not one datagram lost across the hops
    CHECK(stream.bad() == 0);
    CHECK(stream.sent() > 50);

    const auto s = agent.status();
    CHECK(s.hops == expected_hops);
    CHECK(s.hops >= kSteps - 1);
    CHECK(s.fallbacks == 0);
    CHECK(s.climbs == 0);
    CHECK(s.dark_ports.empty());
    CHECK(backend.sources().size() == 1);  // one client address at the backend throughout
    CHECK(relay.counter(&relay::Counters::agent_hops) >= expected_hops);
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 1);
    CHECK(relay.sessions() == 1);
}

TEST_CASE_METHOD(AgentFixture, "agent: all UDP goes dark -> TCP, and back to UDP when it heals",
                 "[agent][fallback]") {
    FakeWallClock::place(kInterval, 5s);
    const auto options = server_options(false, 3);
    const auto tcp_port = options.tcp_ports.front();
    auto& relay = start_relay(options);
    auto& agent = start_agent(agent_for(options, key));
    REQUIRE(on_udp(agent));
    Stream stream(false, agent.port());
    REQUIRE(stream.flows());

    // Every UDP port closes (the TCP port stays): the agent moves down the ladder to TCP.
    auto no_udp = options;
    no_udp.udp_ports.clear();
    REQUIRE_FALSE(relay.reconfigure(no_udp));
    REQUIRE(relay.udp_ports().empty());
    REQUIRE(on_path(agent, tcp_path(tcp_port), 6000ms));
    {
        const auto s = agent.status();
        CHECK(s.fallbacks == 1);
        CHECK(s.climbs == 0);
    }
    REQUIRE(stream.flows(30));  // exact bytes: Stream checks every echo
    CHECK(stream.bad() == 0);
    CHECK(backend.sources().size() == 1);

    // The UDP ports open again: the agent climbs back.
    REQUIRE_FALSE(relay.reconfigure(options));
    REQUIRE(relay.udp_ports().size() == 3);
    REQUIRE(on_udp(agent, 5000ms));
    {
        const auto s = agent.status();
        CHECK(s.fallbacks == 1);
        CHECK(s.climbs == 1);
    }
    REQUIRE(stream.flows(30));
    stream.finish(500ms);  // what went out while UDP was dark is lost, as on a real network
    CHECK(stream.bad() == 0);
    CHECK(backend.sources().size() == 1);
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 1);
    CHECK(relay.sessions() == 1);
    // The server saw the same moves on its reply path (the fallback although the UDP path's
    // port was gone by then). At least once: a data frame still queued on the TCP path when
    // the agent climbs may reach the server after its first UDP data and flip the reply path
    // once more.
    CHECK(relay.counter(&relay::Counters::agent_fallbacks) >= 1);
    CHECK(relay.counter(&relay::Counters::agent_climbs) >= 1);
}

TEST_CASE_METHOD(AgentFixture, "agent: its UDP port going dark moves it to another UDP port", "[agent][fallback]") {
    FakeWallClock::place(kInterval, 5s);
    const auto options = server_options(false, 4);
    auto& relay = start_relay(options);
    auto& agent = start_agent(agent_for(options, key));
    REQUIRE(on_udp(agent));
    Stream stream(false, agent.port());
    REQUIRE(stream.flows());

    const auto dark = *udp_port_of(agent.status().path);
    auto without = options;
    std::erase(without.udp_ports, dark);
    REQUIRE_FALSE(relay.reconfigure(without));
    REQUIRE(as_set(relay.udp_ports()) == as_set(without.udp_ports));
    REQUIRE(eventually(
        [&] {
            const auto port = udp_port_of(agent.status().path);
            return port && *port != dark;
        },
        5000ms));
    REQUIRE(stream.flows(30));
    stream.finish(500ms);  // what went out while the port was dark is lost
    CHECK(stream.bad() == 0);

    const auto s = agent.status();
    CHECK(s.hops >= 1);
    CHECK(s.fallbacks == 0);
    CHECK(std::find(s.dark_ports.begin(), s.dark_ports.end(), dark) != s.dark_ports.end());
    CHECK(backend.sources().size() == 1);
    CHECK(relay.sessions() == 1);
    // The server counts the move as a hop even though the old path's port is gone.
    CHECK(relay.counter(&relay::Counters::agent_hops) >= 1);
    CHECK(relay.counter(&relay::Counters::agent_fallbacks) == 0);
}

TEST_CASE_METHOD(AgentFixture, "agent: a wrong key never gets a path, and the server answers nothing",
                 "[agent][auth]") {
    FakeWallClock::place(kInterval, 5s);
    // Under another key the agent's frames do not open: to the server they are a native
    // client's datagrams, and a server that carries WireGuard drops them as not WireGuard (a
    // blind relay, protocol "any", would hand them to its backend like any datagram).
    auto options = server_options(false, 3);
    options.protocol = wire::Protocol::wireguard;
    options.first_frame_timeout = 500ms;
    auto& relay = start_relay(options);
    auto& agent = start_agent(agent_for(options, new_key()));

    UdpClient client(false);
    for (int i = 0; i < 10; ++i) {
        client.send_to(agent.port(), bytes("hello " + std::to_string(i)));
        std::this_thread::sleep_for(100ms);
    }
    CHECK_FALSE(client.receive(100ms));
    // Its TCP attempts are refused as well: closed without a byte, at once or at the first
    // frame's deadline (its record lengths do not unmask either).
    CHECK(eventually([&] {
        return relay.counter(&relay::Counters::drop_tcp_rejected) + relay.counter(&relay::Counters::tcp_timeouts) > 0;
    }));
    const auto s = agent.status();
    CHECK(s.path == "none");
    CHECK(s.dropped_no_path == 10);
    CHECK(s.to_server_packets == 0);
    CHECK(s.from_server_packets == 0);
    CHECK(s.rejected_frames == 0);  // nothing came back to reject
    CHECK(backend.datagrams() == 0);
    CHECK(relay.counter(&relay::Counters::drop_not_wireguard) > 0);
    CHECK(relay.counter(&relay::Counters::agent_reject_bad_tag) == 0);  // nothing opened as an attach
    CHECK(relay.counter(&relay::Counters::agent_attaches) == 0);
    CHECK(relay.counter(&relay::Counters::to_client_packets) == 0);
    CHECK(relay.sessions() == 0);
}

TEST_CASE_METHOD(AgentFixture, "agent: a server without a key echoes attaches as native data; the agent rejects them",
                 "[agent][auth]") {
    FakeWallClock::place(kInterval, 5s);
    auto options = server_options(false, 3);
    options.hop_keys.reset();  // native clients only: an attach is just a datagram
    start_relay(options);
    // Its TCP fallback goes nowhere (port 1: refused). Otherwise, on a slow machine, the UDP
    // rounds end within the wait below and the attach on TCP, whose record length is masked,
    // is read by the keyless server as a plain-length frame of any size: not what this checks.
    auto agent_options = agent_for(options, key);
    agent_options.tcp_port = 1;
    auto& agent = start_agent(agent_options);

    CHECK(eventually([&] { return agent.status().rejected_frames >= 3; }));
    std::this_thread::sleep_for(1s);
    const auto s = agent.status();
    CHECK(s.path == "none");
    CHECK(s.hops + s.fallbacks + s.climbs == 0);
    CHECK(s.from_server_packets == 0);
    const auto received = backend.received();
    REQUIRE_FALSE(received.empty());
    for (const auto& d : received) {  // all of it attaches (padded), forwarded as if native
        CHECK(d.size() >= 160);
        CHECK(d.size() <= 1000);
    }
}

TEST_CASE_METHOD(AgentFixture, "agent: a native UDP client and an agent share a server port", "[agent]") {
    FakeWallClock::place(kInterval, 5s);
    const auto options = server_options(false, 3);
    auto& relay = start_relay(options);
    auto& agent = start_agent(agent_for(options, key));
    REQUIRE(on_udp(agent));
    const auto port = *udp_port_of(agent.status().path);
    Stream stream(false, agent.port());
    REQUIRE(stream.flows());

    UdpClient native(false);
    for (int i = 0; i < 30; ++i) {
        const auto payload = bytes("native " + std::to_string(i));
        native.send_to(port, payload);
        auto reply = native.receive();
        REQUIRE(reply);
        CHECK(reply->first == payload);
        CHECK(reply->second == port);
        std::this_thread::sleep_for(5ms);
    }
    REQUIRE(stream.flows());
    CHECK(stream.finish().empty());
    CHECK(stream.bad() == 0);
    CHECK(agent.status().path == udp_path(port));
    CHECK(backend.sources().size() == 2);  // the agent's session and the native one
    CHECK(relay.sessions() == 2);
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 1);
}

TEST_CASE_METHOD(AgentFixture, "agent: a reload that turns moving target on follows the epochs from then on",
                 "[agent][hop]") {
    auto options = server_options(false, 20);
    const hop::PortSchedule schedule(crypto::derive_hop_keys(key).schedule, options.udp_ports);
    std::uint64_t e = FakeWallClock::epoch(kInterval) + 2;
    while (schedule.moving_target_ports(e - 1) == schedule.moving_target_ports(e)) ++e;
    go_to_epoch(e - 1, kInterval - 500ms);
    auto& relay = start_relay(options);
    CHECK(relay.udp_ports().size() == options.udp_ports.size());  // not moving yet: every port
    options.moving_target = true;
    REQUIRE_FALSE(relay.reconfigure(options));
    CHECK(as_set(relay.udp_ports()) == as_set(schedule.moving_target_ports(e - 1)));
    // The boundary passes 500 ms later: the timer the reload armed opens the next epoch's set.
    CHECK(eventually([&] { return as_set(relay.udp_ports()) == as_set(schedule.moving_target_ports(e)); }));
    // Turned off again: every port.
    options.moving_target = false;
    REQUIRE_FALSE(relay.reconfigure(options));
    CHECK(relay.udp_ports().size() == options.udp_ports.size());
}

TEST_CASE_METHOD(AgentFixture, "agent: a moving-target server opens the schedule's ports epoch by epoch",
                 "[agent][hop]") {
    auto options = server_options(false, 20);
    options.moving_target = true;
    // With two workers, worker 0's epoch timer makes worker 1 follow: every open port has a
    // socket of each worker, every closed one none.
    options.workers = GENERATE(1u, 2u);
    const auto sockets_follow = [&](std::uint64_t epoch) {
        const auto open = as_set(schedule_ports_for(options, key, epoch));
        for (auto port : options.udp_ports)
            if (udp_sockets_on(port) != (open.count(port) ? options.workers : 0u)) return false;
        return true;
    };
    const hop::PortSchedule schedule(crypto::derive_hop_keys(key).schedule, options.udp_ports);
    // An epoch E whose boundary changes the open set and the scheduled port; the clock starts
    // 500 ms before it, so the server's epoch timer (armed on the real clock for the time left
    // in the fake epoch) fires soon.
    std::uint64_t e = FakeWallClock::epoch(kInterval) + 2;
    while (schedule.moving_target_ports(e - 1) == schedule.moving_target_ports(e) ||
           schedule.moving_target_ports(e) == schedule.moving_target_ports(e + 1) ||
           schedule.port_for(e - 1) == schedule.port_for(e) ||
           schedule.port_for(e) == schedule.port_for(e + 1))
        ++e;
    go_to_epoch(e - 1, kInterval - 500ms);

    auto& relay = start_relay(options);
    const auto opened = as_set(relay.udp_ports());
    CHECK(opened.size() == schedule.moving_target_ports(e - 1).size());
    CHECK(opened == as_set(schedule.moving_target_ports(e - 1)));
    auto& agent = start_agent(agent_for(options, key));
    REQUIRE(on_udp(agent));
    // The first path is whichever open port answered first; the scheduled hops go from there.
    std::uint64_t expected_hops = *udp_port_of(agent.status().path) != schedule.port_for(e);
    Stream stream(false, agent.port());
    REQUIRE(stream.flows(10));

    // The boundary passes: the server's timer opens the next epoch's set.
    REQUIRE(eventually([&] { return as_set(relay.udp_ports()) == as_set(schedule.moving_target_ports(e)); }));
    CHECK(eventually([&] { return sockets_follow(e); }));
    CHECK(relay.server().udp_endpoints().size() == schedule.moving_target_ports(e).size());
    REQUIRE(on_path(agent, udp_path(schedule.port_for(e))));
    REQUIRE(stream.flows());

    // One more epoch: the agent hops first (its next port is already open), then the server
    // moves on (a reload recomputes the set from the clock, as the timer does).
    FakeWallClock::advance(kInterval);
    ++expected_hops;
    REQUIRE(on_path(agent, udp_path(schedule.port_for(e + 1))));
    REQUIRE_FALSE(relay.reconfigure(options));
    CHECK(as_set(relay.udp_ports()) == as_set(schedule.moving_target_ports(e + 1)));
    CHECK(sockets_follow(e + 1));
    REQUIRE(stream.flows());
    // A few datagrams may be lost if the agent's first path was the port the timer closed
    // (it hops away up to probe_interval after the boundary); the stream must just go on.
    stream.finish(500ms);
    CHECK(stream.bad() == 0);
    const auto s = agent.status();
    CHECK(s.hops == expected_hops);
    CHECK(s.fallbacks == 0);
    CHECK(backend.sources().size() == 1);
}

TEST_CASE_METHOD(AgentFixture, "agent: with a key, a TCP first frame must be an attach or a VPN handshake",
                 "[agent][tcp]") {
    auto options = server_options(false, 1);
    options.first_frame_timeout = 500ms;
    auto& relay = start_relay(options);
    const auto port = options.tcp_ports.front();

    SECTION("garbage: closed without a byte") {
        TcpClient client(false, port);
        REQUIRE(client.connected());
        client.write_raw(TcpClient::frame(bytes("GET / HTTP/1.1\r\nHost: example.net\r\n\r\n")));
        CHECK(client.read_exact(1, 2000ms).empty());
        CHECK(client.closed_by_peer(100ms));
        CHECK(relay.counter(&relay::Counters::drop_tcp_rejected) == 1);
        CHECK(backend.datagrams() == 0);
    }
    SECTION("an agent under another key: closed without a byte") {
        // Under another key neither the record's length nor the frame unmasks: random bytes to
        // this server, neither an attach nor a VPN handshake. The server closes the connection
        // at once when a random length it reads is complete (refused), else when the first
        // frame's deadline passes (timed out): silent either way.
        hop::FrameCodec other(crypto::derive_hop_keys(new_key()), hop::FrameCodec::Side::agent);
        std::array<std::byte, hop::FrameCodec::kMaxControl> out{};
        const auto attach = other.seal_control({wire::hop::Type::attach, 42, 1, FakeWallClock::epoch(kInterval), 0}, out);
        TcpClient client(false, port);
        REQUIRE(client.connected());
        client.mask_lengths(other.sent_lengths(), other.read_lengths());
        client.write_raw(client.record(Bytes(attach.begin(), attach.end())));
        CHECK(client.read_exact(1, 1500ms).empty());
        CHECK(client.closed_by_peer(1000ms));
        CHECK(relay.counter(&relay::Counters::drop_tcp_rejected) + relay.counter(&relay::Counters::tcp_timeouts) == 1);
        CHECK(relay.counter(&relay::Counters::agent_attaches) == 0);
        CHECK(backend.datagrams() == 0);
    }
    SECTION("an OpenVPN client hard reset: a native client, forwarded") {
        TcpClient client(false, port);
        REQUIRE(client.connected());
        const auto reset = openvpn_hard_reset();
        REQUIRE(reset.size() == 14);
        client.write_raw(TcpClient::frame(reset));
        auto reply = client.read_frame();
        REQUIRE(reply);
        CHECK(*reply == reset);
        // Native from now on: later frames are datagrams as they are.
        const auto next = pattern(300, 5);
        client.write_raw(TcpClient::frame(next));
        reply = client.read_frame();
        REQUIRE(reply);
        CHECK(*reply == next);
        CHECK(backend.received() == std::vector<Bytes>{reset, next});
        CHECK(relay.counter(&relay::Counters::drop_tcp_rejected) == 0);
        CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 0);
        CHECK(relay.sessions() == 1);
    }
}
