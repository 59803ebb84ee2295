// The server's checks on native clients (issue 5): what a listener carries, the mac1 firewall,
// native roaming, anti-amplification and the per-source limits, through real sockets.
// Backends here are scripted: they answer as a WireGuard or OpenVPN server would, with the
// indices and sizes each check looks at.
#include <catch2/catch.hpp>

#include "../fixtures/fixture.hpp"
#include "../support/harness.hpp"
#include "native_messages.hpp"

using namespace porthop;
using namespace porthop::test;

namespace {

bool is_type(const Bytes& d, int type, std::size_t size) {
    return d.size() == size && d[0] == static_cast<std::byte>(type);
}

// The backend's index for the keypair of every test session.
constexpr std::uint32_t kGuardBackendIndex = 0xabcd1234;

relay::ServerOptions guarded(const EchoBackend& backend, wire::Protocol protocol, std::size_t udp = 1,
                             std::size_t tcp = 0) {
    auto o = options_for(backend, false, udp, tcp);
    o.protocol = protocol;
    return o;
}

crypto::WgKey wg_key(const std::string& text) {
    std::string why;
    auto key = crypto::parse_wg_key(text, why);
    REQUIRE(key);
    return *key;
}

// The nth datagram in `direction` of the OpenVPN capture with that control-channel wrapping.
Bytes ovpn_packet(const std::string& direction, std::size_t nth, const std::string& wrapping = "none") {
    std::size_t seen = 0;
    for (const auto& c : load_ovpn_capture())
        if (c.wrapping == wrapping && c.direction == direction && seen++ == nth) return c.bytes;
    FAIL("no such packet in the capture");
    return {};
}

std::size_t drain(UdpClient& client, std::chrono::milliseconds quiet = 300ms) {
    std::size_t n = 0;
    while (client.receive(quiet)) ++n;
    return n;
}

}  // namespace

TEST_CASE("a wireguard listener drops what is not WireGuard, and counts it", "[native][protocol]") {
    EchoBackend backend;
    RunningRelay relay(guarded(backend, wire::Protocol::wireguard));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    auto short_initiation = wg_initiation(1);
    short_initiation.pop_back();
    for (const auto& junk : {bytes("hello"), pattern(200, 3), short_initiation, ovpn_packet("c2s", 0)})
        client.send_to(relay.udp_port(0), junk);
    CHECK_FALSE(client.receive(300ms));
    CHECK(relay.counter(&relay::Counters::drop_not_wireguard) == 4);
    CHECK(backend.datagrams() == 0);
    CHECK(relay.sessions() == 0);  // junk never costs a session

    client.send_to(relay.udp_port(0), wg_initiation(7));
    REQUIRE(client.receive());
    CHECK(backend.datagrams() == 1);
    CHECK(relay.counter(&relay::Counters::drop_not_wireguard) == 4);
}

TEST_CASE("an openvpn listener drops what is not OpenVPN", "[native][protocol]") {
    EchoBackend backend;
    RunningRelay relay(guarded(backend, wire::Protocol::openvpn));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), wg_initiation(1));
    client.send_to(relay.udp_port(0), bytes("GET / HTTP/1.1\r\n\r\n"));
    CHECK_FALSE(client.receive(300ms));
    CHECK(relay.counter(&relay::Counters::drop_not_openvpn) == 2);
    CHECK(backend.datagrams() == 0);
    const auto reset = ovpn_packet("c2s", 0);
    client.send_to(relay.udp_port(0), reset);
    auto reply = client.receive();
    REQUIRE(reply);
    CHECK(reply->first == reset);
}

TEST_CASE("mac1 firewall: only initiations made for the backend's key reach it", "[native][mac1]") {
    const auto initiation = load_fixture("wg_handshake_initiation.hex");
    EchoBackend backend(false);  // a sink: count what arrives
    auto options = guarded(backend, wire::Protocol::any, 1, 1);
    options.wg_public_key = wg_key(initiation.at("responder_public_key"));
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);

    auto forged = initiation.packet;
    forged[116] ^= std::byte{1};  // one bit of mac1
    client.send_to(relay.udp_port(0), forged);
    client.send_to(relay.udp_port(0), wg_initiation(9));  // mac1 all zeros
    CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_bad_mac1) == 2; }));
    CHECK(relay.sessions() == 0);

    client.send_to(relay.udp_port(0), initiation.packet);
    CHECK(eventually([&] { return backend.datagrams() == 1; }));
    CHECK(backend.received().at(0) == initiation.packet);
    // Transport messages carry no mac1 and pass.
    client.send_to(relay.udp_port(0), wg_transport(1, 0, 16));
    CHECK(eventually([&] { return backend.datagrams() == 2; }));

    // Over TCP: a forged initiation as the first frame closes the connection, nothing forwarded.
    TcpClient tcp(false, relay.tcp_port(0));
    REQUIRE(tcp.connected());
    tcp.write_raw(TcpClient::frame(forged));
    CHECK(tcp.closed_by_peer());
    CHECK(relay.counter(&relay::Counters::drop_bad_mac1) == 3);
    CHECK(backend.datagrams() == 2);
}

TEST_CASE("mac1 firewall: the key of another server fails the real handshake", "[native][mac1]") {
    const auto initiation = load_fixture("wg_handshake_initiation.hex");
    EchoBackend backend(false);
    auto options = guarded(backend, wire::Protocol::wireguard);
    options.wg_public_key = wg_key(initiation.at("initiator_public_key"));  // not the responder's
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), initiation.packet);
    CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_bad_mac1) == 1; }));
    CHECK(backend.datagrams() == 0);
}

TEST_CASE("native roaming: a WireGuard client moving address or port keeps its session", "[native][roaming]") {
    EchoBackend backend(true, wg_server(kGuardBackendIndex));
    RunningRelay relay(guarded(backend, wire::Protocol::wireguard, 2));
    REQUIRE_FALSE(relay.error());
    UdpClient old_address(false), new_address(false);

    old_address.send_to(relay.udp_port(0), wg_initiation(7));
    auto response = old_address.receive();
    REQUIRE(response);
    REQUIRE(is_type(response->first, 2, 92));
    old_address.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 0, 16));
    REQUIRE(old_address.receive());

    // The client's address changes (NAT rebinding): its next packet comes from elsewhere.
    const auto moved = wg_transport(kGuardBackendIndex, 1, 16);
    new_address.send_to(relay.udp_port(0), moved);
    auto reply = new_address.receive();
    REQUIRE(reply);
    CHECK(reply->first == moved);
    CHECK(relay.counter(&relay::Counters::move_accepted) == 1);
    CHECK(relay.sessions() == 1);
    CHECK(backend.sources().size() == 1);  // the backend still sees one endpoint

    // A straggler (or a replay) from the old address reaches the backend through the same
    // session, but the replies stay with the new address.
    old_address.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 0, 16));
    CHECK(new_address.receive());
    CHECK_FALSE(old_address.receive(200ms));
    CHECK(relay.counter(&relay::Counters::move_replayed) == 1);
    CHECK(backend.sources().size() == 1);
    CHECK(relay.sessions() == 1);

    // A jump far beyond the highest counter does not move it either.
    old_address.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 1 + (std::uint64_t{1} << 21), 16));
    CHECK(new_address.receive());
    CHECK(relay.counter(&relay::Counters::move_too_far) == 1);

    // The same client moving to the relay's other port: replies now leave from that port.
    new_address.send_to(relay.udp_port(1), wg_transport(kGuardBackendIndex, 2, 16));
    reply = new_address.receive();
    REQUIRE(reply);
    CHECK(reply->second == relay.udp_port(1));
    CHECK(relay.counter(&relay::Counters::move_accepted) == 2);
    CHECK(backend.sources().size() == 1);

    // An index the backend never gave is no session's: a new client as usual.
    UdpClient stranger(false);
    stranger.send_to(relay.udp_port(0), wg_transport(0x5555, 9, 16));
    REQUIRE(stranger.receive());
    CHECK(relay.sessions() == 2);
    CHECK(backend.sources().size() == 2);
}

TEST_CASE("native roaming: an OpenVPN client moving address keeps its session by peer-id", "[native][roaming]") {
    EchoBackend backend;
    RunningRelay relay(guarded(backend, wire::Protocol::openvpn));
    REQUIRE_FALSE(relay.error());
    UdpClient old_address(false), new_address(false);
    ovpn_move(relay, old_address, new_address);
    CHECK(relay.sessions() == 1);
    CHECK(backend.sources().size() == 1);
    // A replay of an older packet from the old address does not take the path back.
    old_address.send_to(relay.udp_port(0), ovpn_data_v2(3));
    CHECK(new_address.receive());
    CHECK_FALSE(old_address.receive(200ms));
    CHECK(relay.counter(&relay::Counters::move_replayed) == 1);
    CHECK(backend.sources().size() == 1);
}

TEST_CASE("anti-amplification: an unvalidated WireGuard client gets no more than it sent", "[native][amplification]") {
    // The backend answers an initiation with its response and, at once, two data packets: more
    // than the 148 bytes the client sent.
    EchoBackend backend(true, wg_server(kGuardBackendIndex, {wg_transport(7, 0, 68), wg_transport(7, 1, 68)}));
    RunningRelay relay(guarded(backend, wire::Protocol::wireguard));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), wg_initiation(7));
    auto first = client.receive();
    REQUIRE(first);
    CHECK(is_type(first->first, 2, 92));
    CHECK(drain(client) == 0);  // 92 + 100 > 148
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 2);
    CHECK(relay.counter(&relay::Counters::native_validated) == 0);

    // A transport message with the index from the response shows the client received it.
    client.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 0, 1000));
    REQUIRE(client.receive());
    CHECK(relay.counter(&relay::Counters::native_validated) == 1);
    client.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 1));  // a keepalive...
    REQUIRE(client.receive());
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 2);
}

TEST_CASE("anti-amplification: a sender that proves nothing gets at most what it sent", "[native][amplification]") {
    EchoBackend backend(true, [](const Bytes& d) { return std::vector<Bytes>(3, d); });
    RunningRelay relay(guarded(backend, wire::Protocol::any));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), pattern(100, 1));
    REQUIRE(client.receive());
    CHECK(drain(client) == 0);
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 2);
    client.send_to(relay.udp_port(0), pattern(100, 2));  // each datagram buys one answer of its size
    REQUIRE(client.receive());
    CHECK(drain(client) == 0);
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 4);
}

TEST_CASE("anti-amplification: OpenVPN gets three times, until its ack names the server", "[native][amplification]") {
    // Real OpenVPN 2.6 packets (no tls-auth): the client's 14-byte hard reset, the server's
    // 26-byte answer, the client's ClientHello (which acknowledges the server's session id),
    // and the server's 1222-byte certificate flight.
    const auto client_reset = ovpn_packet("c2s", 0), server_reset = ovpn_packet("s2c", 0);
    const auto client_hello = ovpn_packet("c2s", 1), server_flight = ovpn_packet("s2c", 1);
    REQUIRE(client_reset.size() == 14);
    REQUIRE(server_reset.size() == 26);
    REQUIRE(server_flight.size() == 1222);
    EchoBackend backend(true, [&](const Bytes& d) {
        // Answers twice to the reset (a retransmission), then sends its flight.
        return d.size() == 14 ? std::vector<Bytes>{server_reset, server_reset}
                              : std::vector<Bytes>{server_flight, server_flight};
    });
    RunningRelay relay(guarded(backend, wire::Protocol::openvpn));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), client_reset);
    REQUIRE(client.receive());         // 26 <= 3 x 14
    CHECK(drain(client) == 0);         // 52 > 42
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 1);
    client.send_to(relay.udp_port(0), client_hello);
    CHECK(drain(client) == 2);  // validated: the whole flight
    CHECK(relay.counter(&relay::Counters::native_validated) == 1);
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 1);
}

TEST_CASE("anti-amplification: under tls-crypt the backend's own check validates", "[native][amplification]") {
    // Real tls-crypt packets: the acks are encrypted, so the client never shows the server's
    // session id; the server's reset reply does not echo the client's in clear either, which
    // tells the relay the backend checks return routability itself (OpenVPN 2.6's cookie).
    const auto client_reset = ovpn_packet("c2s", 0, "tls-crypt"), server_reset = ovpn_packet("s2c", 0, "tls-crypt");
    const auto client_hello = ovpn_packet("c2s", 1, "tls-crypt");
    const auto flight = ovpn_packet("s2c", 1, "tls-crypt"), ack = ovpn_packet("s2c", 2, "tls-crypt");
    REQUIRE(flight.size() > 3 * (client_reset.size() + client_hello.size()) - server_reset.size());
    EchoBackend backend(true, [&](const Bytes& d) {
        return d == client_reset ? std::vector<Bytes>{server_reset} : std::vector<Bytes>{flight, ack};
    });
    RunningRelay relay(guarded(backend, wire::Protocol::openvpn));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), client_reset);
    REQUIRE(client.receive());
    CHECK(relay.counter(&relay::Counters::native_validated) == 0);
    client.send_to(relay.udp_port(0), client_hello);
    CHECK(drain(client) == 2);  // the whole flight
    CHECK(relay.counter(&relay::Counters::native_validated) == 1);
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 0);
}

TEST_CASE("anti-amplification: a plain backend's flight stays capped for a sender that never echoed it",
          "[native][amplification]") {
    // The backend's reset reply acknowledges the client's session id in clear (no tls-crypt),
    // so only the client's own echo of the server's id can validate -- and this sender, like a
    // spoofer who never saw the reply, sends a ClientHello that does not carry it.
    const auto client_reset = ovpn_packet("c2s", 0), server_reset = ovpn_packet("s2c", 0);
    const auto blind_hello = ovpn_packet("c2s", 1, "tls-crypt");  // some other session's ClientHello
    const auto flight = ovpn_packet("s2c", 1);
    EchoBackend backend(true, [&](const Bytes& d) {
        return d == client_reset ? std::vector<Bytes>{server_reset} : std::vector<Bytes>{flight};
    });
    RunningRelay relay(guarded(backend, wire::Protocol::openvpn));
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), client_reset);
    REQUIRE(client.receive());
    client.send_to(relay.udp_port(0), blind_hello);
    CHECK(drain(client) == 0);
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 1);
    CHECK(relay.counter(&relay::Counters::native_validated) == 0);
}

TEST_CASE("restart: a client's transport data is validated by the backend's first answer", "[native][restart]") {
    // After a relay restart a WireGuard client sends transport data (no handshake, an index the
    // relay never saw). The backend answers it with more than it got (a download resumes).
    const Bytes bulk = wg_transport(7, 100, 1200);
    EchoBackend backend(true, [&](const Bytes& d) {
        return is_type(d, 4, d.size()) ? std::vector<Bytes>(3, bulk) : std::vector<Bytes>{};
    });
    auto options = guarded(backend, wire::Protocol::wireguard);
    options.source_limits.sessions_per_source = 64;  // the per-source bounds on, as by default
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    client.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 500));  // a 32-byte keepalive
    for (int i = 0; i < 3; ++i) {
        auto reply = client.receive();
        REQUIRE(reply);
        CHECK(reply->first == bulk);
    }
    CHECK(relay.counter(&relay::Counters::native_validated) == 1);
    CHECK(relay.counter(&relay::Counters::drop_amplification) == 0);
}

TEST_CASE("restart: backend data does not validate a session that roamed or began with a handshake",
          "[native][restart][amplification]") {
    const Bytes bulk = wg_transport(7, 100, 1200);
    SECTION("a session opened by an initiation waits for the index proof") {
        // wg_server's initiation answer is followed by bulk transport data: from a real
        // backend impossible before the client's first transport message, and not proof here.
        EchoBackend backend(true, wg_server(kGuardBackendIndex, {bulk}));
        auto options = guarded(backend, wire::Protocol::wireguard);
        options.source_limits.sessions_per_source = 64;
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        UdpClient client(false);
        client.send_to(relay.udp_port(0), wg_initiation(7));
        REQUIRE(client.receive());  // the response (92 <= 148)
        CHECK(drain(client) == 0);
        CHECK(relay.counter(&relay::Counters::native_validated) == 0);
        CHECK(relay.counter(&relay::Counters::drop_amplification) == 1);
    }
    SECTION("a session that moved is capped again, backend data or not") {
        // Initiations get a response; transport data is answered with three times 1232 bytes.
        EchoBackend backend(true, [&](const Bytes& d) {
            if (is_type(d, 1, 148)) return std::vector<Bytes>{wg_response(kGuardBackendIndex, le32(d, 4))};
            return std::vector<Bytes>(3, bulk);
        });
        auto options = guarded(backend, wire::Protocol::wireguard);
        options.source_limits.sessions_per_source = 64;
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        UdpClient old_address(false), new_address(false);
        // Opened by transport data (as after a restart), validated by the backend's answer.
        old_address.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 0, 16));
        CHECK(drain(old_address) == 3);
        CHECK(relay.counter(&relay::Counters::native_validated) == 1);
        // The relay learns no index from transport data: a move needs a handshake first.
        old_address.send_to(relay.udp_port(0), wg_initiation(9));
        REQUIRE(old_address.receive());
        // The client moves; the backend's answer to the moved packet is more than it sent.
        new_address.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 1, 16));
        CHECK(drain(new_address) == 0);
        CHECK(relay.counter(&relay::Counters::move_accepted) == 1);
        CHECK(relay.counter(&relay::Counters::drop_amplification) == 3);
        CHECK(relay.counter(&relay::Counters::native_validated) == 1);
    }
}

TEST_CASE("forged transport messages: a few provisional sessions per source, evicted first", "[native][limits]") {
    EchoBackend backend(false);  // a WireGuard backend answers no forgery
    SECTION("one source holds at most four unanswered sessions") {
        auto options = guarded(backend, wire::Protocol::wireguard);
        options.source_limits.sessions_per_source = 64;
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        std::vector<UdpClient> forgers;
        for (int i = 0; i < 10; ++i) forgers.emplace_back(false);
        for (std::uint32_t i = 0; i < forgers.size(); ++i)
            forgers[i].send_to(relay.udp_port(0), wg_transport(0x1000 + i, 0));
        CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_provisional_source) == 6; }));
        CHECK(relay.sessions() == 4);
        CHECK(backend.sources().size() == 4);  // four backend sockets, no more
        // A handshake from the same source is not provisional: it opens a session.
        UdpClient client(false);
        client.send_to(relay.udp_port(0), wg_initiation(1));
        CHECK(eventually([&] { return relay.sessions() == 5; }));
    }
    SECTION("when the table is full, the oldest provisional session makes room") {
        auto options = guarded(backend, wire::Protocol::wireguard);
        options.source_limits.sessions_per_source = 64;
        options.max_sessions = 4;  // two provisional sessions at most (half)
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        UdpClient f1(0x7f000002u), f2(0x7f000003u), f3(0x7f000004u);
        f1.send_to(relay.udp_port(0), wg_transport(0x1, 0));
        CHECK(eventually([&] { return relay.sessions() == 1; }));
        f2.send_to(relay.udp_port(0), wg_transport(0x2, 0));
        CHECK(eventually([&] { return relay.sessions() == 2; }));
        f3.send_to(relay.udp_port(0), wg_transport(0x3, 0));  // the third evicts the first
        CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_provisional_evicted) == 1; }));
        CHECK(relay.sessions() == 2);
        // Real clients fill the rest, and one more still gets in: a provisional one makes room.
        UdpClient c1(0x7f000005u), c2(0x7f000006u), c3(0x7f000007u);
        for (auto* c : {&c1, &c2, &c3}) c->send_to(relay.udp_port(0), wg_initiation(1));
        CHECK(eventually([&] { return backend.sources().size() == 6; }));
        CHECK(relay.sessions() == 4);
        CHECK(relay.counter(&relay::Counters::drop_provisional_evicted) == 2);
        CHECK(relay.counter(&relay::Counters::drop_session_limit) == 0);
    }
}

TEST_CASE("index guesses from a new address spend the source's handshake tokens", "[native][limits][roaming]") {
    EchoBackend backend(true, wg_server(kGuardBackendIndex));
    auto options = guarded(backend, wire::Protocol::wireguard);
    options.source_limits.handshakes_per_second = 1;  // slow refill: the test sees the burst only
    options.source_limits.burst = 3;
    options.source_limits.sessions_per_source = 64;
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(0x7f000002u);
    client.send_to(relay.udp_port(0), wg_initiation(7));  // token 1
    REQUIRE(client.receive());
    client.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 0, 16));  // its own session: free
    REQUIRE(client.receive());
    // An attacker at another source guesses indices, one new port per guess: the live index
    // is among them, yet after the burst nothing gets through to the roaming check.
    std::vector<UdpClient> guesses;
    for (int i = 0; i < 8; ++i) guesses.emplace_back(0x7f000003u);
    for (std::uint32_t i = 0; i < guesses.size(); ++i)
        guesses[i].send_to(relay.udp_port(0), wg_transport(i == 7 ? kGuardBackendIndex : 0x100 + i, 1u << 30));
    CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_handshake_rate) == 5; }));
    CHECK(relay.counter(&relay::Counters::move_accepted) == 0);
    CHECK(relay.counter(&relay::Counters::move_too_far) == 0);  // the live guess never got looked up
    // The real client is untouched.
    client.send_to(relay.udp_port(0), wg_transport(kGuardBackendIndex, 1, 16));
    CHECK(client.receive());
}

TEST_CASE("per-source limits: handshake rate and sessions per source", "[native][limits]") {
    EchoBackend backend(false);
    SECTION("handshakes beyond the burst are dropped") {
        auto options = guarded(backend, wire::Protocol::wireguard);
        options.source_limits.handshakes_per_second = 1;  // slow refill: the test sees the burst only
        options.source_limits.burst = 5;
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        UdpClient client(false);
        for (std::uint32_t i = 0; i < 10; ++i) client.send_to(relay.udp_port(0), wg_initiation(i));
        CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_handshake_rate) == 5; }));
        CHECK(eventually([&] { return backend.datagrams() == 5; }));
        // Transport messages are not handshakes.
        client.send_to(relay.udp_port(0), wg_transport(1, 0));
        CHECK(eventually([&] { return backend.datagrams() == 6; }));
    }
    SECTION("a source's sessions are capped until one closes") {
        auto options = guarded(backend, wire::Protocol::any);
        options.source_limits.sessions_per_source = 2;
        options.idle_timeout = 300ms;
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        UdpClient a(false), b(false), c(false);
        // Handshakes: other datagrams open provisional sessions, which have a smaller share.
        a.send_to(relay.udp_port(0), wg_initiation(1));
        b.send_to(relay.udp_port(0), wg_initiation(2));
        CHECK(eventually([&] { return relay.sessions() == 2; }));
        c.send_to(relay.udp_port(0), wg_initiation(3));
        CHECK(eventually([&] { return relay.counter(&relay::Counters::drop_source_sessions) == 1; }));
        CHECK(relay.sessions() == 2);
        CHECK(eventually([&] { return relay.sessions() == 0; }));  // idle: both close
        c.send_to(relay.udp_port(0), bytes("c"));
        CHECK(eventually([&] { return relay.sessions() == 1; }));
        CHECK(relay.counter(&relay::Counters::drop_source_sessions) == 1);
    }
    SECTION("TCP connections spend the source's handshakes") {
        auto options = guarded(backend, wire::Protocol::any, 1, 1);
        options.source_limits.handshakes_per_second = 1;
        options.source_limits.burst = 1;
        RunningRelay relay(options);
        REQUIRE_FALSE(relay.error());
        TcpClient first(false, relay.tcp_port(0)), second(false, relay.tcp_port(0));
        REQUIRE(first.connected());
        CHECK(second.closed_by_peer());
        CHECK(relay.counter(&relay::Counters::drop_handshake_rate) == 1);
        first.write_raw(TcpClient::frame(wg_initiation(1)));
        CHECK(eventually([&] { return backend.datagrams() == 1; }));
    }
}

TEST_CASE("a wireguard TCP listener: the first frame must be an initiation, later junk is dropped", "[native][protocol]") {
    EchoBackend backend(false);
    RunningRelay relay(guarded(backend, wire::Protocol::wireguard, 0, 1));
    REQUIRE_FALSE(relay.error());
    for (const auto& first : {bytes("junk"), ovpn_packet("c2s", 0), wg_transport(1, 0)}) {
        TcpClient tcp(false, relay.tcp_port(0));
        REQUIRE(tcp.connected());
        tcp.write_raw(TcpClient::frame(first));
        CHECK(tcp.closed_by_peer());
    }
    CHECK(relay.counter(&relay::Counters::drop_tcp_rejected) == 3);
    TcpClient tcp(false, relay.tcp_port(0));
    tcp.write_raw(TcpClient::frame(wg_initiation(1)));
    tcp.write_raw(TcpClient::frame(bytes("junk")));
    tcp.write_raw(TcpClient::frame(wg_transport(1, 0)));
    CHECK(eventually([&] { return backend.datagrams() == 2; }));
    CHECK(relay.counter(&relay::Counters::drop_not_wireguard) == 1);
    CHECK(backend.received().at(1) == wg_transport(1, 0));
}

TEST_CASE("reload: protocol and mac1 key apply to the running server", "[native][reload]") {
    const auto initiation = load_fixture("wg_handshake_initiation.hex");
    EchoBackend backend(false);
    auto options = guarded(backend, wire::Protocol::any);
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    UdpClient client(false);
    auto forged = initiation.packet;
    forged[120] ^= std::byte{0x80};
    client.send_to(relay.udp_port(0), bytes("junk"));
    client.send_to(relay.udp_port(0), forged);
    CHECK(eventually([&] { return backend.datagrams() == 2; }));  // a blind relay so far

    auto next = options;
    next.udp_ports = {relay.udp_port(0)};  // the same listener
    next.protocol = wire::Protocol::wireguard;
    next.wg_public_key = wg_key(initiation.at("responder_public_key"));
    std::string changes;
    REQUIRE_FALSE(relay.reconfigure(next, &changes));
    CHECK(changes.find("protocol wireguard") != std::string::npos);
    CHECK(changes.find("mac1 checked") != std::string::npos);
    client.send_to(relay.udp_port(0), bytes("junk"));
    client.send_to(relay.udp_port(0), forged);
    client.send_to(relay.udp_port(0), initiation.packet);
    CHECK(eventually([&] { return backend.datagrams() == 3; }));
    CHECK(relay.counter(&relay::Counters::drop_not_wireguard) == 1);
    CHECK(relay.counter(&relay::Counters::drop_bad_mac1) == 1);
}
