// Port lists as written in the configuration: "443", "40000-40099" (inclusive ranges).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace porthop::app {

struct PortRange {
    std::uint16_t first;
    std::uint16_t last;  // inclusive, >= first
    friend bool operator==(const PortRange&, const PortRange&) = default;
};

// Parses one entry: a port ("443") or an inclusive range ("40000-40099"). Ports are 1-65535,
// written as plain decimal digits; a range must not run backwards. On failure returns
// nullopt and puts a human-readable reason in `why`.
std::optional<PortRange> parse_port_range(std::string_view text, std::string& why);

// Every port of the ranges, ascending, each once (overlapping entries are harmless).
std::vector<std::uint16_t> expand_ports(const std::vector<PortRange>& ranges);

// "443", "40000-40099": the form parse_port_range accepts.
std::string to_string(const PortRange& range);
// "443,1194,40000-40099" for logs; "none" for an empty list.
std::string to_string(const std::vector<PortRange>& ranges);

}  // namespace porthop::app
