// Private to wire/http_response: the header fields besides Host and Connection that change
// nginx 1.22's answer to a head parse_request_head accepted. nginx takes some fields once only
// (a second one is a 400), and its not_modified filter turns the page's 200 into 304 or 412.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace porthop::wire::http_fields {

struct Conditions {
    std::optional<std::string_view> if_modified_since, if_unmodified_since, if_match, if_none_match;
};

struct Fields {
    // A second If-Modified-Since, If-Unmodified-Since, If-Match, If-None-Match, Content-Length,
    // Content-Range, If-Range, Transfer-Encoding, Expect or Authorization (names in any case):
    // the fields nginx 1.22 keeps one of (ngx_http_process_unique_header_line), as probed in
    // tests/vectors/http (dup_*). User-Agent and the rest may repeat.
    bool duplicate = false;
    Conditions conditions;  // values without surrounding blanks, as nginx keeps them
};

// `head` is a complete head (parse_request_head said so: every line is well formed), from the
// request line to the empty line.
Fields read_fields(std::span<const std::byte> head) noexcept;

enum class Precondition : std::uint8_t { serve, not_modified, failed };

// ngx_http_not_modified_filter for a page with this ETag and Last-Modified (seconds), in its
// order: a failed If-Unmodified-Since or If-Match is 412; then, if If-Modified-Since or
// If-None-Match is given, 304 unless If-Modified-Since is not exactly the page's time (nginx's
// default `if_modified_since exact`) or no tag of If-None-Match matches (weak comparison).
Precondition evaluate(const Conditions& c, std::string_view etag, std::int64_t modified) noexcept;

// An RFC 1123 date ("Thu, 15 Jan 2026 09:30:00 GMT") as seconds since the epoch, read as
// nginx's ngx_parse_http_time reads one (any weekday text, blanks after the comma, the zone not
// read); nullopt for anything else. nginx also reads RFC 850 and asctime dates: with those, a
// condition counts as unparsable here (If-Modified-Since: 200 where nginx says 304).
std::optional<std::int64_t> parse_http_date(std::string_view text) noexcept;

}  // namespace porthop::wire::http_fields
