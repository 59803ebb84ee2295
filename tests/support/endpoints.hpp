// Socket address builders for tests: the sockaddr a syscall or the kernel would hand over,
// and the net::Endpoint made from it.
//
//   sockaddr_v4("192.0.2.1", 51820)              sockaddr_in
//   sockaddr_v6("2001:db8::1", 51820[, scope, flowinfo])   sockaddr_in6
//   endpoint("192.0.2.1", 51820), endpoint("2001:db8::1")  net::Endpoint, either family
//   endpoint_of(sa)                                          net::Endpoint of a sockaddr_in/_in6
//
// A malformed address throws std::invalid_argument naming it, which fails the test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "porthop/net/endpoint.hpp"

namespace porthop::test {

inline sockaddr_in sockaddr_v4(const std::string& address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
        throw std::invalid_argument("not an IPv4 address: " + address);
    return sa;
}

inline sockaddr_in6 sockaddr_v6(const std::string& address, std::uint16_t port, std::uint32_t scope = 0,
                                std::uint32_t flowinfo = 0) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_scope_id = scope;
    sa.sin6_flowinfo = flowinfo;
    if (inet_pton(AF_INET6, address.c_str(), &sa.sin6_addr) != 1)
        throw std::invalid_argument("not an IPv6 address: " + address);
    return sa;
}

template <typename SockaddrIn>
net::Endpoint endpoint_of(const SockaddrIn& sa) {
    return net::Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

// The family is the address's: "192.0.2.1" is IPv4, "2001:db8::1" IPv6.
inline net::Endpoint endpoint(const std::string& address, std::uint16_t port = 51820) {
    if (address.find(':') == std::string::npos) return endpoint_of(sockaddr_v4(address, port));
    return endpoint_of(sockaddr_v6(address, port));
}

}  // namespace porthop::test
