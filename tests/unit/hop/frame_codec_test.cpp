// hop::FrameCodec: the one type that opens and seals hop-link frames (docs/PROTOCOL.md). The
// vectors are those of tests/vectors/make_hop_vectors.py (an independent generator).
#include "porthop/hop/frame_codec.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/hop_vectors.hpp"

using porthop::hop::FrameCodec;
using porthop::test::counting_codec;
using porthop::test::hex;
using porthop::test::kAttach;
using porthop::test::kAttachHex;
namespace wh = porthop::wire::hop;

namespace {

using porthop::test::bytes;

}  // namespace

TEST_CASE("frame codec: seal_control gives the vector frame", "[hop][codec]") {
    const auto codec = counting_codec();
    std::array<std::byte, FrameCodec::kMaxControl> out{};
    const auto frame = codec.seal_control(kAttach, out);
    CHECK(std::vector<std::byte>(frame.begin(), frame.end()) == hex(kAttachHex));
    CHECK(frame.data() == out.data());
}

TEST_CASE("frame codec: a sealed data frame opens to the datagram it carries", "[hop][codec]") {
    const auto codec = counting_codec();
    auto datagram = bytes({0x04, 0x00, 0x00, 0x00, 0xaa, 0xbb});
    const auto original = datagram;
    std::array<std::byte, FrameCodec::kMaxHead> head{};
    const auto head_length = codec.seal_data(head, datagram);
    REQUIRE(head_length == codec.data_overhead());
    std::vector<std::byte> wire(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(head_length));
    wire.insert(wire.end(), datagram.begin(), datagram.end());
    CHECK(wire == bytes({0x03, 0x04, 0x00, 0x00, 0x00, 0xaa, 0xbb}));  // PROTOCOL.md: 0x03, then the datagram

    const auto opened = codec.open(wire);
    REQUIRE(opened.kind == wh::Kind::data);
    CHECK(std::vector<std::byte>(opened.body.begin(), opened.body.end()) == original);
    CHECK(opened.body.data() == wire.data() + head_length);  // in place, no copy
}

TEST_CASE("frame codec: open classifies control, data and everything else", "[hop][codec]") {
    const auto codec = counting_codec();
    auto control = hex(kAttachHex);
    const auto c = codec.open(control);
    CHECK(c.kind == wh::Kind::control);
    CHECK(c.body.data() == control.data());
    CHECK(c.body.size() == control.size());

    auto empty_data = bytes({0x03});
    const auto d = codec.open(empty_data);
    CHECK(d.kind == wh::Kind::data);
    CHECK(d.body.empty());

    SECTION("not hop link: nothing comes out") {
        std::vector<std::vector<std::byte>> others = {
            {},                                        // empty
            bytes({0x01}),                             // attach type, wrong size
            bytes({0x04, 0x00, 0x00, 0x00}),           // a WireGuard transport header
            bytes({0x38, 0x01, 0x02}),                 // an OpenVPN hard reset opcode
        };
        auto wrong_version = hex(kAttachHex);
        wrong_version[1] = std::byte{2};
        others.push_back(wrong_version);
        auto longer = hex(kAttachHex);
        longer.push_back(std::byte{0});
        others.push_back(longer);
        for (auto& frame : others) {
            const auto before = frame;
            const auto o = codec.open(frame);
            CHECK(o.kind == wh::Kind::other);
            CHECK(o.body.empty());
            CHECK(frame == before);  // a frame it does not accept is left as it was
        }
    }
}
