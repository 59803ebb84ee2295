// OpenVPN packet classification (UDP, or one TCP frame after split_frame): the opcode and
// key id, and the ids the relay uses to find a session again when a client's address or
// relay port changes (DESIGN.md, "Server session model"): the session id of control packets
// and the peer-id of P_DATA_V2.
//
// The wire format, checked against OpenVPN 2.6's sources (src/openvpn/ssl_pkt.h, ssl_pkt.c,
// ssl.c, mudp.c) and real OpenVPN 2.6 traffic under every wrapping
// (tests/fixtures/ovpn_udp_packets.txt). The first byte is opcode << 3 | key_id. Then:
//
//   control (all but P_DATA_*): session_id[8] of the sender, then
//       plain:     ack_count[1] acked_ids[4*n] (remote_session_id[8] if n > 0) message_id[4]* payload
//       tls-auth:  hmac[16..64] packet_id[8], then as plain
//       tls-crypt: packet_id[8] tag[32] encrypted(as plain)
//       (* P_ACK_V1 has no message_id and no payload; tls-crypt-v2's P_CONTROL_HARD_RESET_CLIENT_V3
//        and P_CONTROL_WKC_V1 append the wrapped client key at the end)
//     so the session id is always at bytes 1..8, whatever the wrapping.
//   P_DATA_V1: payload (cipher-dependent: packet id, tag/HMAC, IV, ciphertext)
//   P_DATA_V2: peer_id[3] (big-endian), then as P_DATA_V1
//
// Pure functions over byte spans: no allocation, no I/O, safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace porthop::wire::ovpn {

// Values and names as in OpenVPN's ssl_pkt.h.
enum class Opcode : std::uint8_t {
    control_hard_reset_client_v1 = 1,   // P_CONTROL_HARD_RESET_CLIENT_V1 (key-method 1: gone, see below)
    control_hard_reset_server_v1 = 2,   // P_CONTROL_HARD_RESET_SERVER_V1 (key-method 1: gone, see below)
    control_soft_reset_v1 = 3,          // P_CONTROL_SOFT_RESET_V1: renegotiation, new key id
    control_v1 = 4,                     // P_CONTROL_V1: TLS records of the control channel
    ack_v1 = 5,                         // P_ACK_V1: acknowledgements only
    data_v1 = 6,                        // P_DATA_V1: data channel, no peer-id
    control_hard_reset_client_v2 = 7,   // P_CONTROL_HARD_RESET_CLIENT_V2: client's first packet
    control_hard_reset_server_v2 = 8,   // P_CONTROL_HARD_RESET_SERVER_V2: server's first packet
    data_v2 = 9,                        // P_DATA_V2: data channel with a 24-bit peer-id
    control_hard_reset_client_v3 = 10,  // P_CONTROL_HARD_RESET_CLIENT_V3: first packet with tls-crypt-v2
    control_wkc_v1 = 11,                // P_CONTROL_WKC_V1: P_CONTROL_V1 + wrapped client key (tls-crypt-v2)
};

enum class Kind : std::uint8_t {
    invalid,  // unknown or retired opcode, or shorter than the minimum below
    control,  // every opcode but the two data ones; `session_id` is set
    data_v1,  // P_DATA_V1
    data_v2,  // P_DATA_V2; `peer_id` is set
};

// A P_DATA_V2 peer-id of 0xFFFFFF means "no peer-id": OpenVPN then finds the client by its
// address, exactly as for P_DATA_V1 (mudp.c, peer_id == MAX_PEER_ID).
inline constexpr std::uint32_t kNoPeerId = 0xFFFFFF;

// Minimum sizes. Each is the smallest packet OpenVPN can send with that opcode under any
// control-channel wrapping, so no real packet is refused, while a truncated header is:
//  - control: opcode + session id + ack count + message id = 14 (plain wrapping; tls-auth and
//    tls-crypt only add bytes). Tight: a plain P_CONTROL_HARD_RESET_CLIENT_V2 is exactly 14
//    bytes. OpenVPN's own first check is only opcode + session id (9 bytes).
//  - P_ACK_V1: opcode + session id + ack count + one acked id + remote session id = 22.
//    OpenVPN sends P_ACK_V1 only with at least one ack (ssl.c: only when the ack list is not
//    empty; its stateless reset reply tls_reset_standalone writes exactly one), and with
//    n > 0 acks the remote session id follows.
//  - data: the header and at least one byte. The rest depends on the cipher (AEAD: packet id
//    + tag; CBC: HMAC + IV + blocks; cipher none: the payload), which the relay does not know.
inline constexpr std::size_t kSessionIdSize = 8;
inline constexpr std::size_t kMinControlSize = 1 + kSessionIdSize + 1 + 4;
inline constexpr std::size_t kMinAckSize = 1 + kSessionIdSize + 1 + 4 + kSessionIdSize;
inline constexpr std::size_t kDataV1HeaderSize = 1;
inline constexpr std::size_t kDataV2HeaderSize = 4;
inline constexpr std::size_t kMinDataV1Size = kDataV1HeaderSize + 1;
inline constexpr std::size_t kMinDataV2Size = kDataV2HeaderSize + 1;

struct Packet {
    Kind kind = Kind::invalid;
    Opcode opcode{};               // meaningful unless kind == invalid
    std::uint8_t key_id = 0;       // 0-7: which data-channel key (0 first, renegotiations 1..7)
    std::uint64_t session_id = 0;  // control only: the sender's session id, bytes 1..8 read big-endian
    std::uint32_t peer_id = 0;     // data_v2 only: 24-bit peer-id (kNoPeerId = none)
};

// Classifies one datagram. Opcodes 1 and 2 (key-method 1) are invalid: OpenVPN dropped
// key-method 1 (2.5) and 2.6 rejects them as unknown opcodes (ssl_pkt.h P_FIRST_OPCODE 3;
// ssl.c "Peer tried unsupported key-method 1"), so no backend the relay fronts accepts them.
// Opcodes 0 and 12-31 are invalid. Session id 0 is not rejected here (OpenVPN refuses it
// in a client's first packet, but that is the backend's call).
Packet classify(std::span<const std::byte> datagram) noexcept;

// "P_CONTROL_V1" etc., for logs; "P_???" for a value that is not an opcode.
std::string_view opcode_name(Opcode opcode) noexcept;

}  // namespace porthop::wire::ovpn
