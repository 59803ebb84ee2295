// Each rule is a function of nginx 1.22 named beside it; tests/vectors/http (inm_*, ims_*,
// if_match_*, ius_*, dup_*) holds nginx's answers that check them.
#include "http_fields.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace porthop::wire::http_fields {

// Named, not anonymous: the wire sources share one unity translation unit.
namespace detail {

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_name(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

constexpr std::array<std::string_view, 10> kUnique = {
    "If-Modified-Since", "If-Unmodified-Since", "If-Match",
    "If-None-Match",     "Content-Length",      "Content-Range",
    "If-Range",          "Transfer-Encoding",   "Expect",
    "Authorization",
};

// ngx_http_test_if_match: "*" matches; else each comma-separated entry is compared with the
// ETag as a prefix followed by blanks and a comma or the end. `weak` (If-None-Match) drops a
// "W/" before an entry.
bool etag_matches(std::string_view value, std::string_view etag, bool weak) noexcept {
    if (value == "*") return true;
    std::size_t i = 0;
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (i < value.size()) {
        if (weak && value.size() - i > 2 && value[i] == 'W' && value[i + 1] == '/') i += 2;
        if (etag.size() > value.size() - i) return false;
        if (value.substr(i, etag.size()) == etag) {
            i += etag.size();
            while (i < value.size() && blank(value[i])) ++i;
            if (i == value.size() || value[i] == ',') return true;
        }
        while (i < value.size() && value[i] != ',') ++i;
        while (i < value.size() && (blank(value[i]) || value[i] == ',')) ++i;
    }
    return false;
}

int two_digits(std::string_view s, std::size_t at) noexcept {
    const char a = s[at], b = s[at + 1];
    if (a < '0' || a > '9' || b < '0' || b > '9') return -1;
    return (a - '0') * 10 + (b - '0');
}

}  // namespace detail

Fields read_fields(std::span<const std::byte> head) noexcept {
    using namespace detail;
    std::string_view rest(reinterpret_cast<const char*>(head.data()), head.size());
    Fields fields;
    std::array<int, kUnique.size()> seen{};
    bool request_line = true;
    while (!rest.empty()) {
        const auto lf = rest.find('\n');
        const std::string_view line = rest.substr(0, lf);
        rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
        const auto colon = line.find(':');
        // Empty lines before the request line, the request line, and the final empty line.
        if (trim(line).empty() || std::exchange(request_line, false) || colon == std::string_view::npos)
            continue;
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        for (std::size_t k = 0; k < kUnique.size(); ++k) {
            if (!same_name(name, kUnique[k])) continue;
            if (++seen[k] > 1) fields.duplicate = true;
            auto& c = fields.conditions;
            std::optional<std::string_view>* slot = k == 0   ? &c.if_modified_since
                                                    : k == 1 ? &c.if_unmodified_since
                                                    : k == 2 ? &c.if_match
                                                    : k == 3 ? &c.if_none_match
                                                             : nullptr;
            if (slot != nullptr && !*slot) *slot = value;
        }
    }
    return fields;
}

Precondition evaluate(const Conditions& c, std::string_view etag, std::int64_t modified) noexcept {
    using namespace detail;
    // ngx_http_test_if_unmodified: an unparsable date (nginx: -1) is before any page.
    if (c.if_unmodified_since && parse_http_date(*c.if_unmodified_since).value_or(-1) < modified)
        return Precondition::failed;
    if (c.if_match && !etag_matches(*c.if_match, etag, false)) return Precondition::failed;
    if (!c.if_modified_since && !c.if_none_match) return Precondition::serve;
    if (c.if_modified_since && parse_http_date(*c.if_modified_since) != modified) return Precondition::serve;
    if (c.if_none_match && !etag_matches(*c.if_none_match, etag, true)) return Precondition::serve;
    return Precondition::not_modified;
}

std::optional<std::int64_t> parse_http_date(std::string_view s) noexcept {
    using namespace detail;
    // As ngx_parse_http_time reads an RFC 1123 date: the weekday is skipped up to its comma,
    // then blanks, then "15 Jan 2026 09:30:00" at fixed places; what follows (" GMT") is not read.
    const auto comma = s.find(',');
    if (comma == std::string_view::npos || s.substr(0, comma).find(' ') != std::string_view::npos)
        return std::nullopt;  // (asctime, which has no comma, is the difference documented above)
    s.remove_prefix(comma + 1);
    while (s.starts_with(' ')) s.remove_prefix(1);
    if (s.size() < 20 || s[2] != ' ' || s[6] != ' ' || s[11] != ' ' || s[14] != ':' || s[17] != ':')
        return std::nullopt;
    static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const auto month = kMonths.find(s.substr(3, 3));
    const int day = two_digits(s, 0), century = two_digits(s, 7), year = two_digits(s, 9);
    const int hour = two_digits(s, 12), minute = two_digits(s, 15), second = two_digits(s, 18);
    if (month == std::string_view::npos || month % 3 != 0 || day < 0 || century < 0 || year < 0 || hour < 0 ||
        hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
        return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year{century * 100 + year},
                                           std::chrono::month{static_cast<unsigned>(month / 3 + 1)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok()) return std::nullopt;
    const auto days = std::chrono::sys_days{date}.time_since_epoch().count();
    return static_cast<std::int64_t>(days) * 86400 + hour * 3600 + minute * 60 + second;
}

}  // namespace porthop::wire::http_fields
