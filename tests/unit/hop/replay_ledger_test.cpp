// The replay ledger (hop/replay_ledger.hpp): what the server keeps of porthop clients' sessions
// it has forgotten, so that their captured attaches stay refused.
#include "porthop/hop/replay_ledger.hpp"

#include <catch2/catch.hpp>

namespace porthop::hop::replay_ledger_test {

constexpr std::uint64_t kSession = 0x0123456789abcdef;
constexpr std::uint64_t kOther = 0x1111222233334444;

TEST_CASE("ledger: a session it knows nothing of may open", "[hop][ledger]") {
    const ReplayLedger ledger(4);
    CHECK(ledger.admits(kSession, 1, 0) == Forgotten{kSession, 0, 0, 0});
    CHECK(ledger.admits(kSession, 1, 1'700'000'000'000) == Forgotten{kSession, 0, 0, 0});
}

TEST_CASE("ledger: a forgotten session opens again only above both floors", "[hop][ledger]") {
    ReplayLedger ledger(4);
    ledger.remember({kSession, 100, 5'000, 9'999});
    // A captured attach: counter at or below the highest accepted.
    CHECK_FALSE(ledger.admits(kSession, 100, 6'000).has_value());
    CHECK_FALSE(ledger.admits(kSession, 7, 6'000).has_value());
    // One the server never saw (counter above) but issued before the floor: sent before the
    // server forgot the session, so possibly captured on the way.
    CHECK_FALSE(ledger.admits(kSession, 101, 5'000).has_value());
    CHECK_FALSE(ledger.admits(kSession, 101, 4'000).has_value());
    // The agent's next attach: above both; its window must keep refusing up to 100.
    CHECK(ledger.admits(kSession, 101, 5'001) == Forgotten{kSession, 100, 5'000, 9'999});
    // Another session is not affected.
    CHECK(ledger.admits(kOther, 1, 1) == Forgotten{kOther, 0, 0, 0});
}

TEST_CASE("ledger: remembering the same session keeps the higher of every field", "[hop][ledger]") {
    ReplayLedger ledger(4);
    ledger.remember({kSession, 100, 5'000, 900});
    ledger.remember({kSession, 50, 8'000, 800});
    const auto e = ledger.entries();
    REQUIRE(e.size() == 1);
    CHECK(e[0] == Forgotten{kSession, 100, 8'000, 900});
    CHECK_FALSE(ledger.admits(kSession, 101, 8'000).has_value());
    CHECK(ledger.admits(kSession, 101, 8'001).has_value());
}

TEST_CASE("ledger: forget hands the session back to its replay window", "[hop][ledger]") {
    ReplayLedger ledger(4);
    ledger.remember({kSession, 100, 5'000, 900});
    ledger.forget(kSession);
    CHECK(ledger.size() == 0);
    CHECK(ledger.admits(kSession, 1, 1).has_value());
}

TEST_CASE("ledger: entries expire after keep_until, not before", "[hop][ledger]") {
    ReplayLedger ledger(4);
    ledger.remember({kSession, 100, 5'000, 1'000});
    ledger.remember({kOther, 100, 5'000, 2'000});
    ledger.expire(1'000);  // keep_until is inclusive
    CHECK(ledger.size() == 2);
    ledger.expire(1'001);
    CHECK(ledger.size() == 1);
    CHECK(ledger.admits(kSession, 1, 1).has_value());
    CHECK_FALSE(ledger.admits(kOther, 1, 1).has_value());
}

TEST_CASE("ledger: when full, the entry that would expire first makes room", "[hop][ledger]") {
    ReplayLedger ledger(2);
    ledger.remember({1, 10, 10, 500});
    ledger.remember({2, 10, 10, 300});
    ledger.remember({3, 10, 10, 400});  // 2 goes
    CHECK(ledger.size() == 2);
    CHECK(ledger.admits(2, 1, 1).has_value());
    CHECK_FALSE(ledger.admits(1, 1, 1).has_value());
    CHECK_FALSE(ledger.admits(3, 1, 1).has_value());
    // A newcomer that would expire before all of them is not kept.
    ledger.remember({4, 10, 10, 100});
    CHECK(ledger.admits(4, 1, 1).has_value());
    CHECK(ledger.size() == 2);
}

TEST_CASE("ledger: the agent's clock is estimated from its last attach", "[hop][ledger]") {
    // Issued at 1000 on the agent's clock, arrived at 50'000 on the server's; 300 ms later.
    CHECK(agent_clock_at(1'000, 50'000, 50'300) == 1'300);
    // A server clock stepped back adds nothing.
    CHECK(agent_clock_at(1'000, 50'000, 40'000) == 1'000);
    CHECK(ledger_keep_seconds(300) == 960);
    CHECK(unix_ms(std::chrono::system_clock::time_point{std::chrono::seconds{2}}) == 2'000);
    CHECK(unix_ms(std::chrono::system_clock::time_point{-std::chrono::seconds{2}}) == 0);
}

}  // namespace porthop::hop::replay_ledger_test
