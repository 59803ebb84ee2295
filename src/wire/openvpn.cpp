#include "porthop/wire/openvpn.hpp"

namespace porthop::wire::ovpn {

namespace {

constexpr unsigned kOpcodeShift = 3;
constexpr std::uint8_t kKeyIdMask = 0x07;

constexpr Packet kInvalid{};

}  // namespace

Packet classify(std::span<const std::byte> datagram) noexcept {
    if (datagram.empty()) return kInvalid;
    const auto first = std::to_integer<std::uint8_t>(datagram[0]);
    const auto op = static_cast<std::uint8_t>(first >> kOpcodeShift);
    const auto key_id = static_cast<std::uint8_t>(first & kKeyIdMask);
    const auto opcode = static_cast<Opcode>(op);

    switch (opcode) {
        case Opcode::data_v1:
            if (datagram.size() < kMinDataV1Size) return kInvalid;
            return {Kind::data_v1, opcode, key_id, 0, 0};

        case Opcode::data_v2: {
            if (datagram.size() < kMinDataV2Size) return kInvalid;
            const std::uint32_t peer_id = (std::to_integer<std::uint32_t>(datagram[1]) << 16) |
                                          (std::to_integer<std::uint32_t>(datagram[2]) << 8) |
                                          std::to_integer<std::uint32_t>(datagram[3]);
            return {Kind::data_v2, opcode, key_id, 0, peer_id};
        }

        case Opcode::control_soft_reset_v1:
        case Opcode::control_v1:
        case Opcode::ack_v1:
        case Opcode::control_hard_reset_client_v2:
        case Opcode::control_hard_reset_server_v2:
        case Opcode::control_hard_reset_client_v3:
        case Opcode::control_wkc_v1: {
            const std::size_t minimum = opcode == Opcode::ack_v1 ? kMinAckSize : kMinControlSize;
            if (datagram.size() < minimum) return kInvalid;
            // Opaque bytes; read in wire order so the value prints like the packet's hex.
            std::uint64_t session_id = 0;
            for (std::size_t i = 0; i < kSessionIdSize; ++i)
                session_id = (session_id << 8) | std::to_integer<std::uint64_t>(datagram[1 + i]);
            return {Kind::control, opcode, key_id, session_id, 0};
        }

        // Key-method 1 resets (retired, see the header), 0 and 12-31.
        default:
            return kInvalid;
    }
}

std::string_view opcode_name(Opcode opcode) noexcept {
    switch (opcode) {
        case Opcode::control_hard_reset_client_v1:
            return "P_CONTROL_HARD_RESET_CLIENT_V1";
        case Opcode::control_hard_reset_server_v1:
            return "P_CONTROL_HARD_RESET_SERVER_V1";
        case Opcode::control_soft_reset_v1:
            return "P_CONTROL_SOFT_RESET_V1";
        case Opcode::control_v1:
            return "P_CONTROL_V1";
        case Opcode::ack_v1:
            return "P_ACK_V1";
        case Opcode::data_v1:
            return "P_DATA_V1";
        case Opcode::control_hard_reset_client_v2:
            return "P_CONTROL_HARD_RESET_CLIENT_V2";
        case Opcode::control_hard_reset_server_v2:
            return "P_CONTROL_HARD_RESET_SERVER_V2";
        case Opcode::data_v2:
            return "P_DATA_V2";
        case Opcode::control_hard_reset_client_v3:
            return "P_CONTROL_HARD_RESET_CLIENT_V3";
        case Opcode::control_wkc_v1:
            return "P_CONTROL_WKC_V1";
    }
    return "P_???";
}

}  // namespace porthop::wire::ovpn
