#include "porthop/app/client_setup.hpp"

#include <boost/asio/ip/udp.hpp>

#include "porthop/crypto/tls_credentials.hpp"
#include "porthop/net/resolve.hpp"
#include "porthop/net/tls_context.hpp"

namespace porthop::app {

namespace asio = boost::asio;

std::optional<relay::AgentOptions> make_agent_options(const ClientConfig& config, std::string& error) {
    if (config.server.empty() || !config.key) {
        error =
            "the client needs [client] server and key (porthop genkey makes a key; the server needs the "
            "same)";
        return std::nullopt;
    }
    relay::AgentOptions options;
    boost::system::error_code ec;
    const auto local = asio::ip::make_address(config.listen.host, ec);
    if (ec) {
        error = "client.listen: '" + config.listen.host + "' is not an IP address";
        return std::nullopt;
    }
    options.listen = net::Endpoint::from_asio(asio::ip::udp::endpoint(local, config.listen.port));
    const auto resolved = net::resolve_host(config.server);
    if (!resolved.ok()) {
        error = "cannot resolve server '" + config.server + "': " + resolved.error;
        return std::nullopt;
    }
    options.server = resolved.addresses.front();
    options.udp_ports = expand_ports(config.udp);
    const auto tcp = expand_ports(config.tcp);
    if (options.udp_ports.empty() || tcp.empty()) {
        error = "the client needs at least one UDP and one TCP port";
        return std::nullopt;
    }
    options.tcp_port = tcp.front();
    options.key = *config.key;
    options.hop_interval = config.hop_interval;
    options.max_datagram = config.max_datagram;
    options.rotation.budget_bytes = config.tcp_rotate_bytes;
    if (config.tls) {
        net::TlsClientParams params;
        for (const auto& text : config.tls_pin) {
            std::string why;
            if (const auto pin = crypto::parse_pin(text, why)) params.pins.push_back(*pin);
        }
        params.ca_file = config.tls_ca;
        auto context = net::make_client_context(params);
        if (!context.ok()) {
            error = "client TLS: " + context.error;
            return std::nullopt;
        }
        options.tls = std::move(context.context);
        // SNI: the configured name, else the server's when it is a name (an address is sent
        // as none, and checked against the certificate's IP addresses).
        options.tls_name = config.sni.empty() ? config.server : config.sni;
    }
    return options;
}

}  // namespace porthop::app
