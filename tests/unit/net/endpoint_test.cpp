// Endpoint: sockaddr in, equality and hash, text out.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <unordered_set>

#include "../../support/endpoints.hpp"
#include "porthop/net/endpoint.hpp"

using porthop::net::Endpoint;
using porthop::test::endpoint_of;
using porthop::test::sockaddr_v4;
using porthop::test::sockaddr_v6;

TEST_CASE("Endpoint: default is invalid", "[net][endpoint]") {
    const Endpoint e;
    CHECK_FALSE(e.valid());
    CHECK_FALSE(e.is_v6());
    CHECK(e.port() == 0);
    CHECK(e.sockaddr_len() == 0);
    CHECK(e.to_string() == "(none)");
}

TEST_CASE("Endpoint: from_sockaddr IPv4", "[net][endpoint]") {
    const auto sa = sockaddr_v4("1.2.3.4", 5);
    const auto e = endpoint_of(sa);
    REQUIRE(e.valid());
    CHECK_FALSE(e.is_v6());
    CHECK(e.port() == 5);
    CHECK(e.sockaddr_len() == sizeof(sockaddr_in));
    CHECK(e.to_string() == "1.2.3.4:5");
    const auto* out = reinterpret_cast<const sockaddr_in*>(e.sockaddr_ptr());
    CHECK(out->sin_family == AF_INET);
    CHECK(out->sin_addr.s_addr == sa.sin_addr.s_addr);
    CHECK(out->sin_port == sa.sin_port);
}

TEST_CASE("Endpoint: from_sockaddr IPv6", "[net][endpoint]") {
    const auto sa = sockaddr_v6("::1", 5);
    const auto e = endpoint_of(sa);
    REQUIRE(e.valid());
    CHECK(e.is_v6());
    CHECK(e.port() == 5);
    CHECK(e.sockaddr_len() == sizeof(sockaddr_in6));
    CHECK(e.to_string() == "[::1]:5");
    const auto* out = reinterpret_cast<const sockaddr_in6*>(e.sockaddr_ptr());
    CHECK(std::memcmp(&out->sin6_addr, &sa.sin6_addr, sizeof sa.sin6_addr) == 0);
}

TEST_CASE("Endpoint: to_string formats", "[net][endpoint]") {
    CHECK(endpoint_of(sockaddr_v4("0.0.0.0", 0)).to_string() == "0.0.0.0:0");
    CHECK(endpoint_of(sockaddr_v4("255.255.255.255", 65535)).to_string() == "255.255.255.255:65535");
    CHECK(endpoint_of(sockaddr_v6("2001:db8::1", 51820)).to_string() == "[2001:db8::1]:51820");
    CHECK(endpoint_of(sockaddr_v6("::ffff:1.2.3.4", 443)).to_string() == "[::ffff:1.2.3.4]:443");  // kept as IPv6
    CHECK(endpoint_of(sockaddr_v6("::", 1)).to_string() == "[::]:1");
}

TEST_CASE("Endpoint: invalid or short sockaddr", "[net][endpoint]") {
    const auto sa4 = sockaddr_v4("1.2.3.4", 5);
    const auto sa6 = sockaddr_v6("::1", 5);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    sockaddr_storage unspec{};
    unspec.ss_family = AF_UNSPEC;

    struct Row {
        const char* what;
        const sockaddr* sa;
        socklen_t len;
    };
    const Row rows[] = {
        {"null", nullptr, sizeof sa4},
        {"v4 one byte short", reinterpret_cast<const sockaddr*>(&sa4), sizeof sa4 - 1},
        {"v4 zero length", reinterpret_cast<const sockaddr*>(&sa4), 0},
        {"v6 one byte short", reinterpret_cast<const sockaddr*>(&sa6), sizeof sa6 - 1},
        {"v6 with a v4 length", reinterpret_cast<const sockaddr*>(&sa6), sizeof sa4},
        {"AF_UNIX", reinterpret_cast<const sockaddr*>(&un), sizeof un},
        {"AF_UNSPEC", reinterpret_cast<const sockaddr*>(&unspec), sizeof unspec},
    };
    for (const auto& row : rows) {
        INFO(row.what);
        const auto e = Endpoint::from_sockaddr(row.sa, row.len);
        CHECK_FALSE(e.valid());
        CHECK(e.port() == 0);
        CHECK(e == Endpoint{});
    }
}

TEST_CASE("Endpoint: equality and hash agree", "[net][endpoint]") {
    SECTION("same address and port, different non-identifying bytes") {
        auto a = sockaddr_v4("10.0.0.1", 1000);
        auto b = sockaddr_v4("10.0.0.1", 1000);
        std::memset(b.sin_zero, 0xAB, sizeof b.sin_zero);  // padding a kernel might leave
        CHECK(endpoint_of(a) == endpoint_of(b));
        CHECK(endpoint_of(a).hash() == endpoint_of(b).hash());

        const auto c = sockaddr_v6("2001:db8::1", 1000, 0, 0);
        const auto d = sockaddr_v6("2001:db8::1", 1000, 0, 0x12345);  // flow label is not identity
        CHECK(endpoint_of(c) == endpoint_of(d));
        CHECK(endpoint_of(c).hash() == endpoint_of(d).hash());
        CHECK(std::hash<Endpoint>{}(endpoint_of(c)) == endpoint_of(d).hash());
    }
    SECTION("any difference makes them different") {
        const Endpoint base = endpoint_of(sockaddr_v4("10.0.0.1", 1000));
        const Endpoint others[] = {
            endpoint_of(sockaddr_v4("10.0.0.1", 1001)),      // port
            endpoint_of(sockaddr_v4("10.0.0.2", 1000)),      // address
            endpoint_of(sockaddr_v6("::ffff:10.0.0.1", 1000)),  // the same IPv4 address written as IPv6
            Endpoint{},
        };
        for (const auto& other : others) {
            INFO(other.to_string());
            CHECK_FALSE(base == other);
        }
        const Endpoint base6 = endpoint_of(sockaddr_v6("fe80::1", 7, 2));
        CHECK_FALSE(base6 == endpoint_of(sockaddr_v6("fe80::1", 7, 3)));  // scope id
        CHECK_FALSE(base6 == endpoint_of(sockaddr_v6("fe80::1", 8, 2)));
        CHECK(base6 == endpoint_of(sockaddr_v6("fe80::1", 7, 2)));
    }
    SECTION("usable as a hash-set key") {
        std::unordered_set<Endpoint> set;
        for (std::uint16_t port = 1; port <= 100; ++port) {
            set.insert(endpoint_of(sockaddr_v4("192.0.2.1", port)));
            set.insert(endpoint_of(sockaddr_v6("2001:db8::1", port)));
        }
        CHECK(set.size() == 200);
        set.insert(endpoint_of(sockaddr_v4("192.0.2.1", 50)));
        CHECK(set.size() == 200);
        CHECK(set.count(endpoint_of(sockaddr_v6("2001:db8::1", 100))) == 1);
        CHECK(set.count(endpoint_of(sockaddr_v6("2001:db8::1", 101))) == 0);
    }
}

TEST_CASE("Endpoint: asio conversions", "[net][endpoint]") {
    namespace ip = boost::asio::ip;
    const ip::udp::endpoint u4(ip::make_address("192.0.2.7"), 443);
    const auto e4 = Endpoint::from_asio(u4);
    CHECK(e4.to_string() == "192.0.2.7:443");
    CHECK(e4.to_udp() == u4);

    const ip::udp::endpoint u6(ip::make_address("2001:db8::9"), 1194);
    const auto e6 = Endpoint::from_asio(u6);
    CHECK(e6.to_string() == "[2001:db8::9]:1194");
    CHECK(e6.to_udp() == u6);

    const ip::tcp::endpoint t4(ip::make_address("127.0.0.1"), 8443);
    CHECK(Endpoint::from_asio(t4) == Endpoint::from_asio(ip::udp::endpoint(ip::make_address("127.0.0.1"), 8443)));
}
