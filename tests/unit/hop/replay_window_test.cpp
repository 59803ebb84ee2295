// hop::ReplayWindow: each counter once, within 64 below the highest seen; 0 never.
#include "porthop/hop/replay_window.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

using porthop::hop::ReplayWindow;

namespace {

struct Step {
    std::uint64_t counter;
    bool accepted;
};

void run(const std::vector<Step>& steps) {
    ReplayWindow w;
    std::size_t i = 0;
    for (const auto& s : steps) {
        INFO("step " << i++ << ": counter " << s.counter << ", highest before " << w.highest());
        CHECK(w.would_accept(s.counter) == s.accepted);
        CHECK(w.accept(s.counter) == s.accepted);
        CHECK_FALSE(w.would_accept(s.counter));  // seen now, or never acceptable
    }
}

constexpr std::uint64_t kMaxCounter = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST_CASE("replay window: sequences", "[hop][replay]") {
    SECTION("counter 0 is never valid") { run({{0, false}, {1, true}, {0, false}}); }
    SECTION("the same counter twice") { run({{1, true}, {1, false}, {2, true}, {2, false}, {1, false}}); }
    SECTION("out of order within the window, each once") {
        run({{10, true}, {5, true}, {7, true}, {5, false}, {9, true}, {11, true}, {9, false}, {6, true}});
    }
    SECTION("63 below the highest is the oldest accepted") {
        run({{100, true}, {37, true}, {36, false}, {37, false}, {99, true}});
    }
    SECTION("a first counter far from 1") {
        run({{1000000, true}, {999937, true}, {999936, false}, {1, false}});
    }
    SECTION("the window slides across 64") {
        std::vector<Step> steps;
        for (std::uint64_t c = 1; c <= 64; ++c) steps.push_back({c, true});
        // 1..64 all fit (64 - 1 = 63 below). 65 pushes 1 out; 2 is now the oldest, already seen.
        steps.push_back({65, true});
        steps.push_back({1, false});
        steps.push_back({2, false});
        run(steps);
    }
    SECTION("unseen counters slide out too") {
        // 1 then 70: 6 is 64 below, 7 is 63 below.
        run({{1, true}, {70, true}, {6, false}, {7, true}, {69, true}, {1, false}});
    }
    SECTION("a jump of exactly 64 and of more forgets the old bits") {
        run({{5, true}, {69, true}, {5, false}, {6, true}, {6 + 1000, true}, {69, false}, {1006 - 63, true}});
    }
    SECTION("huge jumps and the top of the range") {
        run({{1, true},
             {kMaxCounter - 1, true},
             {kMaxCounter, true},
             {kMaxCounter, false},
             {kMaxCounter - 63, true},
             {kMaxCounter - 64, false},
             {1ull << 63, false}});
    }
}

TEST_CASE("replay window: would_accept marks nothing", "[hop][replay]") {
    ReplayWindow w;
    CHECK(w.highest() == 0);
    CHECK(w.would_accept(5));
    CHECK(w.would_accept(5));
    CHECK(w.highest() == 0);
    CHECK(w.accept(5));
    CHECK(w.highest() == 5);
    CHECK_FALSE(w.would_accept(5));
    CHECK(w.would_accept(4));
    CHECK(w.accept(3));
    CHECK(w.highest() == 5);  // an older counter does not move the window
}

TEST_CASE("replay window: agrees with a set-based model on random sequences", "[hop][replay]") {
    std::mt19937_64 rng(12345);
    for (int run_no = 0; run_no < 50; ++run_no) {
        ReplayWindow w;
        std::set<std::uint64_t> seen;
        std::uint64_t highest = 0;
        for (int i = 0; i < 2000; ++i) {
            // Mostly near the top, sometimes a jump, sometimes far behind.
            const auto r = rng() % 100;
            std::uint64_t c;
            if (r < 70)
                c = highest + 1 - std::min<std::uint64_t>(highest, rng() % 80) + rng() % 3;
            else if (r < 90)
                c = highest + rng() % 200;
            else
                c = rng() % (highest + 1);
            const bool model = c != 0 && !seen.count(c) && (c > highest || highest - c < 64);
            INFO("run " << run_no << " step " << i << " counter " << c << " highest " << highest);
            REQUIRE(w.accept(c) == model);
            if (model) {
                seen.insert(c);
                highest = std::max(highest, c);
            }
            REQUIRE(w.highest() == highest);
        }
    }
}

TEST_CASE("replay window: refuse_through marks everything up to a floor seen", "[hop][replay]") {
    ReplayWindow w;
    REQUIRE(w.accept(110));
    w.refuse_through(100);
    for (std::uint64_t c = 47; c <= 100; ++c) CHECK_FALSE(w.would_accept(c));
    for (std::uint64_t c = 101; c < 110; ++c) CHECK(w.would_accept(c));
    CHECK_FALSE(w.would_accept(110));
    CHECK(w.would_accept(111));
    // A floor far below the window changes nothing; one at or above the highest refuses all.
    ReplayWindow far;
    REQUIRE(far.accept(1000));
    far.refuse_through(10);
    CHECK(far.would_accept(999));
    far.refuse_through(1000);
    CHECK_FALSE(far.would_accept(999));
    CHECK(far.would_accept(1001));
    ReplayWindow above;
    REQUIRE(above.accept(5));
    above.refuse_through(7);
    CHECK(above.highest() == 7);
    CHECK_FALSE(above.would_accept(6));
    CHECK(above.would_accept(8));
}
