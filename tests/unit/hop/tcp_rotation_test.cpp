// When the agent replaces its TCP connection (hop/tcp_rotation.hpp).
#include "porthop/hop/tcp_rotation.hpp"

#include <catch2/catch.hpp>

namespace tcp_rotation_test {

using namespace std::chrono_literals;
using porthop::hop::Rotation;
using porthop::hop::RotationPolicy;
using porthop::hop::TcpActivity;
using porthop::hop::rotation_due;

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

TEST_CASE("tcp rotation: a stall is something sent and nothing back for `stall`", "[hop][tcp_rotation]") {
    const RotationPolicy policy{1500ms, 0};
    TcpActivity a{t0, t0 + 100ms, 5000};
    CHECK(rotation_due(policy, a, t0 + 1499ms) == Rotation::none);
    CHECK(rotation_due(policy, a, t0 + 1500ms) == Rotation::stalled);
    SECTION("an answer after the send: not stalled, however long ago") {
        a.last_received = t0 + 200ms;
        CHECK(rotation_due(policy, a, t0 + 1h) == Rotation::none);
    }
    SECTION("nothing sent at all: idle, not stalled") {
        a.last_sent = std::chrono::steady_clock::time_point::min();
        CHECK(rotation_due(policy, a, t0 + 1h) == Rotation::none);
    }
    SECTION("no budget: any byte count is fine") {
        a.last_received = t0 + 200ms;
        a.received_bytes = UINT64_MAX;
        CHECK(rotation_due(policy, a, t0 + 1h) == Rotation::none);
    }
}

TEST_CASE("tcp rotation: the byte budget, from half of it (the server stops at all of it)", "[hop][tcp_rotation]") {
    const RotationPolicy policy{1500ms, 16000};
    TcpActivity a{t0, t0, 7999};
    CHECK(rotation_due(policy, a, t0) == Rotation::none);
    a.received_bytes = 8000;
    CHECK(rotation_due(policy, a, t0) == Rotation::budget);
    a.last_sent = t0 + 1ms;  // stalled too: the budget is named first
    CHECK(rotation_due(policy, a, t0 + 2s) == Rotation::budget);
}

}  // namespace tcp_rotation_test
