// [server]: the relay's keys, one row each, and the checks that span several of them.
#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "config_keys.hpp"
#include "config_values.hpp"
#include "porthop/app/server_setup.hpp"

namespace porthop::app {
namespace {

using ServerRow = KeySpec<ServerConfig, relay::ServerOptions>;

// Addresses only (a name could resolve to several, or none at start-up), and no two that
// cannot both bind.
void read_listen(Reader& r, const toml::node& node, const std::string& key, ServerConfig& s) {
    auto items = r.string_list(node, key);
    if (!items) return;
    std::vector<std::string> addrs;
    std::vector<boost::asio::ip::address> parsed;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto& [text, item] = (*items)[i];
        const auto item_key = key + "[" + std::to_string(i) + "]";
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(text, ec);
        if (ec) {
            r.error(*item, item_key, "'" + text + "' is not an IP address (use 0.0.0.0 or :: for all)");
            continue;
        }
        // Two sockets on the same address and port cannot both bind, and a wildcard already
        // covers every address of its family.
        bool clash = false;
        for (const auto& earlier : parsed) {
            if (earlier == address) {
                r.error(*item, item_key, "'" + text + "' is listed twice");
                clash = true;
            } else if (earlier.is_v6() == address.is_v6() &&
                       (earlier.is_unspecified() || address.is_unspecified())) {
                r.error(*item, item_key,
                        "'" + text + "' overlaps '" + earlier.to_string() +
                            "': a wildcard address already listens on every address of its family");
                clash = true;
            }
            if (clash) break;
        }
        if (clash) continue;
        parsed.push_back(address);
        addrs.push_back(text);
    }
    if (items->empty()) r.error(node, key, "must name at least one address");
    s.listen = std::move(addrs);
}

void read_idle_timeout(Reader& r, const toml::node& node, const std::string& key, ServerConfig& s) {
    auto text = r.string(node, key);
    if (!text) return;
    std::string why;
    auto d = parse_duration(*text, why);
    if (!d) {
        r.error(node, key, why);
    } else if (*d < std::chrono::seconds{1} || *d > std::chrono::hours{24}) {
        r.error(node, key, "must be between 1s and 24h");
    } else {
        s.idle_timeout = *d;
        if (*d <= std::chrono::seconds{25})
            r.warning(node, key,
                      "shorter than WireGuard's 25 s keepalive: quiet tunnels "
                      "will lose their session and the backend sees a new port");
    }
}

// A path, written by the relay itself: no newline (it would not read back as one TOML string
// here), and absolute, so a service's working directory does not matter.
void read_state_file(Reader& r, const toml::node& node, const std::string& key, ServerConfig& s) {
    auto text = r.string(node, key);
    if (!text) return;
    if (!text->empty() && (text->front() != '/' || text->find_first_of("\n\"\\") != std::string::npos))
        r.error(node, key, "must be an absolute path (or \"\" for none)");
    else
        s.state_file = *text;
}

// A certificate or key file: absolute, like state_file, so a service's working directory does
// not matter. Read (and checked) when the server starts or reloads.
template <std::string ServerConfig::*Field>
void read_pem_path(Reader& r, const toml::node& node, const std::string& key, ServerConfig& s) {
    auto text = r.string(node, key);
    if (!text) return;
    if (text->empty() || text->front() != '/' || text->find('\n') != std::string::npos)
        r.error(node, key, "must be an absolute path to a PEM file");
    else
        s.*Field = *text;
}

std::string unlimited_or(std::uint32_t n) { return n ? std::to_string(n) : std::string("unlimited"); }

// The description's clauses, in the order the line says them: "udp X and tcp Y on ADDRESSES ->
// backend B (N workers, limits; porthop clients ...; native clients: ... and per-source caps
// per source)". Scripts read it (tests/cross/smoke_test.sh looks for "(1 worker,").
enum : std::size_t { kPorts, kListen, kBackend, kWorkers, kLimits, kHopLink, kTls, kNative, kPerSource };
constexpr Clause kServerClauses[] = {{"", " and "},
                               {" on ", ", "},
                               {" -> backend ", ""},
                               {" (", ""},
                               {", ", ", "},
                               {"; porthop clients ", ", "},
                               {"; TLS on tcp: ", ", "},
                               {"; native clients: ", ", "},
                               {" and ", " and "}};
constexpr std::string_view kEnd = " per source)";

const ServerRow kServerKeys[] = {
    {"listen", read_listen,
     [](const auto& s) -> std::optional<std::string> { return toml_strings(s.listen); },
     [](const auto& s, const auto&) {
         std::string addresses;
         for (const auto& a : s.listen) addresses += (addresses.empty() ? "" : ", ") + a;
         return addresses;
     },
     kListen},
    {"udp", read_port_field<&ServerConfig::udp>, write_ports<&ServerConfig::udp>,
     [](const auto& s, const auto&) { return "udp " + to_string(s.udp); }, kPorts},
    {"tcp", read_port_field<&ServerConfig::tcp>, write_ports<&ServerConfig::tcp>,
     [](const auto& s, const auto&) { return "tcp " + to_string(s.tcp); }, kPorts},
    {"backend",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         auto text = r.string(node, key);
         if (!text) return;
         std::string why;
         if (auto hp = parse_host_port(*text, why))
             s.backend = *hp;
         else
             r.error(node, key, why);
     },
     [](const auto& s) -> std::optional<std::string> { return toml_string(net_string(s.backend)); },
     // The address it resolved to: what the relay sends to.
     [](const auto&, const auto& options) { return options.backend.to_string(); }, kBackend},
    {"idle_timeout", read_idle_timeout, write_duration<&ServerConfig::idle_timeout>,
     [](const auto& s, const auto&) { return "idle_timeout " + format_duration(s.idle_timeout); }, kLimits},
    {"max_sessions", read_number<&ServerConfig::max_sessions, 1, 1'000'000>,
     write_number<&ServerConfig::max_sessions>,
     [](const auto& s, const auto&) { return "max_sessions " + std::to_string(s.max_sessions); }, kLimits},
    {"max_tcp_connections", read_number<&ServerConfig::max_tcp_connections, 1, 100'000>,
     write_number<&ServerConfig::max_tcp_connections>,
     [](const auto& s, const auto&) {
         return "max_tcp_connections " + std::to_string(s.max_tcp_connections);
     },
     kLimits},
    {"max_datagram", read_max_datagram_field<&ServerConfig::max_datagram>,
     write_number<&ServerConfig::max_datagram>},
    {"workers", read_number<&ServerConfig::workers, 0, 256>, write_number<&ServerConfig::workers>,
     // How many run: 0 becomes one per CPU, and a kernel that cannot steer gets one.
     [](const auto&, const auto& options) {
         return options.workers == 1 ? std::string("1 worker") : std::to_string(options.workers) + " workers";
     },
     kWorkers},
    {"key", read_key_field<&ServerConfig::key>, write_hop_key<&ServerConfig::key>,
     [](const auto& s, const auto&) { return std::string(s.key ? "accepted" : "off (no key)"); }, kHopLink},
    {"hop_interval", read_hop_interval_field<&ServerConfig::hop_interval>,
     write_duration<&ServerConfig::hop_interval>,
     [](const auto& s, const auto&) {
         return s.key ? "hop_interval " + format_duration(s.hop_interval) : std::string();
     },
     kHopLink},
    {"moving_target",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         if (auto v = r.boolean(node, key)) s.moving_target = *v;
     },
     [](const auto& s) -> std::optional<std::string> { return s.moving_target ? "true" : "false"; },
     [](const auto& s, const auto&) { return std::string(s.key && s.moving_target ? "moving target" : ""); },
     kHopLink},
    {"mask",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         auto text = r.string(node, key);
         if (!text) return;
         if (auto mode = hop::v2::parse_mode(*text))
             s.mask = *mode;
         else
             r.error(node, key, "'" + *text + "' is not a mask mode (light or full)");
     },
     [](const auto& s) -> std::optional<std::string> { return toml_string(hop::v2::to_string(s.mask)); },
     // Named only when it is not the default.
     [](const auto& s, const auto&) {
         return std::string(s.key && s.mask == hop::v2::Mode::full ? "full mask" : "");
     },
     kHopLink},
    {"protocol",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         auto text = r.string(node, key);
         if (!text) return;
         if (auto protocol = wire::parse_protocol(*text))
             s.protocol = *protocol;
         else
             r.error(node, key, "'" + *text + "' is not a protocol (any, wireguard or openvpn)");
     },
     [](const auto& s) -> std::optional<std::string> { return toml_string(wire::to_string(s.protocol)); },
     [](const auto& s, const auto&) { return "protocol " + std::string(wire::to_string(s.protocol)); },
     kNative},
    {"wireguard_public_key",
     // A public key is no secret: unlike the hop-link key, it may be quoted back.
     [](auto& r, const auto& node, const auto& key, auto& s) {
         auto text = r.string(node, key);
         if (!text) return;
         std::string why;
         if (auto parsed = crypto::parse_wg_key(*text, why))
             s.wireguard_public_key = *parsed;
         else
             r.error(node, key, "not a WireGuard public key (the output of `wg pubkey`): " + why);
     },
     [](const auto& s) -> std::optional<std::string> {
         if (!s.wireguard_public_key) return std::nullopt;
         return toml_string(crypto::format_wg_key(*s.wireguard_public_key));
     },
     [](const auto& s, const auto&) { return std::string(s.wireguard_public_key ? "mac1 checked" : ""); },
     kNative},
    {"handshake_rate", read_number<&ServerConfig::handshake_rate, 0, 1'000'000>,
     write_number<&ServerConfig::handshake_rate>,
     // With its burst: the two make one limiter.
     [](const auto& s, const auto&) {
         return s.handshake_rate ? std::to_string(s.handshake_rate) + " handshakes/s (burst " +
                                       std::to_string(s.handshake_burst) + ")"
                                 : std::string("no handshake limit");
     },
     kNative},
    {"handshake_burst", read_number<&ServerConfig::handshake_burst, 1, 1'000'000>,
     write_number<&ServerConfig::handshake_burst>},
    {"sessions_per_source", read_number<&ServerConfig::sessions_per_source, 0, 1'000'000>,
     write_number<&ServerConfig::sessions_per_source>,
     [](const auto& s, const auto&) { return unlimited_or(s.sessions_per_source) + " sessions"; },
     kPerSource},
    {"tcp_connections_per_source", read_number<&ServerConfig::tcp_connections_per_source, 0, 100'000>,
     write_number<&ServerConfig::tcp_connections_per_source>,
     [](const auto& s, const auto&) {
         return unlimited_or(s.tcp_connections_per_source) + " TCP connections";
     },
     kPerSource},
    {"state_file", read_state_file,
     [](const auto& s) -> std::optional<std::string> { return toml_string(s.state_file); }},
    {"tls",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         if (auto v = r.boolean(node, key)) s.tls = *v;
     },
     [](const auto& s) -> std::optional<std::string> { return s.tls ? "true" : "false"; },
     [](const auto& s, const auto&) { return std::string(s.tls || s.tcp.empty() ? "" : "off"); }, kTls},
    {"tls_cert", read_pem_path<&ServerConfig::tls_cert>,
     [](const auto& s) -> std::optional<std::string> {
         return s.tls_cert.empty() ? std::nullopt : std::optional(toml_string(s.tls_cert));
     },
     [](const auto& s, const auto&) {
         if (!s.tls || s.tcp.empty()) return std::string();
         return s.tls_cert.empty() ? std::string("self-signed certificate") : "certificate " + s.tls_cert;
     },
     kTls},
    {"tls_key", read_pem_path<&ServerConfig::tls_key>,
     [](const auto& s) -> std::optional<std::string> {
         return s.tls_key.empty() ? std::nullopt : std::optional(toml_string(s.tls_key));
     }},
    {"native_tcp",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         if (auto v = r.boolean(node, key)) s.native_tcp = *v;
     },
     [](const auto& s) -> std::optional<std::string> { return s.native_tcp ? "true" : "false"; },
     [](const auto& s, const auto&) {
         return std::string(s.tls && !s.tcp.empty() && !s.native_tcp ? "TLS only" : "");
     },
     kTls},
    {"decoy",
     [](auto& r, const auto& node, const auto& key, auto& s) {
         auto text = r.string(node, key);
         if (!text) return;
         if (text->empty()) {
             s.decoy.reset();
             return;
         }
         std::string why;
         if (auto hp = parse_host_port(*text, why))
             s.decoy = *hp;
         else
             r.error(node, key, why);
     },
     [](const auto& s) -> std::optional<std::string> {
         return toml_string(s.decoy ? net_string(*s.decoy) : std::string());
     },
     [](const auto& s, const auto& options) {
         if (!s.tls || s.tcp.empty()) return std::string();
         if (!s.decoy) return std::string("built-in site");
         return "decoy " + (options.tls && options.tls->decoy ? options.tls->decoy->to_string() : net_string(*s.decoy));
     },
     kTls},
    {"tcp_rotate_bytes", read_number<&ServerConfig::tcp_rotate_bytes, 0, kMaxTcpRotateBytes>,
     write_number<&ServerConfig::tcp_rotate_bytes>,
     [](const auto& s, const auto&) {
         return s.tcp_rotate_bytes ? std::to_string(s.tcp_rotate_bytes) + " bytes per agent TCP connection"
                                   : std::string();
     },
     kTls},
};

// A backend on one of the relay's own UDP sockets would make the relay forward to itself,
// using up a session per datagram: refuse it.
void check_backend_is_not_a_listener(Reader& r, const toml::table& table, const ServerConfig& s) {
    boost::system::error_code ec;
    const auto backend = boost::asio::ip::make_address(s.backend.host, ec);
    if (ec) return;  // a name: resolved at start-up, cannot be judged here
    const auto ports = expand_ports(s.udp);
    if (!std::binary_search(ports.begin(), ports.end(), s.backend.port)) return;
    for (const auto& text : s.listen) {
        const auto listen = boost::asio::ip::make_address(text, ec);
        if (ec || listen.is_v6() != backend.is_v6()) continue;
        if (listen == backend ||
            (listen.is_unspecified() && (backend.is_loopback() || backend.is_unspecified()))) {
            const auto* node = table.get("backend");
            r.error(node ? *node : static_cast<const toml::node&>(table), "server.backend",
                    "'" + net_string(s.backend) +
                        "' is one of the relay's own UDP listeners: it would forward to itself");
            return;
        }
    }
}

}  // namespace

KeyTable<ServerConfig, relay::ServerOptions> server_keys() { return kServerKeys; }

void read_server(Reader& r, const toml::table& table, ServerConfig& s) {
    read_keys(r, table, "server", server_keys(), s);
    // mac1 exists only in WireGuard: a key on an OpenVPN relay is a mistake worth naming.
    if (const auto* node = table.get("wireguard_public_key");
        node && s.wireguard_public_key && s.protocol == wire::Protocol::openvpn)
        r.error(*node, "server.wireguard_public_key",
                "is for WireGuard backends, but protocol = \"openvpn\"");
    check_backend_is_not_a_listener(r, table, s);
    // The open ports follow the key's schedule, so without a key there is nothing to follow.
    // A key that was given but is wrong has its own error; one is enough.
    if (const auto* node = table.get("moving_target"); node && s.moving_target) {
        if (!table.contains("key"))
            r.error(*node, "server.moving_target",
                    "needs a hop-link key ([server] key): the ports follow its schedule");
        else if (const auto* udp = table.get("udp"); udp && udp->is_array() && udp->as_array()->empty())
            r.error(*node, "server.moving_target", "needs UDP ports to move between ([server] udp is empty)");
    }
    // A certificate needs its key, and a key its certificate.
    if (table.contains("tls_cert") != table.contains("tls_key")) {
        const bool cert = table.contains("tls_cert");
        const char* given = cert ? "tls_cert" : "tls_key";
        r.error(*table.get(given), std::string("server.") + given,
                cert ? "needs tls_key (the certificate's private key)"
                     : "needs tls_cert (the certificate chain it belongs to)");
    }
    // The mask is the hop link's: without a key a full mask would silently do nothing.
    if (const auto* node = table.get("mask"); node && s.mask == hop::v2::Mode::full && !table.contains("key"))
        r.error(*node, "server.mask", "\"full\" needs a hop-link key ([server] key): it masks the hop link");
}

// Declared in server_setup.hpp, with the other steps from configuration to relay.
std::string describe(const ServerConfig& config, const relay::ServerOptions& options) {
    return describe_keys(server_keys(), config, options, kServerClauses, kEnd);
}

}  // namespace porthop::app
