// Durations as written in the configuration: "3m", "60s", "250ms", "1h30m".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace porthop::app {

// Accepts one or more <digits><unit> groups with units h, m, s, ms, in any combination
// ("1m30s"). Rejects empty strings, missing units, signs, spaces and overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string& why);

// The shortest exact form parse_duration reads back: 180000ms -> "3m", 1500ms -> "1s500ms".
std::string format_duration(std::chrono::milliseconds value);

}  // namespace porthop::app
