// Test main: the relay's info lines (a session opened, closed) would bury Catch's report, so
// tests log warnings and errors only unless PORTHOP_TEST_LOG=debug|info is set.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

#include "porthop/app/log.hpp"

int main(int argc, char* argv[]) {
    const char* level = std::getenv("PORTHOP_TEST_LOG");
    auto parsed = porthop::app::parse_log_level(level ? level : "warn");
    porthop::app::set_log_level(parsed ? *parsed : porthop::app::LogLevel::warn);
    return Catch::Session().run(argc, argv);
}
