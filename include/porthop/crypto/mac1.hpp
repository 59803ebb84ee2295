// WireGuard's mac1: checks, without any secret, that a handshake message was made for a given
// public key. Lets the relay drop forged or junk initiations before the backend sees them
// (DESIGN.md, "Security rules").
//
// From the WireGuard whitepaper (5.4.4) and wireguard-go device/cookie.go:
//   mac1 = MAC(HASH("mac1----" || Spub), msg[0 : offset of mac1])
// with HASH = BLAKE2s-256, MAC = keyed BLAKE2s with a 16-byte output, and Spub the static
// public key of the message's RECIPIENT: the responder's (the backend's) for an initiation,
// the initiator's (the client's) for a response.
//
// Built on OpenSSL 3 (EVP_MD "BLAKE2S-256", EVP_MAC "BLAKE2SMAC" with size 16).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX; kept out of this header

namespace porthop::crypto {

inline constexpr std::size_t kWgKeySize = 32;
inline constexpr std::size_t kWgKeyBase64Size = 44;  // 43 characters and one '='
inline constexpr std::size_t kMac1Size = 16;
using WgKey = std::array<std::byte, kWgKeySize>;

// Parses a key in WireGuard's text form (`wg pubkey` output): exactly 44 characters of
// standard base64 ending in one '=', and the unused low bits of the last character zero (the
// only encoding `wg` writes and the only one it reads). No whitespace is skipped: the config
// layer trims. On failure returns nullopt and puts a human-readable reason in `why`.
std::optional<WgKey> parse_wg_key(std::string_view text, std::string& why);

// The inverse: 44 characters.
std::string format_wg_key(const WgKey& key);

class Mac1Verifier {
public:
    // Derives the mac1 key from the recipient's public key once. Fails only if OpenSSL lacks
    // BLAKE2s (then `why` says so).
    static std::optional<Mac1Verifier> create(const WgKey& public_key, std::string& why);
    // parse_wg_key + create.
    static std::optional<Mac1Verifier> from_base64(std::string_view text, std::string& why);

    Mac1Verifier(Mac1Verifier&& other) noexcept;
    Mac1Verifier& operator=(Mac1Verifier&& other) noexcept;
    Mac1Verifier(const Mac1Verifier&) = delete;
    Mac1Verifier& operator=(const Mac1Verifier&) = delete;
    ~Mac1Verifier();

    // True iff `message` is a well-formed initiation (type 1, 148 bytes) or response (type 2,
    // 92 bytes), as wire::wg::classify says, whose mac1 matches this key. Everything else
    // (other types, wrong sizes, non-zero reserved bytes) is false. mac2 is not looked at.
    // Compares in constant time (CRYPTO_memcmp).
    //
    // No heap allocation: the OpenSSL context is re-initialised from the key it already
    // holds (EVP_MAC_init with no key), which OpenSSL 3.0 does in place; EVP_MAC_CTX_dup per
    // call would cost two allocations. Measured with a counting CRYPTO_set_mem_functions on
    // OpenSSL 3.0: 0 allocations per call this way, about 0.75 us per 148-byte initiation.
    // The price is that a verifier is not thread-safe: keep one per worker thread (create one
    // per thread from the same public key).
    bool verify(std::span<const std::byte> message) noexcept;

    // Computes mac1 over `covered` (the bytes before mac1) into `out`; false only if OpenSSL
    // fails. For tests and for building messages; same threading rule as verify.
    bool compute(std::span<const std::byte> covered, std::span<std::byte, kMac1Size> out) noexcept;

    const WgKey& public_key() const noexcept { return public_key_; }
    // HASH("mac1----" || public key): the MAC key, for tests.
    const WgKey& mac1_key() const noexcept { return mac1_key_; }

private:
    Mac1Verifier(evp_mac_ctx_st* ctx, const WgKey& public_key, const WgKey& mac1_key) noexcept;

    evp_mac_ctx_st* ctx_ = nullptr;  // keyed with mac1_key_, output size 16
    WgKey public_key_{};
    WgKey mac1_key_{};
};

}  // namespace porthop::crypto
