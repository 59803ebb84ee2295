#include "porthop/hop/frame_codec_v2.hpp"

#include <algorithm>
#include <array>

#include "porthop/crypto/hop_auth.hpp"
#include "porthop/wire/openvpn.hpp"
#include "porthop/wire/wireguard.hpp"

namespace porthop::hop {

namespace {

// (Names kept apart from the other hop sources: the library is built in unity batches.)
using V2Header = std::array<std::byte, v2::kHeaderSize>;

struct V2Fields {
    bool control = false;
    v2::Mode mode = v2::Mode::light;
    bool ask_full = false;
    std::size_t padding = 0;
};

V2Header v2_encode_header(const V2Fields& f) noexcept {
    std::uint8_t flags = 0;
    if (f.control) flags |= v2::kFlagControl;
    if (f.mode == v2::Mode::full) flags |= v2::kFlagFull;
    if (f.ask_full) flags |= v2::kFlagAskFull;
    return {std::byte{flags}, static_cast<std::byte>(f.padding >> 8),
            static_cast<std::byte>(f.padding & 0xff)};
}

// Bytes of the body that the mask covers after the header.
std::size_t v2_masked_body(v2::Mode mode, std::size_t body) noexcept {
    return mode == v2::Mode::full ? body : std::min(body, v2::kLightCoverage - v2::kHeaderSize);
}

}  // namespace

const char* v2::to_string(Refusal r) noexcept {
    switch (r) {
        case Refusal::none:
            return "none";
        case Refusal::too_short:
            return "too_short";
        case Refusal::reserved_bits:
            return "reserved_bits";
        case Refusal::bad_padding:
            return "bad_padding";
        case Refusal::bad_length:
            return "bad_length";
        case Refusal::bad_control:
            return "bad_control";
    }
    return "?";
}

const char* v2::to_string(Mode m) noexcept { return m == Mode::full ? "full" : "light"; }

std::optional<v2::Mode> v2::parse_mode(std::string_view text) noexcept {
    if (text == "light") return Mode::light;
    if (text == "full") return Mode::full;
    return std::nullopt;
}

FrameCodecV2::FrameCodecV2(const crypto::HopKeys& keys, v2::Side side, v2::PaddingRange padding) noexcept
    : keys_(keys),
      seal_direction_(side == v2::Side::agent ? crypto::MaskDirection::agent_to_server
                                              : crypto::MaskDirection::server_to_agent),
      open_direction_(side == v2::Side::agent ? crypto::MaskDirection::server_to_agent
                                              : crypto::MaskDirection::agent_to_server),
      padding_(padding) {
    padding_.max_total = static_cast<std::uint16_t>(std::min<std::size_t>(padding_.max_total, kMaxControl));
    padding_.min_total = std::min(padding_.min_total, padding_.max_total);
}

FrameCodecV2::Opened FrameCodecV2::open(std::span<std::byte> frame) const noexcept {
    Opened out;
    if (frame.size() < v2::kOverhead) {
        out.refusal = v2::Refusal::too_short;
        return out;
    }
    const auto salt = frame.first<v2::kSaltSize>();
    const crypto::MaskStream start(keys_.mask, salt, open_direction_);

    // 1. The header, unmasked in a copy: nothing in the frame changes until it passes.
    V2Header header;
    std::copy_n(frame.begin() + v2::kSaltSize, v2::kHeaderSize, header.begin());
    crypto::MaskStream peek = start;
    peek.apply(header);
    const auto flags = std::to_integer<std::uint8_t>(header[0]);
    const auto padding = static_cast<std::uint16_t>(std::to_integer<unsigned>(header[1]) << 8 |
                                                    std::to_integer<unsigned>(header[2]));
    if ((flags & v2::kFlagsReserved) != 0 || (padding & v2::kPaddingReserved) != 0) {
        out.refusal = v2::Refusal::reserved_bits;
        return out;
    }
    if (padding > frame.size() - v2::kOverhead) {
        out.refusal = v2::Refusal::bad_padding;
        return out;
    }
    const bool control = (flags & v2::kFlagControl) != 0;
    const v2::Mode mode = (flags & v2::kFlagFull) != 0 ? v2::Mode::full : v2::Mode::light;
    const std::size_t body_size = frame.size() - v2::kOverhead - padding;
    if (control && (mode != v2::Mode::full || body_size != wire::hop::kControlSize)) {
        out.refusal = v2::Refusal::bad_length;
        return out;
    }

    // 2. Unmask in place, header and body (the padding is sent as it is).
    const auto masked = frame.subspan(v2::kSaltSize, v2::kHeaderSize + v2_masked_body(mode, body_size));
    crypto::MaskStream stream = start;
    stream.apply(masked);
    const auto body = frame.subspan(v2::kOverhead, body_size);
    if (control && wire::hop::classify(body) != wire::hop::Kind::control) {
        // Not an attach or ack of version 1 (a wrong key, most likely): masked back, as it came.
        crypto::MaskStream undo = start;
        undo.apply(masked);
        out.refusal = v2::Refusal::bad_control;
        return out;
    }
    out.kind = control ? wire::hop::Kind::control : wire::hop::Kind::data;
    out.body = body;
    out.mode = mode;
    out.ask_full = (flags & v2::kFlagAskFull) != 0;
    out.padding = padding;
    return out;
}

void FrameCodecV2::restore(std::span<std::byte> frame) const noexcept {
    if (frame.size() < v2::kOverhead) return;
    // The header is in clear now: it says what open() unmasked.
    const auto flags = std::to_integer<std::uint8_t>(frame[v2::kSaltSize]);
    const std::size_t padding = std::to_integer<std::size_t>(frame[v2::kSaltSize + 1]) << 8 |
                                std::to_integer<std::size_t>(frame[v2::kSaltSize + 2]);
    if (padding > frame.size() - v2::kOverhead) return;  // not a frame open() accepted
    const v2::Mode mode = (flags & v2::kFlagFull) != 0 ? v2::Mode::full : v2::Mode::light;
    const std::size_t body_size = frame.size() - v2::kOverhead - padding;
    crypto::MaskStream stream(keys_.mask, frame.first<v2::kSaltSize>(), open_direction_);
    stream.apply(frame.subspan(v2::kSaltSize, v2::kHeaderSize + v2_masked_body(mode, body_size)));
}

bool FrameCodecV2::is_bulk(std::span<const std::byte> datagram) noexcept {
    return wire::wg::classify(datagram).kind == wire::wg::Kind::transport ||
           wire::ovpn::classify(datagram).kind == wire::ovpn::Kind::data_v2;
}

v2::Mode FrameCodecV2::mode_for(std::span<const std::byte> datagram) noexcept {
    return is_bulk(datagram) ? v2::Mode::light : v2::Mode::full;
}

std::size_t FrameCodecV2::padded_total(std::size_t unpadded, crypto::StreamRandom& random,
                                       std::size_t at_most) const noexcept {
    const std::size_t lo =
        std::max<std::size_t>(std::min<std::size_t>(padding_.min_total, at_most), unpadded);
    const std::size_t hi =
        std::max<std::size_t>(std::min<std::size_t>(padding_.max_total, at_most), unpadded);
    // One uniform draw even when lo == hi (uniform(1) draws once), so that the sequence of
    // draws depends only on which frames are padded (the vectors' generator does the same).
    return lo + random.uniform(static_cast<std::uint32_t>(hi - lo + 1));
}

std::size_t FrameCodecV2::bulk_padding(std::size_t unpadded, std::size_t tail_room, const BulkPadding& bulk,
                                       crypto::StreamRandom& random) const noexcept {
    // The cap: the path's (kPaddedFrameCap) and what the tail and the length field hold.
    const std::size_t cap = std::min(kPaddedFrameCap, unpadded + std::min(tail_room, v2::kMaxPadding));
    switch (bulk.shape) {
        case DataShape::plain:
            return 0;
        case DataShape::bulk:
            return bulk_total(unpadded, cap, bulk.burst) - unpadded;
        case DataShape::opening:
            return opening_total(unpadded, cap, padding_.min_total, padding_.max_total, random) - unpadded;
    }
    return 0;
}

FrameCodecV2::SealedData FrameCodecV2::seal_data(std::span<std::byte, kMaxHead> head,
                                                 std::span<std::byte> datagram, std::span<std::byte> tail,
                                                 crypto::StreamRandom& random, BulkPadding bulk) const noexcept {
    static_assert(v2::kOverhead <= kMaxHead);
    SealedData out;
    out.head = v2::kOverhead;
    const bool carries_bulk = is_bulk(datagram);
    out.mode = carries_bulk ? sealing_.bulk : v2::Mode::full;
    const auto salt = head.first<v2::kSaltSize>();
    random.fill(salt);
    // The padding follows what the datagram is, not how much of it is masked: bulk data in full
    // mode keeps the bulk rule, so mask = "full" does not stretch every datagram.
    if (!carries_bulk) {
        const std::size_t unpadded = v2::kOverhead + datagram.size();
        const std::size_t wanted = padded_total(unpadded, random) - unpadded;
        out.tail = std::min({wanted, tail.size(), v2::kMaxPadding});
        random.fill(tail.first(out.tail));
    } else {
        out.tail = bulk_padding(v2::kOverhead + datagram.size(), tail.size(), bulk, random);
        random.fill(tail.first(out.tail));
    }
    const V2Header header = v2_encode_header({false, out.mode, sealing_.ask_full, out.tail});
    std::copy(header.begin(), header.end(), head.begin() + v2::kSaltSize);

    crypto::MaskStream stream(keys_.mask, salt, seal_direction_);
    stream.apply(head.subspan(v2::kSaltSize, v2::kHeaderSize));
    stream.apply(datagram.first(v2_masked_body(out.mode, datagram.size())));
    return out;
}

std::span<const std::byte> FrameCodecV2::seal_control(const wire::hop::Control& c,
                                                      std::span<std::byte, kMaxControl> out,
                                                      crypto::StreamRandom& random,
                                                      std::size_t at_most) const noexcept {
    static_assert(v2::kControlFrameSize + v2::kMaxPadding >= kMaxControl);
    const auto salt = out.first<v2::kSaltSize>();
    random.fill(salt);
    const std::size_t total = padded_total(v2::kControlFrameSize, random, at_most);
    const std::size_t padding = total - v2::kControlFrameSize;  // <= kMaxControl - 61 < kMaxPadding

    const V2Header header = v2_encode_header({true, v2::Mode::full, sealing_.ask_full, padding});
    std::copy(header.begin(), header.end(), out.begin() + v2::kSaltSize);
    crypto::seal_control(keys_, c, out.subspan<v2::kOverhead, wire::hop::kControlSize>());
    random.fill(out.subspan(v2::kControlFrameSize, padding));

    crypto::MaskStream stream(keys_.mask, salt, seal_direction_);
    stream.apply(out.subspan(v2::kSaltSize, v2::kHeaderSize + wire::hop::kControlSize));
    return out.first(total);
}

}  // namespace porthop::hop
