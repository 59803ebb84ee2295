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

namespace hop = porthop::wire::hop;
using porthop::test::bytes;
using porthop::test::hex;

namespace {

using Frame = std::array<std::byte, hop::kControlSize>;

Frame encoded(const hop::Control& c) {
    Frame f{};
    hop::encode_control(c, f);
    return f;
}

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

}  // namespace

TEST_CASE("hop frame: encode_control lays the fields out big-endian", "[wire][hoplink]") {
    // The covered part of the attach vector in docs/PROTOCOL.md (tests/vectors/make_hop_vectors.py);
    // the tag area is zeroed.
    const hop::Control attach{hop::Type::attach, 0x0123456789abcdef, 1, 28000000, 0};
    const auto expected = hex(
        "0101"
        "0123456789abcdef"
        "0000000000000001"
        "0000000001ab3f00"
        "0000000000000000"
        "00000000000000000000000000000000");
    const auto f = encoded(attach);
    CHECK(std::vector<std::byte>(f.begin(), f.end()) == expected);

    const hop::Control ack{hop::Type::ack, 0x8000000000000001, 0x0102030405060708, kMax, 0xfedcba9876543210};
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
    hop::encode_control({hop::Type::ack, 1, 2, 3, 4}, f);
    for (std::size_t i = hop::kTagOffset; i < hop::kControlSize; ++i) CHECK(f[i] == std::byte{0});
}

TEST_CASE("hop frame: decode_control reads back what encode_control wrote", "[wire][hoplink]") {
    const hop::Control rows[] = {
        {hop::Type::attach, 0, 0, 0, 0},
        {hop::Type::attach, 0x0123456789abcdef, 1, 28000000, 0},
        {hop::Type::ack, kMax, kMax, kMax, kMax},
        {hop::Type::ack, 0x00000000000000ff, 0xff00000000000000, 0x8000000000000000, 1},
        {hop::Type::attach, 0x5a5a5a5a5a5a5a5a, 0xa5a5a5a5a5a5a5a5, 0x0000000100000000, 0x00000000ffffffff},
    };
    for (const auto& c : rows) {
        INFO("session " << c.session_id << " counter " << c.counter << " epoch " << c.epoch);
        const auto f = encoded(c);
        CHECK(hop::classify(f) == hop::Kind::control);
        const auto back = hop::decode_control(f);
        REQUIRE(back);
        CHECK(*back == c);
    }
}

TEST_CASE("hop frame: classify by size, type and version", "[wire][hoplink]") {
    const auto attach = encoded({hop::Type::attach, 7, 1, 5, 0});
    const auto ack = encoded({hop::Type::ack, 7, 1, 5, 1});
    CHECK(hop::classify(attach) == hop::Kind::control);
    CHECK(hop::classify(ack) == hop::Kind::control);

    SECTION("every other length of a control frame is not hop link") {
        std::vector<std::byte> longer(attach.begin(), attach.end());
        longer.push_back(std::byte{0});
        for (std::size_t n = 0; n <= hop::kControlSize + 1; ++n) {
            if (n == hop::kControlSize) continue;
            for (const auto* frame : {&attach, &ack}) {
                const std::span<const std::byte> prefix =
                    n <= hop::kControlSize ? std::span<const std::byte>(*frame).first(n) : std::span(longer);
                INFO("length " << n << ", type " << std::to_integer<int>((*frame)[0]));
                CHECK(hop::classify(prefix) == hop::Kind::other);
                CHECK_FALSE(hop::decode_control(prefix));
            }
        }
    }
    SECTION("a 50-byte frame of another type") {
        for (int type : {0x00, 0x04, 0x05, 0x7f, 0x80, 0x81, 0x82, 0xff}) {
            auto f = attach;
            f[0] = static_cast<std::byte>(type);
            INFO("type " << type);
            CHECK(hop::classify(f) == hop::Kind::other);
            CHECK_FALSE(hop::decode_control(f));
        }
    }
    SECTION("a 50-byte frame of another version") {
        for (int version : {0x00, 0x02, 0x03, 0x81, 0xff}) {
            for (auto f : {attach, ack}) {
                f[1] = static_cast<std::byte>(version);
                INFO("version " << version);
                CHECK(hop::classify(f) == hop::Kind::other);
                CHECK_FALSE(hop::decode_control(f));
            }
        }
    }
    SECTION("data frames, whatever their size") {
        // A data frame of exactly 50 bytes is data: the type byte decides before the size.
        auto fifty = attach;
        fifty[0] = std::byte{0x03};
        CHECK(hop::classify(fifty) == hop::Kind::data);
        CHECK_FALSE(hop::decode_control(fifty));
        for (std::size_t n : {1, 2, 49, 50, 51, 149, 1453, 65535}) {
            std::vector<std::byte> f(n, std::byte{0x5a});
            f[0] = std::byte{0x03};
            INFO("data frame of " << n << " bytes");
            CHECK(hop::classify(f) == hop::Kind::data);
            const auto payload = hop::data_payload(f);
            CHECK(payload.size() == n - hop::kDataOverhead);
            CHECK(payload.data() == f.data() + 1);  // in place, no copy
        }
    }
    SECTION("other short inputs") {
        struct Row {
            std::vector<std::byte> bytes;
            hop::Kind kind;
        };
        const Row rows[] = {
            {{}, hop::Kind::other},
            {bytes({0x01}), hop::Kind::other},
            {bytes({0x02, 0x01}), hop::Kind::other},
            {bytes({0x00}), hop::Kind::other},
            {bytes({0x04, 0x00, 0x00, 0x00}), hop::Kind::other},  // WireGuard transport header
            {bytes({0x01, 0x00, 0x00, 0x00}), hop::Kind::other},  // WireGuard initiation header
            {bytes({0x03}), hop::Kind::data},                     // empty payload
            {bytes({0x03, 0x01}), hop::Kind::data},
        };
        for (const auto& row : rows) {
            INFO("size " << row.bytes.size());
            CHECK(hop::classify(row.bytes) == row.kind);
        }
    }
}

TEST_CASE("hop frame: the layout constants agree with each other", "[wire][hoplink]") {
    STATIC_REQUIRE(hop::kTagOffset + hop::kTagSize == hop::kControlSize);
    STATIC_REQUIRE(hop::kTagOffset == 2 + 4 * 8);
    STATIC_REQUIRE(hop::kDataOverhead == 1);
    STATIC_REQUIRE(static_cast<int>(hop::Type::data) == 3);
}
