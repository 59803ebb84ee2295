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
    // An IP literal or a DNS name: letters, digits, '-', '.', '_' (and ':' '%' inside brackets).
    boost::system::error_code ec;
    boost::asio::ip::make_address(std::string(host), ec);
    const bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (ec && !name_chars) {
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

void read_ports(Reader& r, const toml::node& node, const std::string& key, std::vector<PortRange>& out) {
    auto items = r.string_list(node, key);
    if (!items) return;
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
        } else if (k == "max_datagram") {
            if (auto v = r.integer(node, key, 576, 65535)) s.max_datagram = static_cast<std::uint32_t>(*v);
        } else {
            r.error(node, key,
                    "unknown key (known: listen, udp, tcp, backend, idle_timeout, "
                    "max_sessions, max_tcp_connections, max_datagram)");
        }
    }
    check_backend_is_not_a_listener(r, table, s);
}

}  // namespace

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    return out + message;
}

ConfigResult parse_config(std::string_view toml_text, std::string source_name) {
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
    Reader r(result, source_name);
    for (const auto& [k, node] : root) {
        const std::string key(k.str());
        if (key == "server") {
            if (const auto* t = node.as_table())
                read_server(r, *t, result.config.server);
            else
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
                    if (auto level = parse_log_level(*text))
                        result.config.log_level = *level;
                    else
                        r.error(lnode, lkey, "'" + *text + "' is not one of debug, info, warn, error");
                }
            }
        } else if (key == "metrics") {
            const auto* t = node.as_table();
            if (!t) {
                r.error(node, key, "expected a [metrics] table");
                continue;
            }
            for (const auto& [mk, mnode] : *t) {
                const std::string mkey = "metrics." + std::string(mk.str());
                if (mk != "listen") {
                    r.error(mnode, mkey, "unknown key (known: listen)");
                    continue;
                }
                auto text = r.string(mnode, mkey);
                if (!text) continue;
                if (text->empty()) {
                    result.config.metrics.enabled = false;
                    continue;
                }
                std::string why;
                auto hp = parse_host_port(*text, why);
                boost::system::error_code ec;
                if (hp) boost::asio::ip::make_address(hp->host, ec);
                if (!hp) r.error(mnode, mkey, why);
                else if (ec) r.error(mnode, mkey, "'" + hp->host + "' is not an IP address (\"\" disables metrics)");
                else result.config.metrics.listen = *hp;
            }
        } else {
            r.error(node, key, "unknown section (known: [server], [metrics], [log])");
        }
    }
    const auto& s = result.config.server;
    if (s.udp.empty() && s.tcp.empty() && result.errors.empty())
        result.errors.push_back(
            ConfigError{source_name, 0, 0, "server", "udp and tcp are both empty: nothing to listen on"});
    return result;
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
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return file_error("read failed: " + std::string(std::strerror(errno)));
    return parse_config(text.str(), path);
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
    const auto& s = c.server;
    std::ostringstream out;
    out << "# effective configuration, from " << c.source << "\n"
        << "[server]\n"
        << "listen = " << quoted_list(s.listen, [](const std::string& a) { return a; }) << "\n"
        << "udp = " << quoted_list(s.udp, [](const PortRange& p) { return to_string(p); }) << "\n"
        << "tcp = " << quoted_list(s.tcp, [](const PortRange& p) { return to_string(p); }) << "\n"
        << "backend = \"" << net_string(s.backend) << "\"\n"
        << "idle_timeout = \"" << format_duration(s.idle_timeout) << "\"\n"
        << "max_sessions = " << s.max_sessions << "\n"
        << "max_tcp_connections = " << s.max_tcp_connections << "\n"
        << "max_datagram = " << s.max_datagram << "\n"
        << "\n[metrics]\n"
        << "listen = \"" << (c.metrics.enabled ? net_string(c.metrics.listen) : std::string()) << "\"\n"
        << "\n[log]\n"
        << "level = \"" << to_string(c.log_level) << "\"\n";
    return out.str();
}

}  // namespace porthop::app
