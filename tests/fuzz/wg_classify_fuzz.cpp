// libFuzzer target: wire::wg::classify, is_keepalive, mac_layout on arbitrary datagrams.
// Besides "no crash, no UB", checks the contract: a result is either invalid with every
// field zero, or a kind whose size and header rules the input really satisfies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "porthop/wire/wireguard.hpp"

namespace wg = porthop::wire::wg;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

std::uint32_t u32le(std::span<const std::byte> b, std::size_t at) {
    return std::to_integer<std::uint32_t>(b[at]) | std::to_integer<std::uint32_t>(b[at + 1]) << 8 |
           std::to_integer<std::uint32_t>(b[at + 2]) << 16 | std::to_integer<std::uint32_t>(b[at + 3]) << 24;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    const auto p = wg::classify(in);
    const bool keepalive = wg::is_keepalive(in);
    const auto layout = wg::mac_layout(p.kind);

    if (p.kind == wg::Kind::invalid) {
        check(p.sender == 0 && p.receiver == 0 && p.counter == 0);
        check(!keepalive && !layout);
        return 0;
    }
    check(size >= wg::kKeepaliveSize);
    check(in[1] == std::byte{0} && in[2] == std::byte{0} && in[3] == std::byte{0});
    const auto type = std::to_integer<int>(in[0]);
    switch (p.kind) {
        case wg::Kind::initiation:
            check(type == 1 && size == wg::kInitiationSize && p.sender == u32le(in, 4));
            check(p.receiver == 0 && p.counter == 0 && layout && layout->mac2 + wg::kMacSize == size);
            break;
        case wg::Kind::response:
            check(type == 2 && size == wg::kResponseSize && p.sender == u32le(in, 4) &&
                  p.receiver == u32le(in, 8));
            check(p.counter == 0 && layout && layout->mac2 + wg::kMacSize == size);
            break;
        case wg::Kind::cookie_reply:
            check(type == 3 && size == wg::kCookieReplySize && p.receiver == u32le(in, 4));
            check(p.sender == 0 && p.counter == 0 && !layout);
            break;
        case wg::Kind::transport:
            check(type == 4 && p.receiver == u32le(in, 4) && p.sender == 0 && !layout);
            check(p.counter < wg::kRejectAfterMessages);
            check(keepalive == (size == wg::kKeepaliveSize));
            break;
        case wg::Kind::invalid:
            break;
    }
    check(!keepalive || p.kind == wg::Kind::transport);
    return 0;
}
