// The hop link's known answers, as tests/vectors/make_hop_vectors.py --cpp prints them (that
// script uses only Python's hashlib, not libsodium; docs/PROTOCOL.md shows the same numbers).
// One copy for every test that checks a frame against them.
//
//   counting_key()          the vectors' key: bytes 0x00, 0x01, ..., 0x1f
//   kAttach, kAck           an attach and an ack (the fields)
//   kAttachHex, kAckHex     the same sealed with counting_key()
//   counting_codec()        the hop-link codec keyed with counting_key()
#pragma once

#include <cstddef>
#include <string>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::test {

inline crypto::HopKey counting_key() {
    crypto::HopKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(i);
    return k;
}

inline hop::FrameCodec counting_codec() { return hop::FrameCodec(crypto::derive_hop_keys(counting_key())); }

inline const wire::hop::Control kAttach{wire::hop::Type::attach, 0x0123456789abcdef, 1, 28000000, 0};
inline const wire::hop::Control kAck{wire::hop::Type::ack, 0x0123456789abcdef, 7, 28000001, 1};
inline const std::string kAttachHex =
    "01010123456789abcdef00000000000000010000000001ab3f0000000000000000001274746e65870bf58653dfa06c325fbf";
inline const std::string kAckHex =
    "02010123456789abcdef00000000000000070000000001ab3f010000000000000001f881ba14bcddab45624fe6f406031860";

}  // namespace porthop::test
