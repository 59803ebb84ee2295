// The hop link's frame codec: the one place that knows how a hop-link frame looks on the wire
// (docs/PROTOCOL.md). Every loop that receives or sends hop-link frames (the server's UDP and
// TCP ingress, its replies to agents, the agent's paths) goes through it, so the loops never
// see the format.
//
// The format is hop link v2 (hop/frame_codec_v2.hpp: a random salt, a masked header and body,
// random padding on control and handshake frames). This type is what a loop holds: the v2
// codec for its side, and the loop's own random generator for salts and padding (drawing
// changes the generator, so sealing is not const; opening is).
//
// Opening works in place: the frame is unmasked where it lies, and the result points into it.
// A refused frame is left byte for byte as it came; a frame open() accepted but the caller
// decides was not hop link after all (a native client's datagram on a shared port whose random
// bytes passed the header checks: about 1 in 1024 at most) goes back with restore().
//
// Sealing a data frame never moves the datagram: the header goes into separate storage (a
// SendItem's head, a stream queue's frame header), the datagram is masked where it is, and
// padding goes into a tail the caller provides, sent after the datagram.
//
// Padding (docs/PROTOCOL.md, "Padding"): handshake-carrying datagrams get a random length;
// bulk data the light bulk padding of the current send burst (hop/data_padding.hpp), or, for
// the first frames of a flow (the loop asks hop/flow_padding.hpp), a random length too. A loop
// calls begin_burst() before each batch it seals, so that equal datagrams of one batch come out
// equal (GSO) and the next batch gets another padding.
//
// Pure: no sockets, no clock, no allocation. One codec per event loop.
#pragma once

#include <cstddef>
#include <span>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/crypto/stream_random.hpp"
#include "porthop/hop/data_padding.hpp"
#include "porthop/hop/frame_codec_v2.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::hop {

class FrameCodec {
public:
    // The longest header seal_data writes (a net::SendItem holds at least this much).
    static constexpr std::size_t kMaxHead = FrameCodecV2::kMaxHead;
    // The longest control frame seal_control writes.
    static constexpr std::size_t kMaxControl = FrameCodecV2::kMaxControl;
    // A tail this long always holds the padding seal_data wants with the default padding range:
    // handshake and opening frames are padded to at most 1000 bytes (header and datagram take
    // some of them), an opening frame longer than 1000 by less than kPaddedFrameCap - 1000, and
    // a bulk frame by less than kBulkWindow.
    static constexpr std::size_t kMaxTail = 1024;
    static_assert(kPaddedFrameCap - 1000 < kMaxTail && kBulkWindow < kMaxTail);

    using Side = v2::Side;

    struct Opened {
        wire::hop::Kind kind = wire::hop::Kind::other;
        // control: the 50-byte control body, for hop/attach_check; data: the VPN datagram (may
        // be empty); other: empty. Points into the frame.
        std::span<std::byte> body;
        // Flag bit 2: the sender asks for full mode. Not authenticated: heed it only on a
        // control frame whose tag passed (the agent, on an ack).
        bool ask_full = false;
    };

    struct Sealed {
        std::size_t head = 0;  // bytes written to the head
        std::size_t tail = 0;  // bytes of padding written to the tail
    };

    // `random`: the loop's generator (StreamRandom::from_os() in the product, seeded in tests).
    // `sealing`: how much of the bulk data is masked, and whether every frame asks the other
    // end for full mode (the server's: v2::Sealing::asking(its mask setting)).
    FrameCodec(const crypto::HopKeys& keys, Side side, crypto::StreamRandom random,
               v2::Sealing sealing = {}) noexcept;
    FrameCodec(const crypto::HopKeys& keys, Side side, v2::Sealing sealing = {})
        : FrameCodec(keys, side, crypto::StreamRandom::from_os(), sealing) {}

    // What `frame` is and what it carries. Safe on any input; nothing is trusted yet (a control
    // body's tag is checked by hop/attach_check).
    Opened open(std::span<std::byte> frame) const noexcept;

    // Gives a frame open() accepted its received bytes back (see the header comment).
    void restore(std::span<std::byte> frame) const noexcept { v2_.restore(frame); }

    // Bytes a data frame adds to an unpadded datagram (the MTU and max_datagram checks).
    static constexpr std::size_t data_overhead() noexcept { return FrameCodecV2::data_overhead(); }

    // Seals `datagram` as a data frame, to be sent as head || datagram || tail: writes the
    // header into `head`, masks the datagram in place and writes padding into `tail` (never
    // beyond its size: pass kMaxTail bytes, or less where a datagram must stay shorter).
    // `shape`: how bulk data is padded (bulk, or opening for a flow's first frames).
    Sealed seal_data(std::span<std::byte, kMaxHead> head, std::span<std::byte> datagram,
                     std::span<std::byte> tail, DataShape shape = DataShape::bulk) noexcept;

    // A new send burst: bulk frames sealed from now on get another function of their length.
    // Draws 8 bytes; once per batch, not per frame.
    void begin_burst() noexcept { burst_ = BulkBurst::draw(random_); }

    // Writes the control frame for `c`, authenticated and padded, into `out`; returns the bytes
    // to send, at most `at_most` of them when that leaves room for the frame (an ack is never
    // longer than the attach it answers).
    std::span<const std::byte> seal_control(const wire::hop::Control& c,
                                            std::span<std::byte, kMaxControl> out,
                                            std::size_t at_most = kMaxControl) noexcept;

    const crypto::HopKeys& keys() const noexcept { return keys_; }

    // The masks over TCP record lengths: of what this end sends, of what it reads.
    crypto::LengthMask sent_lengths() const noexcept { return v2_.sent_lengths(); }
    crypto::LengthMask read_lengths() const noexcept { return v2_.read_lengths(); }

    // How data frames are sealed from now on (the agent follows what the server's acks ask).
    void set_sealing(v2::Sealing sealing) noexcept { v2_.set_sealing(sealing); }
    v2::Sealing sealing() const noexcept { return v2_.sealing(); }

private:
    crypto::HopKeys keys_;
    FrameCodecV2 v2_;
    crypto::StreamRandom random_;
    BulkBurst burst_;
};

}  // namespace porthop::hop
