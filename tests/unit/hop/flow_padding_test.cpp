// hop/flow_padding.hpp: the first kOpeningFrames data frames of each flow are opening frames
// (padded to random lengths), the rest bulk; a new flow id restarts the count.
#include "porthop/hop/flow_padding.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

// A namespace of its own: unity builds share a translation unit between test files.
namespace flow_padding_test {

using porthop::hop::DataShape;
using porthop::hop::FlowPadding;
constexpr std::uint32_t kN = FlowPadding::kOpeningFrames;

// How many of the next `frames` on `flow` are opening frames; checks they come first.
std::uint32_t openings(FlowPadding& f, std::uint64_t flow, std::uint32_t frames) {
    std::uint32_t n = 0;
    bool bulk_seen = false;
    for (std::uint32_t i = 0; i < frames; ++i) {
        if (f.next(flow) == DataShape::opening) {
            CHECK_FALSE(bulk_seen);  // never an opening frame after a bulk one on the same flow
            ++n;
        } else {
            bulk_seen = true;
        }
    }
    return n;
}

TEST_CASE("flow padding: a new path pads its first frames, then stops", "[hop][flow_padding]") {
    STATIC_REQUIRE(kN >= 4);  // the classifiers look at the first 1 to 4 packets
    STATIC_REQUIRE(kN <= 16);
    FlowPadding f;
    CHECK(f.left() == kN);
    CHECK(openings(f, 443, 100) == kN);
    CHECK(f.left() == 0);
    CHECK(f.next(443) == DataShape::bulk);  // and stays so on that flow
}

TEST_CASE("flow padding: a path change restarts it, also back to an earlier path", "[hop][flow_padding]") {
    FlowPadding f;
    CHECK(openings(f, 443, 3) == 3);
    CHECK(f.left() == kN - 3);
    CHECK(openings(f, 40007, 50) == kN);  // a hop before the first flow's end: a full count again
    CHECK(openings(f, 443, 50) == kN);    // back to 443: a new flow for the censor (and for us)
    CHECK(openings(f, 443, 50) == 0);
}

TEST_CASE("flow padding: id 0 is a flow like any other, the first included", "[hop][flow_padding]") {
    // The server's first reply path has generation 0, the agent's TCP path a number: no id is
    // taken to mean "no flow".
    FlowPadding f;
    CHECK(f.next(0) == DataShape::opening);
    CHECK(openings(f, 0, 20) == kN - 1);
    CHECK(openings(f, 1, 20) == kN);
}

}  // namespace flow_padding_test
