// WireGuard message classification: which of the four messages a datagram is, and the
// indices and counter the relay uses to find a session again when a client's address or
// relay port changes (DESIGN.md, "Server session model").
//
// The wire format (WireGuard whitepaper section 5.4; wireguard-go device/noise-protocol.go;
// Linux drivers/net/wireguard/messages.h). All integers are little-endian. Every message
// starts with a u32 type, i.e. a type byte followed by three reserved zero bytes:
//
//   1 initiation    148 bytes  type sender ephemeral[32] static[32+16] timestamp[12+16] mac1 mac2
//   2 response       92 bytes  type sender receiver ephemeral[32] empty[0+16] mac1 mac2
//   3 cookie reply   64 bytes  type receiver nonce[24] cookie[16+16]
//   4 transport   >= 32 bytes  type receiver counter[u64] encrypted payload + 16-byte tag
//
// Pure functions over byte spans: no allocation, no I/O, safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace porthop::wire::wg {

inline constexpr std::size_t kInitiationSize = 148;
inline constexpr std::size_t kResponseSize = 92;
inline constexpr std::size_t kCookieReplySize = 64;
inline constexpr std::size_t kTransportHeaderSize = 16;  // type, receiver, counter
inline constexpr std::size_t kTagSize = 16;              // Poly1305
// A keepalive is a transport message with an empty payload: header + tag.
inline constexpr std::size_t kKeepaliveSize = kTransportHeaderSize + kTagSize;
inline constexpr std::size_t kMacSize = 16;

// WireGuard never accepts a transport counter at or above this (2^64 - 2^13 - 1: the sliding
// replay window must not wrap; wireguard-go RejectAfterMessages, Linux REJECT_AFTER_MESSAGES).
inline constexpr std::uint64_t kRejectAfterMessages = ~std::uint64_t{0} - (std::uint64_t{1} << 13);

enum class Kind : std::uint8_t {
    invalid,       // not a WireGuard message (wrong type, non-zero reserved bytes, wrong size)
    initiation,    // type 1
    response,      // type 2
    cookie_reply,  // type 3
    transport,     // type 4 (data or keepalive)
};

struct Packet {
    Kind kind = Kind::invalid;
    std::uint32_t sender = 0;    // initiation, response: the index the sender wants to be called by
    std::uint32_t receiver = 0;  // response, cookie reply, transport: the recipient's index
    std::uint64_t counter = 0;   // transport only: the nonce counter (strictly increasing per key)
};

// Classifies one datagram. Sizes are exact for types 1-3, as WireGuard itself checks them
// (wireguard-go device/receive.go, Linux receive.c validate_header_len). For transport data
// the only size rule is >= 32 bytes: the sender pads the plaintext to a multiple of 16 but
// never beyond the tunnel MTU (wireguard-go calculatePaddingSize, Linux
// calculate_skb_padding), so with the usual MTU 1420 a full-size packet is 1452 bytes, and
// (length - 32) % 16 == 12. A multiple-of-16 rule would drop exactly the full-size packets;
// tests/fixtures/wg_transport_full_mtu.hex is such a packet captured from wireguard-go.
// A transport counter WireGuard would reject (>= kRejectAfterMessages) is invalid too.
Packet classify(std::span<const std::byte> datagram) noexcept;

// True for a valid transport message with an empty payload (WireGuard's keepalive).
bool is_keepalive(std::span<const std::byte> datagram) noexcept;

// Where mac1 and mac2 sit in a handshake message. mac1 covers every byte before it
// (message[0, mac1)); mac2 covers every byte before mac2, mac1 included, and is all zeros
// unless the sender holds a cookie from a cookie reply.
struct MacLayout {
    std::size_t mac1;
    std::size_t mac2;
};
inline constexpr MacLayout kInitiationMacs{kInitiationSize - 2 * kMacSize,
                                           kInitiationSize - kMacSize};                            // 116, 132
inline constexpr MacLayout kResponseMacs{kResponseSize - 2 * kMacSize, kResponseSize - kMacSize};  // 60, 76

// The layout for initiations and responses; nullopt for every other kind (no macs).
std::optional<MacLayout> mac_layout(Kind kind) noexcept;

}  // namespace porthop::wire::wg
