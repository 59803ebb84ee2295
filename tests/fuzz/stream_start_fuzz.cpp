// libFuzzer target: wire::sniff_stream_start on arbitrary first bytes of a TCP stream.
// Checks: no allocation; every prefix's answer is need_more or the whole input's answer (an
// answer, once given, stays); kStreamStartDecisive bytes always decide; and the answer for
// the whole input equals a plain reading of the spec written here once more, by prefixes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "fuzz_support.hpp"
#include "porthop/wire/stream_start.hpp"

namespace wire = porthop::wire;
using porthop::fuzz::check;
using porthop::fuzz::no_alloc;

namespace {

// The spec, for an input long enough to decide (>= kStreamStartDecisive bytes).
wire::StreamStart reference(std::span<const std::byte> in) {
    auto at = [&](std::size_t i) { return std::to_integer<unsigned>(in[i]); };
    if (at(0) == 0x16 && at(1) == 0x03 && at(2) <= 0x04) {
        const unsigned length = at(3) << 8 | at(4);
        if (length >= 1 && length <= 16384 + 256) return wire::StreamStart::tls_handshake;
    }
    for (std::string_view start : {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ",
                                   "TRACE ", "PRI * HTTP/2.0"}) {
        bool same = true;
        for (std::size_t i = 0; i < start.size(); ++i) same = same && at(i) == static_cast<unsigned char>(start[i]);
        if (same) return wire::StreamStart::http_request;
    }
    return wire::StreamStart::other;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop::fuzz::install_allocation_hooks();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    const auto whole = no_alloc([&] { return wire::sniff_stream_start(in); });
    if (size >= wire::kStreamStartDecisive) {
        check(whole != wire::StreamStart::need_more);
        check(whole == reference(in));
    }
    // Only the first kStreamStartDecisive bytes can matter; every prefix up to there.
    for (std::size_t n = 0; n <= size && n <= wire::kStreamStartDecisive; ++n) {
        const auto part = wire::sniff_stream_start(in.first(n));
        check(part == wire::StreamStart::need_more || part == whole);
    }
    if (whole == wire::StreamStart::tls_handshake) check(size >= 4 && in[0] == std::byte{0x16});
    if (whole == wire::StreamStart::http_request) check(size >= 4 && wire::nginx_starts_tls(in[0]) == false);
    return 0;
}
