// Live reload: listeners added and removed while traffic runs, limits changed, and a reload
// that cannot be applied leaving everything as it was.
#include <catch2/catch.hpp>

#include "../support/harness.hpp"
#include "native_messages.hpp"
#include "porthop/relay/session_state.hpp"

using namespace porthop;
using namespace porthop::test;

namespace {

// Sends one datagram and expects its echo from `port`; false if nothing came back.
bool round_trip(UdpClient& client, std::uint16_t port, const std::string& text,
                std::chrono::milliseconds timeout = 2000ms) {
    client.send_to(port, bytes(text));
    auto reply = client.receive(timeout);
    return reply && reply->first == bytes(text) && reply->second == port;
}

}  // namespace

TEST_CASE("reload adds a UDP port; sessions on the ports that stay keep their backend address", "[reload]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(relay.error());
    const auto kept = relay.udp_port(0);
    UdpClient client(false);
    REQUIRE(round_trip(client, kept, "before"));
    REQUIRE(backend.sources().size() == 1);

    auto next = options_for(backend, false, 0, 0);
    next.udp_ports = {kept, 0};  // keep the port, add a new (ephemeral) one
    std::string changes;
    REQUIRE_FALSE(relay.reconfigure(next, &changes));
    CHECK_THAT(changes, Catch::Contains("+udp"));
    const auto ports = relay.udp_ports();
    REQUIRE(ports.size() == 2);
    const auto added = ports[0] == kept ? ports[1] : ports[0];

    REQUIRE(round_trip(client, kept, "after"));
    CHECK(backend.sources().size() == 1);  // same session, same upstream socket
    CHECK(round_trip(client, added, "new port"));
    CHECK(relay.counter(&relay::Counters::sessions_closed) == 0);
}

TEST_CASE("reload removes a UDP port: it goes silent and its sessions close, others flow on", "[reload]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 2, 0));
    REQUIRE_FALSE(relay.error());
    const auto kept = relay.udp_port(0), removed = relay.udp_port(1);
    UdpClient a(false), b(false);
    REQUIRE(round_trip(a, kept, "a"));
    REQUIRE(round_trip(b, removed, "b"));

    auto next = options_for(backend, false, 0, 0);
    next.udp_ports = {kept};
    std::string changes;
    REQUIRE_FALSE(relay.reconfigure(next, &changes));
    CHECK_THAT(changes, Catch::Contains("-udp 127.0.0.1:" + std::to_string(removed)));
    CHECK_THAT(changes, Catch::Contains("1 sessions on removed ports closed"));
    CHECK(relay.sessions() == 1);
    CHECK_FALSE(round_trip(b, removed, "b again", 300ms));
    CHECK(round_trip(a, kept, "a again"));
    CHECK(backend.sources().size() == 2);  // a kept its session: no third upstream address
}

TEST_CASE("a reload that cannot open a new port changes nothing", "[reload]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 2, 0));
    REQUIRE_FALSE(relay.error());
    const auto p0 = relay.udp_port(0), p1 = relay.udp_port(1);
    UdpClient client(false);
    REQUIRE(round_trip(client, p1, "x"));

    // A port someone else holds: the reload must fail as a whole.
    Fd squatter(::socket(AF_INET, SOCK_DGRAM, 0));
    socklen_t len;
    auto any = loopback(false, 0, len);
    REQUIRE(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&any), len) == 0);
    sockaddr_in bound{};
    len = sizeof bound;
    ::getsockname(squatter.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    const auto taken = ntohs(bound.sin_port);

    auto next = options_for(backend, false, 0, 0);
    next.udp_ports = {p0, 0, taken};  // would remove p1 and add two ports, one of them taken
    next.max_sessions = 1;
    auto error = relay.reconfigure(next);
    REQUIRE(error);
    CHECK_THAT(*error, Catch::Contains("cannot listen on udp 127.0.0.1:" + std::to_string(taken)));
    auto ports = relay.udp_ports();
    std::sort(ports.begin(), ports.end());
    auto expected = std::vector<std::uint16_t>{p0, p1};
    std::sort(expected.begin(), expected.end());
    CHECK(ports == expected);  // the new ephemeral port opened by the attempt was closed again
    CHECK(round_trip(client, p1, "still here"));
    UdpClient other(false);  // the old max_sessions still applies
    CHECK(round_trip(other, p0, "second session"));
}

TEST_CASE("reload lowers max_sessions: existing sessions stay, new clients wait", "[reload][limits]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(relay.error());
    const auto port = relay.udp_port(0);
    UdpClient a(false), b(false), c(false);
    REQUIRE(round_trip(a, port, "a"));
    REQUIRE(round_trip(b, port, "b"));
    auto next = options_for(backend, false, 0, 0);
    next.udp_ports = {port};
    next.max_sessions = 1;
    std::string changes;
    REQUIRE_FALSE(relay.reconfigure(next, &changes));
    CHECK_THAT(changes, Catch::Contains("max_sessions 1"));
    CHECK(round_trip(a, port, "a2"));
    CHECK(round_trip(b, port, "b2"));
    CHECK_FALSE(round_trip(c, port, "c", 300ms));
    CHECK(relay.counter(&relay::Counters::drop_session_limit) == 1);
}

TEST_CASE("reload removes a TCP port: new connections are refused, accepted ones keep going", "[reload][tcp]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 1));
    REQUIRE_FALSE(relay.error());
    const auto tcp_port = relay.tcp_port(0);
    TcpClient established(false, tcp_port);
    established.write_raw(TcpClient::frame(bytes("1")));
    REQUIRE(established.read_frame());

    auto next = options_for(backend, false, 0, 0);
    next.udp_ports = {relay.udp_port(0)};
    REQUIRE_FALSE(relay.reconfigure(next));
    TcpClient late(false, tcp_port);
    CHECK_FALSE(late.connected());
    established.write_raw(TcpClient::frame(bytes("2")));
    auto reply = established.read_frame();
    REQUIRE(reply);
    CHECK(*reply == bytes("2"));
}

TEST_CASE("max_datagram does not change on reload", "[reload]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 1, 0));
    REQUIRE_FALSE(relay.error());
    auto next = options_for(backend, false, 0, 0);
    next.udp_ports = {relay.udp_port(0)};
    next.max_datagram = 1000;
    std::string changes;
    REQUIRE_FALSE(relay.reconfigure(next, &changes));
    CHECK_THAT(changes, Catch::Contains("max_datagram stays 65507 until a restart"));
    UdpClient client(false);
    client.send_to(relay.udp_port(0), pattern(1500, 1));
    auto reply = client.receive();
    REQUIRE(reply);
    CHECK(reply->first.size() == 1500);
}

TEST_CASE("the snapshot counts sessions, datagrams and bytes per listener", "[metrics]") {
    EchoBackend backend;
    RunningRelay relay(options_for(backend, false, 2, 1));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    for (int i = 0; i < 3; ++i) REQUIRE(round_trip(client, relay.udp_port(0), "12345"));
    TcpClient tcp(false, relay.tcp_port(0));
    tcp.write_raw(TcpClient::frame(bytes("abcdefg")));
    REQUIRE(tcp.read_frame());
    const auto snap = relay.snapshot();
    REQUIRE(snap.listeners.size() == 3);
    CHECK(snap.sessions == 2);
    CHECK(snap.tcp_connections == 1);
    for (const auto& l : snap.listeners) {
        INFO(l.proto << " " << l.bound.to_string());
        if (l.bound.port() == relay.udp_port(0)) {
            CHECK(l.sessions == 1);
            CHECK(l.from_client_packets == 3);
            CHECK(l.from_client_bytes == 15);
            CHECK(l.to_client_packets == 3);
            CHECK(l.to_client_bytes == 15);
        } else if (std::string(l.proto) == "tcp") {
            CHECK(l.sessions == 1);
            CHECK(l.from_client_packets == 1);
            CHECK(l.from_client_bytes == 7);
            CHECK(l.to_client_packets == 1);
            CHECK(l.to_client_bytes == 7);
        } else {
            CHECK(l.sessions == 0);
            CHECK(l.from_client_packets == 0);
        }
    }
}

TEST_CASE("restart: sessions saved at stop come back on their old backend-side ports", "[restart]") {
    // A WireGuard backend in outline (initiation -> response, the rest echoed), so the session
    // is validated before the restart and its replies are not capped after it.
    EchoBackend backend(true, [](const Bytes& d) {
        if (d.size() == 148 && d[0] == std::byte{1}) return std::vector<Bytes>{wg_response(0xabcd, le32(d, 4))};
        return std::vector<Bytes>{d};
    });
    const auto ports = free_ports(false, SOCK_DGRAM, 1);
    REQUIRE(ports.size() == 1);
    auto options = options_for(backend, false, 0, 0);
    options.udp_ports = ports;
    options.source_limits.sessions_per_source = 64;  // restore must not depend on limits being off
    const std::string path = "/tmp/porthop-state-" + std::to_string(::getpid());
    UdpClient client(false);
    net::Endpoint upstream;
    {
        RunningRelay before(options);
        REQUIRE_FALSE(before.error());
        client.send_to(ports[0], wg_initiation(7));
        REQUIRE(client.receive());
        client.send_to(ports[0], wg_transport(0xabcd, 0, 16));  // the index proof: validated
        REQUIRE(client.receive());
        REQUIRE(before.counter(&relay::Counters::native_validated) == 1);
        REQUIRE(backend.sources().size() == 1);
        upstream = backend.sources()[0];
        CHECK_FALSE(before.on_loop([&](relay::Server& s) { return s.save_state(path); }));
    }
    RunningRelay after(options);
    REQUIRE_FALSE(after.error());
    const auto restored = after.on_loop([&](relay::Server& s) { return s.restore_state(path); });
    CHECK(restored.restored == 1);
    CHECK(restored.skipped == 0);
    // The backend, which never heard of the restart, sends to the port it knows: it reaches the
    // client before the client said anything to the new process.
    const auto pushed = wg_transport(7, 1, 1000);
    backend.send_to(upstream, pushed);
    auto reply = client.receive();
    REQUIRE(reply);
    CHECK(reply->first == pushed);
    CHECK(reply->second == ports[0]);
    client.send_to(ports[0], bytes("again"));
    REQUIRE(client.receive());
    CHECK(backend.sources().size() == 1);  // the same session, the same socket
    // A second restore finds the session there already.
    CHECK(after.on_loop([&](relay::Server& s) { return s.restore_state(path); }).skipped == 1);
    // A file for another backend, or an old one, restores nothing; no file is no error.
    auto text = relay::read_state_file(path, *std::make_unique<std::string>());
    REQUIRE(text);
    std::string why;
    auto state = relay::parse_state(*text, why);
    REQUIRE(state);
    auto moved = *state;
    moved.backend = net::Endpoint::from_asio(boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 9));
    REQUIRE(relay::write_state_file(path, relay::format_state(moved), why));
    auto refused = after.on_loop([&](relay::Server& s) { return s.restore_state(path); });
    CHECK(refused.restored + refused.skipped == 0);
    CHECK_THAT(refused.why_none, Catch::Contains("written for backend 127.0.0.1:9"));
    auto old = *state;
    old.written -= options.idle_timeout + std::chrono::seconds{1};
    REQUIRE(relay::write_state_file(path, relay::format_state(old), why));
    CHECK_THAT(after.on_loop([&](relay::Server& s) { return s.restore_state(path); }).why_none,
               Catch::Contains("older than idle_timeout"));
    ::unlink(path.c_str());
    const auto none = after.on_loop([&](relay::Server& s) { return s.restore_state(path); });
    CHECK(none.restored + none.skipped == 0);
    CHECK(none.why_none.empty());
}
