// parse_duration / format_duration: durations as written in the configuration.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "porthop/app/duration.hpp"

using porthop::app::format_duration;
using porthop::app::parse_duration;
using std::chrono::milliseconds;

namespace {
// ~10 years, the largest duration parse_duration accepts.
constexpr std::int64_t kMaxMs = std::int64_t{10} * 365 * 24 * 3600 * 1000;
}

TEST_CASE("parse_duration: accepted forms", "[app][duration]") {
    struct Row {
        const char* text;
        std::int64_t ms;
    };
    const Row rows[] = {
        {"0s", 0},
        {"0ms", 0},
        {"250ms", 250},
        {"90s", 90'000},
        {"3m", 180'000},
        {"1h", 3'600'000},
        {"1h30m", 5'400'000},
        {"1m30s500ms", 90'500},
        {"30s1m", 90'000},        // any order
        {"1m1m", 120'000},        // repeated units add up
        {"007s", 7'000},
        {"315360000000ms", kMaxMs},  // exactly the cap
        {"87600h", kMaxMs},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        std::string why = "untouched";
        const auto d = parse_duration(row.text, why);
        REQUIRE(d.has_value());
        CHECK(d->count() == row.ms);
        CHECK(why == "untouched");
    }
}

TEST_CASE("parse_duration: rejected forms say why", "[app][duration]") {
    struct Row {
        const char* text;
        const char* reason;
    };
    const Row rows[] = {
        {"", "(empty;"},
        {"5", "(missing unit h, m, s or ms;"},
        {"s", "(expected a number;"},
        {"ms", "(expected a number;"},
        {"-5s", "(expected a number;"},
        {"+5s", "(expected a number;"},
        {"5 s", "(missing unit h, m, s or ms;"},
        {" 5s", "(expected a number;"},
        {"5s ", "(expected a number;"},
        {"5d", "(missing unit h, m, s or ms;"},
        {"5S", "(missing unit h, m, s or ms;"},
        {"1.5s", "(missing unit h, m, s or ms;"},
        {"5mss", "(expected a number;"},
        {"1m30", "(missing unit h, m, s or ms;"},
        {"99999999999999999999s", "(too long;"},   // the digits alone pass the cap
        {"315360000000001ms", "(too long;"},       // far above the cap
        {"315360000001ms", "(too long;"},          // one above the cap
        {"87601h", "(too long;"},                  // number fits, number * unit does not
        {"87600h1ms", "(too long;"},               // the sum passes the cap
    };
    for (const auto& row : rows) {
        INFO("'" << row.text << "'");
        std::string why;
        CHECK_FALSE(parse_duration(row.text, why).has_value());
        CHECK(why.rfind("'" + std::string(row.text) + "' is not a duration ", 0) == 0);
        CHECK_THAT(why, Catch::Contains(row.reason));
    }
}

TEST_CASE("format_duration: shortest exact form", "[app][duration]") {
    struct Row {
        std::int64_t ms;
        const char* text;
    };
    const Row rows[] = {
        {0, "0s"},         {1, "1ms"},          {999, "999ms"},       {1000, "1s"},
        {1500, "1s500ms"}, {60'000, "1m"},      {90'000, "1m30s"},    {180'000, "3m"},
        {3'600'000, "1h"}, {3'600'001, "1h1ms"}, {5'400'000, "1h30m"}, {86'400'000, "24h"},
        {90'061'001, "25h1m1s1ms"},
    };
    for (const auto& row : rows) {
        INFO(row.ms);
        CHECK(format_duration(milliseconds{row.ms}) == row.text);
    }
}

TEST_CASE("format_duration output parses back to the same value", "[app][duration]") {
    for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{250}, std::int64_t{25'000},
                            std::int64_t{90'500}, std::int64_t{5'400'000}, std::int64_t{86'399'999}, kMaxMs}) {
        INFO(ms);
        std::string why;
        const auto back = parse_duration(format_duration(milliseconds{ms}), why);
        REQUIRE(back.has_value());
        CHECK(back->count() == ms);
    }
    // And text -> value -> text normalises.
    std::string why;
    CHECK(format_duration(*parse_duration("90s", why)) == "1m30s");
    CHECK(format_duration(*parse_duration("1m30s500ms", why)) == "1m30s500ms");
    CHECK(format_duration(*parse_duration("60m", why)) == "1h");
}
