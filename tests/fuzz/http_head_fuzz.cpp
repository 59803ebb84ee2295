// libFuzzer target: wire::parse_request_head (the built-in decoy site's parser) on arbitrary
// bytes. Checks: no allocation; a complete head lies inside the input and within the bound,
// its views point inside the head, and parsing just the head gives the same head; a verdict
// on a prefix stays for the whole input (bad for the same reason, complete with the same
// head), and every prefix shorter than a complete head is need_more.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "fuzz_support.hpp"
#include "porthop/wire/http_head.hpp"

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
    return 0;
}
