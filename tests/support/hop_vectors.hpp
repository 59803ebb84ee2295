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
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "porthop/crypto/hop_key.hpp"
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
