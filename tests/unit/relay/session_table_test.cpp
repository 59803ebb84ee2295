// SessionTable: lookup by id and by UDP key, the limit, duplicates, idleness.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "porthop/relay/session_table.hpp"

using namespace porthop::relay;
using porthop::net::Endpoint;
using namespace std::chrono_literals;

namespace {

struct Fixture {
    boost::asio::io_context io;

    SessionPtr make(std::uint64_t id, Session::Clock::time_point last = {}) {
        auto s = std::make_shared<Session>(id, boost::asio::ip::udp::socket(io));  // never opened
        s->last_from_client = last;
        return s;
    }
};

Endpoint client(std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(0xC0000201);  // 192.0.2.1
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

std::vector<std::uint64_t> sorted(std::vector<std::uint64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "SessionTable: insert, find, get, erase", "[relay][session_table]") {
    SessionTable table(10);
    CHECK(table.size() == 0);
    CHECK(table.limit() == 10);
    CHECK_FALSE(table.full());

    const UdpKey key1{0, client(1000)};
    const UdpKey key2{1, client(1000)};  // same client, another listener: another session
    auto s1 = make(1);
    auto s2 = make(2);
    auto s3 = make(3);  // a TCP session: no UDP key
    REQUIRE(table.insert(s1, &key1));
    REQUIRE(table.insert(s2, &key2));
    REQUIRE(table.insert(s3, nullptr));
    CHECK(table.size() == 3);

    CHECK(table.find_udp(key1) == s1.get());
    CHECK(table.find_udp(key2) == s2.get());
    CHECK(table.find_udp(UdpKey{0, client(1001)}) == nullptr);
    CHECK(table.find_udp(UdpKey{2, client(1000)}) == nullptr);
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

TEST_CASE_METHOD(Fixture, "SessionTable: the table lets go of what it erases", "[relay][session_table]") {
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

TEST_CASE_METHOD(Fixture, "SessionTable: the limit refuses new sessions", "[relay][session_table]") {
    SessionTable table(2);
    const UdpKey k1{0, client(1)}, k2{0, client(2)}, k3{0, client(3)};
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

TEST_CASE_METHOD(Fixture, "SessionTable: duplicate key or id is refused", "[relay][session_table]") {
    SessionTable table(10);
    const UdpKey key{0, client(1000)};
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
        const UdpKey other_key{0, client(2000)};
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

TEST_CASE_METHOD(Fixture, "SessionTable: idle_since", "[relay][session_table]") {
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
    CHECK(hash(UdpKey{3, client(5)}) == hash(UdpKey{3, client(5)}));
    CHECK(hash(UdpKey{3, client(5)}) != hash(UdpKey{4, client(5)}));
    CHECK(hash(UdpKey{3, client(5)}) != hash(UdpKey{3, client(6)}));
    CHECK(UdpKey{3, client(5)} == UdpKey{3, client(5)});
    CHECK_FALSE(UdpKey{3, client(5)} == UdpKey{4, client(5)});
}
