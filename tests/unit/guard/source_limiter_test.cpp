// SourceLimiter: the handshake token bucket with a fake clock (exact refill times), sources as
// IPv4 addresses and IPv6 /64s (IPv4-mapped = IPv4), the bounded table (eviction of idle
// sources only, then fail closed), the per-source session cap. Also FlatIndex, its hash index.
#include "porthop/guard/source_limiter.hpp"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "../../support/endpoints.hpp"
#include "porthop/guard/flat_index.hpp"
#include "porthop/net/endpoint.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here (t0, limits, burst) must not meet another file's (the roaming
// test has a t0 and a limits() of its own).
namespace source_limiter_test {

using porthop::guard::FlatIndex;
using porthop::guard::SourceKey;
using porthop::guard::SourceLimiter;
using porthop::net::Endpoint;
using porthop::test::endpoint;
using porthop::test::endpoint_of;
using Clock = SourceLimiter::Clock;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;  // far from the epoch, as in real runs

SourceLimiter::Limits limits(std::size_t max_sources = 64) {
    SourceLimiter::Limits l;
    l.max_sources = max_sources;
    l.seed = 12345;
    return l;
}

// How many of `n` handshakes at `now` are allowed.
int burst(SourceLimiter& limiter, const Endpoint& from, Clock::time_point now, int n = 100) {
    int allowed = 0;
    for (int i = 0; i < n; ++i) allowed += limiter.allow_handshake(from, now) ? 1 : 0;
    return allowed;
}

}  // namespace

TEST_CASE("source limiter: burst of 5, then one every 50 ms, to the nanosecond", "[guard][limiter]") {
    SourceLimiter limiter(limits());
    const auto a = endpoint("192.0.2.1");
    CHECK(burst(limiter, a, t0, 5) == 5);
    CHECK_FALSE(limiter.allow_handshake(a, t0));
    CHECK(limiter.stats().refused_rate == 1);
    // One token comes back 1 s / 20 = 50 ms after the first was spent, not a nanosecond sooner.
    CHECK_FALSE(limiter.allow_handshake(a, t0 + 50ms - 1ns));
    CHECK(limiter.allow_handshake(a, t0 + 50ms));
    CHECK_FALSE(limiter.allow_handshake(a, t0 + 50ms));
    CHECK_FALSE(limiter.allow_handshake(a, t0 + 100ms - 1ns));
    CHECK(limiter.allow_handshake(a, t0 + 100ms));
    // Refused attempts cost nothing: hammering does not delay the next token.
    for (int i = 0; i < 1000; ++i) CHECK_FALSE(limiter.allow_handshake(a, t0 + 120ms));
    CHECK(limiter.allow_handshake(a, t0 + 150ms));
    // A long pause refills the bucket to 5, never more.
    CHECK(burst(limiter, a, t0 + 1h) == 5);
    const auto& s = limiter.stats();
    CHECK(s.handshakes_allowed == 5 + 1 + 1 + 1 + 5);
    CHECK(s.refused_rate == 1 + 1 + 1 + 1 + 1000 + 95);
    CHECK(s.refused_table_full == 0);
}

TEST_CASE("source limiter: the bucket refills in steps of one interval", "[guard][limiter]") {
    SourceLimiter limiter(limits());
    const auto a = endpoint("198.51.100.7");
    REQUIRE(burst(limiter, a, t0) == 5);
    // After 3 intervals 3 tokens are back, after 4.5 only 4, and 5 is the ceiling.
    CHECK(burst(limiter, a, t0 + 150ms) == 3);
    CHECK(burst(limiter, a, t0 + 150ms + 225ms) == 4);
    CHECK(burst(limiter, a, t0 + 150ms + 225ms + 10s) == 5);
}

TEST_CASE("source limiter: a steady 20/s passes, 21/s does not for long", "[guard][limiter]") {
    SourceLimiter limiter(limits());
    const auto a = endpoint("192.0.2.1");
    for (int i = 0; i < 1000; ++i) REQUIRE(limiter.allow_handshake(a, t0 + i * 50ms));
    SourceLimiter faster(limits());
    int refused = 0;
    for (int i = 0; i < 1000; ++i) refused += faster.allow_handshake(a, t0 + i * 47ms) ? 0 : 1;
    // 1000 tries in 46.953 s: 5 (burst) + 939 tokens allowed, the rest refused.
    CHECK(refused == 1000 - 5 - 939);
}

TEST_CASE("source limiter: custom rate and burst", "[guard][limiter]") {
    auto l = limits();
    l.handshakes_per_second = 4;
    l.burst = 2;
    SourceLimiter limiter(l);
    const auto a = endpoint("192.0.2.1");
    CHECK(burst(limiter, a, t0) == 2);
    CHECK_FALSE(limiter.allow_handshake(a, t0 + 250ms - 1ns));
    CHECK(limiter.allow_handshake(a, t0 + 250ms));

    SECTION("burst 0 is taken as 1") {
        l.burst = 0;
        SourceLimiter one(l);
        CHECK(burst(one, a, t0) == 1);
        CHECK(one.limits().burst == 1);
    }
    SECTION("rate 0 turns the limit off and tracks nothing") {
        l.handshakes_per_second = 0;
        SourceLimiter off(l);
        CHECK(burst(off, a, t0, 1000) == 1000);
        CHECK(off.sources() == 0);
    }
    SECTION("set_limits: new rate at once, state and table size kept") {
        auto next = l;
        next.handshakes_per_second = 1;
        next.burst = 1;
        next.max_sources = 1;
        limiter.set_limits(next);
        CHECK(limiter.limits().max_sources == 64);
        CHECK(limiter.limits().handshakes_per_second == 1);
        // The tokens spent before the change still count: tat is t0 + 750 ms (3 spent at 4/s).
        CHECK_FALSE(limiter.allow_handshake(a, t0 + 750ms - 1ns));
        CHECK(limiter.allow_handshake(a, t0 + 750ms));
        CHECK_FALSE(limiter.allow_handshake(a, t0 + 1750ms - 1ns));
        CHECK(limiter.allow_handshake(a, t0 + 1750ms));
    }
}

TEST_CASE("source limiter: IPv4 is per address, IPv6 per /64, ports never matter", "[guard][limiter]") {
    struct Case {
        const char* a;
        const char* b;
        bool shared;
    };
    const Case cases[] = {
        {"192.0.2.1", "192.0.2.1", true},
        {"192.0.2.1", "192.0.2.2", false},
        {"192.0.2.1", "10.0.2.1", false},
        {"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},  // one /64
        {"2001:db8:1:2::1", "2001:db8:1:2:8000::", true},
        {"2001:db8:1:2::1", "2001:db8:1:3::1", false},  // neighbouring /64
        {"2001:db8:1:2::1", "2001:db9:1:2::1", false},
        {"2001:db8:1:2::1", "2001:db8:1:2::1", true},
        // IPv4-mapped: the same source as the IPv4 address, not ::/64 shared by every IPv4 client.
        {"192.0.2.1", "::ffff:192.0.2.1", true},
        {"::ffff:192.0.2.1", "::ffff:192.0.2.2", false},
        {"::ffff:192.0.2.1", "::1", false},
        {"::ffff:192.0.2.1", "::", false},
        // IPv4 in the low bits of an IPv6 address is still another source.
        {"192.0.2.1", "2001:db8::c000:201", false},
        {"192.0.2.1", "::c000:201", false},
    };
    for (const auto& c : cases) {
        INFO(c.a << " vs " << c.b);
        SourceLimiter limiter(limits());
        const auto a = endpoint(c.a, 1000);
        const auto b = endpoint(c.b, 2000);
        REQUIRE(burst(limiter, a, t0) == 5);
        CHECK(limiter.allow_handshake(b, t0) == !c.shared);
        CHECK((SourceLimiter::key_of(a) == SourceLimiter::key_of(b)) == c.shared);
        CHECK(limiter.sources() == (c.shared ? 1u : 2u));
    }
}

TEST_CASE("source limiter: key_of", "[guard][limiter]") {
    CHECK(SourceLimiter::key_of(endpoint("192.0.2.1")) == SourceKey{0xff000000c0000201ull});
    CHECK(SourceLimiter::key_of(endpoint("2001:db8:aaaa:bbbb:1:2:3:4")) == SourceKey{0x20010db8aaaabbbbull});
    CHECK(SourceLimiter::key_of(endpoint("::ffff:192.0.2.1")) == SourceKey{0xff000000c0000201ull});
    CHECK_FALSE(SourceLimiter::key_of(Endpoint{}).has_value());
}

TEST_CASE("source limiter: an endpoint that is not IPv4/IPv6 is refused", "[guard][limiter]") {
    SourceLimiter limiter(limits());
    CHECK_FALSE(limiter.allow_handshake(Endpoint{}, t0));
    CHECK_FALSE(limiter.acquire_session(Endpoint{}, t0).has_value());
    CHECK(limiter.stats().refused_invalid == 2);
    CHECK(limiter.sources() == 0);
}

TEST_CASE("source limiter: a full table evicts idle sources, oldest first, then fails closed",
          "[guard][limiter]") {
    SourceLimiter limiter(limits(4));
    // Four sources; A spends its whole burst, the others one token each, 10 ms apart.
    const auto a = endpoint("192.0.2.1"), b = endpoint("192.0.2.2"), c = endpoint("192.0.2.3"), d = endpoint("192.0.2.4");
    REQUIRE(burst(limiter, a, t0, 5) == 5);
    REQUIRE(limiter.allow_handshake(b, t0 + 10ms));
    REQUIRE(limiter.allow_handshake(c, t0 + 20ms));
    REQUIRE(limiter.allow_handshake(d, t0 + 30ms));
    REQUIRE(limiter.sources() == 4);

    // A fifth source while nobody has been idle for burst / rate = 250 ms: refused, counted,
    // and the tracked sources keep their state (A is still empty).
    const auto e = endpoint("192.0.2.5"), f = endpoint("192.0.2.6"), g = endpoint("192.0.2.7");
    CHECK_FALSE(limiter.allow_handshake(e, t0 + 249ms));
    CHECK(limiter.stats().refused_table_full == 1);
    CHECK(limiter.stats().evicted == 0);
    CHECK(limiter.sources() == 4);

    // A has been idle for 250 ms since its last handshake: its bucket is full again, so it is
    // the same as absent and makes room. A is evicted, not B (the least recently active goes).
    CHECK(limiter.allow_handshake(e, t0 + 250ms));
    CHECK(limiter.stats().evicted == 1);
    CHECK(limiter.sources() == 4);
    // B was idle 240 ms only: the next newcomer is refused until 260 ms.
    CHECK_FALSE(limiter.allow_handshake(f, t0 + 259ms));
    CHECK(limiter.allow_handshake(f, t0 + 260ms));  // B goes
    CHECK(limiter.stats().evicted == 2);
    // An evicted source that comes back is a new source with a full bucket, which is what it
    // had: nothing was lost by evicting it. It needs room too: C (idle since 20 ms) makes it.
    CHECK(burst(limiter, a, t0 + 270ms) == 5);
    CHECK(limiter.stats().evicted == 3);
    // D is the oldest now (30 ms), then E (250 ms), F (260 ms), A (270 ms).
    CHECK_FALSE(limiter.allow_handshake(g, t0 + 279ms));
    CHECK(limiter.allow_handshake(g, t0 + 280ms));
    CHECK(limiter.stats().evicted == 4);
    CHECK(limiter.stats().refused_table_full == 3);
}

TEST_CASE("source limiter: a refused handshake is not activity", "[guard][limiter]") {
    SourceLimiter limiter(limits(1));
    const auto a = endpoint("192.0.2.1"), b = endpoint("192.0.2.2");
    REQUIRE(burst(limiter, a, t0) == 5);
    REQUIRE(limiter.allow_handshake(a, t0 + 50ms));  // one token back; A's last activity: 50 ms
    // A keeps trying, and failing, until 100 ms.
    for (auto t = t0 + 50ms; t < t0 + 100ms; t += 1ms) CHECK_FALSE(limiter.allow_handshake(a, t));
    // A counts as idle from 50 ms, not 99 ms: B may take its place at 300 ms.
    CHECK_FALSE(limiter.allow_handshake(b, t0 + 299ms));
    CHECK(limiter.allow_handshake(b, t0 + 300ms));
    CHECK(limiter.stats().evicted == 1);
}

TEST_CASE("source limiter: sources holding sessions are never evicted", "[guard][limiter]") {
    SourceLimiter limiter(limits(2));
    const auto a = endpoint("192.0.2.1"), b = endpoint("2001:db8::1"), c = endpoint("192.0.2.3");
    const auto sa = limiter.acquire_session(a, t0);
    const auto sb = limiter.acquire_session(b, t0);
    REQUIRE(sa);
    REQUIRE(sb);
    // An hour later both are still pinned: a new source gets neither a handshake nor a session.
    CHECK_FALSE(limiter.allow_handshake(c, t0 + 1h));
    CHECK_FALSE(limiter.acquire_session(c, t0 + 1h).has_value());
    CHECK(limiter.stats().refused_table_full == 2);
    CHECK(limiter.stats().evicted == 0);
    // Sources already tracked are still served.
    CHECK(limiter.allow_handshake(a, t0 + 1h));
    // B gives its session back at +1 h: from then it is an ordinary idle source, evictable
    // 250 ms later (a release counts as activity).
    limiter.release_session(*sb, t0 + 1h);
    CHECK(limiter.sessions_of(*sb) == 0);
    CHECK_FALSE(limiter.allow_handshake(c, t0 + 1h + 249ms));
    CHECK(limiter.allow_handshake(c, t0 + 1h + 250ms));
    CHECK(limiter.stats().evicted == 1);
    CHECK(limiter.sessions_of(*sa) == 1);  // A kept its count
}

TEST_CASE("source limiter: sessions per source", "[guard][limiter]") {
    auto l = limits();
    l.sessions_per_source = 3;
    SourceLimiter limiter(l);
    // Three different addresses of one /64 share the cap; ports do not matter.
    const auto a1 = endpoint("2001:db8:0:1::1", 1), a2 = endpoint("2001:db8:0:1::2", 2), a3 = endpoint("2001:db8:0:1::3", 3);
    const auto other = endpoint("2001:db8:0:2::1");
    std::vector<SourceKey> held;
    for (const auto* e : {&a1, &a2, &a3}) {
        const auto k = limiter.acquire_session(*e, t0);
        REQUIRE(k);
        held.push_back(*k);
    }
    CHECK(held[0] == held[1]);
    CHECK(limiter.sessions_of(held[0]) == 3);
    CHECK_FALSE(limiter.acquire_session(a1, t0).has_value());
    CHECK_FALSE(limiter.acquire_session(endpoint("2001:db8:0:1:abcd::9"), t0).has_value());
    CHECK(limiter.stats().refused_sessions == 2);
    CHECK(limiter.acquire_session(other, t0).has_value());  // another /64 has its own cap
    // Acquiring spends no handshake token.
    CHECK(burst(limiter, a1, t0) == 5);

    limiter.release_session(held[0], t0 + 1s);
    CHECK(limiter.sessions_of(held[0]) == 2);
    CHECK(limiter.acquire_session(a2, t0 + 1s).has_value());
    CHECK_FALSE(limiter.acquire_session(a2, t0 + 1s).has_value());

    SECTION("releasing more than was acquired is ignored") {
        for (int i = 0; i < 10; ++i) limiter.release_session(held[0], t0 + 2s);
        CHECK(limiter.sessions_of(held[0]) == 0);
        for (int i = 0; i < 3; ++i) CHECK(limiter.acquire_session(a1, t0 + 2s).has_value());
        CHECK_FALSE(limiter.acquire_session(a1, t0 + 2s).has_value());
    }
    SECTION("releasing an unknown source is ignored") {
        limiter.release_session(SourceKey{0x20010db800009999ull}, t0 + 2s);
        CHECK(limiter.sources() == 2);
        CHECK(limiter.sessions_of(SourceKey{0x20010db800009999ull}) == 0);
    }
    SECTION("cap 0 turns the cap off; such sessions are not tracked") {
        l.sessions_per_source = 0;
        SourceLimiter off(l);
        for (int i = 0; i < 1000; ++i) REQUIRE(off.acquire_session(a1, t0).has_value());
        CHECK(off.sources() == 0);
        off.release_session(held[0], t0);  // ignored
        CHECK(off.stats().sessions_acquired == 1000);
    }
}

TEST_CASE("source limiter: many sources, a table of the default size", "[guard][limiter]") {
    SourceLimiter limiter;  // defaults: 16384 sources, random seed
    CHECK(limiter.limits().max_sources == 16384);
    std::uint32_t allowed = 0;
    for (std::uint32_t i = 0; i < 20000; ++i) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_addr.s6_addr[0] = 0x20;
        sa.sin6_addr.s6_addr[1] = 0x01;
        sa.sin6_addr.s6_addr[4] = static_cast<unsigned char>(i >> 8);
        sa.sin6_addr.s6_addr[5] = static_cast<unsigned char>(i);
        const auto e = endpoint_of(sa);
        allowed += limiter.allow_handshake(e, t0) ? 1 : 0;
    }
    // Every slot is used before anything is refused (the index never fails before the table).
    CHECK(allowed == 16384);
    CHECK(limiter.stats().refused_table_full == 20000 - 16384);
    CHECK(limiter.sources() == 16384);
}

// ---- FlatIndex --------------------------------------------------------------------------

TEST_CASE("flat index: insert, find, assign, erase against a reference map", "[guard][flat_index]") {
    FlatIndex index(1000, 42);
    std::unordered_map<std::uint64_t, std::uint32_t> ref;
    std::mt19937_64 rng(7);
    for (int step = 0; step < 200000; ++step) {
        // Keys from a small range, so inserts, hits and erases all happen often.
        const std::uint64_t key = rng() % 3000;
        const auto value = static_cast<std::uint32_t>(rng() % 100000);
        switch (rng() % 4) {
            case 0:
            case 1: {
                const bool fits = ref.size() < 1000 && !ref.count(key);
                const bool inserted = index.insert(key, value);
                if (inserted) ref[key] = value;
                // Refused only when present or full (no probe run gets near kMaxProbe here).
                REQUIRE(inserted == fits);
                break;
            }
            case 2:
                REQUIRE(index.erase(key) == (ref.erase(key) == 1));
                break;
            default:
                REQUIRE(index.assign(key, value) == (ref.count(key) > 0));
                if (ref.count(key)) ref[key] = value;
        }
        REQUIRE(index.size() == ref.size());
        const auto it = ref.find(key);
        REQUIRE(index.find(key) == (it == ref.end() ? FlatIndex::kAbsent : it->second));
    }
    for (std::uint64_t k = 0; k < 3000; ++k) {
        const auto it = ref.find(k);
        REQUIRE(index.find(k) == (it == ref.end() ? FlatIndex::kAbsent : it->second));
    }
}

TEST_CASE("flat index: refusals", "[guard][flat_index]") {
    FlatIndex index(2, 1);
    CHECK_FALSE(index.insert(1, FlatIndex::kAbsent));  // not a value
    CHECK(index.insert(1, 10));
    CHECK_FALSE(index.insert(1, 11));  // present
    CHECK(index.find(1) == 10);
    CHECK(index.insert(2, 20));
    CHECK_FALSE(index.insert(3, 30));  // full
    CHECK_FALSE(index.assign(3, 30));  // absent
    CHECK_FALSE(index.assign(1, FlatIndex::kAbsent));
    CHECK_FALSE(index.erase(3));
    CHECK(index.erase(1));
    CHECK_FALSE(index.erase(1));
    CHECK(index.insert(3, 30));
    CHECK(index.find(2) == 20);
    CHECK(index.find(3) == 30);

    FlatIndex empty(0, 1);
    CHECK_FALSE(empty.insert(1, 1));
    CHECK(empty.find(1) == FlatIndex::kAbsent);
}

TEST_CASE("flat index: probe runs are capped, erase keeps runs intact across the wrap",
          "[guard][flat_index]") {
    // kMaxProbe + 1 keys with the same home slot under seed 1: the last slot, so their run
    // wraps around to the front.
    FlatIndex index(256, 1);
    REQUIRE(index.slots() == 512);
    const std::size_t last = index.slots() - 1;
    std::vector<std::uint64_t> same;
    for (std::uint64_t k = 0; same.size() <= FlatIndex::kMaxProbe; ++k)
        if (index.slot_of(k) == last) same.push_back(k);
    for (std::size_t i = 0; i < FlatIndex::kMaxProbe; ++i)
        REQUIRE(index.insert(same[i], static_cast<std::uint32_t>(i)));
    // The next one would sit kMaxProbe slots from home: refused, although the index has room.
    CHECK_FALSE(index.insert(same.back(), 999));
    CHECK(index.size() == FlatIndex::kMaxProbe);
    CHECK(index.find(same.back()) == FlatIndex::kAbsent);
    // A key with another home, inside the run, is placed after it (still within its cap).
    std::uint64_t other = 1u << 20;
    while (index.slot_of(other) != 3) ++other;
    CHECK(index.insert(other, 1000));
    CHECK(index.find(other) == 1000);

    // Erase every third colliding key (before and after the wrap): the rest stay findable.
    for (std::size_t i = 0; i < FlatIndex::kMaxProbe; i += 3) REQUIRE(index.erase(same[i]));
    for (std::size_t i = 0; i < FlatIndex::kMaxProbe; ++i)
        REQUIRE(index.find(same[i]) == (i % 3 == 0 ? FlatIndex::kAbsent : static_cast<std::uint32_t>(i)));
    CHECK(index.find(other) == 1000);
    // With room in the run, the refused key fits now.
    CHECK(index.insert(same.back(), 999));
    CHECK(index.find(same.back()) == 999);

    // Under another seed the same keys do not share a home: all of them fit at once.
    FlatIndex reseeded(256, 2);
    std::set<std::size_t> homes;
    for (const auto k : same) {
        homes.insert(reseeded.slot_of(k));
        CHECK(reseeded.insert(k, 1));
    }
    CHECK(homes.size() > same.size() / 2);
}

}  // namespace source_limiter_test
