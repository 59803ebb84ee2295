// Mac1Verifier / parse_wg_key / format_wg_key: WireGuard's mac1 over OpenSSL's BLAKE2s.
//
// Known answers come from two sources that share no code with OpenSSL's BLAKE2s:
//  - real handshake messages made by wireguard-go (tests/fixtures/capture_wg_handshake.sh);
//  - Python's hashlib (the BLAKE2 reference code), e.g. for the mac1 key:
//      hashlib.blake2s(b"mac1----" + base64.b64decode(pub)).hexdigest()
//    and for the MAC: hashlib.blake2s(data, key=mac1_key, digest_size=16).hexdigest()
#include "porthop/crypto/mac1.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../../fixtures/fixture.hpp"
#include "porthop/wire/wireguard.hpp"

using porthop::crypto::format_wg_key;
using porthop::crypto::kMac1Size;
using porthop::crypto::Mac1Verifier;
using porthop::crypto::parse_wg_key;
using porthop::crypto::WgKey;
using porthop::test::hex;
using porthop::test::load_fixture;
using porthop::test::to_hex;
namespace wg = porthop::wire::wg;

namespace {

Mac1Verifier verifier_for(const std::string& base64) {
    std::string why;
    auto v = Mac1Verifier::from_base64(base64, why);
    INFO(why);
    REQUIRE(v.has_value());
    return std::move(*v);
}

// Captured fixtures name the key mac1 is made with ("mac1_key: responder_public_key").
Mac1Verifier verifier_of(const porthop::test::Fixture& f) { return verifier_for(f.at(f.at("mac1_key"))); }

const std::string kResponderPub = "bDvOSj2irNp4BXyqhBigLIMVcVFEQ4x7bHjtLjMyy3A=";
const std::string kInitiatorPub = "XlBRocbwHThhcJPuzNo4bNL4eTP4PhxJm38UqoJfEVM=";

}  // namespace

TEST_CASE("Mac1Verifier: mac1 key and MAC match the BLAKE2 reference (hashlib)", "[crypto][mac1]") {
    struct Row {
        std::string public_key;
        std::string mac1_key;      // blake2s("mac1----" || public key)
        std::string mac_of_0_115;  // keyed blake2s, 16 bytes, over bytes 0x00..0x73
        std::string mac_of_empty;
    };
    const Row rows[] = {
        {kResponderPub, "682cb8a7f3896433e6e4544fc766b8f3080313c0d0938471270cd23a0525dede",
         "b4600f14db462e14834b00a6852793bf", "1ecd12b92be60dd9df434fcf603a8990"},
        {kInitiatorPub, "b6265bb4a5c30e91c9a90cf57725def364cbb130d4777c1cf60f362ce23ee2b8",
         "df7573c4e42ed9033ee6df368f8acced", "0ae7e51b18eaff7d49fe791960545eb5"},
        {std::string(43, 'A') + "=", "d84d593e94aac535d9107d24b9e4576f12a1d0c96b630c2961edee4259e3e3c5",
         "cc8b9fcd5441d0d7e7fac2c1d3f63176", "821f339ff1d8f56ea4a382e25b89c631"},
    };
    std::vector<std::byte> data(116);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i);
    for (const auto& row : rows) {
        INFO("public key " << row.public_key);
        auto v = verifier_for(row.public_key);
        CHECK(to_hex(v.mac1_key()) == row.mac1_key);
        std::array<std::byte, kMac1Size> mac{};
        REQUIRE(v.compute(data, mac));
        CHECK(to_hex(mac) == row.mac_of_0_115);
        REQUIRE(v.compute({}, mac));
        CHECK(to_hex(mac) == row.mac_of_empty);
        // Repeated use of the same context gives the same answer (re-init, not continuation).
        REQUIRE(v.compute(data, mac));
        CHECK(to_hex(mac) == row.mac_of_0_115);
    }
}

TEST_CASE("Mac1Verifier: real handshake messages from wireguard-go verify", "[crypto][mac1][fixture]") {
    for (const char* name : {"wg_handshake_initiation.hex", "wg_handshake_response.hex"}) {
        INFO(name);
        const auto f = load_fixture(name);
        auto v = verifier_of(f);
        CHECK(v.verify(f.packet));
        CHECK(v.verify(f.packet));  // and again, with the same context
    }
}

TEST_CASE("Mac1Verifier: a message made for another key fails", "[crypto][mac1][fixture]") {
    const auto initiation = load_fixture("wg_handshake_initiation.hex");
    const auto response = load_fixture("wg_handshake_response.hex");
    auto responder = verifier_for(kResponderPub);
    auto initiator = verifier_for(kInitiatorPub);
    // Each message is keyed by its recipient, so the other party's key must not verify it.
    CHECK(responder.verify(initiation.packet));
    CHECK_FALSE(initiator.verify(initiation.packet));
    CHECK(initiator.verify(response.packet));
    CHECK_FALSE(responder.verify(response.packet));
    // Nor does a key one bit away from the right one.
    for (std::size_t bit = 0; bit < 256; bit += 37) {
        auto key = responder.public_key();
        key[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
        std::string why;
        auto other = Mac1Verifier::create(key, why);
        REQUIRE(other);
        INFO("key bit " << bit);
        CHECK_FALSE(other->verify(initiation.packet));
    }
}

TEST_CASE("Mac1Verifier: flipping any bit before mac2 fails", "[crypto][mac1][fixture]") {
    // Bits of the covered bytes change the MAC input (or the type, making it no handshake);
    // bits of mac1 itself no longer match. Only mac2 is outside mac1's reach.
    for (const char* name : {"wg_handshake_initiation.hex", "wg_handshake_response.hex"}) {
        const auto f = load_fixture(name);
        auto v = verifier_of(f);
        const auto layout = *wg::mac_layout(wg::classify(f.packet).kind);
        auto m = f.packet;
        std::size_t failures = 0;
        for (std::size_t byte = 0; byte < layout.mac2; ++byte) {
            for (int bit = 0; bit < 8; ++bit) {
                m[byte] ^= static_cast<std::byte>(1 << bit);
                if (v.verify(m)) {
                    INFO(name << ": byte " << byte << " bit " << bit << " flipped still verifies");
                    CHECK(false);
                } else {
                    ++failures;
                }
                m[byte] ^= static_cast<std::byte>(1 << bit);
            }
        }
        CHECK(failures == layout.mac2 * 8);
        CHECK(v.verify(m));  // restored
        // mac2 is not covered by mac1: changing it does not matter to verify.
        m[layout.mac2] ^= std::byte{0x01};
        m.back() ^= std::byte{0x80};
        CHECK(v.verify(m));
    }
}

TEST_CASE("Mac1Verifier: truncated, oversized and other messages fail", "[crypto][mac1][fixture]") {
    const auto f = load_fixture("wg_handshake_initiation.hex");
    auto v = verifier_of(f);
    const std::span<const std::byte> good(f.packet);
    // Every proper prefix, including the one that ends right after mac1.
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("prefix " << n);
        CHECK_FALSE(v.verify(good.first(n)));
    }
    // One byte or many bytes appended.
    for (std::size_t extra : {1, 16, 1000}) {
        INFO("oversized by " << extra);
        auto longer = f.packet;
        longer.resize(longer.size() + extra, std::byte{0});
        CHECK_FALSE(v.verify(longer));
    }
    // The right size but another type; a non-zero reserved byte.
    auto as_type = [&](std::uint8_t type) {
        auto m = f.packet;
        m[0] = std::byte{type};
        return m;
    };
    CHECK_FALSE(v.verify(as_type(2)));
    CHECK_FALSE(v.verify(as_type(3)));
    CHECK_FALSE(v.verify(as_type(4)));  // a valid transport message of 148 bytes
    auto reserved = f.packet;
    reserved[3] = std::byte{1};
    CHECK_FALSE(v.verify(reserved));
    CHECK_FALSE(v.verify({}));
}

TEST_CASE("Mac1Verifier: messages built with compute verify", "[crypto][mac1]") {
    // A self-consistency check over both layouts and many contents.
    auto v = verifier_for(kResponderPub);
    for (auto [type, size] : {std::pair<std::uint8_t, std::size_t>{1, 148}, {2, 92}}) {
        const auto layout = *wg::mac_layout(type == 1 ? wg::Kind::initiation : wg::Kind::response);
        for (std::uint8_t seed = 0; seed < 20; ++seed) {
            std::vector<std::byte> m(size);
            for (std::size_t i = 4; i < size; ++i) m[i] = static_cast<std::byte>((seed * 131 + i * 7) & 0xFF);
            m[0] = std::byte{type};
            m[1] = m[2] = m[3] = std::byte{0};
            REQUIRE(v.compute(std::span(m).first(layout.mac1),
                              std::span<std::byte, kMac1Size>(m.data() + layout.mac1, kMac1Size)));
            INFO("type " << int(type) << ", seed " << int(seed));
            CHECK(v.verify(m));
            m[layout.mac1 - 1] ^= std::byte{0x40};
            CHECK_FALSE(v.verify(m));
        }
    }
}

TEST_CASE("Mac1Verifier: move leaves a verifier that refuses everything", "[crypto][mac1][fixture]") {
    const auto f = load_fixture("wg_handshake_initiation.hex");
    auto a = verifier_for(kResponderPub);
    auto b = std::move(a);
    CHECK(b.verify(f.packet));
    CHECK_FALSE(a.verify(f.packet));  // NOLINT(bugprone-use-after-move): the documented state
    std::array<std::byte, kMac1Size> mac{};
    CHECK_FALSE(a.compute({}, mac));
    auto c = verifier_for(kInitiatorPub);
    c = std::move(b);
    CHECK(c.verify(f.packet));
    std::string why;
    CHECK(c.public_key() == parse_wg_key(kResponderPub, why));
}

TEST_CASE("parse_wg_key: WireGuard's base64 form", "[crypto][mac1]") {
    std::string why;
    SECTION("known keys") {
        const auto zero = parse_wg_key(std::string(43, 'A') + "=", why);
        REQUIRE(zero);
        CHECK(*zero == WgKey{});
        const auto counting = parse_wg_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", why);
        REQUIRE(counting);
        for (std::size_t i = 0; i < 32; ++i) CHECK(std::to_integer<std::size_t>((*counting)[i]) == i);
        const auto ones = parse_wg_key("//////////////////////////////////////////8=", why);
        REQUIRE(ones);
        for (std::byte b : *ones) CHECK(b == std::byte{0xFF});
        const auto real = parse_wg_key(kResponderPub, why);
        REQUIRE(real);
        CHECK(to_hex(*real) == "6c3bce4a3da2acda78057caa8418a02c8315715144438c7b6c78ed2e3332cb70");
    }
    SECTION("round trip through format_wg_key") {
        for (const auto& text : {kResponderPub, kInitiatorPub, std::string(43, 'A') + "=",
                                 std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
                                 std::string("//////////////////////////////////////////8=")}) {
            const auto key = parse_wg_key(text, why);
            REQUIRE(key);
            CHECK(format_wg_key(*key) == text);
        }
        WgKey k{};
        for (std::size_t i = 0; i < 32; ++i) k[i] = static_cast<std::byte>(255 - i * 5);
        CHECK(parse_wg_key(format_wg_key(k), why) == k);
    }
    SECTION("rejected") {
        struct Row {
            std::string text;
            std::string reason;  // a word the message must contain
        };
        const Row rows[] = {
            {"", "44"},
            {kResponderPub.substr(0, 43), "44"},            // '=' dropped
            {kResponderPub + "=", "44"},                    // 45
            {kResponderPub.substr(0, 43) + "A", "'='"},     // no padding
            {" " + kResponderPub.substr(0, 43), "'='"},     // 44 but shifted
            {"-" + kResponderPub.substr(1), "position 1"},  // base64url
            {kResponderPub.substr(0, 10) + "_" + kResponderPub.substr(11), "position 11"},
            {kResponderPub.substr(0, 20) + "=" + kResponderPub.substr(21), "position 21"},
            {kResponderPub.substr(0, 42) + " =", "position 43"},
            {kResponderPub.substr(0, 5) + "\n" + kResponderPub.substr(6), "position 6"},
            {std::string(42, 'A') + "B=", "canonical"},  // stray low bits
            {std::string(42, 'A') + "D=", "canonical"},
            {std::string(42, '/') + "/=", "canonical"},
        };
        for (const auto& row : rows) {
            INFO("'" << row.text << "'");
            why.clear();
            CHECK_FALSE(parse_wg_key(row.text, why));
            CHECK(why.find(row.reason) != std::string::npos);
            why.clear();
            CHECK_FALSE(Mac1Verifier::from_base64(row.text, why));
            CHECK(why.find(row.reason) != std::string::npos);
        }
    }
}
