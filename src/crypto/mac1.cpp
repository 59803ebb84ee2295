#include "porthop/crypto/mac1.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <utility>

#include "base64_32.hpp"
#include "porthop/wire/wireguard.hpp"

namespace porthop::crypto {

namespace {

constexpr std::string_view kLabelMac1 = "mac1----";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


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
    Base64Error error;
    if (auto key = decode_base64_32(text, error)) return key;
    if (error.kind != Base64Error::Kind::length && !error.ends_in_padding) {
        why = "a WireGuard key ends in '='";
        return std::nullopt;
    }
    switch (error.kind) {
        case Base64Error::Kind::length:
            why = "a WireGuard key is 44 base64 characters, got " + std::to_string(text.size());
            break;
        case Base64Error::Kind::padding:
            why = error.position < kWgKeyBase64Size ? "invalid base64 character at position " + std::to_string(error.position)
                                                    : "a WireGuard key ends in '='";
            break;
        case Base64Error::Kind::character:
            why = "invalid base64 character at position " + std::to_string(error.position);
            break;
        case Base64Error::Kind::stray_bits:
            why = "not the canonical base64 of a 32-byte key (last character has stray low bits)";
            break;
    }
    return std::nullopt;
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
