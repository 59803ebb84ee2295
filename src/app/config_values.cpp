#include "config_values.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>

#include "porthop/app/duration.hpp"

namespace porthop::app {

// Enough to refuse what cannot be a name (spaces, quotes, a stray port) before start-up tries
// to resolve it.
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
    // A bare IPv6 address without brackets is ambiguous.
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

std::string net_string(const HostPort& hp) {
    const bool v6 = hp.host.find(':') != std::string::npos;
    return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

void read_ports(Reader& r, const toml::node& node, const std::string& key, std::vector<PortRange>& out,
                Empty empty) {
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

// An address, not a name: a name could resolve to several addresses, or to none at start-up.
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
    else if (*d < kMinHopInterval || *d > kMaxHopInterval)
        r.error(node, key, "must be between 10s and 24h");
    else
        out = std::chrono::duration_cast<std::chrono::seconds>(*d);
}

// Every datagram the relay or the agent carries is sent on over UDP, where IPv4 holds at most
// kMaxUdpPayload bytes: a larger limit would accept datagrams that are then dropped on sending.
void read_max_datagram(Reader& r, const toml::node& node, const std::string& key, std::uint32_t& out) {
    if (node.is_integer() && *node.value<std::int64_t>() > std::int64_t{kMaxUdpPayload}) {
        r.error(node, key,
                std::to_string(*node.value<std::int64_t>()) +
                    " is more than UDP over IPv4 can carry: at most " + std::to_string(kMaxUdpPayload) +
                    " bytes (65535 - 20 IP header - 8 UDP header)");
        return;
    }
    if (auto v = r.integer(node, key, 576, kMaxUdpPayload)) out = static_cast<std::uint32_t>(*v);
}

std::string toml_string(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string toml_strings(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i]);
    return out + "]";
}

std::string toml_ports(const std::vector<PortRange>& ports) {
    std::vector<std::string> items;
    for (const auto& p : ports) items.push_back(to_string(p));
    return toml_strings(items);
}

}  // namespace porthop::app
