// hosts_lookup: /etc/hosts lines as glibc and musl read them.
#include <catch2/catch.hpp>

#include "porthop/net/hosts_file.hpp"

using porthop::net::hosts_lookup;
using boost::asio::ip::make_address;

namespace {

constexpr const char* kHosts =
    "# The following lines are desirable for IPv4 capable hosts\n"
    "127.0.0.1\tlocalhost\n"
    "::1     localhost ip6-localhost ip6-loopback\n"
    "\n"
    "192.0.2.10   vpn.example.net vpn   # the relay\n"
    "  2001:db8::10 vpn.example.net\r\n"
    "192.0.2.10 vpn.example.net\n"
    "not-an-address backend\n"
    "192.0.2.20 Backend.Example.NET\n"
    "#192.0.2.99 commented.example.net\n"
    "192.0.2.30 last.example.net";  // no final newline

}  // namespace

TEST_CASE("hosts file: every address of a name, in file order, without duplicates", "[net][hosts_file]") {
    const auto found = hosts_lookup(kHosts, "vpn.example.net");
    REQUIRE(found.size() == 2);
    CHECK(found[0] == make_address("192.0.2.10"));
    CHECK(found[1] == make_address("2001:db8::10"));  // the \r of a CRLF line is whitespace
}

TEST_CASE("hosts file: aliases, case and a trailing dot", "[net][hosts_file]") {
    CHECK(hosts_lookup(kHosts, "vpn") == std::vector{make_address("192.0.2.10")});
    CHECK(hosts_lookup(kHosts, "backend.example.net") == std::vector{make_address("192.0.2.20")});
    CHECK(hosts_lookup(kHosts, "vpn.example.net.").size() == 2);
    const auto localhost = hosts_lookup(kHosts, "localhost");
    REQUIRE(localhost.size() == 2);
    CHECK(localhost[0] == make_address("127.0.0.1"));
    CHECK(localhost[1] == make_address("::1"));
}

TEST_CASE("hosts file: the last line needs no newline", "[net][hosts_file]") {
    CHECK(hosts_lookup(kHosts, "last.example.net") == std::vector{make_address("192.0.2.30")});
}

TEST_CASE("hosts file: names it does not have", "[net][hosts_file]") {
    CHECK(hosts_lookup(kHosts, "commented.example.net").empty());  // only in a comment
    CHECK(hosts_lookup(kHosts, "backend").empty());                // its line has no valid address
    CHECK(hosts_lookup(kHosts, "example.net").empty());            // no suffix or prefix matches
    CHECK(hosts_lookup(kHosts, "vpn.example").empty());
    CHECK(hosts_lookup(kHosts, "").empty());
    CHECK(hosts_lookup(kHosts, ".").empty());
    CHECK(hosts_lookup("", "localhost").empty());
    CHECK(hosts_lookup("# only a comment\n\n   \n", "localhost").empty());
}
