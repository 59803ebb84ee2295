#include "porthop/net/listen.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/v6_only.hpp>
#include <cerrno>

#include "porthop/net/steering.hpp"
#include "porthop/net/udp_batch.hpp"

namespace porthop::net {

namespace {

boost::system::error_code errno_code(int err) {
    return err ? boost::system::error_code(err, boost::system::system_category()) : boost::system::error_code{};
}

// Worker 0 of a group checks the port before the group forms (probe_port_free says why).
template <typename Endpoint>
boost::system::error_code probe(const Endpoint& at, ReuseportGroup group, bool tcp) {
    if (group.worker != 0 || group.workers < 2) return {};
    return errno_code(probe_port_free(at.data(), static_cast<socklen_t>(at.size()), tcp));
}

}  // namespace

int join_reuseport_group(int fd, bool v6, std::uint32_t worker, std::uint32_t workers, bool before_bind) noexcept {
    if (workers < 2) return 0;
    if (before_bind) {
        const int one = 1;
        return ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0 ? 0 : errno;
    }
    if (worker != 0) return 0;
    return attach_steering(fd, v6, workers);
}

int probe_port_free(const sockaddr* address, socklen_t length, bool tcp) noexcept {
    const bool v6 = address->sa_family == AF_INET6;
    const auto port = v6 ? reinterpret_cast<const sockaddr_in6*>(address)->sin6_port
                         : reinterpret_cast<const sockaddr_in*>(address)->sin_port;
    if (port == 0) return 0;  // ephemeral: whatever the kernel picks is free
    const int fd = ::socket(address->sa_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    const int one = 1;
    if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (tcp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const int err = ::bind(fd, address, length) == 0 ? 0 : errno;
    ::close(fd);
    return err;
}

boost::system::error_code open_udp_listener(boost::asio::ip::udp::socket& socket,
                                            const boost::asio::ip::udp::endpoint& at, ReuseportGroup group) {
    namespace ip = boost::asio::ip;
    const bool v6 = at.address().is_v6();
    auto ec = probe(at, group, false);
    if (!ec) socket.open(v6 ? ip::udp::v6() : ip::udp::v4(), ec);
    if (!ec && v6) socket.set_option(ip::v6_only(true), ec);
    if (!ec) ec = errno_code(join_reuseport_group(socket.native_handle(), v6, group.worker, group.workers, true));
    if (!ec) socket.bind(at, ec);
    if (!ec) ec = errno_code(join_reuseport_group(socket.native_handle(), v6, group.worker, group.workers, false));
    if (!ec) socket.non_blocking(true, ec);
    if (!ec && at.address().is_unspecified()) ec = errno_code(enable_pktinfo(socket.native_handle(), v6));
    return ec;
}

boost::system::error_code open_tcp_listener(boost::asio::ip::tcp::acceptor& acceptor,
                                            const boost::asio::ip::tcp::endpoint& at, ReuseportGroup group,
                                            int backlog) {
    namespace ip = boost::asio::ip;
    const bool v6 = at.address().is_v6();
    auto ec = probe(at, group, true);
    if (!ec) acceptor.open(v6 ? ip::tcp::v6() : ip::tcp::v4(), ec);
    if (!ec && v6) acceptor.set_option(ip::v6_only(true), ec);
    if (!ec) acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
    if (!ec) ec = errno_code(join_reuseport_group(acceptor.native_handle(), v6, group.worker, group.workers, true));
    if (!ec) acceptor.bind(at, ec);
    if (!ec) acceptor.listen(backlog, ec);
    if (!ec) ec = errno_code(join_reuseport_group(acceptor.native_handle(), v6, group.worker, group.workers, false));
    return ec;
}

}  // namespace porthop::net
