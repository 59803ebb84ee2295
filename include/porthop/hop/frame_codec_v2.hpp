// Hop link v2's frame codec: the bytes of every frame on the wire (docs/PROTOCOL.md, "Frame
// format (version 2)", with vectors). The loops hold it through hop::FrameCodec, which adds the
// loop's random generator and the send burst:
//
//   frame  = salt (8, random per frame, in clear)
//            || masked: header (3) || body (control: the 50-byte v1 control frame, tag included;
//                                            data: the VPN datagram)
//            || padding (random bytes, not masked)
//   header = flags (bit 0 kind: 1 control / 0 data; bit 1 mode: 1 full / 0 light; bit 2: the
//            sender asks for full mode; bits 3-7 zero) || padding length (u16 big-endian, <= 2047)
//   mask   = crypto::MaskStream(mask subkey, salt, direction): the full mode masks header and
//            body; the light mode the header and the body's first 61 bytes (the first 64-byte
//            keystream block). Control frames are always full.
//
// The sender chooses: a datagram that is VPN bulk data (a WireGuard transport message, an
// OpenVPN P_DATA_V2) goes light, unpadded or with the bulk padding the caller asks for
// (hop/data_padding.hpp); anything else (handshakes, cookie replies,
// OpenVPN control, unknown) goes full and padded like a control frame, to a total length drawn
// uniformly from PaddingRange. v2::Sealing changes how much of the bulk data is masked (the
// server's `mask = "full"`, and the agent once an ack asked for it), never how it is padded.
//
// The mask hides; it does not authenticate. open() reads the header from a copy first and
// changes bytes only of a frame it accepts (the rule of hop/frame_codec.hpp: on a shared port
// a refused datagram may be a native client's). An accepted data frame is not proof of the key:
// random bytes pass the header checks with a probability of 2^-10 times the chance that the
// padding length fits (about 1/1450 for a 1472-byte frame, never more than 1/1024), so the
// agent-or-native decision must rest on the path binding (an attach), as in v1, not on open()
// alone; restore() gives an opened frame its wire bytes back if the caller decides it was not
// hop link after all.
//
// Pure: no sockets, no clock, no allocation. The salts and padding come from the caller's
// crypto::StreamRandom (one per event loop), so a test with a seeded one gets the same frames
// on every run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "porthop/crypto/frame_mask.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/crypto/length_mask.hpp"
#include "porthop/crypto/stream_random.hpp"
#include "porthop/hop/data_padding.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::hop {

namespace v2 {

inline constexpr std::size_t kSaltSize = crypto::kMaskSaltSize;        // 8
inline constexpr std::size_t kHeaderSize = 3;                          // flags, padding length
inline constexpr std::size_t kOverhead = kSaltSize + kHeaderSize;      // 11: what every frame adds
inline constexpr std::size_t kLightCoverage = crypto::kMaskBlockSize;  // masked bytes, light mode
inline constexpr std::size_t kMaxPadding = 2047;                       // the length field's 11 bits
inline constexpr std::size_t kControlFrameSize = kOverhead + wire::hop::kControlSize;  // 61 unpadded

inline constexpr std::uint8_t kFlagControl = 0x01;
inline constexpr std::uint8_t kFlagFull = 0x02;
// The sender asks the other end to seal its data frames in full mode (the server's
// `mask = "full"`). Masked like the rest of the header but not authenticated (only a control
// frame's body has a tag), so the agent heeds it only in an ack whose tag it checked.
inline constexpr std::uint8_t kFlagAskFull = 0x04;
inline constexpr std::uint8_t kFlagsReserved = 0xf8;
inline constexpr std::uint16_t kPaddingReserved = 0xf800;

enum class Mode : std::uint8_t { light, full };
const char* to_string(Mode m) noexcept;
// "light" or "full" (exactly; lower case): the server's `mask` setting.
std::optional<Mode> parse_mode(std::string_view text) noexcept;

// How a codec seals. `bulk`: how much of a data frame carrying VPN bulk data is masked (light:
// its first keystream block; full: all of it); every other frame is full whatever it says.
// Padding does not follow it: bulk data keeps the bulk padding rule in full mode too, so full
// masking costs CPU, not bytes. `ask_full`: flag bit 2 on every frame this codec seals.
struct Sealing {
    Mode bulk = Mode::light;
    bool ask_full = false;
    // A server's, from its `mask` setting: it seals its own bulk data that way and asks the
    // agents for the same (they follow on the next ack).
    static constexpr Sealing asking(Mode mask) noexcept { return {mask, mask == Mode::full}; }
    friend bool operator==(const Sealing&, const Sealing&) = default;
};

// Which end this codec is: it seals in its own direction and opens the other one.
enum class Side : std::uint8_t { agent, server };

// Why open() refused a frame (the frame is then unchanged).
enum class Refusal : std::uint8_t {
    none,
    too_short,      // fewer than kOverhead bytes
    reserved_bits,  // a reserved flag bit or one of the padding length's top 5 bits is set
    bad_padding,    // the padding is longer than what follows the header
    bad_length,     // a control frame whose body is not 50 bytes, or one in light mode
    bad_control,    // a control body that is not an attach or ack of version 1 (wrong key)
};
const char* to_string(Refusal r) noexcept;

// Total lengths (salt to the end of the padding) of padded frames: uniform in
// [max(min_total, unpadded), max(max_total, unpadded)], so a frame already longer than
// max_total is not padded. Clamped by the codec to min_total <= max_total <= kMaxControl.
struct PaddingRange {
    std::uint16_t min_total = 160;
    std::uint16_t max_total = 1000;
};

// How seal_data pads a bulk (light-mode) data frame (hop/data_padding.hpp). The default,
// plain, sends it unpadded, as the vectors are.
struct BulkPadding {
    DataShape shape = DataShape::plain;
    BulkBurst burst{};  // for DataShape::bulk
};

}  // namespace v2

class FrameCodecV2 {
public:
    // The longest header seal_data writes (salt and header).
    static constexpr std::size_t kMaxHead = 32;
    // The buffer seal_control writes into: also the longest padded frame.
    static constexpr std::size_t kMaxControl = 2048;
    // A tail of this size always holds the padding seal_data wants.
    static constexpr std::size_t kMaxTail = kMaxControl;

    struct Opened {
        wire::hop::Kind kind = wire::hop::Kind::other;
        // control: the 50-byte v1 control frame, for hop/attach_check; data: the VPN datagram
        // (may be empty); other: empty. Points into the frame, unmasked in place.
        std::span<std::byte> body;
        v2::Mode mode = v2::Mode::full;
        bool ask_full = false;  // flag bit 2: the sender asks for full mode (not authenticated)
        std::size_t padding = 0;
        v2::Refusal refusal = v2::Refusal::none;
    };

    struct SealedData {
        std::size_t head = 0;  // bytes written to `head`: salt and header, always kOverhead
        std::size_t tail = 0;  // bytes of padding written to `tail`, sent after the datagram
        v2::Mode mode = v2::Mode::light;
    };

    FrameCodecV2(const crypto::HopKeys& keys, v2::Side side, v2::PaddingRange padding = {}) noexcept;

    // What `frame` (as received) is. Accepted frames are unmasked in place and `body` points
    // into them; a refused frame is left byte for byte as it was. Safe on any input.
    Opened open(std::span<std::byte> frame) const noexcept;

    // Masks an opened frame again, giving back the bytes open() received (for a caller that
    // decides after open() that the datagram was not hop link). `frame` is the whole frame
    // that open() accepted, unchanged since.
    void restore(std::span<std::byte> frame) const noexcept;

    using BulkPadding = v2::BulkPadding;

    // Seals `datagram` as a data frame: salt and header into `head`, the datagram masked in
    // place, padding into `tail`, to be sent as head || datagram || tail. A handshake-carrying
    // datagram is padded from PaddingRange, cut to tail.size() (pass kMaxTail bytes, or the
    // buffer's room after the datagram, for the documented length distribution); bulk data as
    // `bulk` says, within tail.size() and kPaddedFrameCap.
    SealedData seal_data(std::span<std::byte, kMaxHead> head, std::span<std::byte> datagram,
                         std::span<std::byte> tail, crypto::StreamRandom& random,
                         BulkPadding bulk = {}) const noexcept;

    // Writes the control frame for `c` (tag as in v1, full mode, padded) into `out`; returns
    // the bytes to send. `at_most` caps the total length: the server's ack is never longer than
    // the attach it answers (no more bytes to a sender than it sent), so its padded length is
    // drawn from the range cut at the attach's length (never below the 61 bytes of an
    // unpadded control frame). The default leaves the range as configured.
    std::span<const std::byte> seal_control(const wire::hop::Control& c,
                                            std::span<std::byte, kMaxControl> out,
                                            crypto::StreamRandom& random,
                                            std::size_t at_most = kMaxControl) const noexcept;

    // Bytes a data frame adds to an unpadded datagram (the MTU and max_datagram checks).
    static constexpr std::size_t data_overhead() noexcept { return v2::kOverhead; }

    // Whether `datagram` is VPN bulk data (a WireGuard transport message, keepalives included,
    // or an OpenVPN P_DATA_V2): what decides the padding rule, and what v2::Sealing::bulk masks.
    static bool is_bulk(std::span<const std::byte> datagram) noexcept;

    // How seal_data masks `datagram` with the default sealing: light for bulk data, full (and
    // padded) for everything else.
    static v2::Mode mode_for(std::span<const std::byte> datagram) noexcept;

    v2::PaddingRange padding() const noexcept { return padding_; }

    // The masks over TCP record lengths (crypto/length_mask.hpp): of the records this end
    // sends, and of the ones it reads.
    crypto::LengthMask sent_lengths() const noexcept { return {keys_.mask, seal_direction_}; }
    crypto::LengthMask read_lengths() const noexcept { return {keys_.mask, open_direction_}; }

    // How this end seals from now on (the agent changes it when an ack asks).
    void set_sealing(v2::Sealing sealing) noexcept { sealing_ = sealing; }
    v2::Sealing sealing() const noexcept { return sealing_; }

private:
    // Total length of a padded frame whose unpadded length is `unpadded`, at most `at_most`
    // (where that leaves room for the unpadded frame).
    std::size_t padded_total(std::size_t unpadded, crypto::StreamRandom& random,
                             std::size_t at_most = kMaxControl) const noexcept;
    // Padding bytes for a bulk frame of `unpadded` bytes with `tail_room` bytes of tail.
    std::size_t bulk_padding(std::size_t unpadded, std::size_t tail_room, const BulkPadding& bulk,
                             crypto::StreamRandom& random) const noexcept;

    crypto::HopKeys keys_;
    crypto::MaskDirection seal_direction_;
    crypto::MaskDirection open_direction_;
    v2::PaddingRange padding_;
    v2::Sealing sealing_;
};

}  // namespace porthop::hop
