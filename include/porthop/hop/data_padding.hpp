// How long a hop-link data frame that carries VPN bulk data goes out (docs/PROTOCOL.md,
// "Padding"). Handshakes and control frames have their own rule (uniform 160..1000, in
// hop/frame_codec_v2); these are the two rules for bulk data (WireGuard transport messages,
// OpenVPN P_DATA_V2), the light-mode frames:
//
// - bulk: light padding, 0..kBulkWindow-1 bytes. The number of bytes is a function of the
//   frame's length that is drawn anew for every send burst (BulkBurst), not a fresh draw per
//   frame: datagrams of one length in one burst all come out with one length, so a run of
//   equal-size datagrams stays a run and UDP GSO still sends it as one message
//   (net/offload.hpp, gso_run). Across bursts each length spreads uniformly over the window,
//   so the tunnel's sizes (WireGuard's multiples of 16, one full-size length) stop showing as
//   fixed lengths. Datagrams of different lengths get unrelated paddings (a keyed mix of the
//   length, not a shared grid), so a burst's lengths share no residue either.
// - opening: the first frames of a new flow (hop/flow_padding.hpp), where censors classify,
//   get a random length like a handshake's: uniform on [max(min_total, n), max_total] for a
//   frame of n <= max_total bytes, and on [n, cap] for a longer one.
//
// Both stay within `cap`: at most kPaddedFrameCap (a frame must fit a 1500-byte IPv6 path) and
// what the caller's tail buffer holds (max_datagram); a frame already at or above its cap is
// not padded at all.
//
// Pure: no sockets, no clock, no allocation; the randomness is the caller's StreamRandom.
#pragma once

#include <cstddef>
#include <cstdint>

#include "porthop/crypto/stream_random.hpp"

namespace porthop::hop {

// The longest frame padding may make: 1500 (the usual path MTU) - 40 (IPv6) - 8 (UDP). Padding
// must never be what makes a frame too big for the path; a frame longer than this came from the
// VPN at that size and is sent as it is.
inline constexpr std::size_t kPaddedFrameCap = 1452;

// Bulk frames get 0..kBulkWindow-1 bytes (15.5 on average, about 1 % of a full-size frame):
// enough to spread each of WireGuard's lengths, which are 16 apart, over twice their spacing.
inline constexpr std::size_t kBulkWindow = 32;

// How a bulk data frame is sized (the loops choose, hop::FrameCodec::seal_data).
enum class DataShape : std::uint8_t {
    plain,    // unpadded (FrameCodecV2's default: the v2 vectors)
    bulk,     // light padding by the burst's function of the length
    opening,  // one of the first frames of a flow: a random length, drawn per frame
};

// One send burst's padding function. Drawn per burst (8 bytes of the generator), so that the
// frames of a burst cost no draw for their length, only their padding bytes.
struct BulkBurst {
    std::uint64_t seed = 0;

    static BulkBurst draw(crypto::StreamRandom& random) noexcept;
};

// The total length (salt to the end of the padding) of a bulk frame of `unpadded` bytes:
// unpadded + (a function of burst and unpadded, uniform on [0, w) over bursts), where
// w = min(kBulkWindow, cap - unpadded + 1), so it never exceeds `cap`. unpadded >= cap: unpadded.
std::size_t bulk_total(std::size_t unpadded, std::size_t cap, BulkBurst burst) noexcept;

// The total length of an opening frame of `unpadded` bytes, at most `cap` (see the header
// comment for the range). Always one uniform draw, also when the range is a single length, so
// that the sequence of draws depends only on which frames are opening ones.
std::size_t opening_total(std::size_t unpadded, std::size_t cap, std::size_t min_total, std::size_t max_total,
                          crypto::StreamRandom& random) noexcept;

}  // namespace porthop::hop
