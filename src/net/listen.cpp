#include "porthop/net/listen.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "porthop/net/steering.hpp"

namespace porthop::net {

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

}  // namespace porthop::net
