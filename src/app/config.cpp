#include "porthop/app/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "porthop/app/duration.hpp"

namespace porthop::app {
namespace {

// Collects errors with their place in the file while the tables are walked.
class Reader {
public:
    explicit Reader(ConfigResult& result, std::string file) : result_(result), file_(std::move(file)) {}

    void error(const toml::node& node, const std::string& key, std::string message) {
        result_.errors.push_back(at(node, key, std::move(message)));
    }
    void warning(const toml::node& node, const std::string& key, std::string message) {
        result_.warnings.push_back(at(node, key, std::move(message)));
    }

    std::optional<std::string> string(const toml::node& node, const std::string& key) {
        if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
        error(node, key, "expected a string, got " + type_name(node));
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(const toml::node& node, const std::string& key, std::int64_t min,
                                        std::int64_t max) {
        if (!node.is_integer()) {
            error(node, key, "expected an integer, got " + type_name(node));
            return std::nullopt;
        }
        const auto v = *node.value<std::int64_t>();
        if (v < min || v > max) {
            error(node, key,
                  std::to_string(v) + " is out of range (" + std::to_string(min) + "-" + std::to_string(max) +
                      ")");
            return std::nullopt;
        }
        return v;
    }

    std::optional<bool> boolean(const toml::node& node, const std::string& key) {
        if (node.is_boolean()) return *node.value<bool>();
        error(node, key, "expected a boolean, got " + type_name(node));
        return std::nullopt;
    }

    // Strings, or one string where a list is expected ("listen = \"::\"" is natural to write).
    std::optional<std::vector<std::pair<std::string, const toml::node*>>> string_list(
        const toml::node& node, const std::string& key) {
        std::vector<std::pair<std::string, const toml::node*>> out;
        if (node.is_string()) {
            out.emplace_back(*node.value<std::string>(), &node);
            return out;
        }
        const auto* array = node.as_array();
        if (!array) {
            error(node, key, "expected a list of strings, got " + type_name(node));
            return std::nullopt;
        }
        bool good = true;
        for (std::size_t i = 0; i < array->size(); ++i) {
            const auto& item = *array->get(i);
            const auto item_key = key + "[" + std::to_string(i) + "]";
            // Integers are accepted for port lists' convenience (udp = [443, 1194]).
            if (item.is_integer()) {
                out.emplace_back(std::to_string(*item.value<std::int64_t>()), &item);
            } else if (auto s = string(item, item_key)) {
                out.emplace_back(*s, &item);
            } else {
                good = false;
            }
        }
        if (!good) return std::nullopt;
        return out;
    }

private:
    ConfigError at(const toml::node& node, const std::string& key, std::string message) const {
        const auto& src = node.source();
        return ConfigError{file_, src.begin.line, src.begin.column, key, std::move(message)};
    }
    static std::string type_name(const toml::node& node) {
        switch (node.type()) {
            case toml::node_type::table:
                return "a table";
            case toml::node_type::array:
                return "a list";
            case toml::node_type::string:
                return "a string";
            case toml::node_type::integer:
                return "an integer";
            case toml::node_type::floating_point:
                return "a number";
            case toml::node_type::boolean:
                return "a boolean";
            default:
                return "a date/time";
        }
    }

    ConfigResult& result_;
    std::string file_;
};

// Letters, digits, '-', '.', '_': what a DNS name (or a /etc/hosts alias) is written with. Enough
// to refuse what cannot be a name (spaces, quotes, a stray port) before start-up tries to resolve it.
bool is_host_name(std::string_view host) {
    return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
}

bool is_ip_literal(std::string_view host) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(std::string(host), ec);
    return !ec;
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string& why) {
    // "[v6]:port", "v4:port", "name:port". A bare IPv6 address without brackets is ambiguous.
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            why = "'" + std::string(text) + "' is not [ipv6]:port";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            why = "'" + std::string(text) + "' is not host:port (write IPv6 as [addr]:port)";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty()) {
        why = "'" + std::string(text) + "' has no host";
        return std::nullopt;
    }
    // An IP literal or a DNS name (':' and '%' only inside brackets, in an IPv6 literal).
    if (!is_ip_literal(host) && !is_host_name(host)) {
        why = "'" + std::string(host) + "' is neither an IP address nor a host name";
        return std::nullopt;
    }
    auto range = parse_port_range(port, why);
    if (!range || range->first != range->last) {
        if (range) why = "'" + std::string(port) + "' is not a single port";
        return std::nullopt;
    }
    return HostPort{std::string(host), range->first};
}

// Every datagram the relay or the agent carries is sent on over UDP, where IPv4 holds at most
// kMaxUdpPayload bytes: a larger limit would accept datagrams that are then dropped on sending.
void read_max_datagram(Reader& r, const toml::node& node, const std::string& key, std::uint32_t& out) {
    if (node.is_integer() && *node.value<std::int64_t>() > std::int64_t{kMaxUdpPayload}) {
        r.error(node, key,
                std::to_string(*node.value<std::int64_t>()) + " is more than UDP over IPv4 can carry: at most " +
                    std::to_string(kMaxUdpPayload) + " bytes (65535 - 20 IP header - 8 UDP header)");
        return;
    }
    if (auto v = r.integer(node, key, 576, kMaxUdpPayload)) out = static_cast<std::uint32_t>(*v);
}

enum class Empty { allowed, refused };

void read_ports(Reader& r, const toml::node& node, const std::string& key, std::vector<PortRange>& out,
                Empty empty = Empty::allowed) {
    auto items = r.string_list(node, key);
    if (!items) return;
    if (items->empty() && empty == Empty::refused) {
        r.error(node, key, "must name at least one port");
        return;
    }
    std::vector<PortRange> ranges;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto& [text, item] = (*items)[i];
        std::string why;
        if (auto range = parse_port_range(text, why))
            ranges.push_back(*range);
        else
            r.error(*item, key + "[" + std::to_string(i) + "]", why);
    }
    out = std::move(ranges);
}

// "host:port", with brackets around an IPv6 literal: the form `backend` is written in.
std::string net_string(const HostPort& hp) {
    const bool v6 = hp.host.find(':') != std::string::npos;
    return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

// "ip:port" for a socket porthop binds: an address, not a name (a name could resolve to
// several addresses, or to none at start-up).
std::optional<HostPort> read_bind_address(Reader& r, const toml::node& node, const std::string& key,
                                          const std::string& hint) {
    auto text = r.string(node, key);
    if (!text) return std::nullopt;
    std::string why;
    auto hp = parse_host_port(*text, why);
    if (!hp) {
        r.error(node, key, why);
        return std::nullopt;
    }
    if (!is_ip_literal(hp->host)) {
        r.error(node, key, "'" + hp->host + "' is not an IP address" + hint);
        return std::nullopt;
    }
    return hp;
}

// The error never quotes the text: a mistyped key is still most of a secret, and errors end up
// in terminals, logs and bug reports.
void read_key(Reader& r, const toml::node& node, const std::string& key, std::optional<crypto::HopKey>& out) {
    auto text = r.string(node, key);
    if (!text) return;
    std::string why;
    if (auto parsed = crypto::parse_hop_key(*text, why)) {
        out = *parsed;
        return;
    }
    // parse_hop_key's reason should describe, not quote; if any 8 characters of the text
    // appear in it anyway, say less rather than leak them.
    constexpr std::size_t kWindow = 8;
    for (std::size_t i = 0; i + kWindow <= text->size(); ++i)
        if (why.find(std::string_view(*text).substr(i, kWindow)) != std::string::npos) {
            why.clear();
            break;
        }
    if (why.empty()) why = "expected 44 characters of base64, as printed by `porthop genkey`";
    r.error(node, key, "not a hop-link key: " + why);
}

// Both ends compute the epoch as unix seconds / hop_interval, so it must be whole seconds and
// equal at both ends. A scheduled hop can take three attempts a second apart
// (hop/path_manager.hpp): below 10 s the link would spend much of each epoch switching ports.
// Above a day the port hardly moves, which is what the interval is there to prevent.
void read_hop_interval(Reader& r, const toml::node& node, const std::string& key, std::chrono::seconds& out) {
    auto text = r.string(node, key);
    if (!text) return;
    std::string why;
    const auto d = parse_duration(*text, why);
    if (!d)
        r.error(node, key, why);
    else if (*d % std::chrono::seconds{1} != std::chrono::milliseconds{0})
        r.error(node, key, "must be whole seconds (both ends count epochs in seconds)");
    else if (*d < std::chrono::seconds{10} || *d > std::chrono::hours{24})
        r.error(node, key, "must be between 10s and 24h");
    else
        out = std::chrono::duration_cast<std::chrono::seconds>(*d);
}

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

void read_server(Reader& r, const toml::table& table, ServerConfig& s) {
    for (const auto& [k, node] : table) {
        const std::string key = "server." + std::string(k.str());
        if (k == "listen") {
            auto items = r.string_list(node, key);
            if (!items) continue;
            std::vector<std::string> addrs;
            std::vector<boost::asio::ip::address> parsed;
            for (std::size_t i = 0; i < items->size(); ++i) {
                const auto& [text, item] = (*items)[i];
                const auto item_key = key + "[" + std::to_string(i) + "]";
                boost::system::error_code ec;
                const auto address = boost::asio::ip::make_address(text, ec);
                if (ec) {
                    r.error(*item, item_key,
                            "'" + text + "' is not an IP address (use 0.0.0.0 or :: for all)");
                    continue;
                }
                // Two sockets on the same address and port cannot both bind, and a wildcard
                // already covers every address of its family.
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
        } else if (k == "udp") {
            read_ports(r, node, key, s.udp);
        } else if (k == "tcp") {
            read_ports(r, node, key, s.tcp);
        } else if (k == "backend") {
            if (auto text = r.string(node, key)) {
                std::string why;
                if (auto hp = parse_host_port(*text, why))
                    s.backend = *hp;
                else
                    r.error(node, key, why);
            }
        } else if (k == "idle_timeout") {
            if (auto text = r.string(node, key)) {
                std::string why;
                auto d = parse_duration(*text, why);
                if (!d)
                    r.error(node, key, why);
                else if (*d < std::chrono::seconds{1} || *d > std::chrono::hours{24})
                    r.error(node, key, "must be between 1s and 24h");
                else {
                    s.idle_timeout = *d;
                    if (*d <= std::chrono::seconds{25})
                        r.warning(node, key,
                                  "shorter than WireGuard's 25 s keepalive: quiet tunnels "
                                  "will lose their session and the backend sees a new port");
                }
            }
        } else if (k == "max_sessions") {
            if (auto v = r.integer(node, key, 1, 1'000'000)) s.max_sessions = static_cast<std::uint32_t>(*v);
        } else if (k == "max_tcp_connections") {
            if (auto v = r.integer(node, key, 1, 100'000))
                s.max_tcp_connections = static_cast<std::uint32_t>(*v);
        } else if (k == "workers") {
            if (auto v = r.integer(node, key, 0, 256)) s.workers = static_cast<std::uint32_t>(*v);
        } else if (k == "max_datagram") {
            read_max_datagram(r, node, key, s.max_datagram);
        } else if (k == "key") {
            read_key(r, node, key, s.key);
        } else if (k == "hop_interval") {
            read_hop_interval(r, node, key, s.hop_interval);
        } else if (k == "moving_target") {
            if (auto v = r.boolean(node, key)) s.moving_target = *v;
        } else if (k == "protocol") {
            if (auto text = r.string(node, key)) {
                if (auto protocol = wire::parse_protocol(*text))
                    s.protocol = *protocol;
                else
                    r.error(node, key, "'" + *text + "' is not a protocol (any, wireguard or openvpn)");
            }
        } else if (k == "wireguard_public_key") {
            // A public key is no secret: unlike the hop-link key, it may be quoted back.
            if (auto text = r.string(node, key)) {
                std::string why;
                if (auto parsed = crypto::parse_wg_key(*text, why))
                    s.wireguard_public_key = *parsed;
                else
                    r.error(node, key, "not a WireGuard public key (the output of `wg pubkey`): " + why);
            }
        } else if (k == "handshake_rate") {
            if (auto v = r.integer(node, key, 0, 1'000'000)) s.handshake_rate = static_cast<std::uint32_t>(*v);
        } else if (k == "handshake_burst") {
            if (auto v = r.integer(node, key, 1, 1'000'000)) s.handshake_burst = static_cast<std::uint32_t>(*v);
        } else if (k == "sessions_per_source") {
            if (auto v = r.integer(node, key, 0, 1'000'000))
                s.sessions_per_source = static_cast<std::uint32_t>(*v);
        } else if (k == "state_file") {
            if (auto text = r.string(node, key)) {
                // A path, written by the relay itself: no newline (it would not read back as one
                // TOML string here), and absolute, so a service's working directory does not matter.
                if (!text->empty() && (text->front() != '/' || text->find_first_of("\n\"\\") != std::string::npos))
                    r.error(node, key, "must be an absolute path (or \"\" for none)");
                else
                    s.state_file = *text;
            }
        } else if (k == "tcp_connections_per_source") {
            if (auto v = r.integer(node, key, 0, 100'000))
                s.tcp_connections_per_source = static_cast<std::uint32_t>(*v);
        } else {
            r.error(node, key,
                    "unknown key (known: listen, udp, tcp, backend, idle_timeout, max_sessions, "
                    "max_tcp_connections, max_datagram, workers, key, hop_interval, moving_target, protocol, "
                    "wireguard_public_key, handshake_rate, handshake_burst, sessions_per_source, "
                    "tcp_connections_per_source, state_file)");
        }
    }
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
}

void read_client(Reader& r, const toml::table& table, ClientConfig& c) {
    for (const auto& [k, node] : table) {
        const std::string key = "client." + std::string(k.str());
        if (k == "listen") {
            if (auto hp = read_bind_address(r, node, key, " (the local VPN client sends to it)"))
                c.listen = *hp;
        } else if (k == "server") {
            auto text = r.string(node, key);
            if (!text) continue;
            // The ports come from udp and tcp, so a host only; brackets are tolerated around an
            // IPv6 literal because that is how it is written everywhere else.
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
                            "' is not a host name or IP address (no port: the ports are client.udp and "
                            "client.tcp)");
            else
                r.error(node, key, "'" + *text + "' is neither an IP address nor a host name");
        } else if (k == "udp") {
            read_ports(r, node, key, c.udp, Empty::refused);
        } else if (k == "tcp") {
            read_ports(r, node, key, c.tcp, Empty::refused);
        } else if (k == "key") {
            read_key(r, node, key, c.key);
        } else if (k == "hop_interval") {
            read_hop_interval(r, node, key, c.hop_interval);
        } else if (k == "max_datagram") {
            read_max_datagram(r, node, key, c.max_datagram);
        } else {
            r.error(node, key,
                    "unknown key (known: listen, server, udp, tcp, key, hop_interval, max_datagram)");
        }
    }
}

// [metrics] and [client_metrics]: one key, listen = "ip:port", or "" for off.
void read_metrics(Reader& r, const toml::table& table, const std::string& section, MetricsConfig& m) {
    for (const auto& [k, node] : table) {
        const std::string key = section + "." + std::string(k.str());
        if (k != "listen") {
            r.error(node, key, "unknown key (known: listen)");
            continue;
        }
        if (node.is_string() && node.value<std::string>()->empty()) {
            m.enabled = false;
            continue;
        }
        if (auto hp = read_bind_address(r, node, key, " (\"\" disables metrics)")) {
            m.enabled = true;
            m.listen = *hp;
        }
    }
}

}  // namespace

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    return out + message;
}

namespace {

// True when the table holds no value at any depth: nothing, or only tables holding nothing.
bool sets_nothing(const toml::table& table) {
    for (const auto& [k, node] : table) {
        const auto* t = node.as_table();
        if (!t || !sets_nothing(*t)) return false;
    }
    return true;
}

// parse_config, telling also whether the text set nothing at all (`empty`, if given).
ConfigResult parse_text(std::string_view toml_text, std::string source_name, bool* empty) {
    ConfigResult result;
    result.config.source = source_name;
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        const auto& src = e.source();
        result.errors.push_back(ConfigError{source_name, src.begin.line, src.begin.column, "",
                                            "TOML syntax: " + std::string(e.description())});
        return result;
    }
    if (empty) *empty = sets_nothing(root);
    Reader r(result, source_name);
    for (const auto& [k, node] : root) {
        const std::string key(k.str());
        if (key == "server") {
            if (const auto* t = node.as_table()) {
                read_server(r, *t, result.config.server);
                result.config.server_keys = t->size();
            } else
                r.error(node, key, "expected a [server] table");
        } else if (key == "log") {
            const auto* t = node.as_table();
            if (!t) {
                r.error(node, key, "expected a [log] table");
                continue;
            }
            for (const auto& [lk, lnode] : *t) {
                const std::string lkey = "log." + std::string(lk.str());
                if (lk != "level") {
                    r.error(lnode, lkey, "unknown key (known: level)");
                    continue;
                }
                if (auto text = r.string(lnode, lkey)) {
                    if (auto level = base::parse_log_level(*text))
                        result.config.log_level = *level;
                    else
                        r.error(lnode, lkey, "'" + *text + "' is not one of debug, info, warn, error");
                }
            }
        } else if (key == "metrics" || key == "client_metrics") {
            if (const auto* t = node.as_table())
                read_metrics(r, *t, key,
                             key == "metrics" ? result.config.metrics : result.config.client_metrics);
            else
                r.error(node, key, "expected a [" + key + "] table");
        } else if (key == "client") {
            if (const auto* t = node.as_table())
                read_client(r, *t, result.config.client);
            else
                r.error(node, key, "expected a [client] table");
        } else {
            r.error(node, key,
                    "unknown section (known: [server], [client], [metrics], [client_metrics], [log])");
        }
    }
    const auto& s = result.config.server;
    if (s.udp.empty() && s.tcp.empty() && result.errors.empty())
        result.errors.push_back(
            ConfigError{source_name, 0, 0, "server", "udp and tcp are both empty: nothing to listen on"});
    return result;
}

}  // namespace

ConfigResult parse_config(std::string_view toml_text, std::string source_name) {
    return parse_text(toml_text, std::move(source_name), nullptr);
}

ConfigResult load_config_file(const std::string& path) {
    const auto file_error = [&](std::string message) {
        ConfigResult result;
        result.errors.push_back(ConfigError{path, 0, 0, "", std::move(message)});
        return result;
    };
    std::ifstream in(path, std::ios::binary);
    if (!in) return file_error("cannot open: " + std::string(std::strerror(errno)));
    // An ifstream opens a directory without complaint and then reads nothing: that must not
    // look like an empty file (which would mean "all defaults").
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return file_error("is a directory, not a file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return file_error("read failed: " + std::string(std::strerror(errno)));
    const auto text = buffer.str();
    bool empty = false;
    auto result = parse_text(text, path, &empty);
    if (result.ok() && empty)
        return file_error("the file is empty (no settings); porthop runs on built-in defaults only without --config");
    // Cheap evidence of a write cut short: a text file ends with a newline (editors, heredocs
    // and `porthop check-config` write one), a truncated one usually mid-line. Only a warning,
    // since a cut at a line's end leaves a valid file with the newline and cannot be told apart.
    if (!text.empty() && text.back() != '\n')
        result.warnings.push_back(ConfigError{path, 0, 0, "",
                                              "does not end with a newline: if it was written while being read, "
                                              "its last line may be cut short"});
    return result;
}

std::vector<ConfigError> check_server_ready(const Config& config) {
    if (config.server_keys != 0) return {};
    return {ConfigError{config.source, 0, 0, "server",
                        "no [server] settings: porthop server --config needs at least one (a file cut short "
                        "before them looks like this, and would run the default ports and backend); run "
                        "without --config for the built-in defaults"}};
}

std::vector<ConfigError> check_client_ready(const Config& config) {
    std::vector<ConfigError> errors;
    const auto& c = config.client;
    if (c.server.empty())
        errors.push_back(ConfigError{config.source, 0, 0, "client.server",
                                     "missing: the host name or IP address of the porthop server "
                                     "(server = \"vpn.example.net\" in [client])"});
    if (!c.key)
        errors.push_back(ConfigError{config.source, 0, 0, "client.key",
                                     "missing: the hop-link key, the same as the server's [server] key "
                                     "(make one with `porthop genkey`)"});
    return errors;
}

std::string to_toml(const Config& c) {
    const auto quoted_list = [](const auto& items, auto&& fmt) {
        std::string out = "[";
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i) out += ", ";
            out += "\"" + fmt(items[i]) + "\"";
        }
        return out + "]";
    };
    const auto ports = [&](const std::vector<PortRange>& list) {
        return quoted_list(list, [](const PortRange& p) { return to_string(p); });
    };
    const auto metrics = [](const MetricsConfig& m) {
        return "listen = \"" + (m.enabled ? net_string(m.listen) : std::string()) + "\"\n";
    };
    const auto& s = c.server;
    const auto& cl = c.client;
    std::ostringstream out;
    out << "# effective configuration, from " << c.source << "\n"
        << "[server]\n"
        << "listen = " << quoted_list(s.listen, [](const std::string& a) { return a; }) << "\n"
        << "udp = " << ports(s.udp) << "\n"
        << "tcp = " << ports(s.tcp) << "\n"
        << "backend = \"" << net_string(s.backend) << "\"\n"
        << "idle_timeout = \"" << format_duration(s.idle_timeout) << "\"\n"
        << "max_sessions = " << s.max_sessions << "\n"
        << "max_tcp_connections = " << s.max_tcp_connections << "\n"
        << "max_datagram = " << s.max_datagram << "\n"
        << "workers = " << s.workers << "\n";
    // Absent keys stay absent: there is no text that means "no key" or "no server".
    if (s.key) out << "key = \"" << crypto::format_hop_key(*s.key) << "\"\n";
    out << "hop_interval = \"" << format_duration(s.hop_interval) << "\"\n"
        << "moving_target = " << (s.moving_target ? "true" : "false") << "\n"
        << "protocol = \"" << wire::to_string(s.protocol) << "\"\n";
    if (s.wireguard_public_key) out << "wireguard_public_key = \"" << crypto::format_wg_key(*s.wireguard_public_key) << "\"\n";
    out << "handshake_rate = " << s.handshake_rate << "\n"
        << "handshake_burst = " << s.handshake_burst << "\n"
        << "sessions_per_source = " << s.sessions_per_source << "\n"
        << "tcp_connections_per_source = " << s.tcp_connections_per_source << "\n"
        << "state_file = \"" << s.state_file << "\"\n"
        << "\n[metrics]\n"
        << metrics(c.metrics) << "\n[client]\n"
        << "listen = \"" << net_string(cl.listen) << "\"\n";
    if (!cl.server.empty()) out << "server = \"" << cl.server << "\"\n";
    out << "udp = " << ports(cl.udp) << "\n"
        << "tcp = " << ports(cl.tcp) << "\n";
    if (cl.key) out << "key = \"" << crypto::format_hop_key(*cl.key) << "\"\n";
    out << "hop_interval = \"" << format_duration(cl.hop_interval) << "\"\n"
        << "max_datagram = " << cl.max_datagram << "\n"
        << "\n[client_metrics]\n"
        << metrics(c.client_metrics) << "\n[log]\n"
        << "level = \"" << to_string(c.log_level) << "\"\n";
    return out.str();
}

}  // namespace porthop::app
