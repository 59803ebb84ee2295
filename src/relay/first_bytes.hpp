// What the first application bytes inside a TLS connection on the relay's TCP port are: a
// porthop agent's first record (an attach under the key, in a masked-length record as on
// plain TCP: docs/PROTOCOL.md, "TCP framing"), or anything else, which a web server answers
// (the decoy or the built-in site: tcp_intake.hpp). Pure: no I/O, no clock.
//
// The rule, on the bytes read so far:
//   1. no key: web.
//   2. once the masked length can be read (length and salt, 10 bytes): a length that no
//      attach has (shorter than a frame, longer than FrameCodec::kMaxControl) is web at once;
//      a complete record is an agent's if it opens as an attach whose tag and epoch pass
//      (hop/attach_check.hpp's authenticate; on a copy: the bytes stay as they came for
//      whoever gets them), else web. Replay is left to the session's own check: inside TLS
//      nobody but the agent has seen the attach;
//   3. a complete HTTP request head (wire/http_head.hpp) is web, whatever its masked reading
//      says: an attach is never one, and a browser that sent its request waits for an answer;
//   4. else more bytes are needed. Never more than 2 + kMaxControl: by then rule 2 decided.
// A prober's random bytes read as a plausible attach length about 1 time in 32 (2048 of
// 65536 lengths) and wait for that many bytes or the header timeout; everything else is
// decided by the first read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/frame_codec.hpp"

namespace porthop::relay {

enum class FirstBytes : std::uint8_t { need_more, agent, web };

// `codec`, `keys`: the server's (null: no key); `epoch`: the server's schedule epoch now.
FirstBytes judge_first_bytes(std::span<const std::byte> bytes, const hop::FrameCodec* codec,
                             const crypto::HopKeys* keys, std::uint64_t epoch) noexcept;

// The bytes the judge may need at most before it decides.
inline constexpr std::size_t kFirstBytesDecisive = 2 + hop::FrameCodec::kMaxControl;

}  // namespace porthop::relay
