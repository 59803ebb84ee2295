#include "porthop/app/server_setup.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <boost/asio/ip/udp.hpp>
#include <thread>

#include "porthop/base/log.hpp"
#include "porthop/net/resolve.hpp"
#include "porthop/net/steering.hpp"

namespace porthop::app {

namespace asio = boost::asio;

relay::ServerOptions server_options(const ServerConfig& config) {
    relay::ServerOptions options;
    for (const auto& text : config.listen) options.listen.push_back(asio::ip::make_address(text));
    options.udp_ports = expand_ports(config.udp);
    options.tcp_ports = expand_ports(config.tcp);
    options.idle_timeout = config.idle_timeout;
    options.max_sessions = config.max_sessions;
    options.max_tcp_connections = config.max_tcp_connections;
    options.workers = config.workers ? config.workers : std::max(1u, std::thread::hardware_concurrency());
    if (options.workers > 1) {
        // Several workers share each port through the kernel's steering program; a kernel
        // without it (before 4.5, old router firmware, qemu-user) would make every listener
        // fail to bind. One worker relays correctly everywhere.
        if (const int err = net::steering_available(); err != 0) {
            base::log_warn("this kernel cannot steer clients between workers (SO_ATTACH_REUSEPORT_CBPF: " +
                     std::string(std::strerror(err)) + "): running 1 worker instead of " +
                     std::to_string(options.workers));
            options.workers = 1;
        }
    }
    options.max_datagram = config.max_datagram;
    if (config.key) options.hop_keys = crypto::derive_hop_keys(*config.key);
    options.hop_interval = config.hop_interval;
    options.moving_target = config.moving_target;
    options.mask = config.mask;
    options.protocol = config.protocol;
    options.wg_public_key = config.wireguard_public_key;
    options.source_limits.handshakes_per_second = config.handshake_rate;
    options.source_limits.burst = config.handshake_burst;
    options.source_limits.sessions_per_source = config.sessions_per_source;
    options.tcp_per_source = config.tcp_connections_per_source;
    options.tcp_rotate_bytes = config.tcp_rotate_bytes;
    return options;
}

bool backend_needs_lookup(const HostPort& backend) {
    boost::system::error_code ec;
    asio::ip::make_address(backend.host, ec);
    return static_cast<bool>(ec);
}

std::optional<net::Endpoint> resolve_backend(const HostPort& backend, std::string& error) {
    // A name (e.g. a compose service) is resolved once, at start-up or on reload; the relay
    // never forwards anywhere else, whatever a packet says. net::resolve_host, not
    // getaddrinfo: the static router builds have no NSS to load.
    const auto resolved = net::resolve_host(backend.host);
    if (!resolved.ok()) {
        error = "cannot resolve backend '" + backend.host + "': " + resolved.error;
        return std::nullopt;
    }
    return net::Endpoint::from_asio(asio::ip::udp::endpoint(resolved.addresses.front(), backend.port));
}

std::optional<relay::ServerOptions> make_server_options(const ServerConfig& config, std::string& error) {
    auto options = server_options(config);
    auto backend = resolve_backend(config.backend, error);
    if (!backend) return std::nullopt;
    options.backend = *backend;
    return options;
}

std::string ensure_file_limit(const relay::ServerOptions& options) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    // Each listener is one descriptor per worker; each session one upstream socket; each TCP
    // session one more for the connection; plus a few for the process itself.
    const std::uint64_t listeners = std::uint64_t{options.workers} * options.listen.size() *
                                    (options.udp_ports.size() + options.tcp_ports.size());
    const std::uint64_t need = listeners + options.max_sessions + options.max_tcp_connections + 32;
    if (limit.rlim_cur == RLIM_INFINITY || need <= limit.rlim_cur) return {};
    return "open-file limit is " + std::to_string(limit.rlim_cur) + " but " + std::to_string(listeners) +
           " listeners, max_sessions = " + std::to_string(options.max_sessions) +
           " and max_tcp_connections = " + std::to_string(options.max_tcp_connections) + " may need " +
           std::to_string(need) +
           ": new sessions will be refused once it is reached (raise `ulimit -n` or lower the limits)";
}

}  // namespace porthop::app
