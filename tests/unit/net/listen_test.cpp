// net/listen: the free-port probe before a reuseport group forms, on loopback.
#include "porthop/net/listen.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    return sa;
}

// A socket bound to an ephemeral loopback port, closed at the end of the scope.
struct Held {
    int fd;
    std::uint16_t port = 0;
    explicit Held(int type) : fd(::socket(AF_INET, type, 0)) {
        auto sa = loopback(0);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        socklen_t len = sizeof sa;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
        port = ntohs(sa.sin_port);
    }
    ~Held() { ::close(fd); }
};

}  // namespace

TEST_CASE("probe_port_free: a port another socket holds is busy, a free one is not", "[net][listen]") {
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        const bool tcp = type == SOCK_STREAM;
        INFO((tcp ? "tcp" : "udp"));
        std::uint16_t port = 0;
        {
            Held held(type);
            port = held.port;
            const auto sa = loopback(port);
            CHECK(porthop::net::probe_port_free(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, tcp) == EADDRINUSE);
        }
        const auto sa = loopback(port);  // released: free again
        CHECK(porthop::net::probe_port_free(reinterpret_cast<const sockaddr*>(&sa), sizeof sa, tcp) == 0);
    }
    const auto ephemeral = loopback(0);
    CHECK(porthop::net::probe_port_free(reinterpret_cast<const sockaddr*>(&ephemeral), sizeof ephemeral, false) == 0);
}

TEST_CASE("join_reuseport_group: nothing to do for one worker; before bind it sets SO_REUSEPORT",
          "[net][listen]") {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    int value = -1;
    socklen_t len = sizeof value;
    CHECK(porthop::net::join_reuseport_group(fd, false, 0, 1, true) == 0);
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &value, &len) == 0);
    CHECK(value == 0);
    CHECK(porthop::net::join_reuseport_group(fd, false, 1, 2, true) == 0);
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &value, &len) == 0);
    CHECK(value == 1);
    CHECK(porthop::net::join_reuseport_group(fd, false, 1, 2, false) == 0);  // worker 1 after bind: nothing
    CHECK(porthop::net::join_reuseport_group(-1, false, 0, 2, true) == EBADF);  // a refusal is reported
    ::close(fd);
}
