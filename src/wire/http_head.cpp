// One pass over the bytes, one state per place in the grammar (as nginx's own parser): every
// check is made at the byte it is about, so running out of input anywhere is need_more and a
// refusal never depends on bytes after the one refused (the monotonicity the header promises).
#include "porthop/wire/http_head.hpp"

#include <algorithm>

namespace porthop::wire {

namespace {

constexpr char kCR = '\r';
constexpr char kLF = '\n';

bool is_control(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}
bool is_method_char(char c) noexcept { return (c >= 'A' && c <= 'Z') || c == '_' || c == '-'; }
bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_scheme_char(char c) noexcept {
    return is_letter(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}
bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool equals_nocase(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lower(x) == lower(y);
           });
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

// nginx's ngx_http_validate_host: no "/", "..", or control byte anywhere; the host part (up to
// a port, or a whole [IPv6 literal]) without one trailing dot must not be empty.
bool valid_host(std::string_view h) noexcept {
    if (std::any_of(h.begin(), h.end(), [](char c) { return c == '/' || is_control(c); })) return false;
    if (h.find("..") != std::string_view::npos) return false;
    std::size_t host_len = h.size();
    if (!h.empty() && h.front() == '[') {
        if (const auto close = h.find(']'); close != std::string_view::npos) host_len = close + 1;
    } else if (const auto colon = h.find(':'); colon != std::string_view::npos) {
        host_len = colon;
    }
    if (host_len > 0 && h[host_len - 1] == '.') --host_len;
    return host_len > 0;
}

struct ConnectionTokens {
    bool close = false;
    bool keep_alive = false;
};

void read_connection(std::string_view value, ConnectionTokens& tokens) noexcept {
    while (!value.empty()) {
        const auto comma = value.find(',');
        const std::string_view token = trim_ows(value.substr(0, comma));
        if (equals_nocase(token, "close")) tokens.close = true;
        if (equals_nocase(token, "keep-alive")) tokens.keep_alive = true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
}

enum class State : std::uint8_t {
    before_method,  // empty lines before the request line are skipped
    method,
    before_target,
    scheme,
    scheme_slash,
    scheme_slash_slash,
    target,
    before_version,
    version,  // inside "HTTP/1.x", `matched` bytes so far
    after_version,
    after_version_spaces,
    line_lf,  // a CR was read: only LF may follow
    header_start,
    end_lf,  // a CR on an empty line: only LF may follow, and ends the head
    header_name,
    before_value,
    value,
};

constexpr std::string_view kVersionPrefix = "HTTP/1.";

class Parser {
public:
    explicit Parser(std::string_view in) noexcept : in_(in) {}

    HttpHead run() noexcept {
        const std::size_t limit = std::min(in_.size(), kMaxRequestHead);
        for (pos_ = 0; pos_ < limit; ++pos_) {
            if (!step(in_[pos_])) return head_;
        }
        // No end of head in the bytes looked at: more may come, unless the limit is reached.
        if (in_.size() >= kMaxRequestHead) {
            fail(HttpHeadError::too_long);
            return head_;
        }
        return HttpHead{};  // need_more, with none of the fields read so far
    }

private:
    // One byte; false once the head is decided (complete or bad).
    bool step(char c) noexcept {
        switch (state_) {
            case State::before_method:
                if (c == kCR || c == kLF) return true;  // nginx skips CR and LF here alike
                if (!is_method_char(c)) return fail(HttpHeadError::method);
                mark_ = pos_;
                state_ = State::method;
                return true;
            case State::method:
                if (c == ' ') {
                    head_.method = in_.substr(mark_, pos_ - mark_);
                    state_ = State::before_target;
                    return true;
                }
                return is_method_char(c) || fail(HttpHeadError::method);
            case State::before_target:
                if (c == ' ') return true;
                mark_ = pos_;
                if (c == '/') {
                    state_ = State::target;
                    return true;
                }
                if (is_letter(c)) {
                    state_ = State::scheme;
                    return true;
                }
                return fail(HttpHeadError::target);
            case State::scheme:
                if (c == ':') {
                    state_ = State::scheme_slash;
                    return true;
                }
                return is_scheme_char(c) || fail(HttpHeadError::target);
            case State::scheme_slash:
                state_ = State::scheme_slash_slash;
                return c == '/' || fail(HttpHeadError::target);
            case State::scheme_slash_slash:
                state_ = State::target;
                return c == '/' || fail(HttpHeadError::target);
            case State::target:
                if (c == ' ') {
                    head_.target = in_.substr(mark_, pos_ - mark_);
                    state_ = State::before_version;
                    return true;
                }
                // A line end right after the target is HTTP/0.9: no version.
                if (c == kCR || c == kLF) return fail(HttpHeadError::version);
                return !is_control(c) || fail(HttpHeadError::target);
            case State::before_version:
                if (c == ' ') return true;
                state_ = State::version;
                matched_ = 0;
                [[fallthrough]];
            case State::version:
                if (matched_ < kVersionPrefix.size()) {
                    if (c != kVersionPrefix[matched_]) return fail(HttpHeadError::version);
                    ++matched_;
                    return true;
                }
                if (c != '0' && c != '1') return fail(HttpHeadError::version);
                version_ = c == '0' ? HttpVersion::http_1_0 : HttpVersion::http_1_1;
                state_ = State::after_version;
                return true;
            case State::after_version:
                if (c >= '0' && c <= '9') return fail(HttpHeadError::version);  // "HTTP/1.10"
                [[fallthrough]];
            case State::after_version_spaces:
                if (c == ' ') {
                    state_ = State::after_version_spaces;
                    return true;
                }
                return line_end(c);
            case State::line_lf:
                if (c != kLF) return fail(HttpHeadError::line_end);
                state_ = State::header_start;
                return true;
            case State::header_start:
                if (c == kCR) {
                    state_ = State::end_lf;
                    return true;
                }
                if (c == kLF) return finish();
                if (is_ows(c)) return fail(HttpHeadError::obs_fold);
                if (c == ':' || is_control(c)) return fail(HttpHeadError::header_name);
                mark_ = pos_;
                state_ = State::header_name;
                return true;
            case State::end_lf:
                return c == kLF ? finish() : fail(HttpHeadError::line_end);
            case State::header_name:
                if (c == ':') {
                    name_ = in_.substr(mark_, pos_ - mark_);
                    value_start_ = value_end_ = pos_ + 1;
                    state_ = State::before_value;
                    return true;
                }
                // A space, a control, or the line's end before any colon.
                return (c != ' ' && !is_control(c)) || fail(HttpHeadError::header_name);
            case State::before_value:
                if (is_ows(c)) {
                    value_start_ = value_end_ = pos_ + 1;
                    return true;
                }
                state_ = State::value;
                [[fallthrough]];
            case State::value:
                if (c == '\0') return fail(HttpHeadError::header_value);
                if (c == kCR || c == kLF) return end_header() && line_end(c);
                if (!is_ows(c)) value_end_ = pos_ + 1;
                return true;
        }
        return fail(HttpHeadError::line_end);  // unreachable: every state returns above
    }

    // A CR or LF ending the request line or a header line; anything else there is refused.
    bool line_end(char c) noexcept {
        if (c == kCR) {
            state_ = State::line_lf;
            return true;
        }
        if (c == kLF) {
            state_ = State::header_start;
            return true;
        }
        return fail(HttpHeadError::line_end);
    }

    // The header line name_: value is complete; only Host and Connection matter.
    bool end_header() noexcept {
        const std::string_view value = in_.substr(value_start_, value_end_ - value_start_);
        if (equals_nocase(name_, "host")) {
            if (host_seen_) return fail(HttpHeadError::host_duplicate);
            if (!valid_host(value)) return fail(HttpHeadError::host_invalid);
            host_seen_ = true;
            head_.host = value;
        } else if (equals_nocase(name_, "connection")) {
            read_connection(value, connection_);
        }
        return true;
    }

    // The empty line's LF: the head ends here.
    bool finish() noexcept {
        if (version_ == HttpVersion::http_1_1 && !host_seen_) return fail(HttpHeadError::host_missing);
        head_.status = HttpHeadStatus::complete;
        head_.version = version_;
        head_.keep_alive =
            !connection_.close && (version_ == HttpVersion::http_1_1 || connection_.keep_alive);
        head_.head_length = pos_ + 1;
        return false;
    }

    bool fail(HttpHeadError why) noexcept {
        head_ = HttpHead{};
        head_.status = HttpHeadStatus::bad;
        head_.error = why;
        return false;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    State state_ = State::before_method;
    HttpHead head_;
    std::size_t mark_ = 0;  // where the method, target or header name being read began
    std::size_t matched_ = 0;
    HttpVersion version_ = HttpVersion::none;
    std::string_view name_;
    std::size_t value_start_ = 0;
    std::size_t value_end_ = 0;  // one past the last non-OWS byte of the value so far
    bool host_seen_ = false;
    ConnectionTokens connection_;
};

}  // namespace

HttpHead parse_request_head(std::span<const std::byte> input) noexcept {
    // Bytes and chars have the same representation; the views handed out point into `input`.
    const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
    return Parser(text).run();
}

}  // namespace porthop::wire
