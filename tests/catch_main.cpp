// Test main: the relay's info lines (a session opened, closed) would bury Catch's report, so
// tests log warnings and errors only unless PORTHOP_TEST_LOG=debug|info is set.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

#include "porthop/base/log.hpp"

int main(int argc, char* argv[]) {
    const char* level = std::getenv("PORTHOP_TEST_LOG");
    auto parsed = porthop::base::parse_log_level(level ? level : "warn");
    porthop::base::set_log_level(parsed ? *parsed : porthop::base::LogLevel::warn);
    return Catch::Session().run(argc, argv);
}
