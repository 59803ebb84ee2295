// net/listen: the free-port probe before a reuseport group forms, and the open-and-bind
// sequence of a relay's listening sockets, on loopback.
#include "porthop/net/listen.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
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

namespace {

int int_option(int fd, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
    return value;
}

}  // namespace

TEST_CASE("open_udp_listener: bound, non-blocking, pktinfo on a wildcard; a taken port refused", "[net][listen]") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context io;
    const auto lo = ip::make_address("127.0.0.1");

    ip::udp::socket first(io);
    REQUIRE_FALSE(porthop::net::open_udp_listener(first, ip::udp::endpoint(lo, 0), {}));
    const auto port = first.local_endpoint().port();
    CHECK(port != 0);
    CHECK(first.non_blocking());
    CHECK(int_option(first.native_handle(), SOL_SOCKET, SO_REUSEPORT) == 0);  // one worker: no group
    CHECK(int_option(first.native_handle(), IPPROTO_IP, IP_PKTINFO) == 0);    // a bound address needs none

    ip::udp::socket again(io);
    CHECK(porthop::net::open_udp_listener(again, ip::udp::endpoint(lo, port), {}) ==
          boost::asio::error::address_in_use);
    // Worker 0 of a group probes first: the port is taken by a socket outside the group.
    ip::udp::socket probed(io);
    CHECK(porthop::net::open_udp_listener(probed, ip::udp::endpoint(lo, port), {0, 2}) ==
          boost::asio::error::address_in_use);
    CHECK_FALSE(probed.is_open());  // refused before a socket was made

    ip::udp::socket wildcard(io);
    REQUIRE_FALSE(porthop::net::open_udp_listener(wildcard, ip::udp::endpoint(ip::address_v4::any(), 0), {}));
    CHECK(int_option(wildcard.native_handle(), IPPROTO_IP, IP_PKTINFO) == 1);
}

TEST_CASE("open_udp_listener: the sockets of one group share a port", "[net][listen]") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context io;
    const auto lo = ip::make_address("127.0.0.1");
    // Worker 1 of 2 (worker 0 would also attach the steering program, which needs privileges).
    ip::udp::socket a(io), b(io), outsider(io);
    REQUIRE_FALSE(porthop::net::open_udp_listener(a, ip::udp::endpoint(lo, 0), {1, 2}));
    CHECK(int_option(a.native_handle(), SOL_SOCKET, SO_REUSEPORT) == 1);
    const auto port = a.local_endpoint().port();
    CHECK_FALSE(porthop::net::open_udp_listener(b, ip::udp::endpoint(lo, port), {1, 2}));
    CHECK(porthop::net::open_udp_listener(outsider, ip::udp::endpoint(lo, port), {}) ==
          boost::asio::error::address_in_use);
}

TEST_CASE("open_tcp_listener: listening with SO_REUSEADDR; a taken port refused", "[net][listen]") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context io;
    const auto lo = ip::make_address("127.0.0.1");
    ip::tcp::acceptor first(io);
    REQUIRE_FALSE(porthop::net::open_tcp_listener(first, ip::tcp::endpoint(lo, 0), {}, 16));
    const auto port = first.local_endpoint().port();
    CHECK(int_option(first.native_handle(), SOL_SOCKET, SO_REUSEADDR) == 1);
    CHECK(int_option(first.native_handle(), SOL_SOCKET, SO_ACCEPTCONN) == 1);
    ip::tcp::socket client(io);
    boost::system::error_code ec;
    client.connect(ip::tcp::endpoint(lo, port), ec);
    CHECK_FALSE(ec);

    ip::tcp::acceptor again(io);
    CHECK(porthop::net::open_tcp_listener(again, ip::tcp::endpoint(lo, port), {}, 16) ==
          boost::asio::error::address_in_use);
}
