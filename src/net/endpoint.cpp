#include "porthop/net/endpoint.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <random>

namespace porthop::net {

Endpoint::Endpoint() noexcept {
    std::memset(&storage_, 0, sizeof storage_);
    storage_.any.sa_family = AF_UNSPEC;
}

Endpoint Endpoint::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
    Endpoint e;
    if (sa == nullptr) return e;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        // Copy only what identifies the peer so equal peers compare equal byte for byte.
        e.storage_.v4.sin_family = AF_INET;
        e.storage_.v4.sin_port = in->sin_port;
        e.storage_.v4.sin_addr = in->sin_addr;
    } else if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        e.storage_.v6.sin6_family = AF_INET6;
        e.storage_.v6.sin6_port = in6->sin6_port;
        e.storage_.v6.sin6_addr = in6->sin6_addr;
        e.storage_.v6.sin6_scope_id = in6->sin6_scope_id;
    }
    return e;
}

Endpoint Endpoint::from_asio(const boost::asio::ip::udp::endpoint& ep) noexcept {
    return from_sockaddr(ep.data(), static_cast<socklen_t>(ep.size()));
}

Endpoint Endpoint::from_asio(const boost::asio::ip::tcp::endpoint& ep) noexcept {
    return from_sockaddr(ep.data(), static_cast<socklen_t>(ep.size()));
}

boost::asio::ip::udp::endpoint Endpoint::to_udp() const {
    boost::asio::ip::udp::endpoint ep;
    std::memcpy(ep.data(), &storage_, sockaddr_len());
    return ep;
}

std::uint16_t Endpoint::port() const noexcept {
    if (storage_.any.sa_family == AF_INET) return ntohs(storage_.v4.sin_port);
    if (storage_.any.sa_family == AF_INET6) return ntohs(storage_.v6.sin6_port);
    return 0;
}

socklen_t Endpoint::sockaddr_len() const noexcept {
    if (storage_.any.sa_family == AF_INET) return sizeof(sockaddr_in);
    if (storage_.any.sa_family == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

std::string Endpoint::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (storage_.any.sa_family == AF_INET) {
        inet_ntop(AF_INET, &storage_.v4.sin_addr, text, sizeof text);
        return std::string(text) + ":" + std::to_string(port());
    }
    if (storage_.any.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &storage_.v6.sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(port());
    }
    return "(none)";
}

std::size_t Endpoint::hash() const noexcept {
    // FNV-1a over the identifying bytes (endpoints are copied field by field, so padding is 0),
    // started from a per-process random seed: clients choose their addresses and ports, and
    // must not be able to aim them all at one hash bucket of the session table.
    static const std::uint64_t seed = [] {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd();
    }();
    std::uint64_t h = 1469598103934665603ull ^ seed;
    const auto* p = reinterpret_cast<const unsigned char*>(&storage_);
    for (socklen_t i = 0; i < sockaddr_len(); ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return static_cast<std::size_t>(h);
}

bool operator==(const Endpoint& a, const Endpoint& b) noexcept {
    return a.storage_.any.sa_family == b.storage_.any.sa_family &&
           std::memcmp(&a.storage_, &b.storage_, a.sockaddr_len()) == 0;
}

}  // namespace porthop::net
