#include "porthop/wire/protocol.hpp"

namespace porthop::wire {

const char* to_string(Protocol protocol) noexcept {
    switch (protocol) {
        case Protocol::wireguard:
            return "wireguard";
        case Protocol::openvpn:
            return "openvpn";
        case Protocol::any:
            break;
    }
    return "any";
}

std::optional<Protocol> parse_protocol(std::string_view text) noexcept {
    if (text == "any") return Protocol::any;
    if (text == "wireguard") return Protocol::wireguard;
    if (text == "openvpn") return Protocol::openvpn;
    return std::nullopt;
}

Native classify_native(std::span<const std::byte> datagram, Protocol expected) noexcept {
    Native out;
    if (expected != Protocol::openvpn) out.wg = wg::classify(datagram);
    // Disjoint (protocol.hpp): a valid WireGuard message is never an OpenVPN packet.
    if (expected != Protocol::wireguard && !out.is_wireguard()) out.ovpn = ovpn::classify(datagram);
    return out;
}

bool is_handshake(const Native& native) noexcept {
    if (native.wg.kind == wg::Kind::initiation) return true;
    if (native.ovpn.kind != ovpn::Kind::control) return false;
    return native.ovpn.opcode == ovpn::Opcode::control_hard_reset_client_v2 ||
           native.ovpn.opcode == ovpn::Opcode::control_hard_reset_client_v3;
}

}  // namespace porthop::wire
