// Which VPN protocol a native datagram (or TCP frame) belongs to, for listeners told what they
// carry (issue 5: `[server] protocol`). WireGuard and OpenVPN can be told apart from one
// datagram: a WireGuard message starts with a type 1-4 and three zero bytes, and a first byte
// of 1-4 is OpenVPN opcode 0, which does not exist (wire/openvpn.hpp). So at most one of the
// two classifiers accepts a datagram, and "any" means: whatever either accepts, or neither.
//
// Pure functions over byte spans: no allocation, no I/O, safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "porthop/wire/openvpn.hpp"
#include "porthop/wire/wireguard.hpp"

namespace porthop::wire {

enum class Protocol : std::uint8_t {
    any,        // forward what comes (the default: a blind relay, as before issue 5)
    wireguard,  // only datagrams wg::classify accepts
    openvpn,    // only datagrams ovpn::classify accepts
};

const char* to_string(Protocol protocol) noexcept;
// "any", "wireguard", "openvpn" (exactly; lower case).
std::optional<Protocol> parse_protocol(std::string_view text) noexcept;

// Both classifications of one datagram. At most one of them is valid (see above).
struct Native {
    wg::Packet wg;
    ovpn::Packet ovpn;
    bool is_wireguard() const noexcept { return wg.kind != wg::Kind::invalid; }
    bool is_openvpn() const noexcept { return ovpn.kind != ovpn::Kind::invalid; }
};

// Classifies with both; on a listener that carries `expected`, only that classifier runs (the
// other answer stays invalid): the hot path pays for one classifier, not two.
Native classify_native(std::span<const std::byte> datagram, Protocol expected) noexcept;

// Whether a listener that carries `expected` may forward a CLIENT's datagram classified as
// `native`. On an OpenVPN listener that excludes the one opcode only a server sends,
// P_CONTROL_HARD_RESET_SERVER_V2: its first byte is 0x40-0x47, so "GET ..." (0x47, the first
// byte of every HTTP probe) would otherwise pass as OpenVPN.
inline bool carries(Protocol expected, const Native& native) noexcept {
    switch (expected) {
        case Protocol::wireguard:
            return native.is_wireguard();
        case Protocol::openvpn:
            return native.is_openvpn() && native.ovpn.opcode != ovpn::Opcode::control_hard_reset_server_v2;
        case Protocol::any:
            break;
    }
    return true;
}

// A message that starts a handshake, which the relay rate-limits per source: a WireGuard
// initiation, an OpenVPN P_CONTROL_HARD_RESET_CLIENT_V2/V3.
bool is_handshake(const Native& native) noexcept;

}  // namespace porthop::wire
