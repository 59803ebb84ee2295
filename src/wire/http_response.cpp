// The built-in site's answers. Every rule mirrors a step of nginx 1.22's request handling, in
// nginx's order (request line and URI, then header checks, then the ssl-port check, then the
// location's try_files and content handlers), because the order decides which error a request
// with two faults gets. tests/vectors/http/ is the reference for every byte.
#include "porthop/wire/http_response.hpp"

#include <optional>
#include <vector>

#include "http_fields.hpp"

namespace porthop::wire {

// Named, not anonymous: the wire sources are built as one unity translation unit, where
// http_head.cpp's anonymous helpers (is_letter, valid_host) would meet these.
namespace http_response_detail {

using Clock = std::chrono::system_clock;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// -1 for a byte that is not a hex digit.
int hex_digit(char c) noexcept {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// nginx's request-line states for an absolute URI's host (sw_host, sw_host_ip_literal).
bool is_host_char(char c) noexcept { return is_letter(c) || is_digit(c) || c == '.' || c == '-'; }
bool is_ip_literal_char(char c) noexcept {
    return is_letter(c) || is_digit(c) ||
           std::string_view(":-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// ngx_http_validate_host, for the bytes the host states let through: no "..", and something
// left once one trailing dot is dropped.
bool valid_host(std::string_view host) noexcept {
    if (host.find("..") != std::string_view::npos) return false;
    if (host.ends_with('.')) host.remove_suffix(1);
    return !host.empty();
}

// The origin-form part of a request target: the target itself if it starts with "/"; for an
// absolute URI (parse_request_head checked "scheme://"), what follows its authority, or "/" if
// that is empty or a query. nullopt if nginx refuses the authority (400).
std::optional<std::string_view> origin_form(std::string_view target) noexcept {
    if (target.starts_with('/')) return target;
    const auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return std::nullopt;
    const std::string_view rest = target.substr(scheme_end + 3);
    std::size_t i = 0;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        for (std::size_t k = 1; k < close; ++k)
            if (!is_ip_literal_char(rest[k])) return std::nullopt;
        i = close + 1;
    } else {
        while (i < rest.size() && is_host_char(rest[i])) ++i;
    }
    if (!valid_host(rest.substr(0, i))) return std::nullopt;
    if (i < rest.size() && rest[i] == ':') {
        ++i;
        while (i < rest.size() && is_digit(rest[i])) ++i;
    }
    if (i == rest.size() || rest[i] == '?') return std::string_view("/");
    if (rest[i] == '/') return rest.substr(i);
    return std::nullopt;  // any other byte after the host or port ("@", a letter in the port)
}

enum class Resource : std::uint8_t { page, missing, refused };

// nginx's ngx_http_parse_complex_uri with merge_slashes on, then the lookup in a root that holds
// index.html alone: the query and fragment are cut off, escapes decoded (a bad one or %00 is
// refused), empty and "." segments dropped, ".." removes the segment before it (above the root:
// refused). An escaped "?", "#" or "%" stays a plain byte of the path, as in nginx, which is what
// decoding after the cut gives. A trailing slash stays, so "/index.html/" is a missing directory.
Resource resolve(std::string_view target) {
    const auto origin = origin_form(target);
    if (!origin) return Resource::refused;
    std::string_view raw = origin->substr(0, origin->find_first_of("?#"));

    std::string path;
    path.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '%') {
            path += raw[i];
            continue;
        }
        const int hi = i + 1 < raw.size() ? hex_digit(raw[i + 1]) : -1;
        const int lo = i + 2 < raw.size() ? hex_digit(raw[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return Resource::refused;
        path += static_cast<char>(hi * 16 + lo);
        i += 2;
    }

    std::vector<std::string_view> segments;
    bool trailing_slash = false;
    std::string_view rest(path);
    rest.remove_prefix(1);  // the leading "/"
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        const bool last = slash == std::string_view::npos;
        if (segment == "..") {
            if (segments.empty()) return Resource::refused;
            segments.pop_back();
        } else if (!segment.empty() && segment != ".") {
            segments.push_back(segment);
        }
        if (last) {
            // "/a/", "/a/." and "/a/b/.." all name the directory a.
            trailing_slash = segment.empty() || segment == "." || segment == "..";
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    if (segments.empty()) return Resource::page;  // "/": the index module serves index.html
    if (segments.size() == 1 && segments[0] == "index.html" && !trailing_slash) return Resource::page;
    return Resource::missing;
}

// The error pages nginx builds in (ngx_http_error_pages), with server_tokens on.
struct ErrorPage {
    std::uint16_t status;
    std::string_view reason;  // the status line's and the <h1>'s
    std::string_view detail;  // an extra line, and then the <title> (400 variants); or empty
};

constexpr ErrorPage kBadRequest{400, "Bad Request", ""};
constexpr ErrorPage kHeaderTooLarge{400, "Bad Request", "Request Header Or Cookie Too Large"};
constexpr ErrorPage kPlainHttpOnTls{400, "Bad Request", "The plain HTTP request was sent to HTTPS port"};
constexpr ErrorPage kNotFound{404, "Not Found", ""};
constexpr ErrorPage kNotAllowed{405, "Not Allowed", ""};
constexpr ErrorPage kPreconditionFailed{412, "Precondition Failed", ""};
constexpr ErrorPage kUriTooLarge{414, "Request-URI Too Large", ""};
constexpr ErrorPage kVersionNotSupported{505, "HTTP Version Not Supported", ""};

void append_status_and_date(std::string& out, std::uint16_t status, std::string_view reason,
                            Clock::time_point now) {
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason;
    out += "\r\nServer: ";
    out += kNginxServer;
    out += "\r\nDate: ";
    out += format_http_date(now);
    out += "\r\n";
}

HttpResponse error_answer(const ErrorPage& page, bool header_only, bool close, Clock::time_point now) {
    const std::string code = std::to_string(page.status);
    std::string body = "<html>\r\n<head><title>";
    body += code;
    body += ' ';
    body += page.detail.empty() ? page.reason : page.detail;
    body += "</title></head>\r\n<body>\r\n<center><h1>";
    body += code;
    body += ' ';
    body += page.reason;
    body += "</h1></center>\r\n";
    if (!page.detail.empty()) {
        body += "<center>";
        body += page.detail;
        body += "</center>\r\n";
    }
    body += "<hr><center>";
    body += kNginxServer;
    body += "</center>\r\n</body>\r\n</html>\r\n";

    HttpResponse r{page.status, close, {}};
    append_status_and_date(r.bytes, page.status, page.reason, now);
    r.bytes += "Content-Type: text/html\r\nContent-Length: ";
    r.bytes += std::to_string(body.size());
    r.bytes += close ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n";
    if (!header_only) r.bytes += body;
    return r;
}

std::string hex(std::uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    do {
        s.insert(s.begin(), kDigits[v % 16]);
        v /= 16;
    } while (v != 0);
    return s;
}

std::int64_t modified_seconds(const SitePage& page) {
    return std::chrono::floor<std::chrono::seconds>(page.modified).time_since_epoch().count();
}

// nginx's ETag for a file: its mtime and size in hex, quoted.
std::string etag_of(const SitePage& page) {
    return '"' + hex(static_cast<std::uint64_t>(modified_seconds(page))) + '-' + hex(page.body.size()) + '"';
}

std::string last_modified(const SitePage& page) {
    return format_http_date(Clock::time_point(std::chrono::seconds(modified_seconds(page))));
}

// ngx_http_static_handler's answer, with the header order of ngx_http_header_filter.
HttpResponse page_answer(const SitePage& page, bool header_only, bool keep_alive, Clock::time_point now) {
    HttpResponse r{200, !keep_alive, {}};
    append_status_and_date(r.bytes, 200, "OK", now);
    r.bytes += "Content-Type: text/html\r\nContent-Length: ";
    r.bytes += std::to_string(page.body.size());
    r.bytes += "\r\nLast-Modified: ";
    r.bytes += last_modified(page);
    r.bytes += keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close";
    r.bytes += "\r\nETag: ";
    r.bytes += etag_of(page);
    r.bytes += "\r\nAccept-Ranges: bytes\r\n\r\n";
    if (!header_only) r.bytes += page.body;
    return r;
}

// The not_modified filter's 304: the 200's headers without Content-Type, Content-Length and
// Accept-Ranges, and no body.
HttpResponse not_modified_answer(const SitePage& page, bool keep_alive, Clock::time_point now) {
    HttpResponse r{304, !keep_alive, {}};
    append_status_and_date(r.bytes, 304, "Not Modified", now);
    r.bytes += "Last-Modified: ";
    r.bytes += last_modified(page);
    r.bytes += keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close";
    r.bytes += "\r\nETag: ";
    r.bytes += etag_of(page);
    r.bytes += "\r\n\r\n";
    return r;
}

std::string_view as_chars(std::span<const std::byte> input) noexcept {
    return {reinterpret_cast<const char*>(input.data()), input.size()};
}

// The request line as nginx keeps it: after the empty lines it skips.
std::string_view request_line_start(std::span<const std::byte> input) noexcept {
    std::string_view s = as_chars(input);
    const auto start = s.find_first_not_of("\r\n");
    return start == std::string_view::npos ? std::string_view{} : s.substr(start);
}

// nginx refuses a major version above 1 with 505 at the digit that makes it so: a first digit
// 2-9, or a second digit after "1" ("HTTP/10."). A first digit 0 is a 400. So when the parser
// refused the version, the version token's first two bytes tell 505 from 400.
bool version_not_supported(std::string_view line) noexcept {
    line = line.substr(0, line.find('\n'));
    for (int token = 0; token < 2; ++token) {  // past the method and the target, and their spaces
        const auto space = line.find(' ');
        const auto next = space == std::string_view::npos ? space : line.find_first_not_of(' ', space);
        if (next == std::string_view::npos) return false;
        line.remove_prefix(next);
    }
    if (!line.starts_with("HTTP/") || line.size() < 6) return false;
    const char first = line[5];
    if (first >= '2' && first <= '9') return true;
    return first == '1' && line.size() > 6 && is_digit(line[6]);
}

// A bad head. nginx sets the method once it has read it and its space, and a HEAD request gets
// no body from then on, also on an error. Too long: nginx's large_client_header_buffers (4 8k)
// hold a request line of up to 8 KiB with its line end, else 414; a longer head means a header
// line that did not fit: 400 "Request Header Or Cookie Too Large".
HttpResponse bad_head_answer(const HttpHead& head, std::span<const std::byte> input, Clock::time_point now) {
    const std::string_view line = request_line_start(input);
    const bool header_only = line.starts_with("HEAD ");
    if (head.error == HttpHeadError::too_long) {
        const bool line_fits = line.substr(0, kMaxRequestHead).find('\n') != std::string_view::npos;
        return error_answer(line_fits ? kHeaderTooLarge : kUriTooLarge, header_only, true, now);
    }
    if (head.error == HttpHeadError::version && version_not_supported(line))
        return error_answer(kVersionNotSupported, header_only, true, now);
    return error_answer(kBadRequest, header_only, true, now);
}

// What nginx refuses before it looks at the listener or the files: a bad head, a target it
// cannot normalize (both while reading the request line), a field it takes once given twice
// (while reading the headers), TRACE and CONNECT (once the headers are read); and the empty
// answer to a head that needs more bytes. Otherwise no answer, and what the later steps need.
struct Triage {
    std::optional<HttpResponse> answer;
    Resource resource = Resource::missing;
    http_fields::Conditions conditions;
};

Triage answered(HttpResponse r) {
    Triage t;
    t.answer = std::move(r);
    return t;
}

Triage triage(const HttpHead& head, std::span<const std::byte> input, Clock::time_point now) {
    if (head.status == HttpHeadStatus::need_more) return answered(HttpResponse{});
    if (head.status == HttpHeadStatus::bad) return answered(bad_head_answer(head, input, now));
    const bool header_only = head.method == "HEAD";
    Triage t;
    t.resource = resolve(head.target);
    if (t.resource == Resource::refused) return answered(error_answer(kBadRequest, header_only, true, now));
    const auto fields = http_fields::read_fields(input.first(head.head_length));
    if (fields.duplicate) return answered(error_answer(kBadRequest, header_only, true, now));
    if (head.method == "TRACE" || head.method == "CONNECT")
        return answered(error_answer(kNotAllowed, header_only, true, now));
    t.conditions = fields.conditions;
    return t;
}

}  // namespace http_response_detail

// (The using-directives below stay inside the function bodies: at namespace scope they would
// reach the sources after this one in the unity translation unit.)

std::string format_http_date(std::chrono::system_clock::time_point t) {
    static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
    const auto day = std::chrono::floor<std::chrono::days>(seconds);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss hms{seconds - day};
    const auto two = [](long v) { return std::string(v < 10 ? "0" : "") + std::to_string(v); };
    std::string s;
    s += kDays[std::chrono::weekday{day}.c_encoding()];
    s += ", ";
    s += two(static_cast<unsigned>(ymd.day()));
    s += ' ';
    s += kMonths[static_cast<unsigned>(ymd.month()) - 1];
    s += ' ';
    s += std::to_string(static_cast<int>(ymd.year()));
    s += ' ';
    s += two(hms.hours().count());
    s += ':';
    s += two(hms.minutes().count());
    s += ':';
    s += two(hms.seconds().count());
    s += " GMT";
    return s;
}

HttpResponse builtin_site_response(const HttpHead& head, std::span<const std::byte> input,
                                   const SitePage& page, std::chrono::system_clock::time_point now) {
    using namespace http_response_detail;
    auto t = triage(head, input, now);
    if (t.answer) return std::move(*t.answer);
    const bool header_only = head.method == "HEAD";
    // try_files $uri $uri/ =404 comes before the content handlers, so a missing path is 404
    // for every method; the page itself is GET and HEAD only (ngx_http_static_handler).
    if (t.resource == Resource::missing) return error_answer(kNotFound, header_only, !head.keep_alive, now);
    if (head.method != "GET" && head.method != "HEAD")
        return error_answer(kNotAllowed, header_only, !head.keep_alive, now);
    switch (http_fields::evaluate(t.conditions, etag_of(page), modified_seconds(page))) {
        case http_fields::Precondition::serve:
            break;
        case http_fields::Precondition::not_modified:
            return not_modified_answer(page, head.keep_alive, now);
        case http_fields::Precondition::failed: {
            // nginx's 412 page says keep-alive (or close) as the request asked, and then the
            // connection is closed all the same (the filter finalizes the request as an error).
            auto r = error_answer(kPreconditionFailed, header_only, !head.keep_alive, now);
            r.close = true;
            return r;
        }
    }
    return page_answer(page, header_only, head.keep_alive, now);
}

HttpResponse plain_http_on_tls_port(const HttpHead& head, std::span<const std::byte> input,
                                    std::chrono::system_clock::time_point now) {
    using namespace http_response_detail;
    auto t = triage(head, input, now);
    if (t.answer) return std::move(*t.answer);
    return error_answer(kPlainHttpOnTls, head.method == "HEAD", true, now);
}

}  // namespace porthop::wire
