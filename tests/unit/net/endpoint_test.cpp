// Endpoint: sockaddr in, equality and hash, text out.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <unordered_set>

#include "porthop/net/endpoint.hpp"

using porthop::net::Endpoint;

namespace {

sockaddr_in v4(const char* address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    REQUIRE(inet_pton(AF_INET, address, &sa.sin_addr) == 1);
    return sa;
}

sockaddr_in6 v6(const char* address, std::uint16_t port, std::uint32_t scope = 0, std::uint32_t flowinfo = 0) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_scope_id = scope;
    sa.sin6_flowinfo = flowinfo;
    REQUIRE(inet_pton(AF_INET6, address, &sa.sin6_addr) == 1);
    return sa;
}

template <typename T>
Endpoint from(const T& sa) {
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

}  // namespace

TEST_CASE("Endpoint: default is invalid", "[net][endpoint]") {
    const Endpoint e;
    CHECK_FALSE(e.valid());
    CHECK_FALSE(e.is_v6());
    CHECK(e.port() == 0);
    CHECK(e.sockaddr_len() == 0);
    CHECK(e.to_string() == "(none)");
}

TEST_CASE("Endpoint: from_sockaddr IPv4", "[net][endpoint]") {
    const auto sa = v4("1.2.3.4", 5);
    const auto e = from(sa);
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
    const auto sa = v6("::1", 5);
    const auto e = from(sa);
    REQUIRE(e.valid());
    CHECK(e.is_v6());
    CHECK(e.port() == 5);
    CHECK(e.sockaddr_len() == sizeof(sockaddr_in6));
    CHECK(e.to_string() == "[::1]:5");
    const auto* out = reinterpret_cast<const sockaddr_in6*>(e.sockaddr_ptr());
    CHECK(std::memcmp(&out->sin6_addr, &sa.sin6_addr, sizeof sa.sin6_addr) == 0);
}

TEST_CASE("Endpoint: to_string formats", "[net][endpoint]") {
    CHECK(from(v4("0.0.0.0", 0)).to_string() == "0.0.0.0:0");
    CHECK(from(v4("255.255.255.255", 65535)).to_string() == "255.255.255.255:65535");
    CHECK(from(v6("2001:db8::1", 51820)).to_string() == "[2001:db8::1]:51820");
    CHECK(from(v6("::ffff:1.2.3.4", 443)).to_string() == "[::ffff:1.2.3.4]:443");  // kept as IPv6
    CHECK(from(v6("::", 1)).to_string() == "[::]:1");
}

TEST_CASE("Endpoint: invalid or short sockaddr", "[net][endpoint]") {
    const auto sa4 = v4("1.2.3.4", 5);
    const auto sa6 = v6("::1", 5);
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
        auto a = v4("10.0.0.1", 1000);
        auto b = v4("10.0.0.1", 1000);
        std::memset(b.sin_zero, 0xAB, sizeof b.sin_zero);  // padding a kernel might leave
        CHECK(from(a) == from(b));
        CHECK(from(a).hash() == from(b).hash());

        const auto c = v6("2001:db8::1", 1000, 0, 0);
        const auto d = v6("2001:db8::1", 1000, 0, 0x12345);  // flow label is not identity
        CHECK(from(c) == from(d));
        CHECK(from(c).hash() == from(d).hash());
        CHECK(std::hash<Endpoint>{}(from(c)) == from(d).hash());
    }
    SECTION("any difference makes them different") {
        const Endpoint base = from(v4("10.0.0.1", 1000));
        const Endpoint others[] = {
            from(v4("10.0.0.1", 1001)),      // port
            from(v4("10.0.0.2", 1000)),      // address
            from(v6("::ffff:10.0.0.1", 1000)),  // the same IPv4 address written as IPv6
            Endpoint{},
        };
        for (const auto& other : others) {
            INFO(other.to_string());
            CHECK_FALSE(base == other);
        }
        const Endpoint base6 = from(v6("fe80::1", 7, 2));
        CHECK_FALSE(base6 == from(v6("fe80::1", 7, 3)));  // scope id
        CHECK_FALSE(base6 == from(v6("fe80::1", 8, 2)));
        CHECK(base6 == from(v6("fe80::1", 7, 2)));
    }
    SECTION("usable as a hash-set key") {
        std::unordered_set<Endpoint> set;
        for (std::uint16_t port = 1; port <= 100; ++port) {
            set.insert(from(v4("192.0.2.1", port)));
            set.insert(from(v6("2001:db8::1", port)));
        }
        CHECK(set.size() == 200);
        set.insert(from(v4("192.0.2.1", 50)));
        CHECK(set.size() == 200);
        CHECK(set.count(from(v6("2001:db8::1", 100))) == 1);
        CHECK(set.count(from(v6("2001:db8::1", 101))) == 0);
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
