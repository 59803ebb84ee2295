// wire::hop: the hop link's frame layout (docs/PROTOCOL.md). Tags are crypto/hop_auth's job;
// here the tag area is only laid out (zeroed) and never read.
#include "porthop/wire/hoplink.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"

namespace hoplink = porthop::wire::hop;
using porthop::test::bytes;
using porthop::test::hex;

namespace {

using Frame = std::array<std::byte, hoplink::kControlSize>;

Frame encoded(const hoplink::Control& c) {
    Frame f{};
    hoplink::encode_control(c, f);
    return f;
}

constexpr std::uint64_t kAllOnes = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST_CASE("hop frame: encode_control lays the fields out big-endian", "[wire][hoplink]") {
    // The covered part of the attach vector in docs/PROTOCOL.md (tests/vectors/make_hop_vectors.py);
    // the tag area is zeroed.
    const hoplink::Control attach{hoplink::Type::attach, 0x0123456789abcdef, 1, 28000000, 0};
    const auto expected = hex(
        "0101"
        "0123456789abcdef"
        "0000000000000001"
        "0000000001ab3f00"
        "0000000000000000"
        "00000000000000000000000000000000");
    const auto f = encoded(attach);
    CHECK(std::vector<std::byte>(f.begin(), f.end()) == expected);

    const hoplink::Control ack{hoplink::Type::ack, 0x8000000000000001, 0x0102030405060708, kAllOnes, 0xfedcba9876543210};
    const auto g = encoded(ack);
    CHECK(std::vector<std::byte>(g.begin(), g.end()) == hex("0201"
                                                                 "8000000000000001"
                                                                 "0102030405060708"
                                                                 "ffffffffffffffff"
                                                                 "fedcba9876543210"
                                                                 "00000000000000000000000000000000"));
}

TEST_CASE("hop frame: encode_control overwrites a dirty tag area", "[wire][hoplink]") {
    Frame f;
    f.fill(std::byte{0xEE});
    hoplink::encode_control({hoplink::Type::ack, 1, 2, 3, 4}, f);
    for (std::size_t i = hoplink::kTagOffset; i < hoplink::kControlSize; ++i) CHECK(f[i] == std::byte{0});
}

TEST_CASE("hop frame: decode_control reads back what encode_control wrote", "[wire][hoplink]") {
    const hoplink::Control rows[] = {
        {hoplink::Type::attach, 0, 0, 0, 0},
        {hoplink::Type::attach, 0x0123456789abcdef, 1, 28000000, 0},
        {hoplink::Type::ack, kAllOnes, kAllOnes, kAllOnes, kAllOnes},
        {hoplink::Type::ack, 0x00000000000000ff, 0xff00000000000000, 0x8000000000000000, 1},
        {hoplink::Type::attach, 0x5a5a5a5a5a5a5a5a, 0xa5a5a5a5a5a5a5a5, 0x0000000100000000, 0x00000000ffffffff},
    };
    for (const auto& c : rows) {
        INFO("session " << c.session_id << " counter " << c.counter << " epoch " << c.epoch);
        const auto f = encoded(c);
        CHECK(hoplink::classify(f) == hoplink::Kind::control);
        const auto back = hoplink::decode_control(f);
        REQUIRE(back);
        CHECK(*back == c);
    }
}

TEST_CASE("hop frame: classify by size, type and version", "[wire][hoplink]") {
    const auto attach = encoded({hoplink::Type::attach, 7, 1, 5, 0});
    const auto ack = encoded({hoplink::Type::ack, 7, 1, 5, 1});
    CHECK(hoplink::classify(attach) == hoplink::Kind::control);
    CHECK(hoplink::classify(ack) == hoplink::Kind::control);

    SECTION("every other length of a control frame is not hop link") {
        std::vector<std::byte> longer(attach.begin(), attach.end());
        longer.push_back(std::byte{0});
        for (std::size_t n = 0; n <= hoplink::kControlSize + 1; ++n) {
            if (n == hoplink::kControlSize) continue;
            for (const auto* frame : {&attach, &ack}) {
                const std::span<const std::byte> prefix =
                    n <= hoplink::kControlSize ? std::span<const std::byte>(*frame).first(n) : std::span(longer);
                INFO("length " << n << ", type " << std::to_integer<int>((*frame)[0]));
                CHECK(hoplink::classify(prefix) == hoplink::Kind::other);
                CHECK_FALSE(hoplink::decode_control(prefix));
            }
        }
    }
    SECTION("a 50-byte frame of another type") {
        for (int type : {0x00, 0x04, 0x05, 0x7f, 0x80, 0x81, 0x82, 0xff}) {
            auto f = attach;
            f[0] = static_cast<std::byte>(type);
            INFO("type " << type);
            CHECK(hoplink::classify(f) == hoplink::Kind::other);
            CHECK_FALSE(hoplink::decode_control(f));
        }
    }
    SECTION("a 50-byte frame of another version") {
        for (int version : {0x00, 0x02, 0x03, 0x81, 0xff}) {
            for (auto f : {attach, ack}) {
                f[1] = static_cast<std::byte>(version);
                INFO("version " << version);
                CHECK(hoplink::classify(f) == hoplink::Kind::other);
                CHECK_FALSE(hoplink::decode_control(f));
            }
        }
    }
    SECTION("data frames, whatever their size") {
        // A data frame of exactly 50 bytes is data: the type byte decides before the size.
        auto fifty = attach;
        fifty[0] = std::byte{0x03};
        CHECK(hoplink::classify(fifty) == hoplink::Kind::data);
        CHECK_FALSE(hoplink::decode_control(fifty));
        for (std::size_t n : {1, 2, 49, 50, 51, 149, 1453, 65535}) {
            std::vector<std::byte> f(n, std::byte{0x5a});
            f[0] = std::byte{0x03};
            INFO("data frame of " << n << " bytes");
            CHECK(hoplink::classify(f) == hoplink::Kind::data);
            const auto payload = hoplink::data_payload(f);
            CHECK(payload.size() == n - hoplink::kDataOverhead);
            CHECK(payload.data() == f.data() + 1);  // in place, no copy
        }
    }
    SECTION("other short inputs") {
        struct Row {
            std::vector<std::byte> bytes;
            hoplink::Kind kind;
        };
        const Row rows[] = {
            {{}, hoplink::Kind::other},
            {bytes({0x01}), hoplink::Kind::other},
            {bytes({0x02, 0x01}), hoplink::Kind::other},
            {bytes({0x00}), hoplink::Kind::other},
            {bytes({0x04, 0x00, 0x00, 0x00}), hoplink::Kind::other},  // WireGuard transport header
            {bytes({0x01, 0x00, 0x00, 0x00}), hoplink::Kind::other},  // WireGuard initiation header
            {bytes({0x03}), hoplink::Kind::data},                     // empty payload
            {bytes({0x03, 0x01}), hoplink::Kind::data},
        };
        for (const auto& row : rows) {
            INFO("size " << row.bytes.size());
            CHECK(hoplink::classify(row.bytes) == row.kind);
        }
    }
}

TEST_CASE("hop frame: the layout constants agree with each other", "[wire][hoplink]") {
    STATIC_REQUIRE(hoplink::kTagOffset + hoplink::kTagSize == hoplink::kControlSize);
    STATIC_REQUIRE(hoplink::kTagOffset == 2 + 4 * 8);
    STATIC_REQUIRE(hoplink::kDataOverhead == 1);
    STATIC_REQUIRE(static_cast<int>(hoplink::Type::data) == 3);
}
