// The hop link's pre-shared key and what is derived from it (libsodium). `porthop genkey`
// prints a key; the same text goes into the server's and the client's config.
//
//   text form:  standard base64 of 32 random bytes (44 characters, like a WireGuard key)
//   subkeys:    crypto_kdf_derive_from_key(32, id, "porthop1", key):
//               id 1 = auth (control-frame tags), id 2 = schedule (port PRF),
//               id 3 = mask (hop link v2's frame mask, crypto/frame_mask.hpp; derived, not yet
//               used on the wire)
//   tag:        BLAKE2b, 16-byte output, keyed with auth, over control bytes [0, 34)
//   schedule:   BLAKE2b, 8-byte output, keyed with schedule, over the epoch as 8 bytes
//               big-endian; read as a big-endian u64
// (docs/PROTOCOL.md has the exact bytes and test vectors.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace porthop::crypto {

inline constexpr std::size_t kHopKeySize = 32;
using HopKey = std::array<std::byte, kHopKeySize>;

struct HopKeys {
    HopKey auth{};
    HopKey schedule{};
    HopKey mask{};
};

// sodium_init(); safe to call more than once and from any thread. False if libsodium cannot
// initialise (then nothing below may be used).
bool init_sodium() noexcept;

HopKey generate_hop_key();  // randombytes_buf
// A random non-zero 64-bit value (the agent's hop-link session id).
std::uint64_t random_nonzero_u64();
std::string format_hop_key(const HopKey& key);  // 44 characters
// Exactly 44 characters of standard base64 ending in '=' (no whitespace skipped). On failure
// nullopt, with a human-readable reason in `why`.
std::optional<HopKey> parse_hop_key(std::string_view text, std::string& why);

HopKeys derive_hop_keys(const HopKey& key) noexcept;

// BLAKE2b-128 keyed with `auth_key` over `message`.
void hop_tag(const HopKey& auth_key, std::span<const std::byte> message,
             std::span<std::byte, 16> out) noexcept;
// Constant-time comparison of the expected tag with `tag`.
bool hop_tag_valid(const HopKey& auth_key, std::span<const std::byte> message,
                   std::span<const std::byte, 16> tag) noexcept;

// The schedule PRF: BLAKE2b-64 keyed with `schedule_key` over u64be(epoch), as a u64be.
std::uint64_t schedule_prf(const HopKey& schedule_key, std::uint64_t epoch) noexcept;

}  // namespace porthop::crypto
