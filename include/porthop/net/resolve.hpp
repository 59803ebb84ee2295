// Host-name resolution that needs nothing from the C library's name service switch: a numeric
// address is parsed, a name is looked up in the hosts file, then in DNS through c-ares with the
// servers of resolv.conf. The static router builds run where glibc's NSS (which getaddrinfo
// loads at run time) does not exist, so every build uses this one code path.
//
// Blocking, and safe to call from any thread at the same time (each call has its own c-ares
// channel and touches no event loop): start-up calls it, and so may a reload on its own thread.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace porthop::net {

struct ResolverConfig {
    std::string hosts_path = "/etc/hosts";
    std::string resolv_conf_path = "/etc/resolv.conf";
    std::chrono::milliseconds timeout{2000};  // per DNS try
    int tries = 2;                            // per server
    // The DNS servers' port; 53 except in tests, which run a fake server on an ephemeral port
    // (resolv.conf has no syntax for a port).
    std::uint16_t dns_port = 53;
};

struct Resolved {
    std::vector<boost::asio::ip::address> addresses;  // IPv4 first, then IPv6; never empty on success
    std::string error;                                // why not, when addresses is empty
    bool ok() const noexcept { return !addresses.empty(); }
};

// IPv4 addresses come first: a router often has no IPv6 route, and a backend named in a
// compose file is reached over IPv4. A name that has no address is an error, not an empty
// success; the error says where it looked ("no address for 'x' in /etc/hosts or DNS
// (/etc/resolv.conf: 192.0.2.53)", "DNS: timeout ...").
Resolved resolve_host(const std::string& name, const ResolverConfig& config = {});

}  // namespace porthop::net
