// hop::PortSchedule and epoch_at. Known answers from tests/vectors/make_hop_vectors.py, which
// implements the schedule again in Python over hashlib (docs/PROTOCOL.md has the same table).
#include "porthop/hop/schedule.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

namespace crypto = porthop::crypto;
using porthop::hop::epoch_at;
using porthop::hop::PortSchedule;
using namespace std::chrono_literals;

namespace {

crypto::HopKey schedule_key() {
    crypto::HopKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(i);
    return crypto::derive_hop_keys(k).schedule;
}

std::vector<std::uint16_t> default_ports() {  // 443, 1194, 40000-40099
    std::vector<std::uint16_t> p{443, 1194};
    for (std::uint16_t port = 40000; port <= 40099; ++port) p.push_back(port);
    return p;
}

// As a config might list it: unsorted, one port twice.
const std::vector<std::uint16_t> kSmallConfigured{51820, 443, 1194, 443, 8443};

constexpr std::uint64_t kMaxEpoch = std::numeric_limits<std::uint64_t>::max();

std::chrono::system_clock::time_point at_seconds(std::int64_t s) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

}  // namespace

TEST_CASE("schedule: epoch_at", "[hop][schedule]") {
    struct Row {
        std::chrono::system_clock::time_point t;
        std::chrono::seconds interval;
        std::uint64_t epoch;
    };
    const Row rows[] = {
        {at_seconds(0), 60s, 0},
        {at_seconds(59), 60s, 0},
        {at_seconds(60), 60s, 1},
        {at_seconds(60) - 1ns, 60s, 0},
        {at_seconds(1680000000), 60s, 28000000},
        {at_seconds(1680000059), 60s, 28000000},
        {at_seconds(1680000060), 60s, 28000001},
        {at_seconds(1680000000) + 999ms, 1s, 1680000000},
        {at_seconds(1680000000), 3600s, 466666},
        {at_seconds(-1), 60s, 0},  // before 1970
        {at_seconds(0) - 1ns, 60s, 0},
        {at_seconds(-86400 * 365), 1s, 0},
    };
    for (const auto& row : rows) {
        INFO(row.t.time_since_epoch().count() << " / " << row.interval.count() << " s");
        CHECK(epoch_at(row.t, row.interval) == row.epoch);
    }
}

TEST_CASE("schedule: the port set is sorted and deduplicated", "[hop][schedule]") {
    const PortSchedule small(schedule_key(), kSmallConfigured);
    CHECK(small.ports() == std::vector<std::uint16_t>{443, 1194, 8443, 51820});
    const PortSchedule def(schedule_key(), default_ports());
    CHECK(def.ports().size() == 102);
    CHECK(std::is_sorted(def.ports().begin(), def.ports().end()));
    // The order in the config does not matter: both ends index the same list.
    auto reversed = default_ports();
    std::reverse(reversed.begin(), reversed.end());
    reversed.push_back(40050);
    const PortSchedule other(schedule_key(), reversed);
    for (std::uint64_t e = 0; e < 500; ++e) REQUIRE(other.port_for(e) == def.port_for(e));
    CHECK_THROWS_AS(PortSchedule(schedule_key(), {}), std::invalid_argument);
}

TEST_CASE("schedule: port_for matches the hashlib vectors", "[hop][schedule]") {
    const PortSchedule def(schedule_key(), default_ports());
    const PortSchedule small(schedule_key(), kSmallConfigured);
    struct Row {
        std::uint64_t epoch;
        std::uint64_t prf;
        std::uint16_t default_port;
        std::uint16_t small_port;
    };
    // python3 tests/vectors/make_hop_vectors.py --cpp
    const Row rows[] = {
        {0u, 0x03d2b86b20a0657du, 40053, 1194},
        {1u, 0xfa1f11ce71060295u, 40007, 1194},
        {2u, 0x61df794168621e23u, 40057, 51820},
        {28000000u, 0xc8c58dc2bcc90020u, 40080, 443},
        {18446744073709551615u, 0x033ccb5b313dec65u, 40037, 1194},
    };
    for (const auto& row : rows) {
        INFO("epoch " << row.epoch);
        CHECK(crypto::schedule_prf(schedule_key(), row.epoch) == row.prf);
        CHECK(def.port_for(row.epoch) == row.default_port);
        CHECK(small.port_for(row.epoch) == row.small_port);
        CHECK(def.port_for(row.epoch) == def.ports()[row.prf % 102]);
    }
}

TEST_CASE("schedule: alternates and moving-target ports match the hashlib vectors", "[hop][schedule]") {
    const PortSchedule def(schedule_key(), default_ports());
    const PortSchedule small(schedule_key(), kSmallConfigured);
    struct Row {
        std::uint64_t epoch;
        bool default_set;
        std::vector<std::uint16_t> alternates;  // count 3
        std::vector<std::uint16_t> moving_target;
    };
    const Row rows[] = {
        {0u, true, {40007, 40057, 40035}, {40007, 40053}},
        {0u, false, {51820, 8443, 443}, {1194}},
        {28000000u, true, {40048, 40083, 40092}, {40048, 40080, 40083}},
        {28000000u, false, {51820, 1194, 8443}, {443, 51820}},
    };
    for (const auto& row : rows) {
        const auto& s = row.default_set ? def : small;
        INFO("epoch " << row.epoch << (row.default_set ? ", default set" : ", small set"));
        CHECK(s.alternates(row.epoch, 3) == row.alternates);
        CHECK(s.moving_target_ports(row.epoch) == row.moving_target);
    }
}

TEST_CASE("schedule: alternates rules", "[hop][schedule]") {
    const PortSchedule def(schedule_key(), default_ports());
    const PortSchedule small(schedule_key(), kSmallConfigured);
    const std::uint64_t epochs[] = {0, 1, 2, 28000000, kMaxEpoch - 1, kMaxEpoch};
    for (const PortSchedule* s : {&def, &small}) {
        const std::size_t n = s->ports().size();
        for (std::uint64_t e : epochs) {
            for (std::size_t count :
                 {std::size_t{0}, std::size_t{1}, std::size_t{3}, n - 1, n, n + 5, std::size_t{100000}}) {
                INFO(n << " ports, epoch " << e << ", count " << count);
                const auto alt = s->alternates(e, count);
                CHECK(alt.size() == std::min(count, n - 1));
                const std::set<std::uint16_t> unique(alt.begin(), alt.end());
                CHECK(unique.size() == alt.size());
                CHECK_FALSE(unique.count(s->port_for(e)));
                for (auto p : alt) CHECK(std::binary_search(s->ports().begin(), s->ports().end(), p));
                // A shorter list is a prefix of a longer one: best first.
                const auto longer = s->alternates(e, count + 1);
                CHECK(std::equal(alt.begin(), alt.end(), longer.begin()));
            }
        }
    }
    // The neighbours come first: port of e+1 (if not e's), then of e-1.
    for (std::uint64_t e = 1; e < 200; ++e) {
        const auto alt = def.alternates(e, 2);
        REQUIRE(alt.size() == 2);
        const auto next = def.port_for(e + 1), prev = def.port_for(e - 1), own = def.port_for(e);
        if (next != own) {
            CHECK(alt[0] == next);
            if (prev != own && prev != next) CHECK(alt[1] == prev);
        } else if (prev != own) {
            CHECK(alt[0] == prev);
        }
    }
    // Epoch 0 has no e-1: the second choice is e+2's port when distinct.
    const auto alt0 = def.alternates(0, 2);
    CHECK(alt0[0] == def.port_for(1));
    CHECK(alt0[1] == def.port_for(2));
    // One port: nothing else to try.
    const PortSchedule one(schedule_key(), {443, 443});
    CHECK(one.alternates(5, 3).empty());
    CHECK(one.moving_target_ports(5) == std::vector<std::uint16_t>{443});
    // Two ports: the other one, always.
    const PortSchedule two(schedule_key(), {443, 1194});
    for (std::uint64_t e = 0; e < 50; ++e) {
        const auto alt = two.alternates(e, 3);
        REQUIRE(alt.size() == 1);
        CHECK(alt[0] != two.port_for(e));
    }
}

TEST_CASE("schedule: moving_target_ports rules", "[hop][schedule]") {
    const PortSchedule def(schedule_key(), default_ports());
    for (std::uint64_t e : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{28000000}, kMaxEpoch}) {
        INFO("epoch " << e);
        const auto open = def.moving_target_ports(e);
        CHECK(open.size() >= 1);
        CHECK(open.size() <= 3);
        CHECK(std::is_sorted(open.begin(), open.end()));
        CHECK(std::adjacent_find(open.begin(), open.end()) == open.end());
        std::set<std::uint16_t> expected{def.port_for(e), def.port_for(e + 1)};
        if (e > 0) expected.insert(def.port_for(e - 1));
        CHECK(std::set<std::uint16_t>(open.begin(), open.end()) == expected);
    }
    // A client one epoch ahead or behind finds its port open.
    for (std::uint64_t e = 1; e < 300; ++e) {
        const auto open = def.moving_target_ports(e);
        for (std::uint64_t client : {e - 1, e, e + 1})
            CHECK(std::binary_search(open.begin(), open.end(), def.port_for(client)));
    }
}

TEST_CASE("schedule: every port gets used, none much more than the others", "[hop][schedule]") {
    const PortSchedule def(schedule_key(), default_ports());
    std::map<std::uint16_t, int> uses;
    const int epochs = 102 * 200;
    for (std::uint64_t e = 28000000; e < 28000000u + epochs; ++e) ++uses[def.port_for(e)];
    CHECK(uses.size() == 102);
    for (const auto& [port, n] : uses) {
        INFO("port " << port << " used " << n << " times of " << epochs);
        // Binomial(20400, 1/102): mean 200, sd ~14; 6 sd either way.
        CHECK(n > 115);
        CHECK(n < 285);
    }
    // Consecutive epochs on the same port happen about 1 time in 102.
    int repeats = 0;
    for (std::uint64_t e = 0; e < 10200; ++e) repeats += def.port_for(e) == def.port_for(e + 1);
    CHECK(repeats < 200);
}
