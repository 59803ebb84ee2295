// NativeRoaming: what the relay learns from the backend and from a session's current path, and
// every way a datagram from an unknown address is refused a move (unknown index or peer-id,
// another session's, expired, replayed, equal, too far ahead, unproven packet ids, kinds that
// never move, after forget, table full), with a fake clock. Real WireGuard and OpenVPN
// datagrams from tests/fixtures run through the classifiers into it too.
#include "porthop/guard/native_roaming.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "../../fixtures/fixture.hpp"

using porthop::guard::Move;
using porthop::guard::NativeRoaming;
namespace wg = porthop::wire::wg;
namespace ovpn = porthop::wire::ovpn;
using Clock = NativeRoaming::Clock;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;
constexpr std::uint64_t kCap = std::uint64_t{1} << 20;

NativeRoaming::Limits limits(std::size_t max_sessions = 16) {
    NativeRoaming::Limits l;
    l.max_sessions = max_sessions;
    l.seed = 99;
    return l;
}

// ---- WireGuard packets as wg::classify returns them ----

wg::Packet response(std::uint32_t sender, std::uint32_t receiver = 0x11111111) {
    return {wg::Kind::response, sender, receiver, 0};
}
wg::Packet initiation(std::uint32_t sender) { return {wg::Kind::initiation, sender, 0, 0}; }
wg::Packet transport(std::uint32_t receiver, std::uint64_t counter) {
    return {wg::Kind::transport, 0, receiver, counter};
}

// ---- OpenVPN datagrams, classified by ovpn::classify ----

struct Datagram {
    std::vector<std::byte> bytes;
    ovpn::Packet packet;
};

Datagram classified(std::vector<std::byte> bytes) {
    Datagram d{std::move(bytes), {}};
    d.packet = ovpn::classify(d.bytes);
    return d;
}

void put_be(std::vector<std::byte>& out, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

// P_DATA_V2 as an AEAD cipher writes it: opcode|key, peer-id, packet id, tag, ciphertext.
Datagram data_v2(std::uint32_t peer, std::uint32_t packet_id, std::uint8_t key = 0, std::size_t size = 60) {
    std::vector<std::byte> b;
    b.push_back(static_cast<std::byte>(9 << 3 | key));
    put_be(b, peer, 3);
    put_be(b, packet_id, 4);
    b.resize(size, std::byte{0xa5});
    auto d = classified(std::move(b));
    REQUIRE(d.packet.kind == ovpn::Kind::data_v2);
    return d;
}

// A plain control packet (no acks): opcode|key, session id, ack count 0, message id.
Datagram control(ovpn::Opcode op, std::uint64_t sid, std::uint8_t key = 0) {
    std::vector<std::byte> b;
    b.push_back(static_cast<std::byte>(static_cast<int>(op) << 3 | key));
    put_be(b, sid, 8);
    b.push_back(std::byte{0});
    put_be(b, 0, 4);
    auto d = classified(std::move(b));
    REQUIRE(d.packet.kind == ovpn::Kind::control);
    return d;
}

// Makes session `s`'s packet ids proven: its peer-id learned, then ids first..first+4 seen on
// its current path.
void prove(NativeRoaming& r, std::uint64_t s, std::uint32_t peer, Clock::time_point now,
           std::uint32_t first = 1, std::uint8_t key = 0) {
    r.learn_ovpn(s, data_v2(peer, 1, key).packet, now);
    for (std::uint32_t id = first; id < first + 5; ++id) {
        const auto d = data_v2(peer, id, key);
        r.observe_ovpn(s, d.packet, d.bytes, now);
    }
    REQUIRE(r.find_ovpn(data_v2(peer, first + 5, key).packet) == s);
}

Move ovpn_move(NativeRoaming& r, std::uint64_t s, const Datagram& d, Clock::time_point now) {
    return r.accept_ovpn_move(s, d.packet, d.bytes, now);
}

}  // namespace

// ==== WireGuard ===============================================================================

TEST_CASE("roaming wg: the backend's response teaches the index client transport carries",
          "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    // The client initiated with index 0x11111111; the backend answers with its own, 0xB0B0.
    // The client's transport then carries receiver = 0xB0B0 (the recipient's index).
    r.learn_wg(7, response(0xB0B0, 0x11111111), t0);
    CHECK(r.stats().wg_indices_learned == 1);
    CHECK(r.find_wg(transport(0xB0B0, 0), t0) == 7u);
    // Not the client's own index (the response's receiver field).
    CHECK_FALSE(r.find_wg(transport(0x11111111, 0), t0).has_value());
    // Nothing seen yet: the first counter of a keypair is 0, and a move right after the
    // handshake is fine.
    CHECK(r.accept_wg_move(7, transport(0xB0B0, 0), t0) == Move::accepted);
    CHECK(r.stats().moves[static_cast<std::size_t>(Move::accepted)] == 1);
}

TEST_CASE("roaming wg: the real captured response", "[guard][roaming][wg][fixture]") {
    const auto fx = porthop::test::load_fixture("wg_handshake_response.hex");
    const auto resp = wg::classify(fx.packet);
    REQUIRE(resp.kind == wg::Kind::response);
    NativeRoaming r(limits());
    r.learn_wg(3, resp, t0);
    // A transport datagram to that index, as bytes, through the classifier.
    std::vector<std::byte> bytes(wg::kKeepaliveSize);
    bytes[0] = std::byte{4};
    for (int i = 0; i < 4; ++i) bytes[4 + i] = static_cast<std::byte>(resp.sender >> (8 * i));
    bytes[8] = std::byte{5};  // counter 5
    const auto t = wg::classify(bytes);
    REQUIRE(t.kind == wg::Kind::transport);
    REQUIRE(t.counter == 5);
    CHECK(r.find_wg(t, t0) == 3u);
    CHECK(r.accept_wg_move(3, t, t0) == Move::accepted);
    CHECK(r.accept_wg_move(3, t, t0) == Move::replayed);
}

TEST_CASE("roaming wg: forward only, and not too far", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    // The current path has carried counters up to 1000.
    for (std::uint64_t c = 0; c <= 1000; ++c) r.observe_wg(1, transport(0xAA, c), t0);

    struct Case {
        std::uint64_t counter;
        Move verdict;
    };
    SECTION("replayed, equal, one above") {
        for (const Case c : {Case{0, Move::replayed}, Case{999, Move::replayed}, Case{1000, Move::replayed},
                             Case{1001, Move::accepted}, Case{1001, Move::replayed},
                             Case{1000, Move::replayed}, Case{1002, Move::accepted}}) {
            INFO("counter " << c.counter);
            CHECK(r.accept_wg_move(1, transport(0xAA, c.counter), t0) == c.verdict);
        }
    }
    SECTION("the jump cap, both sides of it") {
        CHECK(r.accept_wg_move(1, transport(0xAA, 1000 + kCap + 1), t0) == Move::too_far);
        CHECK(r.accept_wg_move(1, transport(0xAA, ~std::uint64_t{0}), t0) == Move::too_far);
        CHECK(r.accept_wg_move(1, transport(0xAA, 1000 + kCap), t0) == Move::accepted);
        // The accepted counter is the new highest.
        CHECK(r.accept_wg_move(1, transport(0xAA, 1000 + kCap), t0) == Move::replayed);
        CHECK(r.accept_wg_move(1, transport(0xAA, 1001), t0) == Move::replayed);
    }
    SECTION("every refusal is counted by verdict and changes nothing") {
        CHECK(r.accept_wg_move(1, transport(0xAA, 1000), t0) == Move::replayed);
        CHECK(r.accept_wg_move(1, transport(0xAA, 1000 + kCap + 1), t0) == Move::too_far);
        CHECK(r.accept_wg_move(1, transport(0xAA, 1001), t0) == Move::accepted);
        const auto& m = r.stats().moves;
        CHECK(m[static_cast<std::size_t>(Move::replayed)] == 1);
        CHECK(m[static_cast<std::size_t>(Move::too_far)] == 1);
        CHECK(m[static_cast<std::size_t>(Move::accepted)] == 1);
    }
}

TEST_CASE("roaming wg: before any counter, the cap counts from -1", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    CHECK(r.accept_wg_move(1, transport(0xAA, kCap), t0) == Move::too_far);
    CHECK(r.accept_wg_move(1, transport(0xAA, kCap - 1), t0) == Move::accepted);
}

TEST_CASE("roaming wg: the current path moves the highest counter, capped too", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    r.observe_wg(1, transport(0xAA, 50), t0);
    CHECK(r.accept_wg_move(1, transport(0xAA, 50), t0) == Move::replayed);
    // Reordered packets on the current path do not move it back.
    r.observe_wg(1, transport(0xAA, 40), t0);
    CHECK(r.accept_wg_move(1, transport(0xAA, 45), t0) == Move::replayed);
    // A counter far beyond the cap from the current path (a forgery by whoever holds the
    // path) is not taken as the highest either: the real client can still move at 51.
    r.observe_wg(1, transport(0xAA, 50 + kCap + 1), t0);
    CHECK(r.accept_wg_move(1, transport(0xAA, 51), t0) == Move::accepted);
    // Observation of a packet of another session's index, or of a kind without a counter,
    // changes nothing.
    r.learn_wg(2, response(0xBB), t0);
    r.observe_wg(1, transport(0xBB, 500), t0);
    r.observe_wg(1, initiation(0xBB), t0);
    r.observe_wg(1, wg::Packet{wg::Kind::cookie_reply, 0, 0xBB, 0}, t0);
    r.observe_wg(1, wg::Packet{}, t0);
    CHECK(r.accept_wg_move(2, transport(0xBB, 0), t0) == Move::accepted);
    CHECK(r.accept_wg_move(1, transport(0xAA, 52), t0) == Move::accepted);
}

TEST_CASE("roaming wg: unknown index, another session's index", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    r.learn_wg(2, response(0xBB), t0);
    CHECK_FALSE(r.find_wg(transport(0xCC, 1), t0).has_value());
    CHECK(r.accept_wg_move(1, transport(0xCC, 1), t0) == Move::unknown);
    CHECK(r.accept_wg_move(99, transport(0xAA, 1), t0) == Move::unknown);  // no such session
    CHECK(r.accept_wg_move(1, transport(0xBB, 1), t0) == Move::unknown);   // session 2's index
    CHECK(r.find_wg(transport(0xBB, 1), t0) == 2u);
    CHECK(r.stats().moves[static_cast<std::size_t>(Move::unknown)] == 3);
}

TEST_CASE("roaming wg: kinds that never move", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    for (const wg::Packet p : {initiation(0xAA), response(0xAA, 0xAA),
                               wg::Packet{wg::Kind::cookie_reply, 0, 0xAA, 0}, wg::Packet{}}) {
        CHECK_FALSE(r.find_wg(p, t0).has_value());
        CHECK(r.accept_wg_move(1, p, t0) == Move::not_movable);
    }
    // Only initiations and responses from the backend teach anything.
    NativeRoaming empty(limits());
    empty.learn_wg(1, transport(0xAA, 0), t0);
    empty.learn_wg(1, wg::Packet{wg::Kind::cookie_reply, 0, 0xAA, 0}, t0);
    empty.learn_wg(1, wg::Packet{}, t0);
    CHECK(empty.sessions() == 0);
    CHECK(empty.stats().wg_indices_learned == 0);
}

TEST_CASE("roaming wg: an index lives 180 s (REJECT_AFTER_TIME)", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    r.observe_wg(1, transport(0xAA, 10), t0 + 170s);  // traffic does not extend the index's life
    CHECK(r.find_wg(transport(0xAA, 11), t0 + 180s - 1ns) == 1u);
    CHECK_FALSE(r.find_wg(transport(0xAA, 11), t0 + 180s).has_value());
    CHECK(r.accept_wg_move(1, transport(0xAA, 11), t0 + 180s) == Move::expired);
    // Nor does the current path advance a dead index.
    r.observe_wg(1, transport(0xAA, 20), t0 + 181s);
    // Only a handshake does: the backend answering one with the same index (it would not, but
    // if) restarts the clock and keeps the counter state.
    r.learn_wg(1, response(0xAA), t0 + 200s);
    CHECK(r.find_wg(transport(0xAA, 11), t0 + 200s) == 1u);
    CHECK(r.accept_wg_move(1, transport(0xAA, 10), t0 + 200s) == Move::replayed);
    CHECK(r.accept_wg_move(1, transport(0xAA, 11), t0 + 200s) == Move::accepted);
    CHECK(r.stats().moves[static_cast<std::size_t>(Move::expired)] == 1);

    SECTION("the lifetime is configurable") {
        auto l = limits();
        l.wg_index_lifetime = 10s;
        NativeRoaming shorter(l);
        shorter.learn_wg(1, response(0xAA), t0);
        CHECK(shorter.find_wg(transport(0xAA, 1), t0 + 10s - 1ns) == 1u);
        CHECK(shorter.accept_wg_move(1, transport(0xAA, 1), t0 + 10s) == Move::expired);
    }
}

TEST_CASE("roaming wg: the backend initiates, the client's response starts the keypair",
          "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    // The backend's initiation carries its index as `sender`; the client answers with a
    // response whose `receiver` is that index, and then sends transport to it.
    r.learn_wg(1, initiation(0xAB), t0);
    CHECK(r.find_wg(transport(0xAB, 0), t0) == 1u);
    r.observe_wg(1, response(0xC1, 0xAB), t0 + 60s);  // answered a minute later (made up)
    CHECK(r.find_wg(transport(0xAB, 0), t0 + 60s + 179s) == 1u);
    CHECK_FALSE(r.find_wg(transport(0xAB, 0), t0 + 60s + 180s).has_value());
    // Answered, the index is no longer an attempt: the backend's next unanswered attempts
    // replace each other, not it.
    r.learn_wg(1, initiation(0xA1), t0 + 61s);
    r.learn_wg(1, initiation(0xA2), t0 + 62s);
    r.learn_wg(1, initiation(0xA3), t0 + 63s);
    CHECK(r.find_wg(transport(0xAB, 0), t0 + 63s) == 1u);
    CHECK_FALSE(r.find_wg(transport(0xA1, 0), t0 + 63s).has_value());
    CHECK(r.find_wg(transport(0xA3, 0), t0 + 63s) == 1u);
    // A response from another session's path to this index does nothing.
    r.learn_wg(2, initiation(0xCD), t0);
    r.observe_wg(1, response(0xC2, 0xCD), t0 + 100s);
    CHECK_FALSE(r.find_wg(transport(0xCD, 0), t0 + 180s).has_value());
}

TEST_CASE("roaming wg: three indices a session, the right one goes", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    SECTION("the oldest of three goes for a fourth") {
        r.learn_wg(1, response(1), t0);
        r.learn_wg(1, response(2), t0 + 1s);
        r.learn_wg(1, response(3), t0 + 2s);
        r.learn_wg(1, response(4), t0 + 3s);
        CHECK_FALSE(r.find_wg(transport(1, 0), t0 + 3s).has_value());
        for (std::uint32_t i : {2u, 3u, 4u}) CHECK(r.find_wg(transport(i, 0), t0 + 3s) == 1u);
        // The dropped index is free for nobody: a move with it is unknown.
        CHECK(r.accept_wg_move(1, transport(1, 0), t0 + 3s) == Move::unknown);
    }
    SECTION("a dead index goes before the oldest live one") {
        r.learn_wg(1, response(1), t0);
        r.learn_wg(1, response(2), t0 + 100s);
        r.learn_wg(1, response(3), t0 + 150s);
        // At 185 s index 1 is dead; 2 and 3 are not.
        r.learn_wg(1, response(4), t0 + 185s);
        for (std::uint32_t i : {2u, 3u, 4u}) CHECK(r.find_wg(transport(i, 0), t0 + 185s) == 1u);
    }
    SECTION("the backend's unanswered initiations do not push out the keypair in use") {
        r.learn_wg(1, response(0xC0), t0);  // the current keypair: the client initiated
        // The backend tries to rekey every 5 s with a new index; the client does not answer.
        for (std::uint32_t i = 0; i < 18; ++i) r.learn_wg(1, initiation(0xD0 + i), t0 + 5s * (i + 1));
        CHECK(r.find_wg(transport(0xC0, 0), t0 + 90s) == 1u);
        CHECK(r.find_wg(transport(0xD0 + 17, 0), t0 + 90s) == 1u);  // the newest attempt
        CHECK_FALSE(r.find_wg(transport(0xD0, 0), t0 + 90s).has_value());
    }
}

TEST_CASE("roaming wg: the backend moves an index to another session", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    r.observe_wg(1, transport(0xAA, 500), t0);
    r.learn_wg(2, response(0xAA), t0 + 1s);  // the backend reused the index for another client
    CHECK(r.find_wg(transport(0xAA, 0), t0 + 1s) == 2u);
    CHECK(r.accept_wg_move(1, transport(0xAA, 501), t0 + 1s) == Move::unknown);
    // Session 2 starts from nothing seen, not from session 1's counter.
    CHECK(r.accept_wg_move(2, transport(0xAA, 3), t0 + 1s) == Move::accepted);
}

TEST_CASE("roaming wg: forget_session", "[guard][roaming][wg]") {
    NativeRoaming r(limits());
    r.learn_wg(1, response(0xAA), t0);
    r.learn_wg(1, initiation(0xAB), t0);
    r.learn_wg(2, response(0xBB), t0);
    REQUIRE(r.sessions() == 2);
    r.forget_session(1);
    r.forget_session(1);   // twice: nothing
    r.forget_session(42);  // never known: nothing
    CHECK(r.sessions() == 1);
    CHECK_FALSE(r.find_wg(transport(0xAA, 1), t0).has_value());
    CHECK_FALSE(r.find_wg(transport(0xAB, 1), t0).has_value());
    CHECK(r.accept_wg_move(1, transport(0xAA, 1), t0) == Move::unknown);
    CHECK(r.find_wg(transport(0xBB, 1), t0) == 2u);
    // A new session may learn the index afresh.
    r.learn_wg(3, response(0xAA), t0);
    CHECK(r.find_wg(transport(0xAA, 1), t0) == 3u);
}

TEST_CASE("roaming: a full table evicts only sessions untouched for stale_after", "[guard][roaming]") {
    auto l = limits(2);
    l.stale_after = 60s;
    NativeRoaming r(l);
    r.learn_wg(1, response(0x1), t0);
    r.learn_wg(2, response(0x2), t0 + 10s);
    // Full, and nobody has been quiet for 60 s: session 3 is not tracked (it works, it just
    // cannot roam), and sessions 1 and 2 keep everything.
    r.learn_wg(3, response(0x3), t0 + 59s);
    CHECK(r.stats().table_full == 1);
    CHECK_FALSE(r.find_wg(transport(0x3, 0), t0 + 59s).has_value());
    CHECK(r.find_wg(transport(0x1, 0), t0 + 59s) == 1u);
    CHECK(r.sessions() == 2);
    // Session 1's current path is active at 65 s: session 2 (quiet since 10 s) is the one that
    // goes at 70 s, not session 1 (learned first).
    r.observe_wg(1, transport(0x1, 1), t0 + 65s);
    r.learn_wg(3, response(0x3), t0 + 69s);
    CHECK(r.stats().table_full == 2);
    r.learn_wg(3, response(0x3), t0 + 70s);
    CHECK(r.stats().evicted == 1);
    CHECK(r.find_wg(transport(0x3, 0), t0 + 70s) == 3u);
    CHECK_FALSE(r.find_wg(transport(0x2, 0), t0 + 70s).has_value());
    CHECK(r.find_wg(transport(0x1, 0), t0 + 70s) == 1u);
    // An OpenVPN session needs an entry too: refused the same way.
    const auto c = control(ovpn::Opcode::control_hard_reset_client_v2, 0x5151);
    r.observe_ovpn(4, c.packet, c.bytes, t0 + 71s);
    CHECK(r.stats().table_full == 3);
    CHECK_FALSE(r.find_ovpn(c.packet).has_value());
    r.learn_ovpn(4, data_v2(5, 1).packet, t0 + 71s);
    CHECK(r.stats().table_full == 4);
    // Forgetting a session makes room at once.
    r.forget_session(1);
    r.observe_ovpn(4, c.packet, c.bytes, t0 + 72s);
    CHECK(r.find_ovpn(c.packet) == 4u);
}

TEST_CASE("roaming: the default table", "[guard][roaming]") {
    NativeRoaming r;  // 16384 sessions, random seed
    for (std::uint32_t s = 1; s <= 16384; ++s) {
        r.learn_wg(s, response(s << 2), t0);
        r.learn_wg(s, initiation(s << 2 | 1), t0);
        r.learn_wg(s, response(s << 2 | 2), t0);
    }
    CHECK(r.sessions() == 16384);
    CHECK(r.stats().table_full == 0);
    CHECK(r.stats().wg_indices_learned == 3 * 16384);
    for (std::uint32_t s = 1; s <= 16384; ++s)
        for (std::uint32_t k = 0; k < 3; ++k) REQUIRE(r.find_wg(transport(s << 2 | k, 0), t0) == s);
    r.learn_wg(16385, response(7), t0);
    CHECK(r.stats().table_full == 1);
}

// ==== OpenVPN =================================================================================

TEST_CASE("roaming ovpn: packet id parsing", "[guard][roaming][ovpn]") {
    CHECK(NativeRoaming::ovpn_packet_id(data_v2(0x123456, 0x01020304).bytes) == 0x01020304u);
    const auto d = data_v2(1, 0xFFFFFFFF);
    CHECK(NativeRoaming::ovpn_packet_id(d.bytes) == 0xFFFFFFFFu);
    CHECK(NativeRoaming::ovpn_packet_id(std::span(d.bytes).first(8)) == 0xFFFFFFFFu);
    CHECK_FALSE(NativeRoaming::ovpn_packet_id(std::span(d.bytes).first(7)).has_value());
    CHECK_FALSE(NativeRoaming::ovpn_packet_id({}).has_value());
}

TEST_CASE("roaming ovpn: peer-id from the backend, packet ids proven, then forward only",
          "[guard][roaming][ovpn]") {
    NativeRoaming r(limits());
    r.learn_ovpn(5, data_v2(0x000102, 1).packet, t0);  // the backend's data to the client
    CHECK(r.stats().ovpn_peer_ids_learned == 1);
    // Known peer-id, but nothing shows yet that bytes 4..7 are a counter: not found, and a
    // move is refused as unproven.
    CHECK_FALSE(r.find_ovpn(data_v2(0x000102, 2).packet).has_value());
    CHECK(ovpn_move(r, 5, data_v2(0x000102, 2), t0) == Move::unproven);
    // The client's packets on its current path: ids 1..5, four steps up.
    for (std::uint32_t id = 1; id <= 4; ++id) {
        const auto d = data_v2(0x000102, id);
        r.observe_ovpn(5, d.packet, d.bytes, t0);
    }
    CHECK_FALSE(r.find_ovpn(data_v2(0x000102, 6).packet).has_value());  // three steps only
    {
        const auto d = data_v2(0x000102, 5);
        r.observe_ovpn(5, d.packet, d.bytes, t0);
    }
    CHECK(r.find_ovpn(data_v2(0x000102, 6).packet) == 5u);

    struct Case {
        std::uint32_t id;
        Move verdict;
    };
    for (const Case c :
         {Case{1, Move::replayed}, Case{5, Move::replayed}, Case{6, Move::accepted}, Case{6, Move::replayed},
          Case{static_cast<std::uint32_t>(6 + kCap + 1), Move::too_far}, Case{0xFFFFFFFF, Move::too_far},
          Case{static_cast<std::uint32_t>(6 + kCap), Move::accepted}, Case{7, Move::replayed}}) {
        INFO("packet id " << c.id);
        CHECK(ovpn_move(r, 5, data_v2(0x000102, c.id), t0) == c.verdict);
    }
}

TEST_CASE("roaming ovpn: real OpenVPN 2.6 traffic (AEAD)", "[guard][roaming][ovpn][fixture]") {
    std::ifstream in(porthop::test::fixtures_dir() / "ovpn_udp_packets.txt");
    REQUIRE(in);
    std::vector<Datagram> c2s, s2c;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string wrapping, direction, hex;
        fields >> wrapping >> direction >> hex;
        if (wrapping != "tls-crypt") continue;
        auto d = classified(porthop::test::hex(hex));
        if (d.packet.kind != ovpn::Kind::data_v2) continue;
        (direction == "c2s" ? c2s : s2c).push_back(std::move(d));
    }
    REQUIRE(c2s.size() >= 3);
    REQUIRE_FALSE(s2c.empty());
    NativeRoaming r(limits());
    // The server's own P_DATA_V2 carries the peer-id it gave the client.
    REQUIRE(s2c[0].packet.peer_id == c2s[0].packet.peer_id);
    r.learn_ovpn(1, s2c[0].packet, t0);
    // The captured client packets have packet ids 1, 2, 3 in clear; two more, made from the
    // last one, complete the proof.
    for (const auto& d : c2s) r.observe_ovpn(1, d.packet, d.bytes, t0);
    auto next = c2s.back();
    const auto last = NativeRoaming::ovpn_packet_id(next.bytes);
    REQUIRE(last == static_cast<std::uint32_t>(c2s.size()));
    for (std::uint32_t id = *last + 1; id <= *last + 2; ++id) {
        next.bytes[7] = static_cast<std::byte>(id);
        r.observe_ovpn(1, next.packet, next.bytes, t0);
    }
    CHECK(r.find_ovpn(next.packet) == 1u);
    CHECK(ovpn_move(r, 1, next, t0) == Move::replayed);  // the same packet again
    next.bytes[7] = static_cast<std::byte>(*last + 3);
    CHECK(ovpn_move(r, 1, next, t0) == Move::accepted);
}

TEST_CASE("roaming ovpn: random bytes 4..7 (CBC, epoch format) never prove", "[guard][roaming][ovpn]") {
    NativeRoaming r(limits());
    r.learn_ovpn(1, data_v2(9, 1).packet, t0);
    std::mt19937 rng(5);
    for (int i = 0; i < 10000; ++i) {
        const auto d = data_v2(9, static_cast<std::uint32_t>(rng()));
        r.observe_ovpn(1, d.packet, d.bytes, t0);
    }
    CHECK_FALSE(r.find_ovpn(data_v2(9, 1).packet).has_value());
    CHECK(ovpn_move(r, 1, data_v2(9, 0x7FFFFFFF), t0) == Move::unproven);
    // OpenVPN 2.7's epoch format: bytes 4..7 are the epoch and the top of a 48-bit counter,
    // constant for a long time: no steps up, no proof.
    NativeRoaming epoch(limits());
    epoch.learn_ovpn(1, data_v2(9, 1).packet, t0);
    for (int i = 0; i < 100; ++i) {
        const auto d = data_v2(9, 0x00010000);
        epoch.observe_ovpn(1, d.packet, d.bytes, t0);
    }
    CHECK_FALSE(epoch.find_ovpn(data_v2(9, 1).packet).has_value());
}

TEST_CASE("roaming ovpn: the proof needs one key id, small steps, in a row", "[guard][roaming][ovpn]") {
    NativeRoaming r(limits());
    r.learn_ovpn(1, data_v2(9, 1).packet, t0);
    const auto see = [&](std::uint32_t id, std::uint8_t key = 0) {
        const auto d = data_v2(9, id, key);
        r.observe_ovpn(1, d.packet, d.bytes, t0);
    };
    const auto proven = [&] { return r.find_ovpn(data_v2(9, 1).packet).has_value(); };
    // Steps of 1..64 count; a step of 65, a step back or a repeat restarts the run.
    see(100);
    see(101);
    see(165);
    see(166);  // three steps
    see(231);  // 65: restart
    see(232);
    see(232);  // repeat: restart
    see(233);
    see(200);  // back: restart
    see(201);
    see(202);
    CHECK_FALSE(proven());
    see(203);  // three steps since 200
    CHECK_FALSE(proven());
    see(204);  // four
    CHECK(proven());

    SECTION("a step of exactly 64 counts") {
        NativeRoaming wide(limits());
        wide.learn_ovpn(1, data_v2(9, 1).packet, t0);
        for (std::uint32_t id = 300; id <= 300 + 4 * 64; id += 64) {
            const auto d = data_v2(9, id);
            wide.observe_ovpn(1, d.packet, d.bytes, t0);
        }
        CHECK(wide.find_ovpn(data_v2(9, 1).packet) == 1u);
    }

    SECTION("alternating key ids never prove") {
        NativeRoaming alt(limits());
        alt.learn_ovpn(1, data_v2(9, 1).packet, t0);
        for (std::uint32_t id = 1; id < 100; ++id) {
            const auto d = data_v2(9, id, static_cast<std::uint8_t>(id % 2));
            alt.observe_ovpn(1, d.packet, d.bytes, t0);
        }
        CHECK_FALSE(alt.find_ovpn(data_v2(9, 1).packet).has_value());
    }
    SECTION("packets of another peer-id, or before the peer-id is known, do not count") {
        NativeRoaming other(limits());
        for (std::uint32_t id = 1; id < 10; ++id) {
            const auto d = data_v2(9, id);
            other.observe_ovpn(1, d.packet, d.bytes, t0);  // peer-id 9 not learned yet
        }
        other.learn_ovpn(1, data_v2(9, 1).packet, t0);
        for (std::uint32_t id = 1; id < 10; ++id) {
            const auto d = data_v2(8, id);
            other.observe_ovpn(1, d.packet, d.bytes, t0);  // not this session's peer-id
        }
        CHECK_FALSE(other.find_ovpn(data_v2(9, 1).packet).has_value());
        CHECK_FALSE(other.find_ovpn(data_v2(8, 1).packet).has_value());
    }
}

TEST_CASE("roaming ovpn: per key id, and renegotiation starts a key id over", "[guard][roaming][ovpn]") {
    NativeRoaming r(limits());
    prove(r, 1, 9, t0, 1, /*key*/ 1);  // key 1 at ids 1..5
    // Key 2 has not been seen on the current path: no highest to be above.
    CHECK(ovpn_move(r, 1, data_v2(9, 100, 2), t0) == Move::unproven);
    CHECK(ovpn_move(r, 1, data_v2(9, 6, 1), t0) == Move::accepted);

    SECTION("a soft reset from the backend for key 1") {
        r.learn_ovpn(1, control(ovpn::Opcode::control_soft_reset_v1, 0xABC, 1).packet, t0);
        // Key 1 will count from 1 again: unknown until the current path shows it.
        CHECK(ovpn_move(r, 1, data_v2(9, 7, 1), t0) == Move::unproven);
        const auto d = data_v2(9, 1, 1);
        r.observe_ovpn(1, d.packet, d.bytes, t0);
        CHECK(ovpn_move(r, 1, data_v2(9, 1, 1), t0) == Move::replayed);
        CHECK(ovpn_move(r, 1, data_v2(9, 2, 1), t0) == Move::accepted);
    }
    SECTION("a soft reset from the client for key 1") {
        const auto c = control(ovpn::Opcode::control_soft_reset_v1, 0xC11E, 1);
        r.observe_ovpn(1, c.packet, c.bytes, t0);
        CHECK(ovpn_move(r, 1, data_v2(9, 7, 1), t0) == Move::unproven);
    }
    SECTION("a soft reset for another key id leaves key 1 alone") {
        r.learn_ovpn(1, control(ovpn::Opcode::control_soft_reset_v1, 0xABC, 3).packet, t0);
        CHECK(ovpn_move(r, 1, data_v2(9, 7, 1), t0) == Move::accepted);
    }
    SECTION("a hard reset from the backend starts every key over") {
        r.learn_ovpn(1, control(ovpn::Opcode::control_hard_reset_server_v2, 0xABC).packet, t0);
        CHECK(ovpn_move(r, 1, data_v2(9, 7, 1), t0) == Move::unproven);
        // The proof is about the cipher's format and stays.
        CHECK(r.find_ovpn(data_v2(9, 7, 1).packet) == 1u);
    }
    SECTION("a hard reset from the client (v2 or v3) starts every key over") {
        for (const auto op :
             {ovpn::Opcode::control_hard_reset_client_v2, ovpn::Opcode::control_hard_reset_client_v3}) {
            const auto d = data_v2(9, 20, 1);
            r.observe_ovpn(1, d.packet, d.bytes, t0);
            const auto c = control(op, 0xC11E);
            r.observe_ovpn(1, c.packet, c.bytes, t0);
            CHECK(ovpn_move(r, 1, data_v2(9, 21, 1), t0) == Move::unproven);
        }
    }
    SECTION("control packets of other sessions reset nothing here") {
        r.learn_ovpn(2, control(ovpn::Opcode::control_hard_reset_server_v2, 0xABC).packet, t0);
        CHECK(ovpn_move(r, 1, data_v2(9, 7, 1), t0) == Move::accepted);
    }
}

TEST_CASE("roaming ovpn: refusals", "[guard][roaming][ovpn]") {
    NativeRoaming r(limits());
    prove(r, 1, 9, t0);
    prove(r, 2, 10, t0);
    SECTION("unknown peer-id, another session's peer-id") {
        CHECK_FALSE(r.find_ovpn(data_v2(11, 6).packet).has_value());
        CHECK(ovpn_move(r, 1, data_v2(11, 6), t0) == Move::unknown);
        CHECK(ovpn_move(r, 1, data_v2(10, 6), t0) == Move::unknown);
        CHECK(ovpn_move(r, 3, data_v2(9, 6), t0) == Move::unknown);
    }
    SECTION("kinds that never move") {
        CHECK(ovpn_move(r, 1, data_v2(ovpn::kNoPeerId, 6), t0) == Move::not_movable);
        CHECK_FALSE(r.find_ovpn(data_v2(ovpn::kNoPeerId, 6).packet).has_value());
        const auto v1 = classified(std::vector<std::byte>(40, std::byte{6 << 3}));
        REQUIRE(v1.packet.kind == ovpn::Kind::data_v1);
        CHECK(ovpn_move(r, 1, v1, t0) == Move::not_movable);
        CHECK_FALSE(r.find_ovpn(v1.packet).has_value());
        const auto c = control(ovpn::Opcode::control_v1, 0x5EED);
        CHECK(ovpn_move(r, 1, c, t0) == Move::not_movable);
        // Too short to hold a packet id (classify accepts 5 bytes of P_DATA_V2).
        auto d = data_v2(9, 6, 0, 8);
        d.bytes.resize(7);
        CHECK(ovpn_move(r, 1, d, t0) == Move::not_movable);
        CHECK(ovpn_move(r, 1, classified({}), t0) == Move::not_movable);
    }
    SECTION("after forget") {
        r.forget_session(1);
        CHECK_FALSE(r.find_ovpn(data_v2(9, 6).packet).has_value());
        CHECK(ovpn_move(r, 1, data_v2(9, 6), t0) == Move::unknown);
        CHECK(r.find_ovpn(data_v2(10, 6).packet) == 2u);
    }
    SECTION("the backend gives the peer-id to another session") {
        r.learn_ovpn(3, data_v2(9, 1).packet, t0);
        CHECK(ovpn_move(r, 1, data_v2(9, 6), t0) == Move::unknown);
        // Session 3 starts unproven: what session 1's client showed is not session 3's.
        CHECK_FALSE(r.find_ovpn(data_v2(9, 6).packet).has_value());
        CHECK(ovpn_move(r, 3, data_v2(9, 6), t0) == Move::unproven);
    }
    SECTION("a session whose peer-id changes starts over") {
        r.learn_ovpn(1, data_v2(12, 1).packet, t0);
        CHECK_FALSE(r.find_ovpn(data_v2(9, 6).packet).has_value());
        CHECK_FALSE(r.find_ovpn(data_v2(12, 6).packet).has_value());
        CHECK(ovpn_move(r, 1, data_v2(12, 6), t0) == Move::unproven);
    }
    SECTION("the backend's other packets teach nothing") {
        NativeRoaming empty(limits());
        empty.learn_ovpn(1, data_v2(ovpn::kNoPeerId, 1).packet, t0);
        empty.learn_ovpn(1, classified(std::vector<std::byte>(40, std::byte{6 << 3})).packet, t0);
        empty.learn_ovpn(1, control(ovpn::Opcode::control_v1, 0x5EED).packet, t0);
        empty.learn_ovpn(1, ovpn::Packet{}, t0);
        CHECK(empty.sessions() == 0);
    }
}

TEST_CASE("roaming ovpn: control packets find their session by the client's session id",
          "[guard][roaming][ovpn]") {
    NativeRoaming r(limits());
    const auto reset = control(ovpn::Opcode::control_hard_reset_client_v2, 0x0102030405060708);
    r.observe_ovpn(1, reset.packet, reset.bytes, t0);  // the client's first packet
    CHECK(r.stats().ovpn_session_ids_learned == 1);
    const auto later = control(ovpn::Opcode::control_v1, 0x0102030405060708);
    CHECK(r.find_ovpn(later.packet) == 1u);
    // Found, but never a move: control packets have no counter the relay can order.
    CHECK(ovpn_move(r, 1, later, t0) == Move::not_movable);
    CHECK_FALSE(r.find_ovpn(control(ovpn::Opcode::control_v1, 0x99).packet).has_value());

    SECTION("first come, first served: another session cannot take a bound id") {
        // Session 2 has two ids of its own; the attempt costs it neither.
        const auto b = control(ovpn::Opcode::control_hard_reset_client_v2, 0xB);
        const auto c = control(ovpn::Opcode::control_hard_reset_client_v2, 0xC);
        r.observe_ovpn(2, b.packet, b.bytes, t0);
        r.observe_ovpn(2, c.packet, c.bytes, t0);
        r.observe_ovpn(2, later.packet, later.bytes, t0);
        CHECK(r.find_ovpn(later.packet) == 1u);
        CHECK(r.find_ovpn(b.packet) == 2u);
        CHECK(r.find_ovpn(c.packet) == 2u);
        CHECK(r.stats().ovpn_session_ids_learned == 3);
        CHECK(r.stats().table_full == 0);
        // Its own id again: nothing changes either.
        r.observe_ovpn(1, later.packet, later.bytes, t0);
        CHECK(r.stats().ovpn_session_ids_learned == 3);
    }
    SECTION("two ids a session; a third pushes out the oldest") {
        const auto b = control(ovpn::Opcode::control_hard_reset_client_v2, 0xB);
        const auto c = control(ovpn::Opcode::control_hard_reset_client_v2, 0xC);
        r.observe_ovpn(1, b.packet, b.bytes, t0);
        CHECK(r.find_ovpn(later.packet) == 1u);
        CHECK(r.find_ovpn(b.packet) == 1u);
        r.observe_ovpn(1, c.packet, c.bytes, t0);
        CHECK_FALSE(r.find_ovpn(later.packet).has_value());
        CHECK(r.find_ovpn(b.packet) == 1u);
        CHECK(r.find_ovpn(c.packet) == 1u);
        // The freed id may now be bound by another session.
        r.observe_ovpn(2, later.packet, later.bytes, t0);
        CHECK(r.find_ovpn(later.packet) == 2u);
    }
    SECTION("after forget") {
        r.forget_session(1);
        CHECK_FALSE(r.find_ovpn(later.packet).has_value());
        r.observe_ovpn(2, later.packet, later.bytes, t0);
        CHECK(r.find_ovpn(later.packet) == 2u);
    }
    SECTION("data packets of the current path do not bind session ids") {
        NativeRoaming other(limits());
        const auto d = data_v2(9, 1);
        other.observe_ovpn(1, d.packet, d.bytes, t0);
        CHECK(other.sessions() == 0);
    }
}

TEST_CASE("roaming: Move names", "[guard][roaming]") {
    CHECK(std::string(to_string(Move::accepted)) == "accepted");
    CHECK(std::string(to_string(Move::unknown)) == "unknown");
    CHECK(std::string(to_string(Move::expired)) == "expired");
    CHECK(std::string(to_string(Move::replayed)) == "replayed");
    CHECK(std::string(to_string(Move::too_far)) == "too_far");
    CHECK(std::string(to_string(Move::unproven)) == "unproven");
    CHECK(std::string(to_string(Move::not_movable)) == "not_movable");
    CHECK(std::string(to_string(static_cast<Move>(200))) == "?");
}
