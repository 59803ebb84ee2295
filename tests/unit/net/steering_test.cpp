// The reuseport steering program's arithmetic. That the kernel runs it as steering_worker
// says is checked with real sockets in tests/integration/workers_test.cpp.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "porthop/net/steering.hpp"

#include "../../support/endpoints.hpp"

using namespace porthop::net;
using porthop::test::endpoint;

TEST_CASE("steering: one worker per address, whatever the port", "[net][steering]") {
    for (std::uint32_t workers : {1u, 2u, 3u, 8u}) {
        CHECK(steering_worker(endpoint("203.0.113.9", 1), workers) == steering_worker(endpoint("203.0.113.9", 65000), workers));
        CHECK(steering_worker(endpoint("2001:db8:1:2::1", 1), workers) ==
              steering_worker(endpoint("2001:db8:1:2:ffff::9", 7), workers));  // same /64
        CHECK(steering_worker(endpoint("203.0.113.9", 1), workers) < workers);
    }
    CHECK(steering_worker(endpoint("203.0.113.9", 1), 1) == 0);
}

TEST_CASE("steering: addresses spread over the workers", "[net][steering]") {
    std::map<std::uint32_t, int> seen;
    for (int host = 0; host < 256; ++host)
        ++seen[steering_worker(endpoint(("192.168.7." + std::to_string(host)).c_str(), 1), 4)];
    REQUIRE(seen.size() == 4);
    for (const auto& [worker, n] : seen) CHECK(n > 40);
    // IPv6 /64s differing in one bit of the prefix land apart, too.
    std::map<std::uint32_t, int> v6;
    for (int net = 0; net < 64; ++net) {
        char text[64];
        std::snprintf(text, sizeof text, "2001:db8:0:%x::1", net);
        ++v6[steering_worker(endpoint(text, 1), 2)];
    }
    REQUIRE(v6.size() == 2);
}

TEST_CASE("steering: the program ends in a return and loads the source address", "[net][steering]") {
    const auto v4 = steering_program(false, 3);
    REQUIRE(v4.length == 5);
    CHECK(v4.code[0].k == static_cast<std::uint32_t>(SKF_NET_OFF) + 12);
    CHECK(v4.code[3].k == 3);  // modulo the worker count
    CHECK(v4.code[v4.length - 1].code == (BPF_RET | BPF_A));
    const auto v6 = steering_program(true, 2);
    REQUIRE(v6.length == 8);
    CHECK(v6.code[0].k == static_cast<std::uint32_t>(SKF_NET_OFF) + 8);
    CHECK(v6.code[2].k == static_cast<std::uint32_t>(SKF_NET_OFF) + 12);
    CHECK(v6.code[v6.length - 1].code == (BPF_RET | BPF_A));
}

TEST_CASE("steering: attaching needs a reuseport socket", "[net][steering]") {
    CHECK(attach_steering(-1, false, 2) != 0);  // EBADF, reported
}

TEST_CASE("steering: the probe agrees with attaching to a bound reuseport group", "[net][steering]") {
    // 0 on Linux 4.5 and later; ENOPROTOOPT under qemu-user (the cross tests) or an old kernel.
    // Either way the probe must predict what the relay's worker 0 will get.
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const int one = 1;
    REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
    const auto sa = porthop::test::sockaddr_v4("127.0.0.1", 0);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    const int attached = attach_steering(fd, false, 2);
    ::close(fd);
    CHECK(porthop::net::steering_available() == attached);
}
