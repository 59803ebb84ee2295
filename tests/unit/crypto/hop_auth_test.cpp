// crypto/hop_auth: sealing and opening control frames. Known answers from
// tests/vectors/make_hop_vectors.py (hashlib only), also in docs/PROTOCOL.md.
#include "porthop/crypto/hop_auth.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/hop_vectors.hpp"

namespace crypto = porthop::crypto;
namespace hoplink = porthop::wire::hop;
using crypto::OpenStatus;
using porthop::test::bytes;
using porthop::test::hex;
using porthop::test::kAck;
using porthop::test::kAckHex;
using porthop::test::kAttach;
using porthop::test::kAttachHex;

namespace {

using Frame = std::array<std::byte, hoplink::kControlSize>;

crypto::HopKeys test_keys() {
    return crypto::derive_hop_keys(porthop::test::counting_key());
}

Frame sealed(const crypto::HopKeys& keys, const hoplink::Control& c) {
    Frame f{};
    crypto::seal_control(keys, c, f);
    return f;
}

}  // namespace

TEST_CASE("hop auth: seal_control gives the vector frames", "[crypto][hopauth]") {
    const auto keys = test_keys();
    CHECK(bytes(sealed(keys, kAttach)) == hex(kAttachHex));
    CHECK(bytes(sealed(keys, kAck)) == hex(kAckHex));
}

TEST_CASE("hop auth: open_control accepts the vector frames and reads their fields", "[crypto][hopauth]") {
    const auto keys = test_keys();
    for (const auto& [digits, control] : {std::pair{kAttachHex, kAttach}, std::pair{kAckHex, kAck}}) {
        const auto frame = hex(digits);
        const auto opened = crypto::open_control(keys, frame);
        CHECK(opened.status == OpenStatus::ok);
        CHECK(opened.control == control);
    }
}

TEST_CASE("hop auth: seal then open round trips", "[crypto][hopauth]") {
    const auto keys = test_keys();
    const hoplink::Control rows[] = {
        kAttach,
        kAck,
        {hoplink::Type::attach, 0, 0, 0, 0},  // counter 0 is a freshness matter, not open_control's
        {hoplink::Type::ack, ~0ull, ~0ull, ~0ull, ~0ull},
        {hoplink::Type::attach, 42, 1ull << 63, 1, 99},
    };
    for (const auto& c : rows) {
        const auto opened = crypto::open_control(keys, sealed(keys, c));
        CHECK(opened.status == OpenStatus::ok);
        CHECK(opened.control == c);
    }
}

TEST_CASE("hop auth: malformed frames", "[crypto][hopauth]") {
    const auto keys = test_keys();
    const auto good = sealed(keys, kAttach);
    SECTION("every truncation and one byte more") {
        for (std::size_t n = 0; n < hoplink::kControlSize; ++n) {
            INFO("length " << n);
            CHECK(crypto::open_control(keys, std::span<const std::byte>(good).first(n)).status ==
                  OpenStatus::malformed);
        }
        for (std::byte extra : {std::byte{0}, std::byte{0xff}}) {
            auto longer = bytes(good);
            longer.push_back(extra);
            CHECK(crypto::open_control(keys, longer).status == OpenStatus::malformed);
        }
    }
    SECTION("wrong type, even with a tag made for it") {
        for (int type : {0x00, 0x03, 0x04, 0xff}) {
            auto f = good;
            f[0] = static_cast<std::byte>(type);
            crypto::hop_tag(keys.auth, std::span<const std::byte>(f).first(hoplink::kTagOffset),
                            std::span<std::byte, 16>(f.data() + hoplink::kTagOffset, 16));
            INFO("type " << type);
            const auto opened = crypto::open_control(keys, f);
            CHECK(opened.status == OpenStatus::malformed);
            CHECK(opened.control == hoplink::Control{});
        }
    }
    SECTION("wrong version, even with a tag made for it") {
        for (int version : {0x00, 0x02, 0xff}) {
            auto f = good;
            f[1] = static_cast<std::byte>(version);
            crypto::hop_tag(keys.auth, std::span<const std::byte>(f).first(hoplink::kTagOffset),
                            std::span<std::byte, 16>(f.data() + hoplink::kTagOffset, 16));
            INFO("version " << version);
            CHECK(crypto::open_control(keys, f).status == OpenStatus::malformed);
        }
    }
}

TEST_CASE("hop auth: every single-bit flip of a frame fails", "[crypto][hopauth]") {
    const auto keys = test_keys();
    for (const auto& c : {kAttach, kAck}) {
        const auto good = sealed(keys, c);
        for (std::size_t bit = 0; bit < hoplink::kControlSize * 8; ++bit) {
            auto f = good;
            f[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
            const auto opened = crypto::open_control(keys, f);
            INFO("type " << static_cast<int>(c.type) << ", bit " << bit);
            CHECK(opened.status != OpenStatus::ok);
            // Bits 0..15 can make it no control frame at all; any other bit breaks the tag.
            if (bit >= 16) CHECK(opened.status == OpenStatus::bad_tag);
            CHECK(opened.control == hoplink::Control{});
        }
    }
}

TEST_CASE("hop auth: a frame sealed with another key is bad_tag", "[crypto][hopauth]") {
    const auto keys = test_keys();
    crypto::HopKey other{};
    other.fill(std::byte{0x42});
    const auto other_keys = crypto::derive_hop_keys(other);
    CHECK(crypto::open_control(other_keys, sealed(keys, kAttach)).status == OpenStatus::bad_tag);
    CHECK(crypto::open_control(keys, sealed(other_keys, kAck)).status == OpenStatus::bad_tag);
    // Swapping the subkeys' roles does not verify either.
    const crypto::HopKeys swapped{keys.schedule, keys.auth, keys.mask};
    CHECK(crypto::open_control(swapped, sealed(keys, kAttach)).status == OpenStatus::bad_tag);
    // An attach turned into an ack (type byte only) keeps its old tag: bad_tag.
    auto f = sealed(keys, kAttach);
    f[0] = std::byte{0x02};
    CHECK(crypto::open_control(keys, f).status == OpenStatus::bad_tag);
}

TEST_CASE("hop auth: to_string names every status", "[crypto][hopauth]") {
    CHECK(std::string(crypto::to_string(OpenStatus::ok)) == "ok");
    CHECK(std::string(crypto::to_string(OpenStatus::malformed)) == "malformed");
    CHECK(std::string(crypto::to_string(OpenStatus::bad_tag)) == "bad_tag");
}
