// hop/data_padding.hpp: the length rules of bulk data frames (docs/PROTOCOL.md, "Padding").
// The bulk rule: equal lengths in one burst give equal lengths out (GSO), shorter never longer
// by more than the window, the cap holds, each length spreads over the window across bursts.
// The opening rule: a handshake's range for short frames, up to the cap for long ones, never
// beyond the cap. Both: a frame at or above its cap is not padded.
#include "porthop/hop/data_padding.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>

#include "../../support/hop_vectors.hpp"

// A namespace of its own: unity builds share a translation unit between test files.
namespace data_padding_test {

using namespace porthop;
using hop::BulkBurst;
using hop::bulk_total;
using hop::kBulkWindow;
using hop::kPaddedFrameCap;
using hop::opening_total;

constexpr std::size_t kMinTotal = 160;  // the codec's default padding range
constexpr std::size_t kMaxTotal = 1000;

TEST_CASE("bulk padding: one burst gives equal lengths equal totals", "[hop][data_padding]") {
    auto random = test::seeded_random(0x11);
    for (int burst = 0; burst < 200; ++burst) {
        const BulkBurst b = BulkBurst::draw(random);
        for (const std::size_t n : {43, 91, 107, 600, 1000, 1423}) {
            const std::size_t first = bulk_total(n, kPaddedFrameCap, b);
            for (int again = 0; again < 5; ++again) CHECK(bulk_total(n, kPaddedFrameCap, b) == first);
            CHECK(first >= n);
            CHECK(first < n + kBulkWindow);
        }
    }
}

TEST_CASE("bulk padding: every length spreads over the whole window across bursts", "[hop][data_padding]") {
    auto random = test::seeded_random(0x12);
    constexpr int kBursts = 32'000;
    for (const std::size_t n : {43, 91, 107, 1000}) {
        std::map<std::size_t, int> totals;
        for (int i = 0; i < kBursts; ++i) ++totals[bulk_total(n, kPaddedFrameCap, BulkBurst::draw(random))];
        INFO("unpadded " << n);
        CHECK(totals.size() == kBulkWindow);  // each of n .. n + 31
        CHECK(totals.begin()->first == n);
        CHECK(totals.rbegin()->first == n + kBulkWindow - 1);
        // Uniform: 1000 expected each; 5 standard deviations (about 31) either side.
        for (const auto& [total, count] : totals) {
            CHECK(count > 1000 - 160);
            CHECK(count < 1000 + 160);
        }
    }
}

TEST_CASE("bulk padding: lengths of one burst get unrelated paddings", "[hop][data_padding]") {
    // A shared grid would pad every length of a burst to one residue; the keyed mix does not.
    auto random = test::seeded_random(0x13);
    int same_residue = 0;
    constexpr int kBursts = 3200;
    for (int i = 0; i < kBursts; ++i) {
        const BulkBurst b = BulkBurst::draw(random);
        const std::size_t a = bulk_total(91, kPaddedFrameCap, b);
        const std::size_t c = bulk_total(1011, kPaddedFrameCap, b);  // 920 apart: 0 mod 16 and mod 8
        if (a % 16 == c % 16) ++same_residue;
    }
    // Independent: 1 in 16 (200 expected, sd 14); a grid: every burst.
    CHECK(same_residue > 130);
    CHECK(same_residue < 270);
}

TEST_CASE("bulk padding: the cap holds, near it the window shrinks, at or beyond it no padding",
          "[hop][data_padding]") {
    auto random = test::seeded_random(0x14);
    std::set<std::size_t> near_cap;
    for (int i = 0; i < 4000; ++i) {
        const BulkBurst b = BulkBurst::draw(random);
        for (std::size_t n = kPaddedFrameCap - 40; n <= kPaddedFrameCap + 20; ++n) {
            const std::size_t total = bulk_total(n, kPaddedFrameCap, b);
            if (n >= kPaddedFrameCap) {
                CHECK(total == n);  // at the cap or a longer datagram: sent as it is
            } else {
                CHECK(total >= n);
                CHECK(total <= kPaddedFrameCap);
            }
        }
        near_cap.insert(bulk_total(kPaddedFrameCap - 10, kPaddedFrameCap, b));
        // A smaller cap (a tail with little room, max_datagram): the same.
        CHECK(bulk_total(500, 505, b) <= 505);
        CHECK(bulk_total(500, 500, b) == 500);
        CHECK(bulk_total(500, 400, b) == 500);
    }
    // The room left is used, not piled onto the cap: 1442 .. 1452, all of them.
    CHECK(near_cap.size() == 11);
}

TEST_CASE("opening padding: a handshake's range for short frames, up to the cap for long ones",
          "[hop][data_padding]") {
    auto random = test::seeded_random(0x15);
    std::set<std::size_t> short_totals, long_totals;
    for (int i = 0; i < 20'000; ++i) {
        const std::size_t s = opening_total(43, kPaddedFrameCap, kMinTotal, kMaxTotal, random);
        CHECK(s >= kMinTotal);
        CHECK(s <= kMaxTotal);
        short_totals.insert(s);
        const std::size_t mid = opening_total(900, kPaddedFrameCap, kMinTotal, kMaxTotal, random);
        CHECK(mid >= 900);
        CHECK(mid <= kMaxTotal);
        const std::size_t l = opening_total(1200, kPaddedFrameCap, kMinTotal, kMaxTotal, random);
        CHECK(l >= 1200);
        CHECK(l <= kPaddedFrameCap);
        long_totals.insert(l);
    }
    CHECK(short_totals.size() > 800);  // 841 lengths, 20,000 draws
    CHECK(long_totals.size() == kPaddedFrameCap - 1200 + 1);
}

TEST_CASE("opening padding: never beyond the cap, and nothing at or above it", "[hop][data_padding]") {
    auto random = test::seeded_random(0x16);
    for (int i = 0; i < 2000; ++i) {
        CHECK(opening_total(kPaddedFrameCap, kPaddedFrameCap, kMinTotal, kMaxTotal, random) == kPaddedFrameCap);
        CHECK(opening_total(1463, kPaddedFrameCap, kMinTotal, kMaxTotal, random) == 1463);
        // A tail with room for 20 bytes: the range is cut to it, also below min_total.
        const std::size_t cut = opening_total(100, 120, kMinTotal, kMaxTotal, random);
        CHECK(cut >= 100);
        CHECK(cut <= 120);
        CHECK(opening_total(100, 100, kMinTotal, kMaxTotal, random) == 100);
        // The cap below the datagram (no room at all): unpadded, not cut.
        CHECK(opening_total(100, 50, kMinTotal, kMaxTotal, random) == 100);
    }
}

TEST_CASE("opening padding: one draw per frame, whatever the range", "[hop][data_padding]") {
    // The sequence of draws depends only on which frames are opening ones (as for handshakes).
    auto a = test::seeded_random(0x17);
    auto b = test::seeded_random(0x17);
    (void)opening_total(kPaddedFrameCap, kPaddedFrameCap, kMinTotal, kMaxTotal, a);  // a single length
    (void)opening_total(43, kPaddedFrameCap, kMinTotal, kMaxTotal, b);             // 841 of them
    CHECK(a.next_u32() == b.next_u32());
}

}  // namespace data_padding_test
