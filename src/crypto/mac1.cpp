#include "porthop/crypto/mac1.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <utility>

#include "porthop/wire/wireguard.hpp"

namespace porthop::crypto {

namespace {

constexpr std::string_view kLabelMac1 = "mac1----";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

struct MdDeleter {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct MacDeleter {
    void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
    void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

}  // namespace

std::optional<WgKey> parse_wg_key(std::string_view text, std::string& why) {
    if (text.size() != kWgKeyBase64Size) {
        why = "a WireGuard key is 44 base64 characters, got " + std::to_string(text.size());
        return std::nullopt;
    }
    if (text[kWgKeyBase64Size - 1] != '=') {
        why = "a WireGuard key ends in '='";
        return std::nullopt;
    }
    // 43 characters carry 258 bits: 256 of key and 2 that must be zero.
    int values[kWgKeyBase64Size - 1];
    for (std::size_t i = 0; i + 1 < kWgKeyBase64Size; ++i) {
        values[i] = base64_value(text[i]);
        if (values[i] < 0) {
            why = "invalid base64 character at position " + std::to_string(i + 1);
            return std::nullopt;
        }
    }
    if ((values[kWgKeyBase64Size - 2] & 0x3) != 0) {
        why = "not the canonical base64 of a 32-byte key (last character has stray low bits)";
        return std::nullopt;
    }
    WgKey key{};
    std::size_t out = 0;
    std::uint32_t acc = 0;
    int bits = 0;
    for (int v : values) {
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            key[out++] = static_cast<std::byte>((acc >> bits) & 0xFF);
        }
    }
    // 43 * 6 = 258 bits: 32 whole bytes and the 2 zero bits checked above.
    return key;
}

std::string format_wg_key(const WgKey& key) {
    std::string text;
    text.reserve(kWgKeyBase64Size);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::byte b : key) {
        acc = (acc << 8) | std::to_integer<std::uint32_t>(b);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            text.push_back(kBase64Alphabet[(acc >> bits) & 0x3F]);
        }
    }
    text.push_back(kBase64Alphabet[(acc << (6 - bits)) & 0x3F]);  // 256 = 42*6 + 4: 4 bits left
    text.push_back('=');
    return text;
}

std::optional<Mac1Verifier> Mac1Verifier::create(const WgKey& public_key, std::string& why) {
    // Once per verifier, so allocation here is fine.
    std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr));
    std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "BLAKE2SMAC", nullptr));
    if (!md || !mac) {
        why = "OpenSSL has no BLAKE2s (EVP_MD BLAKE2S-256 / EVP_MAC BLAKE2SMAC)";
        return std::nullopt;
    }

    std::byte input[kLabelMac1.size() + kWgKeySize];
    for (std::size_t i = 0; i < kLabelMac1.size(); ++i) input[i] = static_cast<std::byte>(kLabelMac1[i]);
    for (std::size_t i = 0; i < kWgKeySize; ++i) input[kLabelMac1.size() + i] = public_key[i];
    WgKey mac1_key{};
    unsigned int hashed = 0;
    if (EVP_Digest(input, sizeof input, reinterpret_cast<unsigned char*>(mac1_key.data()), &hashed, md.get(),
                   nullptr) != 1 ||
        hashed != kWgKeySize) {
        why = "BLAKE2s-256 failed";
        return std::nullopt;
    }

    std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac.get()));  // holds its own ref to mac
    std::size_t size = kMac1Size;
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_END};
    if (!ctx ||
        EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(mac1_key.data()), mac1_key.size(),
                     params) != 1 ||
        EVP_MAC_CTX_get_mac_size(ctx.get()) != kMac1Size) {
        why = "keyed BLAKE2s (BLAKE2SMAC, size 16) could not be set up";
        return std::nullopt;
    }
    return Mac1Verifier(ctx.release(), public_key, mac1_key);
}

std::optional<Mac1Verifier> Mac1Verifier::from_base64(std::string_view text, std::string& why) {
    auto key = parse_wg_key(text, why);
    if (!key) return std::nullopt;
    return create(*key, why);
}

Mac1Verifier::Mac1Verifier(evp_mac_ctx_st* ctx, const WgKey& public_key, const WgKey& mac1_key) noexcept
    : ctx_(ctx), public_key_(public_key), mac1_key_(mac1_key) {}

Mac1Verifier::Mac1Verifier(Mac1Verifier&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)), public_key_(other.public_key_), mac1_key_(other.mac1_key_) {}

Mac1Verifier& Mac1Verifier::operator=(Mac1Verifier&& other) noexcept {
    if (this != &other) {
        EVP_MAC_CTX_free(ctx_);
        ctx_ = std::exchange(other.ctx_, nullptr);
        public_key_ = other.public_key_;
        mac1_key_ = other.mac1_key_;
    }
    return *this;
}

Mac1Verifier::~Mac1Verifier() { EVP_MAC_CTX_free(ctx_); }

bool Mac1Verifier::compute(std::span<const std::byte> covered, std::span<std::byte, kMac1Size> out) noexcept {
    if (ctx_ == nullptr) return false;  // moved from
    std::size_t written = 0;
    // No key: OpenSSL re-initialises the BLAKE2s state from the key the context keeps, in place.
    return EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1 &&
           EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(covered.data()), covered.size()) ==
               1 &&
           EVP_MAC_final(ctx_, reinterpret_cast<unsigned char*>(out.data()), &written, out.size()) == 1 &&
           written == kMac1Size;
}

bool Mac1Verifier::verify(std::span<const std::byte> message) noexcept {
    const auto layout = wire::wg::mac_layout(wire::wg::classify(message).kind);
    if (!layout) return false;
    std::array<std::byte, kMac1Size> expected;
    if (!compute(message.first(layout->mac1), expected)) return false;
    return CRYPTO_memcmp(expected.data(), message.data() + layout->mac1, kMac1Size) == 0;
}

}  // namespace porthop::crypto
