// The hop link's known answers, as tests/vectors/make_hop_vectors.py --cpp prints them (that
// script uses only Python's hashlib, not libsodium; docs/PROTOCOL.md shows the same numbers).
// One copy for every test that checks a frame against them.
//
//   counting_key()          the vectors' key: bytes 0x00, 0x01, ..., 0x1f
//   kAttach, kAck           an attach and an ack (the fields)
//   kAttachHex, kAckHex     the same sealed with counting_key()
//   counting_codec(side)    the hop-link codec keyed with counting_key(), for one side, with
//                           a seeded random generator (the same frames on every run)
//   sealed_data(codec, d)   a data frame as a loop sends it: head || d (masked) || tail
//   sealed_control(codec, c)  a control frame
//   wg_transport(size, fill)  a WireGuard transport message of `size` bytes (bulk data)
//   masked_record(mask, frame)  `frame` as one record of an agent's TCP stream: its length
//                           masked with `mask` (a codec's sent_lengths() or read_lengths())
//   masked_length(mask, stream)  the length the record at the start of `stream` announces
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <optional>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/crypto/length_mask.hpp"
#include "porthop/crypto/stream_random.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::test {

inline crypto::HopKey counting_key() {
    crypto::HopKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(i);
    return k;
}

// A StreamRandom seeded with bytes first, first + 1, ...: the same outputs on every run.
inline crypto::StreamRandom seeded_random(std::uint8_t first) {
    std::array<std::byte, crypto::StreamRandom::kSeedSize> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::byte>(first + i);
    return crypto::StreamRandom(seed);
}

inline hop::FrameCodec counting_codec(hop::FrameCodec::Side side, std::uint8_t seed = 0x40) {
    return hop::FrameCodec(crypto::derive_hop_keys(counting_key()), side, seeded_random(seed));
}

inline std::vector<std::byte> sealed_data(hop::FrameCodec& codec, std::vector<std::byte> datagram,
                                          std::size_t tail_room = hop::FrameCodec::kMaxTail) {
    std::array<std::byte, hop::FrameCodec::kMaxHead> head{};
    std::array<std::byte, hop::FrameCodec::kMaxTail> tail{};
    const auto sealed =
        codec.seal_data(head, datagram, std::span(tail).first(std::min(tail_room, tail.size())));
    std::vector<std::byte> wire(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(sealed.head));
    wire.insert(wire.end(), datagram.begin(), datagram.end());
    wire.insert(wire.end(), tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(sealed.tail));
    return wire;
}

inline std::vector<std::byte> sealed_control(hop::FrameCodec& codec, const wire::hop::Control& c,
                                             std::size_t at_most = hop::FrameCodec::kMaxControl) {
    std::array<std::byte, hop::FrameCodec::kMaxControl> out{};
    const auto frame = codec.seal_control(c, out, at_most);
    return std::vector<std::byte>(frame.begin(), frame.end());
}

inline std::vector<std::byte> masked_record(const crypto::LengthMask& mask, std::span<const std::byte> frame) {
    if (frame.size() < crypto::kMaskSaltSize || frame.size() > 0xFFFF)
        throw std::invalid_argument("masked_record(): a frame of " + std::to_string(frame.size()) + " bytes");
    const auto length = static_cast<std::uint16_t>(frame.size() ^ mask(frame.first<crypto::kMaskSaltSize>()));
    std::vector<std::byte> out{static_cast<std::byte>(length >> 8), static_cast<std::byte>(length & 0xFF)};
    out.insert(out.end(), frame.begin(), frame.end());
    return out;
}

inline std::optional<std::size_t> masked_length(const crypto::LengthMask& mask, std::span<const std::byte> stream) {
    if (stream.size() < 2 + crypto::kMaskSaltSize) return std::nullopt;
    const std::size_t raw = std::to_integer<std::size_t>(stream[0]) << 8 | std::to_integer<std::size_t>(stream[1]);
    return raw ^ mask(stream.subspan<2, crypto::kMaskSaltSize>());
}

inline std::vector<std::byte> wg_transport(std::size_t size, std::byte fill = std::byte{0x5a}) {
    std::vector<std::byte> d(size, fill);
    d[0] = std::byte{4};
    d[1] = d[2] = d[3] = std::byte{0};
    return d;
}

inline const wire::hop::Control kAttach{wire::hop::Type::attach, 0x0123456789abcdef, 1, 28000000, 0};
inline const wire::hop::Control kAck{wire::hop::Type::ack, 0x0123456789abcdef, 7, 28000001, 1};
inline const std::string kAttachHex =
    "01010123456789abcdef00000000000000010000000001ab3f0000000000000000001274746e65870bf58653dfa06c325fbf";
inline const std::string kAckHex =
    "02010123456789abcdef00000000000000070000000001ab3f010000000000000001f881ba14bcddab45624fe6f406031860";

}  // namespace porthop::test
