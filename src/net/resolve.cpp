#include "porthop/net/resolve.hpp"

#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "porthop/net/hosts_file.hpp"

namespace porthop::net {

namespace {

namespace ip = boost::asio::ip;

// ares_library_init is the one c-ares call that is not thread-safe; once for the process.
int library_status() {
    static std::once_flag once;
    static int status = ARES_SUCCESS;
    std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
    return status;
}

void ipv4_first(std::vector<ip::address>& addresses) {
    std::stable_partition(addresses.begin(), addresses.end(), [](const ip::address& a) { return a.is_v4(); });
}

struct Query {
    bool done = false;
    int status = ARES_SUCCESS;
    std::vector<ip::address> addresses;
};

void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
    auto& query = *static_cast<Query*>(arg);
    query.done = true;
    query.status = status;
    if (result == nullptr) return;
    for (const auto* node = result->nodes; node != nullptr; node = node->ai_next) {
        ip::address address;
        if (node->ai_family == AF_INET) {
            const auto* sa = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
            ip::address_v4::bytes_type bytes;
            std::memcpy(bytes.data(), &sa->sin_addr, bytes.size());
            address = ip::address_v4(bytes);
        } else if (node->ai_family == AF_INET6) {
            const auto* sa = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
            ip::address_v6::bytes_type bytes;
            std::memcpy(bytes.data(), &sa->sin6_addr, bytes.size());
            address = ip::address_v6(bytes, sa->sin6_scope_id);
        } else {
            continue;
        }
        if (std::find(query.addresses.begin(), query.addresses.end(), address) == query.addresses.end())
            query.addresses.push_back(address);
    }
    ares_freeaddrinfo(result);
}

// "192.0.2.53, [2001:db8::53]:5353": the servers the channel asks, for error messages. A
// server without a port of its own (0) uses the channel's, `default_port`.
std::string servers_of(ares_channel channel, std::uint16_t default_port) {
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(channel, &list) != ARES_SUCCESS) return "?";
    std::string text;
    for (const auto* s = list; s != nullptr; s = s->next) {
        std::array<char, 64> buffer{};
        if (ares_inet_ntop(s->family, &s->addr, buffer.data(), buffer.size()) == nullptr) continue;
        const int port = s->udp_port ? s->udp_port : default_port;
        if (!text.empty()) text += ", ";
        text += s->family == AF_INET6 ? "[" + std::string(buffer.data()) + "]" : std::string(buffer.data());
        if (port != 53) text += ":" + std::to_string(port);
    }
    ares_free_data(list);
    return text.empty() ? "none" : text;
}

// Runs the channel until the query's callback has run: c-ares only asks for readiness and
// timeouts, so a plain poll loop is the whole event loop (no Asio, no other thread).
void wait_for(ares_channel channel, const Query& query) {
    while (!query.done) {
        std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> sockets{};
        const int bits = ares_getsock(channel, sockets.data(), ARES_GETSOCK_MAXNUM);
        std::array<pollfd, ARES_GETSOCK_MAXNUM> fds{};
        nfds_t n = 0;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
            short events = 0;
            if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
            if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
            if (events == 0) continue;
            fds[n++] = pollfd{sockets[i], events, 0};
        }
        timeval tv{};
        ares_timeout(channel, nullptr, &tv);
        const int ms = static_cast<int>(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1;
        const int ready = ::poll(fds.data(), n, ms);
        if (ready <= 0) {
            ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts and retries
            continue;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].revents == 0) continue;
            const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
            const bool writable = (fds[i].revents & POLLOUT) != 0;
            ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD, writable ? fds[i].fd : ARES_SOCKET_BAD);
        }
    }
}

Resolved dns_lookup(const std::string& name, const ResolverConfig& config) {
    Resolved result;
    if (const int status = library_status(); status != ARES_SUCCESS) {
        result.error = std::string("DNS resolver library: ") + ares_strerror(status);
        return result;
    }
    ares_options options{};
    int mask = 0;
    // DNS only: the hosts file was read before (hosts_lookup), with the configured path.
    std::string lookups = "b";
    options.lookups = lookups.data();
    mask |= ARES_OPT_LOOKUPS;
    std::string resolv_conf = config.resolv_conf_path;
    options.resolvconf_path = resolv_conf.data();
    mask |= ARES_OPT_RESOLVCONF;
    options.timeout = static_cast<int>(config.timeout.count());
    mask |= ARES_OPT_TIMEOUTMS;
    options.tries = config.tries;
    mask |= ARES_OPT_TRIES;
    options.udp_port = config.dns_port;
    options.tcp_port = config.dns_port;
    mask |= ARES_OPT_UDP_PORT | ARES_OPT_TCP_PORT;

    ares_channel channel = nullptr;
    if (const int status = ares_init_options(&channel, &options, mask); status != ARES_SUCCESS) {
        result.error = "DNS resolver (" + config.resolv_conf_path + "): " + ares_strerror(status);
        return result;
    }
    Query query;
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    ares_getaddrinfo(channel, name.c_str(), nullptr, &hints, on_addrinfo, &query);
    wait_for(channel, query);
    const auto servers = servers_of(channel, config.dns_port);
    ares_destroy(channel);

    if (query.status == ARES_SUCCESS && !query.addresses.empty()) {
        result.addresses = std::move(query.addresses);
        return result;
    }
    const std::string where = " (" + config.resolv_conf_path + ": " + servers + ")";
    switch (query.status) {
    case ARES_SUCCESS:
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
        result.error = "no address in " + config.hosts_path + " or DNS" + where;
        break;
    case ARES_ETIMEOUT:
        result.error = "no answer from DNS" + where;
        break;
    case ARES_ECONNREFUSED:
        result.error = "DNS server refused the query" + where;
        break;
    default:
        result.error = std::string("DNS: ") + ares_strerror(query.status) + where;
    }
    return result;
}

}  // namespace

Resolved resolve_host(const std::string& name, const ResolverConfig& config) {
    Resolved result;
    if (name.empty()) {
        result.error = "empty name";
        return result;
    }
    boost::system::error_code ec;
    if (const auto address = ip::make_address(name, ec); !ec) {  // numeric: no lookup at all
        result.addresses.push_back(address);
        return result;
    }
    // A missing or unreadable hosts file is not an error: DNS is asked next.
    if (std::ifstream hosts(config.hosts_path); hosts) {
        std::ostringstream text;
        text << hosts.rdbuf();
        result.addresses = hosts_lookup(text.str(), name);
        if (!result.addresses.empty()) {
            ipv4_first(result.addresses);
            return result;
        }
    }
    result = dns_lookup(name, config);
    ipv4_first(result.addresses);
    return result;
}

}  // namespace porthop::net
