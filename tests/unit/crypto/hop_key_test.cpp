// crypto/hop_key: the hop link's key, its text form, the subkeys, the tag and the schedule PRF.
//
// The known answers come from tests/vectors/make_hop_vectors.py (and, for the v2 mask subkey,
// make_mask_vectors.py, which reuses its kdf()); both use only Python's hashlib.blake2b (the
// BLAKE2 reference code), not libsodium; docs/PROTOCOL.md shows the same numbers. kdf() models
// crypto_kdf_derive_from_key as plain BLAKE2b with salt and personalisation; the first test
// checks that model against libsodium itself.
#include "porthop/crypto/hop_key.hpp"

#include <sodium.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "../../fixtures/fixture.hpp"
#include "../../support/hop_vectors.hpp"

namespace crypto = porthop::crypto;
using crypto::HopKey;
using porthop::test::counting_key;
using porthop::test::hex;
using porthop::test::kAckHex;
using porthop::test::kAttachHex;

namespace {

// python3 tests/vectors/make_hop_vectors.py --cpp
const std::string kKeyText = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const std::string kAuthHex = "728f60e0f29ca22fdc6ee28e6757cf15e17616f06c629138e5e16450164ae6a2";
const std::string kScheduleHex = "c7da916c72b17cc505f7bcc1db75133699980721e076756571cf8d5c87515630";
// python3 tests/vectors/make_mask_vectors.py --cpp
const std::string kMaskHex = "25c4420cfc02cc27b28782093e34e3503bbf3fb97309e5c5edd7a42964c132c1";

HopKey key_of_hex(const std::string& digits) { return porthop::test::hex_array<crypto::kHopKeySize>(digits); }

const unsigned char* u8(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* u8(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

}  // namespace

TEST_CASE("hop key: crypto_kdf_derive_from_key is BLAKE2b with salt and personal, as the script assumes",
          "[crypto][hopkey]") {
    REQUIRE(crypto::init_sodium());
    // blake2b(b"", digest_size=32, key=key, salt=u64le(id) || 0^8, person=ctx || 0^8)
    const char* contexts[] = {"porthop1", "Examples", "\x01\x02\x03\x04\x05\x06\x07\x08"};
    const std::uint64_t ids[] = {0, 1, 2, 3, 0x0102030405060708, ~std::uint64_t{0}};
    for (const HopKey& key : {counting_key(), HopKey{}, key_of_hex(kAuthHex)}) {
        for (const char* ctx : contexts) {
            for (std::uint64_t id : ids) {
                HopKey by_kdf{};
                REQUIRE(crypto_kdf_derive_from_key(u8(by_kdf.data()), by_kdf.size(), id, ctx,
                                                   u8(key.data())) == 0);
                unsigned char salt[16] = {};
                for (int i = 0; i < 8; ++i) salt[i] = static_cast<unsigned char>(id >> (8 * i));
                unsigned char personal[16] = {};
                for (int i = 0; i < 8; ++i) personal[i] = static_cast<unsigned char>(ctx[i]);
                HopKey by_blake2b{};
                REQUIRE(crypto_generichash_blake2b_salt_personal(u8(by_blake2b.data()), by_blake2b.size(),
                                                                 nullptr, 0, u8(key.data()), key.size(), salt,
                                                                 personal) == 0);
                INFO("id " << id);
                CHECK(by_kdf == by_blake2b);
            }
        }
    }
}

TEST_CASE("hop key: subkeys, tag and PRF match the hashlib vectors", "[crypto][hopkey]") {
    REQUIRE(crypto::init_sodium());
    REQUIRE(crypto::init_sodium());  // again: harmless
    std::string why;
    const auto key = crypto::parse_hop_key(kKeyText, why);
    INFO(why);
    REQUIRE(key);
    CHECK(*key == counting_key());
    CHECK(crypto::format_hop_key(counting_key()) == kKeyText);

    const auto keys = crypto::derive_hop_keys(*key);
    CHECK(keys.auth == key_of_hex(kAuthHex));
    CHECK(keys.schedule == key_of_hex(kScheduleHex));
    CHECK(keys.mask == key_of_hex(kMaskHex));
    CHECK(keys.auth != keys.schedule);
    CHECK(keys.mask != keys.auth);
    CHECK(keys.mask != keys.schedule);

    for (const auto& digits : {kAttachHex, kAckHex}) {
        const auto frame = hex(digits);
        REQUIRE(frame.size() == 50);
        const auto covered = std::span<const std::byte>(frame).first(34);
        const auto tag = std::span<const std::byte>(frame).subspan<34, 16>();
        std::array<std::byte, 16> out{};
        crypto::hop_tag(keys.auth, covered, out);
        CHECK(std::equal(out.begin(), out.end(), tag.begin()));
        CHECK(crypto::hop_tag_valid(keys.auth, covered, tag));
        // Keyed with the schedule or mask subkey or the master key, the same bytes do not verify.
        CHECK_FALSE(crypto::hop_tag_valid(keys.schedule, covered, tag));
        CHECK_FALSE(crypto::hop_tag_valid(keys.mask, covered, tag));
        CHECK_FALSE(crypto::hop_tag_valid(*key, covered, tag));
    }

    struct Row {
        std::uint64_t epoch;
        std::uint64_t prf;
    };
    const Row rows[] = {
        {0u, 0x03d2b86b20a0657du},
        {1u, 0xfa1f11ce71060295u},
        {2u, 0x61df794168621e23u},
        {28000000u, 0xc8c58dc2bcc90020u},
        {18446744073709551615u, 0x033ccb5b313dec65u},
    };
    for (const auto& row : rows) {
        INFO("epoch " << row.epoch);
        CHECK(crypto::schedule_prf(keys.schedule, row.epoch) == row.prf);
    }
}

TEST_CASE("hop key: a tag fails for any changed bit, another key or another length", "[crypto][hopkey]") {
    const auto keys = crypto::derive_hop_keys(counting_key());
    std::vector<std::byte> message(34);
    for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::byte>(i * 37 + 11);
    std::array<std::byte, 16> tag{};
    crypto::hop_tag(keys.auth, message, tag);
    REQUIRE(crypto::hop_tag_valid(keys.auth, message, tag));

    for (std::size_t bit = 0; bit < message.size() * 8; ++bit) {
        auto m = message;
        m[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
        INFO("message bit " << bit);
        CHECK_FALSE(crypto::hop_tag_valid(keys.auth, m, tag));
    }
    for (std::size_t bit = 0; bit < tag.size() * 8; ++bit) {
        auto t = tag;
        t[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
        INFO("tag bit " << bit);
        CHECK_FALSE(crypto::hop_tag_valid(keys.auth, message, t));
    }
    for (std::size_t bit = 0; bit < 256; ++bit) {
        auto k = keys.auth;
        k[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
        INFO("key bit " << bit);
        CHECK_FALSE(crypto::hop_tag_valid(k, message, tag));
    }
    CHECK_FALSE(crypto::hop_tag_valid(keys.auth, std::span<const std::byte>(message).first(33), tag));
    auto longer = message;
    longer.push_back(std::byte{0});
    CHECK_FALSE(crypto::hop_tag_valid(keys.auth, longer, tag));
}

TEST_CASE("hop key: the schedule PRF depends on every epoch bit and on the key", "[crypto][hopkey]") {
    const auto keys = crypto::derive_hop_keys(counting_key());
    const std::uint64_t base = 28000000;
    std::set<std::uint64_t> outputs{crypto::schedule_prf(keys.schedule, base)};
    for (int bit = 0; bit < 64; ++bit)
        outputs.insert(crypto::schedule_prf(keys.schedule, base ^ (std::uint64_t{1} << bit)));
    CHECK(outputs.size() == 65);
    CHECK(crypto::schedule_prf(keys.schedule, base) == crypto::schedule_prf(keys.schedule, base));
    CHECK(crypto::schedule_prf(keys.auth, base) != crypto::schedule_prf(keys.schedule, base));
}

TEST_CASE("hop key: generate_hop_key gives distinct keys that survive the text form", "[crypto][hopkey]") {
    std::set<std::string> seen;
    for (int i = 0; i < 64; ++i) {
        const auto key = crypto::generate_hop_key();
        CHECK(key != HopKey{});
        const auto text = crypto::format_hop_key(key);
        CHECK(text.size() == 44);
        CHECK(text.back() == '=');
        std::string why;
        const auto back = crypto::parse_hop_key(text, why);
        INFO(text << ": " << why);
        REQUIRE(back);
        CHECK(*back == key);
        seen.insert(text);
    }
    CHECK(seen.size() == 64);
}

TEST_CASE("hop key: parse_hop_key round trips known texts", "[crypto][hopkey]") {
    HopKey descending{};
    for (std::size_t i = 0; i < descending.size(); ++i) descending[i] = static_cast<std::byte>(255 - i * 5);
    HopKey ones{};
    ones.fill(std::byte{0xFF});
    struct Row {
        std::string text;
        HopKey key;
    };
    const Row rows[] = {
        {std::string(43, 'A') + "=", HopKey{}},
        {kKeyText, counting_key()},
        {"//////////////////////////////////////////8=", ones},
        {crypto::format_hop_key(descending), descending},
    };
    for (const auto& row : rows) {
        std::string why;
        const auto key = crypto::parse_hop_key(row.text, why);
        INFO(row.text << ": " << why);
        REQUIRE(key);
        CHECK(*key == row.key);
        CHECK(crypto::format_hop_key(*key) == row.text);
    }
}

TEST_CASE("hop key: parse_hop_key rejects everything but the canonical text", "[crypto][hopkey]") {
    struct Row {
        std::string text;
        std::string reason;  // a piece the message must contain
    };
    const std::string k = kKeyText;
    const Row rows[] = {
        {"", "got 0"},
        {"AAECAwQFBgc", "got 11"},
        {"AAECAwQFBgcI", "44 characters of base64 (porthop genkey prints one); got 12"},
        {k.substr(0, 43), "got 43"},                     // '=' dropped
        {k + "=", "got 45"},                             // two '='
        {k + "\n", "got 45"},                            // a trailing newline is not trimmed here
        {" " + k.substr(0, 43), "position 1"},           // 44, shifted
        {k.substr(0, 43) + "A", "one '='"},              // no padding, 44 characters
        {k.substr(0, 42) + "==", "'=' at position 43"},  // 31 bytes
        {std::string(40, 'A') + "====", "'=' at position 41"},
        {"=" + k.substr(1), "'=' at position 1"},
        {"-" + k.substr(1), "position 1"},  // base64url alphabet
        {k.substr(0, 10) + "_" + k.substr(11), "position 11"},
        {k.substr(0, 20) + " " + k.substr(21), "position 21"},
        {k.substr(0, 5) + "\n" + k.substr(6), "position 6"},
        {k.substr(0, 30) + "\xc3" + k.substr(31), "position 31"},
        {k.substr(0, 42) + ".=", "position 43"},
        // 43 characters carry 258 bits; the last 2 must be zero.
        {std::string(42, 'A') + "B=", "canonical"},
        {std::string(42, 'A') + "D=", "canonical"},
        {k.substr(0, 42) + "9=", "canonical"},
        {std::string(42, '/') + "/=", "canonical"},
    };
    for (const auto& row : rows) {
        INFO("'" << row.text << "'");
        std::string why;
        CHECK_FALSE(crypto::parse_hop_key(row.text, why));
        INFO("why: " << why);
        CHECK(why.find(row.reason) != std::string::npos);
    }
}
