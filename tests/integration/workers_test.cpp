// Several workers (ServerOptions::workers): the kernel steers each client address to one
// worker (net/steering.hpp), and a session stays reachable when its client turns up at another
// worker (relay/directory.hpp, the inboxes). Clients use different loopback addresses
// (127.0.0.x) so that the test can say which worker the kernel picks for each.
#include <catch2/catch.hpp>

#include <array>
#include <optional>

#include "porthop/crypto/hop_auth.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/net/steering.hpp"
#include "../support/harness.hpp"
#include "native_messages.hpp"
#include "../support/hop_vectors.hpp"

using namespace porthop;
using namespace porthop::test;

namespace {

constexpr std::uint32_t kLoopbackBase = 0x7F000000;  // 127.0.0.0

std::uint32_t worker_of(std::uint32_t v4, std::uint32_t workers) {
    return net::steering_worker(net::Endpoint::from_asio(boost::asio::ip::udp::endpoint(
                                    boost::asio::ip::address_v4(v4), 0)),
                                workers);
}

// The `nth` loopback address (from 127.0.0.2 up) that the kernel steers to `worker`.
std::uint32_t address_on(std::uint32_t worker, std::uint32_t workers, unsigned nth = 0) {
    for (std::uint32_t host = 2; host < 250; ++host)
        if (worker_of(kLoopbackBase + host, workers) == worker && nth-- == 0) return kLoopbackBase + host;
    FAIL("no such address");
    return 0;
}

relay::ServerOptions with_workers(const EchoBackend& backend, std::uint32_t workers, std::size_t udp,
                                  std::size_t tcp) {
    auto o = options_for(backend, false, udp, tcp);
    o.workers = workers;
    return o;
}

std::vector<std::size_t> worker_sessions(RunningRelay& relay) { return relay.snapshot().worker_sessions; }

constexpr std::uint32_t kWorkersBackendIndex = 0x5eed0001;

// A relay of two workers with a hop key (one UDP port, `tcp` TCP ports) on the fake clock, and
// the frames of a porthop client (session `hop_id`) made by hand.
struct KeyedWorkers {
    static constexpr std::chrono::seconds kInterval{60};
    explicit KeyedWorkers(std::size_t tcp) {
        FakeWallClock::reset();
        FakeWallClock::place(kInterval, std::chrono::seconds{10});
        REQUIRE(crypto::init_sodium());
        keys = crypto::derive_hop_keys(crypto::generate_hop_key());
        options = with_workers(backend, 2, 1, tcp);
        options.hop_keys = keys;
        options.hop_interval = kInterval;
        options.wall_clock = &FakeWallClock::now;
        agent.emplace(keys, hop::FrameCodec::Side::agent, test::seeded_random(0x60));
    }
    // An attach as the agent sends it (hop link v2), sealed with `with` (default: the relay's keys).
    Bytes attach(std::uint64_t hop_id, std::uint64_t counter, const crypto::HopKeys* with = nullptr) {
        hop::FrameCodec other(with ? *with : keys, hop::FrameCodec::Side::agent, test::seeded_random(0x70));
        return test::sealed_control(with ? other : *agent,
                                    {wire::hop::Type::attach, hop_id, counter, FakeWallClock::epoch(kInterval), 0});
    }
    // `tcp` speaks as this agent: its records' lengths masked with the codec's masks.
    void agent_stream(TcpClient& tcp) const { tcp.mask_lengths(agent->sent_lengths(), agent->read_lengths()); }
    // A data frame carrying `payload`, as the agent sends it.
    Bytes data(Bytes payload) { return test::sealed_data(*agent, std::move(payload)); }
    // What the agent makes of a frame from the server: an ack, or a data frame's payload.
    bool is_ack(Bytes frame) const { return agent->open(frame).kind == wire::hop::Kind::control; }
    Bytes payload(Bytes frame) const {
        const auto opened = agent->open(frame);
        if (opened.kind != wire::hop::Kind::data) return {};
        return Bytes(opened.body.begin(), opened.body.end());
    }
    EchoBackend backend;
    crypto::HopKeys keys;
    relay::ServerOptions options;
    std::optional<hop::FrameCodec> agent;  // the client's codec, keyed in the constructor
};

}  // namespace

TEST_CASE("workers: each client address is served by the worker the steering function names",
          "[workers]") {
    constexpr std::uint32_t kWorkers = 3;
    EchoBackend backend;
    RunningRelay relay(with_workers(backend, kWorkers, 2, 1));
    REQUIRE_FALSE(relay.error());
    std::vector<std::size_t> expected(kWorkers, 0);
    std::vector<std::unique_ptr<UdpClient>> clients;
    for (std::uint32_t host = 2; host < 14; ++host) {
        const std::uint32_t address = kLoopbackBase + host;
        clients.push_back(std::make_unique<UdpClient>(address));
        const auto hello = pattern(100, host);
        // Both ports: one address, one worker, whatever port it sends to.
        for (std::size_t port = 0; port < 2; ++port) {
            clients.back()->send_to(relay.udp_port(port), hello);
            auto reply = clients.back()->receive();
            REQUIRE(reply);
            CHECK(reply->first == hello);
            CHECK(reply->second == relay.udp_port(port));
        }
        expected[worker_of(address, kWorkers)] += 2;
    }
    std::vector<std::unique_ptr<TcpClient>> connections;  // a session lives as long as its connection
    for (std::uint32_t host = 20; host < 26; ++host) {
        const std::uint32_t address = kLoopbackBase + host;
        connections.push_back(std::make_unique<TcpClient>(false, relay.tcp_port(0), 0, address));
        TcpClient& client = *connections.back();
        REQUIRE(client.connected());
        const auto hello = pattern(200, host);
        client.write_raw(TcpClient::frame(hello));
        auto reply = client.read_frame();
        REQUIRE(reply);
        CHECK(*reply == hello);
        ++expected[worker_of(address, kWorkers)];
        const bool placed = eventually([&] { return worker_sessions(relay) == expected; });
        INFO("worker sessions " << ::Catch::Detail::stringify(worker_sessions(relay)) << " expected "
                                << ::Catch::Detail::stringify(expected));
        REQUIRE(placed);
    }
    const auto got = worker_sessions(relay);
    CHECK(got == expected);
    // Every worker got some: the test spreads clients over all of them.
    for (auto n : expected) CHECK(n > 0);
    CHECK(relay.sessions() == 30);
    CHECK(relay.counter(&relay::Counters::handoffs) == 0);  // nobody changed address
    // One listener per port in the snapshot, its traffic summed over the workers.
    const auto snap = relay.snapshot();
    REQUIRE(snap.listeners.size() == 3);
    for (const auto& l : snap.listeners)
        if (std::string(l.proto) == "udp") CHECK(l.from_client_packets == 12);
}

TEST_CASE("workers: a WireGuard client that changes address keeps its session on its worker",
          "[workers][roaming]") {
    EchoBackend backend(true, wg_server(kWorkersBackendIndex));
    auto options = with_workers(backend, 2, 1, 0);
    options.protocol = wire::Protocol::wireguard;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient old_address(address_on(0, 2)), new_address(address_on(1, 2));

    old_address.send_to(relay.udp_port(0), wg_initiation(7));
    REQUIRE(old_address.receive());
    old_address.send_to(relay.udp_port(0), wg_transport(kWorkersBackendIndex, 0, 16));
    REQUIRE(old_address.receive());
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 0});

    // The new address is worker 1's: it hands the datagram to worker 0, which moves the path.
    for (std::uint64_t counter = 1; counter <= 5; ++counter) {
        const auto moved = wg_transport(kWorkersBackendIndex, counter, 16);
        new_address.send_to(relay.udp_port(0), moved);
        auto reply = new_address.receive();
        REQUIRE(reply);
        CHECK(reply->first == moved);
        CHECK(reply->second == relay.udp_port(0));
    }
    CHECK(relay.counter(&relay::Counters::move_accepted) == 1);
    // Counted by the worker that handed them, just after the owner could already answer.
    CHECK(eventually([&] { return relay.counter(&relay::Counters::handoffs) == 5; }));
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 0});
    CHECK(backend.sources().size() == 1);  // the backend still sees one endpoint

    // A replay from the old address (worker 0's own) is forwarded but does not move it back.
    old_address.send_to(relay.udp_port(0), wg_transport(kWorkersBackendIndex, 2, 16));
    CHECK(new_address.receive());
    CHECK_FALSE(old_address.receive(200ms));
    CHECK(relay.counter(&relay::Counters::move_replayed) == 1);

    // An index no session has: worker 1 opens a session of its own.
    UdpClient stranger(address_on(1, 2, 1));
    stranger.send_to(relay.udp_port(0), wg_transport(0x1111, 3, 16));
    REQUIRE(stranger.receive());
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 1});
    CHECK(relay.counter(&relay::Counters::handoffs) == 5);
}

TEST_CASE("workers: an OpenVPN client that changes address keeps its session by peer-id",
          "[workers][roaming]") {
    EchoBackend backend;
    auto options = with_workers(backend, 2, 1, 0);
    options.protocol = wire::Protocol::openvpn;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient old_address(address_on(1, 2)), new_address(address_on(0, 2));
    ovpn_move(relay, old_address, new_address);
    CHECK(eventually([&] { return relay.counter(&relay::Counters::handoffs) == 1; }));
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{0, 1});
    CHECK(backend.sources().size() == 1);
}

TEST_CASE("workers: a porthop client attaching from another worker's address reaches its session",
          "[workers][agent]") {
    KeyedWorkers kit(0);
    RunningRelay relay(kit.options);
    REQUIRE_FALSE(relay.error());
    const auto attach = [&](std::uint64_t counter) { return kit.attach(0xfeed, counter); };
    const auto data = [&](const Bytes& payload) { return kit.data(payload); };
    auto& backend = kit.backend;
    UdpClient first(address_on(0, 2)), second(address_on(1, 2));
    first.send_to(relay.udp_port(0), attach(1));
    auto ack = first.receive();
    REQUIRE(ack);
    CHECK(kit.is_ack(ack->first));
    first.send_to(relay.udp_port(0), data(pattern(80, 1)));
    auto echoed = first.receive();
    REQUIRE(echoed);
    CHECK(kit.payload(echoed->first) == pattern(80, 1));
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 0});

    // The agent's address changes to one of worker 1's: its attach and data reach worker 0.
    second.send_to(relay.udp_port(0), attach(2));
    ack = second.receive();
    REQUIRE(ack);
    CHECK(kit.is_ack(ack->first));
    second.send_to(relay.udp_port(0), data(pattern(90, 2)));
    echoed = second.receive();
    REQUIRE(echoed);
    CHECK(kit.payload(echoed->first) == pattern(90, 2));
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 0});
    CHECK(backend.sources().size() == 1);
    CHECK(eventually([&] { return relay.counter(&relay::Counters::handoffs) == 2; }));

    // The owner's replay window judges attaches that arrive by handoff: a replay is refused.
    second.send_to(relay.udp_port(0), attach(1));
    CHECK_FALSE(second.receive(300ms));
    CHECK(relay.counter(&relay::Counters::agent_reject_replay) == 1);
    CHECK(relay.sessions() == 1);
}

TEST_CASE("workers: a porthop client's TCP connection on another worker brings its session there",
          "[workers][agent]") {
    KeyedWorkers kit(1);
    RunningRelay relay(kit.options);
    REQUIRE_FALSE(relay.error());
    const auto& keys = kit.keys;
    const auto attach = [&](const crypto::HopKeys& with, std::uint64_t counter) { return kit.attach(0xbeef, counter, &with); };
    const auto data = [&](const Bytes& payload) { return kit.data(payload); };
    auto& backend = kit.backend;
    UdpClient udp(address_on(0, 2));
    udp.send_to(relay.udp_port(0), attach(keys, 1));
    REQUIRE(udp.receive());
    udp.send_to(relay.udp_port(0), data(pattern(80, 1)));
    REQUIRE(udp.receive());

    SECTION("from an address of the other worker: attach, data and replies over TCP") {
        TcpClient tcp(false, relay.tcp_port(0), 0, address_on(1, 2));
        REQUIRE(tcp.connected());
        kit.agent_stream(tcp);
        // The attach and a data frame in one write: both reach the owner, in order.
        Bytes both = tcp.record(attach(keys, 2));
        const auto first_data = tcp.record(data(pattern(300, 2)));
        both.insert(both.end(), first_data.begin(), first_data.end());
        tcp.write_raw(both);
        auto ack = tcp.read_frame();
        REQUIRE(ack);
        CHECK(kit.is_ack(*ack));
        auto echoed = tcp.read_frame();
        REQUIRE(echoed);
        CHECK(kit.payload(*echoed) == pattern(300, 2));
        tcp.write_raw(tcp.record(data(pattern(500, 3))));
        echoed = tcp.read_frame();
        REQUIRE(echoed);
        CHECK(kit.payload(*echoed) == pattern(500, 3));
        CHECK(relay.counter(&relay::Counters::tcp_handovers) == 1);
        // One session still, now on the worker holding the connection (the session moves, the
        // connection does not: workers.cpp), with the same backend socket.
        CHECK(worker_sessions(relay) == std::vector<std::size_t>{0, 1});
        CHECK(backend.sources().size() == 1);
        CHECK(relay.snapshot().tcp_connections == 1);
    }
    SECTION("an attach with a wrong tag is judged by the owner and refused without a byte") {
        TcpClient tcp(false, relay.tcp_port(0), 0, address_on(1, 2));
        REQUIRE(tcp.connected());
        // The server's mask (so it opens as an attach here), another key's tag: only the
        // owner's check can refuse it.
        crypto::HopKeys other = crypto::derive_hop_keys(crypto::generate_hop_key());
        other.mask = keys.mask;
        kit.agent_stream(tcp);
        tcp.write_raw(tcp.record(attach(other, 2)));
        CHECK(tcp.read_exact(1, 1000ms).empty());
        CHECK(tcp.closed_by_peer(500ms));
        CHECK(relay.counter(&relay::Counters::tcp_handovers) == 1);
        CHECK(relay.counter(&relay::Counters::agent_reject_bad_tag) == 1);
        CHECK(eventually([&] { return relay.snapshot().tcp_connections == 0; }));
        CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 0});  // refused: nothing moved
    }
    SECTION("after the move, its UDP path from the first worker's address still reaches it") {
        TcpClient tcp(false, relay.tcp_port(0), 0, address_on(1, 2));
        REQUIRE(tcp.connected());
        kit.agent_stream(tcp);
        tcp.write_raw(tcp.record(attach(keys, 2)));
        REQUIRE(tcp.read_frame());  // the ack: the session is on worker 1 now
        CHECK(worker_sessions(relay) == std::vector<std::size_t>{0, 1});
        // Worker 0 receives it and finds the new owner in the directory.
        udp.send_to(relay.udp_port(0), data(pattern(120, 4)));
        auto echoed = udp.receive();
        REQUIRE(echoed);
        CHECK(kit.payload(echoed->first) == pattern(120, 4));
        CHECK(backend.sources().size() == 1);
        CHECK(relay.counter(&relay::Counters::handoffs) >= 1);
    }
}

TEST_CASE("workers: a second relay cannot join the ports of a running one", "[workers]") {
    EchoBackend backend;
    auto options = with_workers(backend, 2, 0, 0);
    for (const auto& [type, ports] : {std::pair{SOCK_DGRAM, &options.udp_ports}, std::pair{SOCK_STREAM, &options.tcp_ports}}) {
        INFO((type == SOCK_DGRAM ? "udp" : "tcp"));
        auto mine = options;
        mine.udp_ports.clear();
        mine.tcp_ports.clear();
        *(type == SOCK_DGRAM ? &mine.udp_ports : &mine.tcp_ports) = free_ports(false, type, 1);
        RunningRelay first(mine);
        REQUIRE_FALSE(first.error());
        // SO_REUSEPORT would let it in (same user): the relay checks before it binds.
        boost::asio::io_context io;
        relay::Server second(io, mine);
        const auto error = second.start();
        REQUIRE(error);
        CHECK_THAT(*error, Catch::Contains("Address already in use"));
        // One worker: refused by the bind itself, as before.
        mine.workers = 1;
        relay::Server third(io, mine);
        CHECK(third.start());
    }
}

TEST_CASE("workers: max_sessions holds for the server, not for each worker", "[workers][limits]") {
    EchoBackend backend;
    auto options = with_workers(backend, 2, 1, 0);
    options.max_sessions = 4;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    std::vector<std::unique_ptr<UdpClient>> clients;
    std::size_t answered = 0;
    for (unsigned i = 0; i < 4; ++i)
        for (std::uint32_t worker = 0; worker < 2; ++worker) {
            clients.push_back(std::make_unique<UdpClient>(address_on(worker, 2, i)));
            clients.back()->send_to(relay.udp_port(0), bytes("hi"));
            if (clients.back()->receive(300ms)) ++answered;
        }
    CHECK(answered == 4);
    CHECK(relay.sessions() == 4);
    CHECK(relay.counter(&relay::Counters::drop_session_limit) == 4);
}

TEST_CASE("workers: a reload opens and closes ports on every worker", "[workers][reload]") {
    EchoBackend backend;
    auto options = with_workers(backend, 2, 0, 0);
    options.udp_ports = free_ports(false, SOCK_DGRAM, 2);
    REQUIRE(options.udp_ports.size() == 2);
    auto first_only = options;
    first_only.udp_ports.resize(1);
    RunningRelay relay(first_only);
    REQUIRE_FALSE(relay.error());
    UdpClient on0(address_on(0, 2)), on1(address_on(1, 2));
    const auto works = [&](UdpClient& c, std::uint16_t port) {
        c.send_to(port, bytes("ping"));
        return c.receive(300ms).has_value();
    };
    CHECK_FALSE(works(on0, options.udp_ports[1]));
    REQUIRE_FALSE(relay.reconfigure(options));
    CHECK(works(on0, options.udp_ports[1]));
    CHECK(works(on1, options.udp_ports[1]));
    CHECK(worker_sessions(relay) == std::vector<std::size_t>{1, 1});
    REQUIRE_FALSE(relay.reconfigure(first_only));
    CHECK_FALSE(works(on0, options.udp_ports[1]));
    CHECK_FALSE(works(on1, options.udp_ports[1]));
    CHECK(works(on1, options.udp_ports[0]));
    // A change of workers waits for a restart, and says so.
    auto more = first_only;
    more.workers = 3;
    std::string changes;
    REQUIRE_FALSE(relay.reconfigure(more, &changes));
    CHECK(changes.find("workers stays 2 until a restart") != std::string::npos);
}

// IPv6 clients are steered by their /64 (a host's privacy addresses change within it). Needs
// addresses in twelve /64s, which loopback does not have: integration_ipv6.sh runs this case
// in a network namespace of its own that has them (its only tag hides it from other runs).
TEST_CASE("workers: IPv6 clients are steered by their /64", "[.ipv6_netns]") {
    constexpr std::uint32_t kWorkers = 3;
    EchoBackend backend;
    auto options = options_for(backend, true, 1, 0);  // the relay on ::1
    options.workers = kWorkers;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    std::vector<std::size_t> expected(kWorkers, 0);
    std::vector<std::unique_ptr<UdpClient>> clients;
    for (unsigned prefix = 1; prefix <= 12; ++prefix) {
        // Two hosts of one /64 that differ in every byte of the interface identifier.
        for (const std::string host : {"::2", ":a11:b22:c33:d44"}) {
            const std::string text = "fd00:7068:0:" + std::to_string(prefix) + host;
            const auto address = boost::asio::ip::make_address_v6(text);
            in6_addr raw{};
            const auto address_bytes = address.to_bytes();
            std::memcpy(raw.s6_addr, address_bytes.data(), sizeof raw.s6_addr);
            clients.push_back(std::make_unique<UdpClient>(raw));
            INFO(text << " (run through tests/integration/integration_ipv6.sh, which adds it)");
            REQUIRE(clients.back()->bound());
            const auto hello = pattern(100, prefix);
            clients.back()->send_to(relay.udp_port(0), hello);
            auto reply = clients.back()->receive();
            REQUIRE(reply);
            CHECK(reply->first == hello);
            ++expected[net::steering_worker(
                net::Endpoint::from_asio(boost::asio::ip::udp::endpoint(address, 0)), kWorkers)];
            const bool placed = eventually([&] { return worker_sessions(relay) == expected; });
            INFO("worker sessions " << ::Catch::Detail::stringify(worker_sessions(relay)) << " expected "
                                    << ::Catch::Detail::stringify(expected));
            REQUIRE(placed);
        }
    }
    for (auto n : expected) CHECK(n > 0);  // the prefixes spread over every worker
    CHECK(relay.counter(&relay::Counters::handoffs) == 0);
}
