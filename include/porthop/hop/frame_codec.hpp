// The hop link's frame codec: the one place that knows how a hop-link frame looks on the wire
// (docs/PROTOCOL.md). Every loop that receives or sends hop-link frames (the server's UDP and
// TCP ingress, its replies to agents, the agent's paths) goes through it, so a new wire format
// (masking, padding) changes this type and nothing in the loops.
//
// Opening works in place: a format that masks its bytes unmasks them where they lie, and the
// result points into the frame. A format that changes bytes must do so only for a frame it
// accepts as hop link, because on a shared port the same datagram may be a native client's
// and go to the backend untouched.
//
// Sealing a data frame never moves the datagram: the header goes into separate storage (a
// SendItem's head, a stream queue's frame header) and the datagram is sealed where it is.
//
// Pure: no sockets, no clock, no allocation. One codec per event loop (it holds the keys).
#pragma once

#include <cstddef>
#include <span>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::hop {

class FrameCodec {
public:
    // The longest header seal_data writes (a net::SendItem holds at least this much).
    static constexpr std::size_t kMaxHead = 32;
    // The longest control frame seal_control writes.
    static constexpr std::size_t kMaxControl = 64;

    struct Opened {
        wire::hop::Kind kind = wire::hop::Kind::other;
        // control: the control frame, for hop/attach_check; data: the VPN datagram (may be
        // empty); other: empty.
        std::span<std::byte> body;
    };

    explicit FrameCodec(const crypto::HopKeys& keys) noexcept : keys_(keys) {}

    // What `frame` is and what it carries. Safe on any input; nothing is trusted yet (a control
    // frame's tag is checked by hop/attach_check).
    Opened open(std::span<std::byte> frame) const noexcept;

    // Bytes a data frame adds to the datagram it carries (the MTU and max_datagram checks).
    std::size_t data_overhead() const noexcept { return wire::hop::kDataOverhead; }

    // Seals `datagram` as a data frame: writes the header that goes in front of it into `head`
    // and returns its length (the datagram may be changed in place by formats that mask it).
    std::size_t seal_data(std::span<std::byte, kMaxHead> head, std::span<std::byte> datagram) const noexcept;

    // Writes the control frame for `c`, authenticated, into `out`; returns the bytes to send.
    std::span<const std::byte> seal_control(const wire::hop::Control& c,
                                            std::span<std::byte, kMaxControl> out) const noexcept;

    const crypto::HopKeys& keys() const noexcept { return keys_; }

private:
    crypto::HopKeys keys_;
};

}  // namespace porthop::hop
