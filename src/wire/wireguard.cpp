#include "porthop/wire/wireguard.hpp"

namespace porthop::wire::wg {

namespace {

// Callers have checked the length; these never read past the span.
std::uint32_t load_u32le(std::span<const std::byte> bytes, std::size_t at) noexcept {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) value |= std::to_integer<std::uint32_t>(bytes[at + i]) << (8 * i);
    return value;
}

std::uint64_t load_u64le(std::span<const std::byte> bytes, std::size_t at) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= std::to_integer<std::uint64_t>(bytes[at + i]) << (8 * i);
    return value;
}

constexpr Packet kInvalid{};

}  // namespace

Packet classify(std::span<const std::byte> datagram) noexcept {
    // The smallest message (keepalive) is 32 bytes; this also makes the header reads safe.
    if (datagram.size() < kKeepaliveSize) return kInvalid;
    // WireGuard reads the type as a little-endian u32, so a non-zero "reserved" byte makes an
    // unknown type, not a type 1-4 message with junk in it.
    if (datagram[1] != std::byte{0} || datagram[2] != std::byte{0} || datagram[3] != std::byte{0})
        return kInvalid;

    switch (std::to_integer<std::uint8_t>(datagram[0])) {
        case 1:
            if (datagram.size() != kInitiationSize) return kInvalid;
            return {Kind::initiation, load_u32le(datagram, 4), 0, 0};
        case 2:
            if (datagram.size() != kResponseSize) return kInvalid;
            return {Kind::response, load_u32le(datagram, 4), load_u32le(datagram, 8), 0};
        case 3:
            if (datagram.size() != kCookieReplySize) return kInvalid;
            return {Kind::cookie_reply, 0, load_u32le(datagram, 4), 0};
        case 4: {
            const std::uint64_t counter = load_u64le(datagram, 8);
            if (counter >= kRejectAfterMessages) return kInvalid;
            return {Kind::transport, 0, load_u32le(datagram, 4), counter};
        }
        default:
            return kInvalid;
    }
}

bool is_keepalive(std::span<const std::byte> datagram) noexcept {
    return datagram.size() == kKeepaliveSize && classify(datagram).kind == Kind::transport;
}

std::optional<MacLayout> mac_layout(Kind kind) noexcept {
    switch (kind) {
        case Kind::initiation:
            return kInitiationMacs;
        case Kind::response:
            return kResponseMacs;
        default:
            return std::nullopt;
    }
}

}  // namespace porthop::wire::wg
