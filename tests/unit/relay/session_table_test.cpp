// SessionTable: lookup by id and by UDP key, the limit, duplicates, idleness.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "../../support/endpoints.hpp"
#include "porthop/relay/session_table.hpp"

using namespace porthop::relay;
using porthop::net::Endpoint;
using namespace std::chrono_literals;

namespace {

// Names of their own: with unity builds this file may share a translation unit with another
// test file (tcp_connection_test.cpp has a Fixture and a client too).
struct TableFixture {
    boost::asio::io_context io;

    SessionPtr make(std::uint64_t id, Session::Clock::time_point last = {}) {
        auto s = std::make_shared<Session>(id, boost::asio::ip::udp::socket(io));  // never opened
        s->last_from_client = last;
        return s;
    }
};

Endpoint client_at(std::uint16_t port) { return porthop::test::endpoint("192.0.2.1", port); }

std::vector<std::uint64_t> sorted(std::vector<std::uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE_METHOD(TableFixture, "SessionTable: insert, find, get, erase", "[relay][session_table]") {
    SessionTable table(10);
    CHECK(table.size() == 0);
    CHECK(table.limit() == 10);
    CHECK_FALSE(table.full());

    const UdpKey key1{0, client_at(1000)};
    const UdpKey key2{1, client_at(1000)};  // same client, another listener: another session
    auto s1 = make(1);
    auto s2 = make(2);
    auto s3 = make(3);  // a TCP session: no UDP key
    REQUIRE(table.insert(s1, &key1));
    REQUIRE(table.insert(s2, &key2));
    REQUIRE(table.insert(s3, nullptr));
    CHECK(table.size() == 3);

    CHECK(table.find_udp(key1) == s1.get());
    CHECK(table.find_udp(key2) == s2.get());
    CHECK(table.find_udp(UdpKey{0, client_at(1001)}) == nullptr);
    CHECK(table.find_udp(UdpKey{2, client_at(1000)}) == nullptr);
    CHECK(table.get(1) == s1);
    CHECK(table.get(3) == s3);
    CHECK(table.get(4) == nullptr);

    std::vector<std::uint64_t> seen;
    table.for_each([&](const Session& s) { seen.push_back(s.id); });
    CHECK(sorted(seen) == std::vector<std::uint64_t>{1, 2, 3});

    // erase hands back ownership and removes the UDP key with the session.
    const auto erased = table.erase(1);
    CHECK(erased == s1);
    CHECK(table.size() == 2);
    CHECK(table.get(1) == nullptr);
    CHECK(table.find_udp(key1) == nullptr);
    CHECK(table.find_udp(key2) == s2.get());

    CHECK(table.erase(1) == nullptr);  // unknown now
    CHECK(table.erase(99) == nullptr);
    CHECK(table.size() == 2);

    CHECK(table.erase(3) == s3);  // no UDP key: nothing else to remove
    CHECK(table.find_udp(key2) == s2.get());
    CHECK(table.size() == 1);

    // A freed key can be used by a new session.
    auto s4 = make(4);
    CHECK(table.insert(s4, &key1));
    CHECK(table.find_udp(key1) == s4.get());
}

TEST_CASE_METHOD(TableFixture, "SessionTable: the table lets go of what it erases",
                 "[relay][session_table]") {
    SessionTable table(10);
    std::weak_ptr<Session> watch;
    {
        auto s = make(7);
        watch = s;
        REQUIRE(table.insert(std::move(s), nullptr));
    }
    CHECK_FALSE(watch.expired());  // the table holds it
    CHECK(table.get(7).use_count() == 2);  // the table's and the returned copy
    auto owned = table.erase(7);
    CHECK(owned.use_count() == 1);
    owned.reset();
    CHECK(watch.expired());
}

TEST_CASE_METHOD(TableFixture, "SessionTable: the limit refuses new sessions", "[relay][session_table]") {
    SessionTable table(2);
    const UdpKey k1{0, client_at(1)}, k2{0, client_at(2)}, k3{0, client_at(3)};
    REQUIRE(table.insert(make(1), &k1));
    CHECK_FALSE(table.full());
    REQUIRE(table.insert(make(2), &k2));
    CHECK(table.full());

    auto s3 = make(3);
    CHECK_FALSE(table.insert(s3, &k3));
    CHECK_FALSE(table.insert(s3, nullptr));
    CHECK(table.size() == 2);
    CHECK(table.find_udp(k3) == nullptr);
    CHECK(table.get(3) == nullptr);
    CHECK(s3.use_count() == 1);  // the caller keeps sole ownership

    // Room again after an erase.
    table.erase(1);
    CHECK_FALSE(table.full());
    CHECK(table.insert(s3, &k3));
    CHECK(table.find_udp(k3) == s3.get());

    // Lowering the limit below the size refuses inserts but keeps what is there.
    table.set_limit(1);
    CHECK(table.limit() == 1);
    CHECK(table.full());
    CHECK_FALSE(table.insert(make(5), nullptr));
    CHECK(table.size() == 2);
    CHECK(table.get(2) != nullptr);

    SessionTable none(0);
    CHECK(none.full());
    CHECK_FALSE(none.insert(make(1), nullptr));
}

TEST_CASE_METHOD(TableFixture, "SessionTable: duplicate key or id is refused", "[relay][session_table]") {
    SessionTable table(10);
    const UdpKey key{0, client_at(1000)};
    auto first = make(1);
    REQUIRE(table.insert(first, &key));

    SECTION("the UDP key is taken") {
        auto other = make(2);
        CHECK_FALSE(table.insert(other, &key));
        CHECK(table.size() == 1);
        CHECK(table.get(2) == nullptr);         // no half-inserted entry by id
        CHECK(table.find_udp(key) == first.get());
        CHECK(other.use_count() == 1);          // the caller keeps ownership
    }
    SECTION("the id is taken") {
        auto same_id = make(1);
        const UdpKey other_key{0, client_at(2000)};
        CHECK_FALSE(table.insert(same_id, &other_key));
        CHECK_FALSE(table.insert(same_id, nullptr));
        CHECK(table.size() == 1);
        CHECK(table.get(1) == first);
        CHECK(table.find_udp(other_key) == nullptr);  // no half-inserted entry by key
        CHECK(same_id.use_count() == 1);
    }
    SECTION("a null session") {
        CHECK_FALSE(table.insert(nullptr, nullptr));
        CHECK(table.size() == 1);
    }
}

TEST_CASE_METHOD(TableFixture, "SessionTable: idle_since", "[relay][session_table]") {
    SessionTable table(10);
    const Session::Clock::time_point t0 = Session::Clock::time_point{} + 1000s;
    REQUIRE(table.insert(make(1, t0), nullptr));
    REQUIRE(table.insert(make(2, t0 + 10s), nullptr));
    REQUIRE(table.insert(make(3, t0 + 20s), nullptr));

    CHECK(table.idle_since(t0).empty());  // strictly before the deadline
    CHECK(table.idle_since(t0 + 1ns) == std::vector<std::uint64_t>{1});
    CHECK(sorted(table.idle_since(t0 + 10s + 1ns)) == std::vector<std::uint64_t>{1, 2});
    CHECK(sorted(table.idle_since(t0 + 1h)) == std::vector<std::uint64_t>{1, 2, 3});

    // Activity moves a session out of the idle set.
    table.get(1)->last_from_client = t0 + 30s;
    CHECK(sorted(table.idle_since(t0 + 25s)) == std::vector<std::uint64_t>{2, 3});

    SessionTable empty(10);
    CHECK(empty.idle_since(t0 + 1h).empty());
}

TEST_CASE("CloseReason names", "[relay][session_table]") {
    CHECK(std::string(to_string(CloseReason::idle)) == "idle");
    CHECK(std::string(to_string(CloseReason::tcp_closed)) == "client closed the TCP connection");
    CHECK(std::string(to_string(CloseReason::tcp_error)) == "TCP error");
    CHECK(std::string(to_string(CloseReason::frame_too_large)) == "frame longer than max_datagram");
    CHECK(std::string(to_string(CloseReason::tcp_timeout)) == "no frame in time");
    CHECK(std::string(to_string(CloseReason::shutdown)) == "shutdown");
    CHECK(std::string(to_string(static_cast<CloseReason>(200))) == "unknown");
}

TEST_CASE("UdpKeyHash: equal keys hash equal, the listener matters", "[relay][session_table]") {
    const UdpKeyHash hash;
    CHECK(hash(UdpKey{3, client_at(5)}) == hash(UdpKey{3, client_at(5)}));
    CHECK(hash(UdpKey{3, client_at(5)}) != hash(UdpKey{4, client_at(5)}));
    CHECK(hash(UdpKey{3, client_at(5)}) != hash(UdpKey{3, client_at(6)}));
    CHECK(UdpKey{3, client_at(5)} == UdpKey{3, client_at(5)});
    CHECK_FALSE(UdpKey{3, client_at(5)} == UdpKey{4, client_at(5)});
}

TEST_CASE_METHOD(TableFixture, "SessionTable: set_hop_id and find_agent", "[relay][session_table][agent]") {
    SessionTable table(10);
    auto a = make(1);
    auto b = make(2);
    REQUIRE(table.insert(a, nullptr));
    REQUIRE(table.insert(b, nullptr));
    CHECK(table.find_agent(0xAAAA) == nullptr);

    REQUIRE(table.set_hop_id(1, 0xAAAA));
    CHECK(table.find_agent(0xAAAA) == a.get());
    CHECK(table.find_agent(0xBBBB) == nullptr);

    // A session gets one hop id, once: a second one (or the same again) is refused and the
    // first stays.
    CHECK_FALSE(table.set_hop_id(1, 0xBBBB));
    CHECK_FALSE(table.set_hop_id(1, 0xAAAA));
    CHECK(table.find_agent(0xAAAA) == a.get());
    CHECK(table.find_agent(0xBBBB) == nullptr);

    // An id another session holds is refused.
    CHECK_FALSE(table.set_hop_id(2, 0xAAAA));
    CHECK(table.find_agent(0xAAAA) == a.get());
    REQUIRE(table.set_hop_id(2, 0xBBBB));  // b can still take a free one
    CHECK(table.find_agent(0xBBBB) == b.get());

    // An unknown session gets nothing.
    CHECK_FALSE(table.set_hop_id(99, 0xCCCC));
    CHECK(table.find_agent(0xCCCC) == nullptr);
    CHECK(table.size() == 2);
}

TEST_CASE_METHOD(TableFixture, "SessionTable: hop id 0 is reserved", "[relay][session_table][agent]") {
    // 0 means "not an agent session" in the table: it must not become findable, or erase
    // (which skips hop id 0) would leave find_agent(0) pointing at a freed session.
    SessionTable table(10);
    REQUIRE(table.insert(make(1), nullptr));
    CHECK_FALSE(table.set_hop_id(1, 0));
    CHECK(table.find_agent(0) == nullptr);
    table.erase(1);
    CHECK(table.find_agent(0) == nullptr);
}

TEST_CASE_METHOD(TableFixture, "SessionTable: add_udp_path binds, refreshes and refuses",
                 "[relay][session_table][agent]") {
    SessionTable table(10);
    auto agent = make(1);
    REQUIRE(table.insert(agent, nullptr));
    REQUIRE(table.set_hop_id(1, 0xAAAA));
    const UdpKey p0{0, client_at(1000)};
    const UdpKey p1{1, client_at(1000)};  // the same agent address on another port
    const UdpKey p2{1, client_at(1001)};  // the agent's address changed (NAT rebinding)

    CHECK_FALSE(table.add_udp_path(99, p0));  // unknown session
    CHECK(table.find_udp(p0) == nullptr);

    REQUIRE(table.add_udp_path(1, p0));
    REQUIRE(table.add_udp_path(1, p1));
    REQUIRE(table.add_udp_path(1, p2));
    CHECK(table.find_udp(p0) == agent.get());
    CHECK(table.find_udp(p1) == agent.get());
    CHECK(table.find_udp(p2) == agent.get());
    CHECK(table.find_agent(0xAAAA) == agent.get());
    CHECK(table.size() == 1);
    // udp_paths lists them oldest first (what a session handed to another worker takes along).
    const auto paths = table.udp_paths(1);
    CHECK(std::vector<UdpKey>(paths.begin(), paths.end()) == std::vector<UdpKey>{p0, p1, p2});
    CHECK(table.udp_paths(99).empty());

    SECTION("a refresh keeps one key and makes it the newest") {
        REQUIRE(table.add_udp_path(1, p0));
        CHECK(table.find_udp(p0) == agent.get());
        // 3 distinct keys now; 5 more make 8 (the limit): nothing evicted, so p0 is there once.
        for (std::uint16_t i = 0; i < 5; ++i) REQUIRE(table.add_udp_path(1, UdpKey{2, client_at(2000 + i)}));
        CHECK(table.find_udp(p0) == agent.get());
        CHECK(table.find_udp(p1) == agent.get());
        CHECK(table.find_udp(p2) == agent.get());
        // The 9th evicts the oldest: p1 (p0 was refreshed after it), then p2, then p0.
        REQUIRE(table.add_udp_path(1, UdpKey{3, client_at(1)}));
        CHECK(table.find_udp(p1) == nullptr);
        CHECK(table.find_udp(p0) == agent.get());
        REQUIRE(table.add_udp_path(1, UdpKey{3, client_at(2)}));
        CHECK(table.find_udp(p2) == nullptr);
        CHECK(table.find_udp(p0) == agent.get());
        REQUIRE(table.add_udp_path(1, UdpKey{3, client_at(3)}));
        CHECK(table.find_udp(p0) == nullptr);
        CHECK(table.find_udp(UdpKey{2, client_at(2000)}) == agent.get());
    }
    SECTION("a key owned by another session is refused") {
        auto native = make(2);
        const UdpKey taken{0, client_at(5000)};
        REQUIRE(table.insert(native, &taken));
        CHECK_FALSE(table.add_udp_path(1, taken));
        CHECK(table.find_udp(taken) == native.get());

        auto other_agent = make(3);
        REQUIRE(table.insert(other_agent, nullptr));
        REQUIRE(table.set_hop_id(3, 0xBBBB));
        CHECK_FALSE(table.add_udp_path(3, p0));  // agent 1's path stays agent 1's
        CHECK(table.find_udp(p0) == agent.get());
        REQUIRE(table.add_udp_path(3, UdpKey{0, client_at(6000)}));
        CHECK(table.find_udp(UdpKey{0, client_at(6000)}) == other_agent.get());
    }
    SECTION("the 9th path evicts the oldest") {
        STATIC_REQUIRE(SessionTable::kMaxAgentPaths == 8);
        std::vector<UdpKey> keys{p0, p1, p2};
        for (std::uint16_t i = 0; keys.size() < SessionTable::kMaxAgentPaths; ++i) {
            keys.push_back(UdpKey{2, client_at(3000 + i)});
            REQUIRE(table.add_udp_path(1, keys.back()));
        }
        for (const auto& k : keys) CHECK(table.find_udp(k) == agent.get());
        const UdpKey ninth{4, client_at(4000)};
        REQUIRE(table.add_udp_path(1, ninth));
        CHECK(table.find_udp(ninth) == agent.get());
        CHECK(table.find_udp(p0) == nullptr);  // the oldest is forgotten
        for (std::size_t i = 1; i < keys.size(); ++i) CHECK(table.find_udp(keys[i]) == agent.get());
        // The forgotten key is free again: a native session may take it.
        CHECK(table.insert(make(5), &p0));
    }
}

TEST_CASE_METHOD(TableFixture, "SessionTable: remove_listener_paths", "[relay][session_table][agent]") {
    SessionTable table(10);
    auto a = make(1);
    auto b = make(2);
    REQUIRE(table.insert(a, nullptr));
    REQUIRE(table.insert(b, nullptr));
    REQUIRE(table.set_hop_id(1, 0xA));
    REQUIRE(table.set_hop_id(2, 0xB));
    const UdpKey a0{0, client_at(1)}, a1{1, client_at(1)}, a1b{1, client_at(2)}, b1{1, client_at(3)};
    REQUIRE(table.add_udp_path(1, a0));
    REQUIRE(table.add_udp_path(1, a1));
    REQUIRE(table.add_udp_path(1, a1b));
    REQUIRE(table.add_udp_path(2, b1));

    table.remove_listener_paths(1, 1);
    CHECK(table.find_udp(a1) == nullptr);
    CHECK(table.find_udp(a1b) == nullptr);
    CHECK(table.find_udp(a0) == a.get());  // its other listener stays
    CHECK(table.find_udp(b1) == b.get());  // another session's path on that listener stays
    CHECK(table.find_agent(0xA) == a.get());
    CHECK(table.size() == 2);

    table.remove_listener_paths(1, 7);   // no path there: nothing happens
    table.remove_listener_paths(99, 0);  // unknown session: nothing happens
    CHECK(table.find_udp(a0) == a.get());

    // The removed keys are free again, and the session can bind them anew.
    REQUIRE(table.add_udp_path(1, a1));
    CHECK(table.find_udp(a1) == a.get());
    // Removed paths no longer count towards the limit: 7 more fit beside a0 and a1 before
    // a0 is evicted.
    for (std::uint16_t i = 0; i < 6; ++i) REQUIRE(table.add_udp_path(1, UdpKey{5, client_at(100 + i)}));
    CHECK(table.find_udp(a0) == a.get());
    REQUIRE(table.add_udp_path(1, UdpKey{5, client_at(200)}));
    CHECK(table.find_udp(a0) == nullptr);
    CHECK(table.find_udp(a1) == a.get());
}

TEST_CASE_METHOD(TableFixture, "SessionTable: erase removes an agent's paths and its hop id",
                 "[relay][session_table][agent]") {
    SessionTable table(10);
    auto a = make(1);
    auto b = make(2);
    REQUIRE(table.insert(a, nullptr));
    REQUIRE(table.insert(b, nullptr));
    REQUIRE(table.set_hop_id(1, 0xA));
    REQUIRE(table.set_hop_id(2, 0xB));
    const UdpKey k0{0, client_at(1)}, k1{1, client_at(1)}, k2{2, client_at(9)}, kb{0, client_at(2)};
    REQUIRE(table.add_udp_path(1, k0));
    REQUIRE(table.add_udp_path(1, k1));
    REQUIRE(table.add_udp_path(1, k2));
    REQUIRE(table.add_udp_path(2, kb));

    CHECK(table.erase(1) == a);
    CHECK(table.find_agent(0xA) == nullptr);
    CHECK(table.find_udp(k0) == nullptr);
    CHECK(table.find_udp(k1) == nullptr);
    CHECK(table.find_udp(k2) == nullptr);
    CHECK(table.find_agent(0xB) == b.get());  // the other agent is untouched
    CHECK(table.find_udp(kb) == b.get());
    CHECK(table.size() == 1);
    CHECK(a.use_count() == 1);

    // Its hop id and its keys are free for others now.
    auto again = make(3);
    REQUIRE(table.insert(again, &k0));
    REQUIRE(table.set_hop_id(3, 0xA));
    CHECK(table.find_agent(0xA) == again.get());
    CHECK(table.find_udp(k0) == again.get());
    REQUIRE(table.add_udp_path(3, k1));
    CHECK(table.find_udp(k1) == again.get());
}

TEST_CASE_METHOD(TableFixture, "SessionTable: move_udp re-keys a native session",
                 "[relay][session_table][roaming]") {
    SessionTable table(10);
    const UdpKey old_key{1, client_at(1000)}, new_key{2, client_at(2000)}, other_key{1, client_at(3000)};
    REQUIRE(table.insert(make(1), &old_key));
    REQUIRE(table.insert(make(2), &other_key));
    REQUIRE(table.insert(make(3), nullptr));  // TCP: no UDP key

    CHECK(table.find(1) != nullptr);
    CHECK(table.find(42) == nullptr);
    REQUIRE(table.move_udp(1, new_key));
    CHECK(table.find_udp(new_key) == table.find(1));
    CHECK(table.find_udp(old_key) == nullptr);  // the old address no longer finds it
    CHECK(table.move_udp(1, new_key));           // already there: nothing to do

    CHECK_FALSE(table.move_udp(1, other_key));  // another session's key
    CHECK(table.find_udp(other_key) == table.find(2));
    CHECK_FALSE(table.move_udp(3, old_key));  // a session without a UDP key
    CHECK_FALSE(table.move_udp(42, old_key));  // unknown
    CHECK(table.find_udp(old_key) == nullptr);

    table.erase(1);  // its one key goes with it
    CHECK(table.find_udp(new_key) == nullptr);
}
