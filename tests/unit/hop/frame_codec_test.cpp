// hop::FrameCodec: what the loops hold (hop link v2 for one side, with the loop's random
// generator). The format itself is tested against its vectors in frame_codec_v2_test.cpp; this
// file tests what the wrapper adds: sides, the generator, the ack's cap, restore.
#include "porthop/hop/frame_codec.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <set>
#include <utility>
#include <vector>

#include "../../support/hop_vectors.hpp"
#include "porthop/crypto/hop_auth.hpp"

namespace frame_codec_test {

using porthop::hop::FrameCodec;
using porthop::test::counting_codec;
namespace wh = porthop::wire::hop;
using Side = FrameCodec::Side;
using Bytes = std::vector<std::byte>;

Bytes seal_control(FrameCodec& codec, const wh::Control& c, std::size_t at_most = FrameCodec::kMaxControl) {
    return porthop::test::sealed_control(codec, c, at_most);
}

Bytes seal_data(FrameCodec& codec, Bytes datagram, std::size_t tail_room = FrameCodec::kMaxTail) {
    return porthop::test::sealed_data(codec, std::move(datagram), tail_room);
}

using porthop::test::wg_transport;

Bytes wg_initiation() {
    Bytes d(148, std::byte{0x33});
    d[0] = std::byte{1};
    d[1] = d[2] = d[3] = std::byte{0};
    return d;
}

// (The test cases stay in the namespace: unity builds share a translation unit.)

TEST_CASE("frame codec: control frames open on the other side only, and verify", "[hop][codec]") {
    auto agent = counting_codec(Side::agent);
    auto server = counting_codec(Side::server);
    for (int round = 0; round < 20; ++round) {
        Bytes attach = seal_control(agent, porthop::test::kAttach);
        CHECK(attach.size() >= 160);
        CHECK(attach.size() <= 1000);
        Bytes same_side = attach;
        CHECK(agent.open(same_side).kind == wh::Kind::other);  // its own direction: refused
        CHECK(same_side == attach);
        const auto opened = server.open(attach);
        REQUIRE(opened.kind == wh::Kind::control);
        REQUIRE(opened.body.size() == wh::kControlSize);
        const auto checked = porthop::crypto::open_control(agent.keys(), opened.body);
        REQUIRE(checked.status == porthop::crypto::OpenStatus::ok);
        CHECK(checked.control == porthop::test::kAttach);
    }
}

TEST_CASE("frame codec: an ack is no longer than the attach it answers", "[hop][codec]") {
    auto server = counting_codec(Side::server);
    for (const std::size_t attach : {61, 170, 500}) {
        for (int round = 0; round < 50; ++round) {
            const Bytes ack = seal_control(server, porthop::test::kAck, attach);
            CHECK(ack.size() <= attach);
        }
    }
}

TEST_CASE("frame codec: data frames round trip; handshakes are padded, bulk lightly", "[hop][codec]") {
    auto agent = counting_codec(Side::agent);
    auto server = counting_codec(Side::server);
    std::set<std::size_t> handshake_lengths;
    for (int round = 0; round < 50; ++round) {
        Bytes bulk = seal_data(agent, wg_transport(1400));
        CHECK(bulk.size() >= 1400 + FrameCodec::data_overhead());  // the bulk padding: 0..31 bytes
        CHECK(bulk.size() < 1400 + FrameCodec::data_overhead() + porthop::hop::kBulkWindow);
        const auto opened = server.open(bulk);
        REQUIRE(opened.kind == wh::Kind::data);
        CHECK(Bytes(opened.body.begin(), opened.body.end()) == wg_transport(1400));
        CHECK(opened.body.data() == bulk.data() + FrameCodec::data_overhead());  // in place

        Bytes hs = seal_data(server, wg_initiation());
        handshake_lengths.insert(hs.size());
        CHECK(hs.size() >= 160);
        CHECK(hs.size() <= 1000);
        const auto back = agent.open(hs);
        REQUIRE(back.kind == wh::Kind::data);
        CHECK(Bytes(back.body.begin(), back.body.end()) == wg_initiation());
    }
    CHECK(handshake_lengths.size() > 40);  // the generator runs: lengths vary frame to frame
    // A tail with less room: the padding is cut to it, and the frame still opens.
    Bytes short_tail = seal_data(server, wg_initiation(), 5);
    CHECK(short_tail.size() <= 11 + 148 + 5);
    CHECK(agent.open(short_tail).kind == wh::Kind::data);
}

TEST_CASE("frame codec: the sealing it is made with, or set later, and flag bit 2 reported", "[hop][codec]") {
    namespace v2 = porthop::hop::v2;
    const auto keys = porthop::crypto::derive_hop_keys(porthop::test::counting_key());
    // Opens with the mode in view (FrameCodec::Opened does not carry it: the loops need not).
    const porthop::hop::FrameCodecV2 server_v2(keys, Side::server);
    const porthop::hop::FrameCodecV2 agent_v2(keys, Side::agent);

    SECTION("a server made with mask full: every frame asks, its bulk data goes full") {
        FrameCodec server(keys, Side::server, porthop::test::seeded_random(0x41), v2::Sealing::asking(v2::Mode::full));
        auto agent = counting_codec(Side::agent);
        CHECK(server.sealing() == v2::Sealing{v2::Mode::full, true});
        Bytes ack = seal_control(server, porthop::test::kAck);
        const auto opened_ack = agent.open(ack);
        REQUIRE(opened_ack.kind == wh::Kind::control);
        CHECK(opened_ack.ask_full);
        Bytes bulk = seal_data(server, wg_transport(1400));
        // Full, and padded by the bulk rule (0..31 bytes), not the handshakes' 160..1000.
        CHECK(bulk.size() >= 1400 + FrameCodec::data_overhead());
        CHECK(bulk.size() <= 1400 + FrameCodec::data_overhead() + 31);
        const auto opened = agent_v2.open(bulk);
        REQUIRE(opened.kind == wh::Kind::data);
        CHECK(opened.mode == v2::Mode::full);
        CHECK(opened.ask_full);
    }
    SECTION("the default: light bulk, no bit; set_sealing changes the next frames") {
        auto agent = counting_codec(Side::agent);
        CHECK(agent.sealing() == v2::Sealing{});
        Bytes light = seal_data(agent, wg_transport(1400));
        auto opened = server_v2.open(light);
        REQUIRE(opened.kind == wh::Kind::data);
        CHECK(opened.mode == v2::Mode::light);
        CHECK_FALSE(opened.ask_full);
        Bytes attach = seal_control(agent, porthop::test::kAttach);
        CHECK_FALSE(counting_codec(Side::server).open(attach).ask_full);

        agent.set_sealing({v2::Mode::full, false});  // what the agent does on an ack that asks
        Bytes full = seal_data(agent, wg_transport(1400));
        CHECK(full.size() >= 1400 + FrameCodec::data_overhead());
        CHECK(full.size() <= 1400 + FrameCodec::data_overhead() + 31);
        opened = server_v2.open(full);
        REQUIRE(opened.kind == wh::Kind::data);
        CHECK(opened.mode == v2::Mode::full);
        CHECK_FALSE(opened.ask_full);

        agent.set_sealing({});  // and back, on an ack that does not
        Bytes again = seal_data(agent, wg_transport(1400));
        CHECK(server_v2.open(again).mode == v2::Mode::light);
    }
}

TEST_CASE("frame codec: restore gives an opened frame its received bytes back", "[hop][codec]") {
    auto agent = counting_codec(Side::agent);
    const auto server = counting_codec(Side::server);
    for (Bytes wire : {seal_data(agent, wg_transport(300)), seal_data(agent, wg_initiation()),
                       seal_control(agent, porthop::test::kAttach)}) {
        const Bytes received = wire;
        REQUIRE(server.open(wire).kind != wh::Kind::other);
        CHECK(wire != received);  // unmasked in place
        server.restore(wire);
        CHECK(wire == received);
    }
}

TEST_CASE("frame codec: two codecs with seeds from the OS draw different salts", "[hop][codec]") {
    const auto keys = porthop::crypto::derive_hop_keys(porthop::test::counting_key());
    FrameCodec a(keys, Side::agent);
    FrameCodec b(keys, Side::agent);
    const Bytes fa = seal_data(a, wg_transport(100));
    const Bytes fb = seal_data(b, wg_transport(100));
    CHECK(Bytes(fa.begin(), fa.begin() + 8) != Bytes(fb.begin(), fb.begin() + 8));
}

}  // namespace frame_codec_test
