// Stream framing: each datagram on a TCP path is a 16-bit big-endian length followed by the
// datagram. This is OpenVPN's own TCP framing and mullvad udp-over-tcp's, so the relay can
// bridge an unmodified `proto tcp-client` OpenVPN client to a UDP-only server. (A porthop
// agent's records mask the length: net/frame_reader.hpp splits those, with crypto/length_mask.)
//
// Pure functions over byte spans: no allocation, no I/O, safe on any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace porthop::wire {

inline constexpr std::size_t kFrameHeaderSize = 2;
inline constexpr std::size_t kMaxFrameLength = 0xFFFF;

enum class FrameStatus : std::uint8_t {
    complete,   // `payload` is the first frame, `consumed` bytes (header + payload) can be dropped
    need_more,  // the buffer holds a prefix of a frame; read more and call again
    too_large,  // the length field exceeds the allowed maximum: the stream is unusable
    too_short,  // (masked records only) shorter than any frame: a wrong key, or not a record
};

struct FrameSplit {
    FrameStatus status;
    std::span<const std::byte> payload;  // valid only when status == complete
    std::size_t consumed;                // 0 unless status == complete
    bool masked = false;                 // the length was masked (a hop-link record)
};

// Splits the first frame off `buffer`. `max_length` (<= 65535) bounds the payload length a
// peer may announce; a longer announcement is reported before any of its payload arrives,
// so the caller can close the connection without buffering it. A zero-length frame is
// `complete` with an empty payload (the caller decides what an empty datagram means).
FrameSplit split_frame(std::span<const std::byte> buffer, std::size_t max_length) noexcept;

// Writes the 2-byte header for a payload of `length` bytes (length <= 65535) to `out`.
void write_frame_header(std::span<std::byte, kFrameHeaderSize> out, std::uint16_t length) noexcept;

}  // namespace porthop::wire
