// Issue 14's statistics rule on hop link v2's draft codec (hop/frame_codec_v2.hpp), with the
// random source seeded so that every run sees the same frames: 100,000 frames of each kind,
//  - the chi-square statistic at each of the first 64 byte positions (all 43 of a WireGuard
//    keepalive's frame) is not rejected at an overall p = 0.001 (Bonferroni over the positions;
//    tests/support/chi_square.hpp, whose own test shows it rejects unmasked, one-salt and 1 %-biased
//    samples);
//  - no length value holds more than 2 % of the control or handshake-carrying frames.
// Every frame of a kind carries the same plaintext (the worst case: nothing but the mask and
// the salt varies).
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/chi_square.hpp"
#include "../../support/hop_vectors.hpp"
#include "porthop/hop/frame_codec_v2.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here must not meet another file's.
namespace frame_codec_v2_stats_test {

using namespace porthop;
using hop::FrameCodecV2;
using test::Bytes;
namespace v2 = hop::v2;

constexpr std::size_t kFrames = 100'000;
constexpr std::size_t kPositions = 64;
constexpr double kOverallP = 0.001;
constexpr double kMaxLengthShare = 0.02;

struct Kind {
    const char* name;
    v2::Side side;
    bool control;
    bool padded;  // control or handshake-carrying: the length rule applies
    Bytes datagram;
    wire::hop::Control message{};
    std::size_t positions = kPositions;  // fewer for a frame shorter than 64 bytes: all of it
};

Bytes wg_message(int type, std::size_t size) {
    Bytes d = test::pattern(size, static_cast<std::uint8_t>(type * 17));
    d[0] = static_cast<std::byte>(type);
    d[1] = d[2] = d[3] = std::byte{0};
    if (type == 4) d[15] = std::byte{0};                            // a transport counter WireGuard accepts
    if (type == 1) std::fill(d.end() - 16, d.end(), std::byte{0});  // no cookie: mac2 zero
    return d;
}

Bytes ovpn_data_v2(std::size_t size) {
    Bytes d = test::pattern(size, 3);
    d[0] = std::byte{0x48};
    d[1] = d[2] = std::byte{0};
    return d;
}

std::vector<Kind> kinds() {
    return {
        {"attach", v2::Side::agent, true, true, {}, test::kAttach},
        {"ack", v2::Side::server, true, true, {}, test::kAck},
        {"wg initiation", v2::Side::agent, false, true, wg_message(1, 148)},
        {"wg response", v2::Side::server, false, true, wg_message(2, 92)},
        {"wg transport 1452", v2::Side::agent, false, false, wg_message(4, 1452)},
        {"wg keepalive", v2::Side::server, false, false, wg_message(4, 32), {}, v2::kOverhead + 32},
        {"ovpn P_DATA_V2 200", v2::Side::agent, false, false, ovpn_data_v2(200)},
    };
}

TEST_CASE("frame codec v2 statistics: 100,000 frames of each kind look uniform in their first 64 bytes",
          "[hop][codec2stats]") {
    std::array<std::byte, crypto::StreamRandom::kSeedSize> seed{};
    seed.fill(std::byte{0xa5});
    crypto::StreamRandom random(seed);
    const auto keys = crypto::derive_hop_keys(test::counting_key());

    for (const Kind& kind : kinds()) {
        INFO(kind.name);
        const FrameCodecV2 codec(keys, kind.side);
        const double critical = test::chi_square_critical(kOverallP, kind.positions);
        test::BytePositionCounts counts(kind.positions);
        std::map<std::size_t, std::size_t> lengths;
        std::array<std::byte, FrameCodecV2::kMaxControl> out{};
        std::array<std::byte, FrameCodecV2::kMaxHead> head{};
        std::vector<std::byte> tail(FrameCodecV2::kMaxTail);
        Bytes frame;
        for (std::size_t i = 0; i < kFrames; ++i) {
            if (kind.control) {
                const auto sealed = codec.seal_control(kind.message, out, random);
                frame.assign(sealed.begin(), sealed.end());
            } else {
                Bytes datagram = kind.datagram;
                const auto sealed = codec.seal_data(head, datagram, tail, random);
                frame.assign(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(sealed.head));
                frame.insert(frame.end(), datagram.begin(), datagram.end());
                frame.insert(frame.end(), tail.begin(),
                             tail.begin() + static_cast<std::ptrdiff_t>(sealed.tail));
            }
            if (frame.size() < kind.positions) FAIL("a frame of " << frame.size() << " bytes");
            counts.add(std::span<const std::byte>(frame).first(kind.positions));
            ++lengths[frame.size()];
        }

        double largest = 0;
        for (std::size_t i = 0; i < kind.positions; ++i) largest = std::max(largest, counts.statistic(i));
        INFO("critical " << critical << ", largest statistic " << largest);
        CHECK(counts.rejected(critical).empty());

        std::size_t most = 0;
        for (const auto& [length, n] : lengths) most = std::max(most, n);
        const double share = static_cast<double>(most) / kFrames;
        INFO(lengths.size() << " distinct lengths, the commonest holds " << share * 100 << " %");
        if (kind.padded) {
            CHECK(share <= kMaxLengthShare);
            CHECK(lengths.begin()->first >= 160);
            CHECK(lengths.rbegin()->first <= 1000);
        } else {
            CHECK(lengths.size() == 1);  // bulk data is not padded in this draft
        }
    }
}

}  // namespace frame_codec_v2_stats_test
