// RateLimitedWarning with an explicit clock; log level names.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "porthop/base/log.hpp"

using namespace porthop::base;
using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

TEST_CASE("RateLimitedWarning: one line per interval, with the suppressed count", "[base][log]") {
    RateLimitedWarning limiter(10s);
    const TimePoint t0 = TimePoint{} + 1000s;
    std::uint64_t suppressed = 999;

    // The first event gets through, with nothing suppressed before it.
    REQUIRE(limiter.allow(t0, suppressed));
    CHECK(suppressed == 0);

    // Inside the interval: suppressed, and the out-parameter is left alone.
    suppressed = 777;
    CHECK_FALSE(limiter.allow(t0, suppressed));
    CHECK_FALSE(limiter.allow(t0 + 1s, suppressed));
    CHECK_FALSE(limiter.allow(t0 + 10s - 1ns, suppressed));
    CHECK(suppressed == 777);

    // At the end of the interval: allowed, reporting the 3 skipped.
    REQUIRE(limiter.allow(t0 + 10s, suppressed));
    CHECK(suppressed == 3);

    // The counter restarts and the interval runs from the last allowed line.
    CHECK_FALSE(limiter.allow(t0 + 19s, suppressed));
    REQUIRE(limiter.allow(t0 + 20s, suppressed));
    CHECK(suppressed == 1);

    // A long quiet gap: allowed, nothing suppressed in between.
    REQUIRE(limiter.allow(t0 + 1h, suppressed));
    CHECK(suppressed == 0);
}

TEST_CASE("RateLimitedWarning: a late event opens a new interval from its own time", "[base][log]") {
    RateLimitedWarning limiter(5s);
    const TimePoint t0 = TimePoint{} + 100s;
    std::uint64_t suppressed = 0;
    REQUIRE(limiter.allow(t0, suppressed));
    REQUIRE(limiter.allow(t0 + 7s, suppressed));  // 2 s after the first interval ended
    CHECK(suppressed == 0);
    CHECK_FALSE(limiter.allow(t0 + 11s, suppressed));  // inside [7 s, 12 s)
    REQUIRE(limiter.allow(t0 + 12s, suppressed));
    CHECK(suppressed == 1);
}

TEST_CASE("RateLimitedWarning: a zero interval lets everything through", "[base][log]") {
    RateLimitedWarning limiter(std::chrono::steady_clock::duration::zero());
    const TimePoint t0 = TimePoint{} + 1s;
    std::uint64_t suppressed = 5;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(limiter.allow(t0, suppressed));
        CHECK(suppressed == 0);
    }
}

TEST_CASE("parse_log_level and to_string(LogLevel)", "[base][log]") {
    struct Row {
        const char* text;
        LogLevel level;
    };
    const Row rows[] = {{"debug", LogLevel::debug}, {"info", LogLevel::info}, {"warn", LogLevel::warn},
                        {"error", LogLevel::error}};
    for (const auto& row : rows) {
        INFO(row.text);
        const auto level = parse_log_level(row.text);
        REQUIRE(level.has_value());
        CHECK(*level == row.level);
        CHECK(to_string(row.level) == row.text);
    }
    for (const char* bad : {"", "Debug", "INFO", "warning", "err", " info", "info ", "trace"}) {
        INFO("'" << bad << "'");
        CHECK_FALSE(parse_log_level(bad).has_value());
    }
    // Levels are ordered so `level < log_level()` filters.
    CHECK(LogLevel::debug < LogLevel::info);
    CHECK(LogLevel::info < LogLevel::warn);
    CHECK(LogLevel::warn < LogLevel::error);
}

TEST_CASE("set_log_level / log_level", "[base][log]") {
    const LogLevel saved = log_level();
    for (LogLevel level : {LogLevel::debug, LogLevel::error, LogLevel::warn, LogLevel::info}) {
        set_log_level(level);
        CHECK(log_level() == level);
    }
    set_log_level(saved);
}
