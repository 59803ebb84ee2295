// The hop link's control body (porthop client <-> porthop server), byte by byte in
// docs/PROTOCOL.md:
//
//   control (50 bytes): type(1) version(1) session_id(8) counter(8) epoch(8) echo(8) tag(16)
//
// Hop link v2 carries it masked inside a frame (hop/frame_codec_v2.hpp), which also says
// whether a frame is control or data; `classify` is what the v2 codec asks of an unmasked
// body. (The `data` type and data_payload() are version 1's data frame, 0x03 then the VPN
// datagram: no longer on the wire, kept with their tests for classify's table.)
//
// This layer only lays the fields out and reads them back; the tag is computed and checked
// by crypto/hop_auth. Pure functions over byte spans: no allocation, safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace porthop::wire::hop {

enum class Type : std::uint8_t {
    attach = 0x01,  // agent -> server: "session S is reachable on this path"; also the keepalive probe
    ack = 0x02,     // server -> agent: answer to one attach (echo = its counter)
    data = 0x03,    // either way, on a path the receiver already knows: a VPN datagram follows
};

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kControlSize = 50;
inline constexpr std::size_t kTagOffset = 34;  // the tag covers bytes [0, 34)
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kDataOverhead = 1;

struct Control {
    Type type = Type::attach;
    std::uint64_t session_id = 0;
    std::uint64_t counter = 0;  // per sender and session, starts at 1, never repeats
    std::uint64_t epoch = 0;    // the sender's current schedule epoch
    std::uint64_t echo = 0;     // ack: the counter of the attach it answers; attach: its `issued`
                                // time, the agent's clock in unix ms (replays after a server restart)
    friend bool operator==(const Control&, const Control&) = default;
};

enum class Kind : std::uint8_t {
    control,  // 50 bytes, type attach or ack, version 1: worth checking the tag
    data,     // first byte 0x03 (possibly with an empty payload)
    other,    // anything else: not hop link (empty, unknown type, wrong size or version)
};

// What a frame claims to be, from its size and first two bytes only (nothing is trusted yet).
Kind classify(std::span<const std::byte> frame) noexcept;

// Writes the fields of `c` to out[0, kTagOffset) and zeroes the tag area.
void encode_control(const Control& c, std::span<std::byte, kControlSize> out) noexcept;

// Reads the fields back; nullopt unless classify(frame) == Kind::control.
std::optional<Control> decode_control(std::span<const std::byte> frame) noexcept;

// The VPN datagram inside a data frame (frame must be Kind::data).
inline std::span<const std::byte> data_payload(std::span<const std::byte> frame) noexcept {
    return frame.subspan(kDataOverhead);
}

}  // namespace porthop::wire::hop
