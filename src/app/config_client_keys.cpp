// [client]: the agent's keys, one row each.
#include "config_keys.hpp"
#include "config_values.hpp"
#include "porthop/app/client_setup.hpp"
#include "porthop/crypto/tls_credentials.hpp"

namespace porthop::app {
namespace {

using ClientRow = KeySpec<ClientConfig, relay::AgentOptions>;

// The ports come from udp and tcp, so a host only; brackets are tolerated around an IPv6
// literal because that is how it is written everywhere else.
void read_server_host(Reader& r, const toml::node& node, const std::string& key, ClientConfig& c) {
    auto text = r.string(node, key);
    if (!text) return;
    std::string_view host = *text;
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    if (is_ip_literal(host) || (!bracketed && is_host_name(host)))
        c.server = std::string(host);
    else if (text->empty())
        r.error(node, key, "is empty: name the porthop server (host name or IP address)");
    else if (text->find(':') != std::string::npos)
        r.error(node, key,
                "'" + *text +
                    "' is not a host name or IP address (no port: the ports are client.udp and client.tcp)");
    else
        r.error(node, key, "'" + *text + "' is neither an IP address nor a host name");
}

void read_sni(Reader& r, const toml::node& node, const std::string& key, ClientConfig& c) {
    auto text = r.string(node, key);
    if (!text) return;
    if (!text->empty() && !is_host_name(*text))
        r.error(node, key, "'" + *text + "' is not a host name (SNI names a host; \"\" sends the server's name)");
    else
        c.sni = *text;
}

void read_tls_ca(Reader& r, const toml::node& node, const std::string& key, ClientConfig& c) {
    auto text = r.string(node, key);
    if (!text) return;
    if (!text->empty() && (text->front() != '/' || text->find('\n') != std::string::npos))
        r.error(node, key, "must be an absolute path to a PEM file of CA certificates (or \"\" for the system's)");
    else
        c.tls_ca = *text;
}

void read_tls_pin(Reader& r, const toml::node& node, const std::string& key, ClientConfig& c) {
    auto items = r.string_list(node, key);
    if (!items) return;
    std::vector<std::string> pins;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto& [text, item] = (*items)[i];
        std::string why;
        if (crypto::parse_pin(text, why))
            pins.push_back(text);
        else
            r.error(*item, key + "[" + std::to_string(i) + "]", why + " (the server logs its pin at start)");
    }
    c.tls_pin = std::move(pins);
}

std::string tls_clause(const ClientConfig& c) {
    if (!c.tls) return "plain TCP";
    if (!c.tls_pin.empty()) return "TLS, pinned";
    return c.tls_ca.empty() ? std::string("TLS, system CAs") : "TLS, CAs of " + c.tls_ca;
}

// The description: where the VPN client sends, and to which server on which ports; then the
// schedule.
enum : std::size_t { kRoute, kSchedule };
constexpr Clause kClientClauses[] = {{"", " "}, {", ", ", "}};

const ClientRow kClientKeys[] = {
    {"listen",
     [](auto& r, const auto& node, const auto& key, auto& c) {
         if (auto hp = read_bind_address(r, node, key, " (the local VPN client sends to it)")) c.listen = *hp;
     },
     [](const auto& c) -> std::optional<std::string> { return toml_string(net_string(c.listen)); },
     [](const auto&, const auto& options) { return options.listen.to_string(); }, kRoute},
    {"server", read_server_host,
     [](const auto& c) -> std::optional<std::string> {
         if (c.server.empty()) return std::nullopt;  // required, but to_toml shows what there is
         return toml_string(c.server);
     },
     // The name as written and the address it resolved to.
     [](const auto& c, const auto& options) {
         return "-> " + c.server + " (" + options.server.to_string() + ")";
     },
     kRoute},
    {"udp", read_port_field<&ClientConfig::udp, Empty::refused>, write_ports<&ClientConfig::udp>,
     [](const auto& c, const auto&) { return "udp " + to_string(c.udp); }, kRoute},
    {"tcp", read_port_field<&ClientConfig::tcp, Empty::refused>, write_ports<&ClientConfig::tcp>,
     // The fallback port: the first listed.
     [](const auto&, const auto& options) { return "tcp " + std::to_string(options.tcp_port); }, kRoute},
    {"key", read_key_field<&ClientConfig::key>, write_hop_key<&ClientConfig::key>},
    {"hop_interval", read_hop_interval_field<&ClientConfig::hop_interval>,
     write_duration<&ClientConfig::hop_interval>,
     [](const auto& c, const auto&) { return "hop every " + format_duration(c.hop_interval); }, kSchedule},
    {"max_datagram", read_max_datagram_field<&ClientConfig::max_datagram>,
     write_number<&ClientConfig::max_datagram>},
    {"tls",
     [](auto& r, const auto& node, const auto& key, auto& c) {
         if (auto v = r.boolean(node, key)) c.tls = *v;
     },
     [](const auto& c) -> std::optional<std::string> { return c.tls ? "true" : "false"; },
     [](const auto& c, const auto&) { return tls_clause(c); }, kSchedule},
    {"sni", read_sni, [](const auto& c) -> std::optional<std::string> { return toml_string(c.sni); },
     [](const auto& c, const auto&) { return c.tls && !c.sni.empty() ? "SNI " + c.sni : std::string(); },
     kSchedule},
    {"tls_ca", read_tls_ca, [](const auto& c) -> std::optional<std::string> { return toml_string(c.tls_ca); }},
    {"tls_pin", read_tls_pin, [](const auto& c) -> std::optional<std::string> { return toml_strings(c.tls_pin); }},
    {"tcp_rotate_bytes", read_number<&ClientConfig::tcp_rotate_bytes, 0, kMaxTcpRotateBytes>,
     write_number<&ClientConfig::tcp_rotate_bytes>,
     [](const auto& c, const auto&) {
         return c.tcp_rotate_bytes ? "new TCP connection every " + std::to_string(c.tcp_rotate_bytes) + " bytes"
                                   : std::string();
     },
     kSchedule},
};

}  // namespace

KeyTable<ClientConfig, relay::AgentOptions> client_keys() { return kClientKeys; }

// Declared in client_setup.hpp, with the other steps from configuration to agent.
std::string describe(const ClientConfig& config, const relay::AgentOptions& options) {
    return describe_keys(client_keys(), config, options, kClientClauses, "");
}

}  // namespace porthop::app
