// BackendLookup: the reload's name resolution on a thread of its own, with its result handed
// back to the loop; an abandoned lookup never reports. "localhost" comes from /etc/hosts, so
// no DNS server is asked (tests/system/reload_dns_test.sh has a slow one, and a failing one).
#include "porthop/app/backend_lookup.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <thread>

using namespace porthop::app;
using namespace std::chrono_literals;

namespace {

// Runs `io` until `done` or 10 s passed.
void run_until(boost::asio::io_context& io, const bool& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(20ms);
    }
}

}  // namespace

TEST_CASE("BackendLookup: the result arrives on the loop thread", "[app][lookup]") {
    boost::asio::io_context io;
    BackendLookup lookup(io);
    CHECK_FALSE(lookup.busy());
    bool done = false;
    std::optional<porthop::net::Endpoint> got;
    std::thread::id ran_on;
    lookup.start({"localhost", 51820}, [&](std::optional<porthop::net::Endpoint> address, const std::string&) {
        got = address;
        ran_on = std::this_thread::get_id();
        done = true;
    });
    CHECK(lookup.busy());
    run_until(io, done);
    REQUIRE(done);
    CHECK(ran_on == std::this_thread::get_id());
    CHECK_FALSE(lookup.busy());
    REQUIRE(got);
    CHECK(got->port() == 51820);
    CHECK(got->to_udp().address().is_loopback());
}

TEST_CASE("BackendLookup: an abandoned lookup never reports", "[app][lookup]") {
    boost::asio::io_context io;
    bool reported = false;
    {
        BackendLookup lookup(io);
        lookup.start({"localhost", 1}, [&](auto, const std::string&) { reported = true; });
        lookup.abandon();
        CHECK_FALSE(lookup.busy());
        // A new lookup after an abandoned one reports only for itself.
        bool second = false;
        lookup.start({"localhost", 2}, [&](std::optional<porthop::net::Endpoint> address, const std::string&) {
            REQUIRE(address);
            CHECK(address->port() == 2);
            second = true;
        });
        run_until(io, second);
        CHECK(second);
        lookup.start({"localhost", 3}, [&](auto, const std::string&) { reported = true; });
    }  // destroyed with a lookup in flight: abandoned, never reports
    boost::asio::steady_timer settle(io, 300ms);
    settle.async_wait([](auto) {});
    io.restart();
    io.run();
    CHECK_FALSE(reported);
}
