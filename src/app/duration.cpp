#include "porthop/app/duration.hpp"

#include <cstdint>
#include <limits>

namespace porthop::app {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string& why) {
    const auto fail = [&](const std::string& reason) {
        why = "'" + std::string(text) + "' is not a duration (" + reason +
              "; use e.g. \"90s\", \"3m\", \"250ms\", \"1h30m\")";
        return std::nullopt;
    };
    if (text.empty()) return fail("empty");
    // Cap at ~10 years so arithmetic on the result can never overflow.
    constexpr std::int64_t kMaxMs = std::int64_t{10} * 365 * 24 * 3600 * 1000;
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t number = 0;
        const std::size_t digits_start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            number = number * 10 + (text[i] - '0');
            if (number > kMaxMs) return fail("too long");
            ++i;
        }
        if (i == digits_start) return fail("expected a number");
        std::int64_t unit_ms = 0;
        if (text.substr(i, 2) == "ms") {
            unit_ms = 1;
            i += 2;
        } else if (i < text.size() && text[i] == 's') {
            unit_ms = 1000;
            ++i;
        } else if (i < text.size() && text[i] == 'm') {
            unit_ms = 60'000;
            ++i;
        } else if (i < text.size() && text[i] == 'h') {
            unit_ms = 3'600'000;
            ++i;
        } else
            return fail("missing unit h, m, s or ms");
        if (number > (kMaxMs - total) / unit_ms) return fail("too long");
        total += number * unit_ms;
    }
    return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds value) {
    std::int64_t ms = value.count();
    if (ms == 0) return "0s";
    std::string out;
    const std::pair<std::int64_t, const char*> units[] = {
        {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
    for (auto [size, name] : units) {
        if (ms >= size) {
            out += std::to_string(ms / size) + name;
            ms %= size;
        }
    }
    return out;
}

}  // namespace porthop::app
