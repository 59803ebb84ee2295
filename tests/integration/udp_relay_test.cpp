// UDP through the relay: every listener port forwards to the backend and replies come back
// from the port the client used; each client is one stable source address at the backend.
#include <catch2/catch.hpp>

#include "../support/harness.hpp"

using namespace porthop;
using namespace porthop::test;

TEST_CASE("datagrams through several UDP ports come back from the port they were sent to", "[udp]") {
    const bool v6 = GENERATE(false, true);
    CAPTURE(v6);
    EchoBackend backend;
    RunningRelay relay(options_for(backend, v6, 3, 0));
    REQUIRE_FALSE(relay.error());

    UdpClient client(v6);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto port = relay.udp_port(i);
        const auto payload = pattern(100 + i * 500, static_cast<unsigned>(i));
        client.send_to(port, payload);
        auto reply = client.receive();
        REQUIRE(reply);
        CHECK(reply->first == payload);
        CHECK(reply->second == port);
    }
    // One client on three listener ports is three sessions, each its own backend address.
    CHECK(backend.sources().size() == 3);
    CHECK(relay.sessions() == 3);
    CHECK(relay.counter(&relay::Counters::to_backend_packets) == 3);
    CHECK(relay.counter(&relay::Counters::to_client_packets) == 3);
}

TEST_CASE("a client keeps one backend address for all its datagrams", "[udp]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(relay.error());
    UdpClient a(false), b(false);
    for (int i = 0; i < 20; ++i) {
        a.send_to(relay.udp_port(0), bytes("a" + std::to_string(i)));
        b.send_to(relay.udp_port(0), bytes("b" + std::to_string(i)));
    }
    std::size_t got_a = 0, got_b = 0;
    for (int i = 0; i < 20; ++i) {
        auto ra = a.receive();
        auto rb = b.receive();
        REQUIRE(ra);
        REQUIRE(rb);
        got_a += ra->first.front() == std::byte{'a'};
        got_b += rb->first.front() == std::byte{'b'};
    }
    CHECK(got_a == 20);  // replies never cross between clients
    CHECK(got_b == 20);
    CHECK(backend.sources().size() == 2);
}

TEST_CASE("a burst larger than one receive batch is forwarded in order without loss", "[udp]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    constexpr int kCount = 200;  // several recvmmsg batches; well within loopback buffers
    for (int i = 0; i < kCount; ++i) client.send_to(relay.udp_port(0), pattern(64, static_cast<unsigned>(i)));
    for (int i = 0; i < kCount; ++i) {
        auto reply = client.receive();
        REQUIRE(reply);
        CHECK(reply->first == pattern(64, static_cast<unsigned>(i)));
    }
}

TEST_CASE("sessions expire when the client is idle, and come back with a new backend address", "[udp][expiry]") {
    EchoBackend backend;
    auto options = options_for(backend, false, 1, 0);
    options.idle_timeout = 300ms;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), bytes("one"));
    REQUIRE(client.receive());
    REQUIRE(relay.sessions() == 1);
    CHECK(eventually([&] { return relay.sessions() == 0; }));
    CHECK(relay.counter(&relay::Counters::sessions_closed) == 1);

    client.send_to(relay.udp_port(0), bytes("two"));
    REQUIRE(client.receive());
    CHECK(relay.sessions() == 1);
    CHECK(backend.sources().size() == 2);  // a new session is a new upstream socket
}

TEST_CASE("an active session does not expire", "[udp][expiry]") {
    EchoBackend backend;
    auto options = options_for(backend, false, 1, 0);
    options.idle_timeout = 400ms;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    for (int i = 0; i < 10; ++i) {  // 10 x 100 ms = 2.5 idle timeouts of steady traffic
        client.send_to(relay.udp_port(0), bytes("keepalive"));
        REQUIRE(client.receive());
        std::this_thread::sleep_for(100ms);
    }
    CHECK(relay.counter(&relay::Counters::sessions_closed) == 0);
    CHECK(backend.sources().size() == 1);
}

TEST_CASE("the session limit refuses new clients and keeps serving existing ones", "[udp][limits]") {
    EchoBackend backend;
    auto options = options_for(backend, false, 1, 0);
    options.max_sessions = 2;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient a(false), b(false), c(false);
    a.send_to(relay.udp_port(0), bytes("a"));
    REQUIRE(a.receive());
    b.send_to(relay.udp_port(0), bytes("b"));
    REQUIRE(b.receive());
    c.send_to(relay.udp_port(0), bytes("c"));
    CHECK_FALSE(c.receive(300ms));
    CHECK(relay.counter(&relay::Counters::drop_session_limit) == 1);
    CHECK(backend.datagrams() == 2);  // nothing of c's reached the backend
    a.send_to(relay.udp_port(0), bytes("a2"));
    CHECK(a.receive());
}

TEST_CASE("datagrams larger than max_datagram are dropped, smaller ones pass", "[udp][limits]") {
    EchoBackend backend;
    auto options = options_for(backend, false, 1, 0);
    options.max_datagram = 1000;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), pattern(1001, 1));
    CHECK_FALSE(client.receive(300ms));
    CHECK(relay.counter(&relay::Counters::drop_truncated) == 1);
    client.send_to(relay.udp_port(0), pattern(1000, 2));
    auto reply = client.receive();
    REQUIRE(reply);
    CHECK(reply->first == pattern(1000, 2));
}

TEST_CASE("empty datagrams are dropped and counted", "[udp]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), Bytes{});
    CHECK_FALSE(client.receive(300ms));
    CHECK(relay.counter(&relay::Counters::drop_empty) == 1);
    CHECK(backend.datagrams() == 0);
}

TEST_CASE("binding a port that is taken fails with a message naming it", "[udp]") {
    EchoBackend backend;
    RunningRelay first(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(first.error());
    auto options = options_for(backend, false, 0, 0);
    options.udp_ports = {first.udp_port(0)};
    RunningRelay second(options);
    REQUIRE(second.error());
    CHECK_THAT(*second.error(), Catch::Contains("cannot listen on udp 127.0.0.1:" + std::to_string(first.udp_port(0))));
    CHECK_THAT(*second.error(), Catch::Contains("in use"));
}

TEST_CASE("a wildcard listener replies from the address the client sent to", "[udp]") {
    EchoBackend backend;
    auto options = options_for(backend, false, 1, 0);
    options.listen = {boost::asio::ip::make_address("0.0.0.0")};
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    // 127.0.0.2 is a loopback address too: the reply must come from it, not from 127.0.0.1.
    Fd fd(::socket(AF_INET, SOCK_DGRAM, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(relay.udp_port(0));
    inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
    ::sendto(fd.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    pollfd p{fd.get(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 2000) == 1);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    char c;
    REQUIRE(::recvfrom(fd.get(), &c, 1, 0, reinterpret_cast<sockaddr*>(&from), &len) == 1);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
    CHECK(std::string(text) == "127.0.0.2");
    CHECK(ntohs(from.sin_port) == relay.udp_port(0));
}
