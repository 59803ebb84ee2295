// A socket address (IPv4 or IPv6 with port) small enough to key hash maps with, and cheap to
// copy out of a recvmmsg header. IPv4-mapped IPv6 addresses are kept as IPv6: the relay never
// changes how a client addressed it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace porthop::net {

class Endpoint {
public:
    Endpoint() noexcept;
    static Endpoint from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;
    static Endpoint from_asio(const boost::asio::ip::udp::endpoint& ep) noexcept;
    static Endpoint from_asio(const boost::asio::ip::tcp::endpoint& ep) noexcept;
    boost::asio::ip::udp::endpoint to_udp() const;

    bool valid() const noexcept { return storage_.any.sa_family != AF_UNSPEC; }
    bool is_v6() const noexcept { return storage_.any.sa_family == AF_INET6; }
    std::uint16_t port() const noexcept;
    const sockaddr* sockaddr_ptr() const noexcept { return &storage_.any; }
    sockaddr* sockaddr_ptr() noexcept { return &storage_.any; }
    socklen_t sockaddr_len() const noexcept;
    static constexpr socklen_t capacity() noexcept { return sizeof(Storage); }

    std::string to_string() const;  // "1.2.3.4:5" or "[::1]:5"
    std::size_t hash() const noexcept;
    friend bool operator==(const Endpoint& a, const Endpoint& b) noexcept;

private:
    union Storage {
        sockaddr any;
        sockaddr_in v4;
        sockaddr_in6 v6;
    } storage_;
};

}  // namespace porthop::net

template <>
struct std::hash<porthop::net::Endpoint> {
    std::size_t operator()(const porthop::net::Endpoint& e) const noexcept { return e.hash(); }
};
