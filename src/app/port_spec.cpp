#include "porthop/app/port_spec.hpp"

#include <algorithm>
#include <charconv>

namespace porthop::app {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text, std::string& why) {
    // from_chars alone would accept "+1"? It does not, but it stops at the first non-digit,
    // so insist that every character is a digit to reject " 443", "443 ", "0x1bb".
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        why = "'" + std::string(text) + "' is not a port number";
        return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535) {
        why = "port " + std::string(text) + " is out of range (1-65535)";
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<PortRange> parse_port_range(std::string_view text, std::string& why) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) {
        auto port = parse_port(text, why);
        if (!port) return std::nullopt;
        return PortRange{*port, *port};
    }
    if (dash == 0) {  // "-1": a sign, not a range
        why = "'" + std::string(text) + "' is not a port number";
        return std::nullopt;
    }
    auto first = parse_port(text.substr(0, dash), why);
    if (!first) return std::nullopt;
    auto last = parse_port(text.substr(dash + 1), why);
    if (!last) return std::nullopt;
    if (*last < *first) {
        why = "range '" + std::string(text) + "' runs backwards";
        return std::nullopt;
    }
    return PortRange{*first, *last};
}

std::vector<std::uint16_t> expand_ports(const std::vector<PortRange>& ranges) {
    std::vector<std::uint16_t> ports;
    for (const auto& r : ranges)
        for (unsigned p = r.first; p <= r.last; ++p) ports.push_back(static_cast<std::uint16_t>(p));
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    return ports;
}

std::string to_string(const PortRange& range) {
    if (range.first == range.last) return std::to_string(range.first);
    return std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::string to_string(const std::vector<PortRange>& ranges) {
    std::string out;
    for (const auto& r : ranges) out += (out.empty() ? "" : ",") + to_string(r);
    return out.empty() ? std::string("none") : out;
}

}  // namespace porthop::app
