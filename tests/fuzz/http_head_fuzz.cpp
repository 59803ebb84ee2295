// libFuzzer target: wire::parse_request_head (the built-in decoy site's parser) on arbitrary
// bytes. Checks: no allocation; a complete head lies inside the input and within the bound,
// its views point inside the head, and parsing just the head gives the same head; a verdict
// on a prefix stays for the whole input (bad for the same reason, complete with the same
// head), and every prefix shorter than a complete head is need_more.
// Then the built-in site's answer to the same bytes (wire/http_response; it allocates, so it is
// outside no_alloc): a status nginx gives, a well-formed head whose Connection says what
// `close` says, and a Content-Length that is the body's length (no body for HEAD).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "porthop/wire/http_head.hpp"
#include "porthop/wire/http_response.hpp"

namespace wire = porthop::wire;
using porthop::fuzz::check;
using porthop::fuzz::no_alloc;

namespace {

bool inside(std::string_view v, const std::byte* begin, std::size_t length) {
    const auto* b = reinterpret_cast<const char*>(begin);
    return v.empty() || (v.data() >= b && v.data() + v.size() <= b + length);
}

bool same(const wire::HttpHead& a, const wire::HttpHead& b) {
    return a.status == b.status && a.error == b.error && a.method.data() == b.method.data() &&
           a.method.size() == b.method.size() && a.target.data() == b.target.data() &&
           a.target.size() == b.target.size() && a.version == b.version && a.host.data() == b.host.data() &&
           a.host.size() == b.host.size() && a.keep_alive == b.keep_alive && a.head_length == b.head_length;
}

void check_answer(const wire::HttpResponse& r, const wire::HttpHead& head, bool tls_port) {
    if (head.status == wire::HttpHeadStatus::need_more) {
        check(r.status == 0 && r.bytes.empty() && !r.close);
        return;
    }
    const std::string_view b = r.bytes;
    const auto end = b.find("\r\n\r\n");
    check(end != std::string_view::npos);
    const std::string_view headers = b.substr(0, end + 2);
    const std::string_view body = b.substr(end + 4);
    check(b.starts_with("HTTP/1.1 " + std::to_string(r.status) + " "));
    const bool error = r.status == 400 || r.status == 405 || r.status == 414 || r.status == 505;
    const bool page = r.status == 200 || r.status == 304 || r.status == 404 || r.status == 412;
    check(error || (!tls_port && page));
    check(r.close || r.status == 200 || r.status == 304 || r.status == 404 || r.status == 405);
    // Connection says what `close` says, except on 412, whose header follows the request while
    // nginx closes anyway.
    const bool says_close = headers.find("\r\nConnection: close\r\n") != std::string_view::npos;
    check(says_close != (headers.find("\r\nConnection: keep-alive\r\n") != std::string_view::npos));
    check(r.status == 412 ? r.close : r.close == says_close);
    const auto cl = headers.find("\r\nContent-Length: ");
    check((cl == std::string_view::npos) == (r.status == 304));
    if (r.status == 304) {
        check(body.empty());
        return;
    }
    const std::string_view length = headers.substr(cl + 18, headers.find("\r\n", cl + 18) - cl - 18);
    const bool head_method = head.status == wire::HttpHeadStatus::complete && head.method == "HEAD";
    if (head_method) check(body.empty());
    if (!body.empty()) check(length == std::to_string(body.size()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop::fuzz::install_allocation_hooks();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    const auto whole = no_alloc([&] { return wire::parse_request_head(in); });

    switch (whole.status) {
        case wire::HttpHeadStatus::need_more:
            check(size < wire::kMaxRequestHead && whole.error == wire::HttpHeadError::none);
            check(same(whole, wire::HttpHead{}));
            break;
        case wire::HttpHeadStatus::bad:
            check(whole.error != wire::HttpHeadError::none && whole.head_length == 0 && whole.method.empty());
            break;
        case wire::HttpHeadStatus::complete: {
            const std::size_t n = whole.head_length;
            check(n >= 2 && n <= size && n <= wire::kMaxRequestHead && in[n - 1] == std::byte{'\n'});
            check(whole.error == wire::HttpHeadError::none && whole.version != wire::HttpVersion::none);
            check(!whole.method.empty() && !whole.target.empty());
            check(inside(whole.method, in.data(), n) && inside(whole.target, in.data(), n) &&
                  inside(whole.host, in.data(), n));
            check(same(wire::parse_request_head(in.first(n)), whole));
            check(wire::parse_request_head(in.first(n - 1)).status == wire::HttpHeadStatus::need_more);
            break;
        }
    }
    // A sample of prefixes (all of them would be quadratic): the short ones, where the request
    // line is decided, and a few spread over the input.
    auto check_prefix = [&](std::size_t n) {
        if (n > size) return;
        const auto part = wire::parse_request_head(in.first(n));
        if (part.status != wire::HttpHeadStatus::need_more) check(same(part, whole));
        if (whole.status == wire::HttpHeadStatus::complete && n < whole.head_length)
            check(part.status == wire::HttpHeadStatus::need_more);
    };
    for (std::size_t n = 0; n <= 32; ++n) check_prefix(n);
    for (std::size_t n : {size / 3, size / 2, size == 0 ? 0 : size - 1, wire::kMaxRequestHead - 1, wire::kMaxRequestHead})
        check_prefix(n);

    const wire::SitePage page{"<p>page</p>\n",
                              std::chrono::system_clock::time_point(std::chrono::seconds(1768469400))};
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1796619392));
    check_answer(wire::builtin_site_response(whole, in, page, now), whole, false);
    check_answer(wire::plain_http_on_tls_port(whole, in, now), whole, true);
    return 0;
}
