// libFuzzer target: hop link v2's draft codec, open() (hop/frame_codec_v2.hpp), with the key of
// the test vectors. Input: one byte choosing the receiver (bit 0: 0 the server, 1 the agent),
// then the frame. Checks:
//  - a refused frame is byte for byte the input, and says why; an accepted one is not "other";
//  - an accepted control frame has a 50-byte body that classifies as a v1 control frame, in
//    full mode; an accepted data frame's body and padding add up to the frame;
//  - the body points into the frame, after the salt and header;
//  - restore() gives back the input exactly;
//  - sealing an accepted data frame's body again (by the other side, with a fixed seed) gives a
//    frame that opens to the same body;
//  - open() never allocates (sanitizer malloc hook).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz_support.hpp"
#include "porthop/hop/frame_codec_v2.hpp"

namespace crypto = porthop::crypto;
namespace hop = porthop::hop;
namespace v2 = porthop::hop::v2;
namespace wh = porthop::wire::hop;

namespace {

using porthop::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop::fuzz::init_hop_target();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const bool agent_receives = (data[0] & 1) != 0;
    const auto& keys = porthop::fuzz::vector_keys();
    const hop::FrameCodecV2 receiver(keys, agent_receives ? v2::Side::agent : v2::Side::server);
    const hop::FrameCodecV2 sender(keys, agent_receives ? v2::Side::server : v2::Side::agent);
    const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    std::vector<std::byte> frame(input.begin(), input.end());

    const auto opened = porthop::fuzz::no_alloc([&] { return receiver.open(frame); });
    if (opened.kind == wh::Kind::other) {
        check(opened.refusal != v2::Refusal::none);
        check(opened.body.empty());
        check(std::equal(frame.begin(), frame.end(), input.begin(), input.end()));
        return 0;
    }
    check(opened.refusal == v2::Refusal::none);
    check(opened.body.data() == frame.data() + v2::kOverhead);
    check(v2::kOverhead + opened.body.size() + opened.padding == frame.size());
    check(opened.padding <= v2::kMaxPadding);
    if (opened.kind == wh::Kind::control) {
        check(opened.mode == v2::Mode::full);
        check(opened.body.size() == wh::kControlSize);
        check(wh::classify(opened.body) == wh::Kind::control);
    }
    const std::vector<std::byte> body(opened.body.begin(), opened.body.end());

    std::vector<std::byte> restored = frame;
    receiver.restore(restored);
    check(std::equal(restored.begin(), restored.end(), input.begin(), input.end()));

    if (opened.kind == wh::Kind::data) {
        std::array<std::byte, crypto::StreamRandom::kSeedSize> seed{};
        crypto::StreamRandom random(seed);
        std::array<std::byte, hop::FrameCodecV2::kMaxHead> head{};
        std::vector<std::byte> datagram = body;
        std::vector<std::byte> tail(hop::FrameCodecV2::kMaxTail);
        // Every padding shape a sender uses, chosen by the input; bulk with a burst drawn for it.
        const auto shape = static_cast<hop::DataShape>(input.size() % 3);
        const auto sealed =
            sender.seal_data(head, datagram, tail, random, {shape, hop::BulkBurst::draw(random)});
        // Padding never takes a frame past the cap (or past what it was without padding).
        check(sealed.mode == v2::Mode::full ||
              sealed.head + datagram.size() + sealed.tail <= std::max(hop::kPaddedFrameCap, v2::kOverhead + datagram.size()));
        std::vector<std::byte> wire(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(sealed.head));
        wire.insert(wire.end(), datagram.begin(), datagram.end());
        wire.insert(wire.end(), tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(sealed.tail));
        const auto again = receiver.open(wire);
        check(again.kind == wh::Kind::data);
        check(std::equal(again.body.begin(), again.body.end(), body.begin(), body.end()));
    }
    return 0;
}
