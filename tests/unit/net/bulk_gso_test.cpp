// Bulk padding and UDP GSO together: a batch sealed the way the agent and the server seal one
// (begin_burst, then seal_data into each SendItem's head and tail) still forms the GSO runs an
// unpadded batch forms (net/offload.hpp, gso_run), because equal datagrams of a burst come out
// equal. The negative: a new padding per frame (what the burst exists to avoid) breaks them.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <vector>

#include "../../support/endpoints.hpp"
#include "../../support/hop_vectors.hpp"
#include "porthop/hop/flow_padding.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/net/offload.hpp"

// A namespace of its own: unity builds share a translation unit between test files.
namespace bulk_gso_test {

using namespace porthop;
using hop::DataShape;
using hop::FrameCodec;
using Bytes = std::vector<std::byte>;

// A batch of datagrams, sealed as the loops seal one: the header into each item's head, the
// padding into its own tail buffer, cut to max_datagram.
class Batch {
public:
    explicit Batch(FrameCodec& codec) : codec_(codec) {}

    // Seals `sizes` (WireGuard transport messages) as one batch; `shape_of(i)` gives item i's
    // shape; `burst_per_item` draws a new burst for every item instead of one for the batch.
    template <class ShapeOf>
    std::span<const net::SendItem> seal(const std::vector<std::size_t>& sizes, ShapeOf shape_of,
                                        bool burst_per_item = false) {
        REQUIRE(sizes.size() <= net::kMaxBatch);
        codec_.begin_burst();
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            if (burst_per_item) codec_.begin_burst();
            datagrams_[i] = test::wg_transport(sizes[i]);
            net::SendItem& item = items_[i];
            item = net::SendItem{datagrams_[i].data(), datagrams_[i].size(), &peer_, nullptr};
            const auto sealed = codec_.seal_data(std::span<std::byte, FrameCodec::kMaxHead>(item.head.data(), FrameCodec::kMaxHead), datagrams_[i],
                                                 tails_[i], shape_of(i));
            item.head_length = sealed.head;
            item.tail = tails_[i].data();
            item.tail_length = sealed.tail;
        }
        return {items_.data(), sizes.size()};
    }

private:
    FrameCodec& codec_;
    net::Endpoint peer_ = test::endpoint("192.0.2.1", 443);
    std::array<Bytes, net::kMaxBatch> datagrams_;
    std::array<net::SendItem, net::kMaxBatch> items_;
    std::array<std::array<std::byte, FrameCodec::kMaxTail>, net::kMaxBatch> tails_;
};

auto all_bulk() {
    return [](std::size_t) { return DataShape::bulk; };
}

TEST_CASE("bulk padding keeps GSO runs: 64 equal datagrams and a shorter last", "[net][bulk_gso]") {
    FrameCodec codec = test::counting_codec(FrameCodec::Side::agent, 0x31);
    Batch batch(codec);
    std::vector<std::size_t> sizes(63, 900);  // 64 x (911 + 31) < 65507: one message
    sizes.push_back(600);
    for (int round = 0; round < 200; ++round) {
        const auto items = batch.seal(sizes, all_bulk());
        CHECK(items[0].tail_length < hop::kBulkWindow);
        CHECK(net::gso_run(items) == 64);  // one GSO message, as without padding
    }
}

TEST_CASE("bulk padding keeps GSO runs: full-size datagrams fill a message to its byte limit", "[net][bulk_gso]") {
    // 65507 bytes per GSO message: 46 unpadded frames of 1423 bytes, 45 once padded beyond 1424.
    // The padding costs at most one segment per message, never the run.
    FrameCodec codec = test::counting_codec(FrameCodec::Side::agent, 0x36);
    Batch batch(codec);
    const std::vector<std::size_t> sizes(64, 1412);
    for (int round = 0; round < 200; ++round) {
        const auto items = batch.seal(sizes, all_bulk());
        const std::size_t run = net::gso_run(items);
        CHECK(run == std::min<std::size_t>(64, net::kGsoMaxBytes / items[0].size()));
        CHECK(run >= 45);
        CHECK(net::gso_run(items.subspan(run)) == 64 - run);  // the rest: one more message
    }
}

TEST_CASE("bulk padding keeps GSO runs: runs of several sizes split where the sizes change", "[net][bulk_gso]") {
    FrameCodec codec = test::counting_codec(FrameCodec::Side::server, 0x32);
    Batch batch(codec);
    const std::vector<std::size_t> sizes = {1412, 1412, 1412, 96, 96, 96, 96, 1412, 1412};
    for (int round = 0; round < 200; ++round) {
        const auto items = batch.seal(sizes, all_bulk());
        // Unpadded: 3 (then the shorter 96 joins as the last), 3 more 96s, 2. Padded: the same
        // equal runs; whether a first 96 joins the run before it as its shorter last depends on
        // nothing but the lengths, and 96 + 11 + 31 is far below 1423.
        std::size_t at = 0;
        std::vector<std::size_t> runs;
        while (at < items.size()) {
            const std::size_t run = net::gso_run(items.subspan(at));
            runs.push_back(run);
            at += run;
        }
        CHECK(runs == std::vector<std::size_t>{4, 3, 2});
    }
}

TEST_CASE("bulk padding keeps GSO runs: after a flow's opening frames, the rest coalesce", "[net][bulk_gso]") {
    FrameCodec codec = test::counting_codec(FrameCodec::Side::agent, 0x33);
    Batch batch(codec);
    hop::FlowPadding flow;
    const std::vector<std::size_t> sizes(40, 1412);
    const auto items = batch.seal(sizes, [&](std::size_t) { return flow.next(40007); });
    // The opening frames are random lengths of their own (runs of 1, mostly, or a shorter last).
    std::size_t at = 0;
    while (at < hop::FlowPadding::kOpeningFrames) at += net::gso_run(items.subspan(at));
    // What follows is one run to the end (its first item may have joined the last opening run).
    CHECK(at <= hop::FlowPadding::kOpeningFrames + 1);
    CHECK(net::gso_run(items.subspan(at)) == items.size() - at);
    // The next batch on the same flow: bulk throughout, one run.
    CHECK(net::gso_run(batch.seal(sizes, [&](std::size_t) { return flow.next(40007); })) == sizes.size());
}

TEST_CASE("bulk padding keeps GSO runs: a shorter last within the window may end the run a frame early",
          "[net][bulk_gso]") {
    // Different lengths get unrelated paddings, so a last datagram only a few bytes shorter can
    // come out longer than the run: it then goes on its own (gso_run ends before it), and
    // nothing is lost.
    FrameCodec codec = test::counting_codec(FrameCodec::Side::agent, 0x34);
    Batch batch(codec);
    std::vector<std::size_t> sizes(10, 1412);
    sizes.push_back(1408);
    int whole = 0;
    for (int round = 0; round < 400; ++round) {
        const auto items = batch.seal(sizes, all_bulk());
        const std::size_t run = net::gso_run(items);
        CHECK(run >= 10);
        if (run == 11) ++whole;
        CHECK(net::gso_run(items.subspan(run)) == items.size() - run);
    }
    CHECK(whole > 100);  // most rounds still send all 11 as one message
}

TEST_CASE("bulk padding: a new padding per frame would break GSO runs (why bursts exist)", "[net][bulk_gso]") {
    FrameCodec codec = test::counting_codec(FrameCodec::Side::agent, 0x35);
    Batch batch(codec);
    const std::vector<std::size_t> sizes(64, 1412);
    std::size_t longest = 0;
    for (int round = 0; round < 50; ++round)
        longest = std::max(longest, net::gso_run(batch.seal(sizes, all_bulk(), /*burst_per_item=*/true)));
    CHECK(longest < 16);
}

}  // namespace bulk_gso_test
