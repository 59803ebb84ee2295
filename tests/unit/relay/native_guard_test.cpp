// relay::NativeGuard on its own (no sockets): the protocol and mac1 filters, the per-source
// limits, roaming verdicts, and the anti-amplification rule with what validates a session,
// row by row. tests/integration/native_guard_test.cpp runs the same rules through real sockets.
#include "porthop/relay/native_guard.hpp"

#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "../../fixtures/fixture.hpp"
#include "../../support/bytes.hpp"

using namespace porthop;
using relay::NativeGuard;
using relay::NativeState;
using Bytes = std::vector<std::byte>;

namespace {

using Clock = NativeGuard::Clock;

void put_le32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}

Bytes wg_initiation(std::uint32_t sender) {
    Bytes b(148, std::byte{0x5a});
    b[0] = std::byte{1};
    b[1] = b[2] = b[3] = std::byte{0};
    put_le32(b, 4, sender);
    return b;
}

Bytes wg_response(std::uint32_t sender, std::uint32_t receiver) {
    Bytes b(92, std::byte{0x5b});
    b[0] = std::byte{2};
    b[1] = b[2] = b[3] = std::byte{0};
    put_le32(b, 4, sender);
    put_le32(b, 8, receiver);
    return b;
}

Bytes wg_transport(std::uint32_t receiver, std::uint32_t counter, std::size_t payload = 16) {
    Bytes b(16 + payload, std::byte{0x5c});
    b[0] = std::byte{4};
    b[1] = b[2] = b[3] = std::byte{0};
    put_le32(b, 4, receiver);
    put_le32(b, 8, counter);
    put_le32(b, 12, 0);
    return b;
}

net::Endpoint v4(std::uint32_t address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(address);
    sa.sin_port = htons(port);
    return net::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

NativeGuard::Config config(wire::Protocol protocol = wire::Protocol::any) {
    NativeGuard::Config c;
    c.protocol = protocol;
    c.max_sessions = 64;
    c.idle_timeout = std::chrono::seconds{180};
    return c;
}

Bytes ovpn(const std::string& wrapping, const std::string& direction, std::size_t nth) {
    std::size_t seen = 0;
    for (const auto& c : test::load_ovpn_capture())
        if (c.wrapping == wrapping && c.direction == direction && seen++ == nth) return c.bytes;
    FAIL("no such packet in the capture");
    return {};
}

// One native UDP session as the server drives it: the client's datagrams through observe(),
// the backend's through admit_to_client(), with the byte counts the server keeps.
struct GuardedSession {
    NativeGuard& guard;
    std::uint64_t id;
    NativeState state;
    std::uint64_t from_client = 0, to_client = 0;
    Clock::time_point now = Clock::time_point{} + std::chrono::hours{1};

    GuardedSession(NativeGuard& the_guard, std::uint64_t session_id, const Bytes& first)
        : guard(the_guard), id(session_id) {
        const auto native = wire::classify_native(first, wire::Protocol::any);
        state = NativeGuard::open_state(native);
        from_client_sends(first);
    }
    void from_client_sends(const Bytes& d) {
        from_client += d.size();
        guard.observe(id, state, wire::classify_native(d, wire::Protocol::any), d, now);
    }
    // True when the guard lets it through to the client.
    bool backend_sends(const Bytes& d) {
        std::uint64_t pending = 0;
        NativeGuard::DirectoryNote note;
        const bool pass = guard.admit_to_client(id, state, d, from_client, to_client, pending, now, note);
        if (pass) to_client += d.size();
        return pass;
    }
};

}  // namespace

TEST_CASE("native guard: a new session starts unvalidated with its protocol's factor", "[relay][native_guard]") {
    const auto wg = NativeGuard::open_state(wire::classify_native(wg_initiation(1), wire::Protocol::any));
    CHECK_FALSE(wg.validated);
    CHECK(wg.amplification == NativeGuard::kAmplificationWireGuard);
    CHECK_FALSE(wg.opened_by_data);
    const auto by_data = NativeGuard::open_state(wire::classify_native(wg_transport(7, 1), wire::Protocol::any));
    CHECK(by_data.opened_by_data);
    const auto ov = NativeGuard::open_state(wire::classify_native(ovpn("none", "c2s", 0), wire::Protocol::any));
    CHECK(ov.amplification == NativeGuard::kAmplificationOpenVpn);
    CHECK(NativeState{}.validated);  // TCP and agent sessions: validated from the start
}

TEST_CASE("native guard: filters by protocol, counted by what was expected", "[relay][native_guard]") {
    relay::Counters counters;
    NativeGuard guard(config(wire::Protocol::wireguard), counters);
    REQUIRE_FALSE(guard.configure(config(wire::Protocol::wireguard)));
    const auto o = ovpn("none", "c2s", 0);
    CHECK_FALSE(guard.passes_filters(wire::classify_native(o, wire::Protocol::wireguard), o));
    CHECK(counters.drop_not_wireguard == 1);
    const auto w = wg_initiation(1);
    CHECK(guard.passes_filters(wire::classify_native(w, wire::Protocol::wireguard), w));  // no mac1 key: passes

    REQUIRE_FALSE(guard.configure(config(wire::Protocol::openvpn)));  // a reload changes the protocol
    CHECK_FALSE(guard.passes_filters(wire::classify_native(w, wire::Protocol::openvpn), w));
    CHECK(counters.drop_not_openvpn == 1);
}

TEST_CASE("native guard: mac1 is checked on handshakes once a key is configured", "[relay][native_guard]") {
    relay::Counters counters;
    auto c = config();
    std::string why;
    const auto key = crypto::parse_wg_key("HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=", why);
    REQUIRE(key);
    c.wg_public_key = key;
    NativeGuard guard(c, counters);
    const auto forged = wg_initiation(9);
    CHECK(guard.passes_filters(wire::classify_native(forged, wire::Protocol::any), forged));  // not configured yet
    REQUIRE_FALSE(guard.configure(c));
    CHECK_FALSE(guard.passes_filters(wire::classify_native(forged, wire::Protocol::any), forged));
    CHECK(counters.drop_bad_mac1 == 1);
    const auto transport = wg_transport(3, 1);  // not a handshake: no mac1 to check
    CHECK(guard.passes_filters(wire::classify_native(transport, wire::Protocol::any), transport));
}

TEST_CASE("native guard: handshake rate and sessions per source", "[relay][native_guard]") {
    relay::Counters counters;
    auto c = config();
    c.source_limits.handshakes_per_second = 1;
    c.source_limits.burst = 1;
    c.source_limits.sessions_per_source = 1;
    NativeGuard guard(c, counters);
    const auto now = Clock::time_point{} + std::chrono::hours{1};
    CHECK(guard.allow_handshake(v4(0x0a000001, 1000), now));
    CHECK_FALSE(guard.allow_handshake(v4(0x0a000001, 1001), now));  // same source, same instant
    CHECK(counters.drop_handshake_rate == 1);

    bool at_cap = false;
    auto first = guard.acquire_source(v4(0x0a000002, 1), now, at_cap);
    REQUIRE(first);
    CHECK_FALSE(guard.acquire_source(v4(0x0a000002, 2), now, at_cap));
    CHECK(at_cap);
    CHECK(counters.drop_source_sessions == 1);
    guard.release(5, first, now);
    CHECK_FALSE(first);
    CHECK(guard.acquire_source(v4(0x0a000002, 2), now, at_cap));  // the slot came back
}

TEST_CASE("native guard: a WireGuard session gets at most what it sent until its index proof",
          "[relay][native_guard][amplification]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    GuardedSession s(guard, 1, wg_initiation(0x1111));
    CHECK(s.backend_sends(wg_response(0xbbbb, 0x1111)));      // 92 of 148
    CHECK_FALSE(s.backend_sends(wg_transport(0x1111, 0, 64)));  // 92 + 80 > 148: held back
    CHECK(counters.drop_amplification == 1);
    CHECK_FALSE(s.state.validated);

    SECTION("a transport message naming another session's index proves nothing") {
        s.from_client_sends(wg_transport(0xcccc, 1));
        CHECK_FALSE(s.state.validated);
    }
    SECTION("the client's transport message naming the index from the response validates it") {
        s.from_client_sends(wg_transport(0xbbbb, 1));
        CHECK(s.state.validated);
        CHECK(counters.native_validated == 1);
        CHECK(s.backend_sends(wg_transport(0x1111, 1, 1400)));
    }
}

TEST_CASE("native guard: backend data validates a session opened by data, unless it roamed",
          "[relay][native_guard][amplification]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    SECTION("opened by data, never moved: the backend's transport answer validates") {
        GuardedSession s(guard, 1, wg_transport(0x2222, 5, 64));
        CHECK(s.backend_sends(wg_transport(0x3333, 5, 32)));
        CHECK(s.state.validated);
        CHECK(s.state.backend_sent_data);
    }
    SECTION("after a move the same answer does not") {
        GuardedSession s(guard, 1, wg_transport(0x2222, 5, 64));
        NativeGuard::moved(s.state, s.from_client, s.to_client);
        CHECK(s.state.roamed);
        s.from_client_sends(wg_transport(0x2222, 6, 64));
        CHECK(s.backend_sends(wg_transport(0x3333, 6, 32)));  // within what it sent since the move
        CHECK_FALSE(s.state.validated);
    }
    SECTION("opened by a handshake: backend data alone does not") {
        GuardedSession s(guard, 1, wg_initiation(0x4444));
        CHECK(s.backend_sends(wg_transport(0x4444, 1, 32)));
        CHECK_FALSE(s.state.validated);
    }
}

TEST_CASE("native guard: the cap counts from the last move", "[relay][native_guard][amplification]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    GuardedSession s(guard, 1, wg_initiation(0x5555));
    s.from_client_sends(wg_transport(0x9999, 1, 1000));  // lots sent from the old address
    NativeGuard::moved(s.state, s.from_client, s.to_client);
    CHECK_FALSE(s.backend_sends(wg_transport(0x5555, 2, 32)));  // nothing sent since: nothing back
    s.from_client_sends(wg_transport(0x9999, 2, 32));
    CHECK(s.backend_sends(wg_transport(0x5555, 3, 32)));
}

TEST_CASE("native guard: OpenVPN gets three times until its ack names the backend's session",
          "[relay][native_guard][amplification]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    GuardedSession s(guard, 1, ovpn("none", "c2s", 0));
    CHECK(s.state.amplification == 3);
    CHECK(s.backend_sends(ovpn("none", "s2c", 0)));  // the reset reply: within 3x
    CHECK_FALSE(s.state.validated);
    s.from_client_sends(ovpn("none", "c2s", 1));  // acknowledges the backend's session id in clear
    CHECK(s.state.validated);
}

TEST_CASE("native guard: under tls-crypt the backend's own check validates", "[relay][native_guard][amplification]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    GuardedSession s(guard, 1, ovpn("tls-crypt", "c2s", 0));
    CHECK(s.backend_sends(ovpn("tls-crypt", "s2c", 0)));  // the reset reply does not echo the id in clear
    CHECK(s.state.ovpn_control_encrypted);
    CHECK_FALSE(s.state.validated);
    s.from_client_sends(ovpn("tls-crypt", "c2s", 1));
    s.backend_sends(ovpn("tls-crypt", "s2c", 1));  // its next control packet: the backend checked
    CHECK(s.state.validated);

    SECTION("a plain backend is never taken for an encrypted one") {
        NativeGuard plain_guard(config(), counters);
        GuardedSession p(plain_guard, 2, ovpn("none", "c2s", 0));
        p.backend_sends(ovpn("none", "s2c", 0));
        CHECK_FALSE(p.state.ovpn_control_encrypted);
    }
}

TEST_CASE("native guard: roaming finds a session by the index it learnt, and counts the verdict",
          "[relay][native_guard][roaming]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    GuardedSession s(guard, 7, wg_initiation(0x1010));
    s.backend_sends(wg_response(0x2020, 0x1010));
    s.from_client_sends(wg_transport(0x2020, 1));
    const auto moving = wg_transport(0x2020, 2);
    const auto native = wire::classify_native(moving, wire::Protocol::any);
    const auto found = guard.find_roaming(native, s.now);
    REQUIRE(found);
    CHECK(*found == 7);
    CHECK(guard.accept_move(7, native, moving, s.now) == relay::Move::accepted);
    CHECK(counters.move_accepted == 1);
    CHECK(guard.accept_move(7, native, moving, s.now) == relay::Move::replayed);  // the same counter again
    CHECK(counters.move_replayed == 1);
    const auto unknown = wg_transport(0x3030, 1);
    CHECK_FALSE(guard.find_roaming(wire::classify_native(unknown, wire::Protocol::any), s.now));
}

TEST_CASE("native guard: the directory learns the backend's index and a new peer-id once",
          "[relay][native_guard]") {
    relay::Counters counters;
    NativeGuard guard(config(), counters);
    GuardedSession s(guard, 1, wg_initiation(0x1));
    std::uint64_t pending = 0;
    NativeGuard::DirectoryNote note;
    const auto response = wg_response(0xfeed, 0x1);
    guard.admit_to_client(1, s.state, response, 1000, 0, pending, s.now, note);
    CHECK(note.kind == NativeGuard::DirectoryNote::Kind::wireguard_index);
    CHECK(note.id == 0xfeed);
    NativeGuard::DirectoryNote none;
    const auto data = wg_transport(0x1, 1);
    guard.admit_to_client(1, s.state, data, 1000, 0, pending, s.now, none);
    CHECK(none.kind == NativeGuard::DirectoryNote::Kind::none);
}
