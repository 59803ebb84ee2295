#include "porthop/crypto/hop_key.hpp"

#include <sodium.h>

#include <stdexcept>

#include "base64_32.hpp"
#include "sodium_bytes.hpp"

namespace porthop::crypto {

namespace {

constexpr std::size_t kHopKeyTextSize = 44;  // 4 * ceil(32 / 3): 43 characters and one '='
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "porthop1";
constexpr std::uint64_t kSubkeyAuth = 1;
constexpr std::uint64_t kSubkeySchedule = 2;
constexpr std::uint64_t kSubkeyMask = 3;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kPrfSize = 8;

static_assert(kHopKeySize == crypto_kdf_KEYBYTES && kHopKeySize == crypto_generichash_KEYBYTES);
// 8 bytes is below crypto_generichash_BYTES_MIN (16), a recommendation for collision
// resistance that libsodium does not enforce; the PRF only needs to pick a port. The output
// length is a BLAKE2b parameter, so this is not a truncated 16-byte hash (the test vectors,
// made with hashlib's digest_size=8, pin that down).
static_assert(kTagSize >= crypto_generichash_BYTES_MIN && kPrfSize <= crypto_generichash_BYTES_MAX);
static_assert(sizeof(kKdfContext) - 1 == crypto_kdf_CONTEXTBYTES);

}  // namespace

bool init_sodium() noexcept { return sodium_init() >= 0; }  // 1 means "already initialised"

std::uint64_t random_nonzero_u64() {
    if (!init_sodium()) throw std::runtime_error("libsodium cannot initialise (no randomness source?)");
    std::uint64_t value = 0;
    while (value == 0) randombytes_buf(&value, sizeof value);
    return value;
}

HopKey generate_hop_key() {
    // randombytes needs sodium_init() first (it may open /dev/urandom there); cheap after that.
    if (!init_sodium()) throw std::runtime_error("libsodium cannot initialise (no randomness source?)");
    HopKey key{};
    randombytes_buf(key.data(), key.size());
    return key;
}

std::string format_hop_key(const HopKey& key) {
    char text[sodium_base64_ENCODED_LEN(kHopKeySize, sodium_base64_VARIANT_ORIGINAL)];
    static_assert(sizeof(text) == kHopKeyTextSize + 1);
    sodium_bin2base64(text, sizeof(text), u8(key.data()), key.size(), sodium_base64_VARIANT_ORIGINAL);
    return std::string(text, kHopKeyTextSize);
}

std::optional<HopKey> parse_hop_key(std::string_view text, std::string& why) {
    Base64Error error;
    if (auto key = decode_base64_32(text, error)) return key;
    switch (error.kind) {
        case Base64Error::Kind::length:
            why = "a key is 44 characters of base64 (porthop genkey prints one); got " + std::to_string(text.size());
            break;
        case Base64Error::Kind::padding:
            why = error.position < kHopKeyTextSize
                      ? "a key ends in exactly one '=' (32 bytes of base64); found '=' at position " +
                            std::to_string(error.position)
                      : "a key is 44 characters of base64 ending in one '=' (porthop genkey prints one)";
            break;
        case Base64Error::Kind::character:
            why = "a key is standard base64 (A-Z a-z 0-9 + /): invalid character at position " +
                  std::to_string(error.position);
            break;
        case Base64Error::Kind::stray_bits:
            // Every key has exactly one text form, so keys can be compared as text.
            why = "not the canonical base64 of a 32-byte key (the last character before '=' has stray low bits)";
            break;
    }
    return std::nullopt;
}

HopKeys derive_hop_keys(const HopKey& key) noexcept {
    init_sodium();
    HopKeys keys;
    crypto_kdf_derive_from_key(u8(keys.auth.data()), keys.auth.size(), kSubkeyAuth, kKdfContext,
                               u8(key.data()));
    crypto_kdf_derive_from_key(u8(keys.schedule.data()), keys.schedule.size(), kSubkeySchedule, kKdfContext,
                               u8(key.data()));
    crypto_kdf_derive_from_key(u8(keys.mask.data()), keys.mask.size(), kSubkeyMask, kKdfContext,
                               u8(key.data()));
    return keys;
}

void hop_tag(const HopKey& auth_key, std::span<const std::byte> message,
             std::span<std::byte, 16> out) noexcept {
    crypto_generichash(u8(out.data()), out.size(), u8(message.data()), message.size(), u8(auth_key.data()),
                       auth_key.size());
}

bool hop_tag_valid(const HopKey& auth_key, std::span<const std::byte> message,
                   std::span<const std::byte, 16> tag) noexcept {
    std::byte expected[kTagSize];
    hop_tag(auth_key, message, expected);
    return crypto_verify_16(u8(expected), u8(tag.data())) == 0;
}

std::uint64_t schedule_prf(const HopKey& schedule_key, std::uint64_t epoch) noexcept {
    unsigned char in[8];
    for (int i = 7; i >= 0; --i) {
        in[i] = static_cast<unsigned char>(epoch & 0xFF);
        epoch >>= 8;
    }
    unsigned char out[kPrfSize];
    crypto_generichash(out, sizeof out, in, sizeof in, u8(schedule_key.data()), schedule_key.size());
    std::uint64_t v = 0;
    for (unsigned char b : out) v = v << 8 | b;
    return v;
}

}  // namespace porthop::crypto
