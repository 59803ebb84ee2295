// The statistics helper for hop link v2's codec tests (tests/support/chi_square.hpp), tested
// both ways on the frame mask: copies of one constant plaintext masked with per-frame salts
// must look uniform at every byte position, and the same plaintexts unmasked, masked with one
// salt, or with one slightly biased position must not. A check that cannot fail is no check.
//
// The critical values are checked against tests/vectors/make_mask_vectors.py, which computes
// the chi-square quantiles by numeric integration of the density (not Wilson-Hilferty) and the
// normal quantiles with Python's statistics.NormalDist.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/chi_square.hpp"
#include "../../support/hop_vectors.hpp"
#include "porthop/crypto/frame_mask.hpp"
#include "porthop/crypto/stream_random.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here must not meet another file's.
namespace mask_statistics_test {

using namespace porthop;
using test::BytePositionCounts;
using test::Bytes;

struct CriticalRow {
    std::size_t positions;
    double p;         // 0.001 / positions
    double z;         // normal quantile: P(Z > z) = p
    double critical;  // chi-square(255) quantile: P(X > critical) = p, by integration
};
// python3 tests/vectors/make_mask_vectors.py --cpp
// positions N, p = 0.001 / N, normal quantile z(1 - p), chi-square(255) quantile by integration
const CriticalRow kCriticalRows[] = {
    {1u, 0.001, 3.090232306167813, 330.51974363400984},
    {64u, 1.5625e-05, 4.164160673544259, 360.1267983716271},
    {1500u, 6.666666666666667e-07, 4.83471976296502, 379.45638618161274},
};

constexpr std::size_t kSamples = 100'000;
constexpr std::size_t kLength = 64;  // what the light mode masks: the header and the payload's start
constexpr double kOverallP = 0.001;

// A hop-link data frame's first 64 bytes, the same in every sample: 0x03, then a WireGuard
// transport header (type 4, three zero bytes, receiver index, counter), then constant bytes.
Bytes plaintext() {
    return test::bytes({0x03, 0x04, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x01, 0, 0, 0, 0, 0, 0, 0},
                       kLength);
}

enum class Salts { per_frame, one_for_all, unmasked };

// kSamples copies of plaintext(), each masked as `how` says; with `biased` set, every 100th
// sample's byte at that position is then set to zero (1 % of the samples).
BytePositionCounts copies(Salts how, std::size_t biased = kLength) {
    const auto key = crypto::derive_hop_keys(test::counting_key()).mask;
    std::array<std::byte, crypto::StreamRandom::kSeedSize> seed{};
    seed.fill(std::byte{0x5a});
    crypto::StreamRandom random(seed);
    crypto::MaskSalt salt{};
    random.fill(salt);
    BytePositionCounts counts(kLength);
    const Bytes plain = plaintext();
    Bytes frame(kLength);
    for (std::size_t i = 0; i < kSamples; ++i) {
        frame = plain;
        if (how == Salts::per_frame) random.fill(salt);
        if (how != Salts::unmasked) crypto::MaskStream(key, salt, crypto::MaskDirection::agent_to_server).apply(frame);
        if (biased < kLength && i % 100 == 0) frame[biased] = std::byte{0};
        counts.add(frame);
    }
    return counts;
}

std::vector<double> statistics(const BytePositionCounts& counts) {
    std::vector<double> out;
    for (std::size_t i = 0; i < counts.length(); ++i) out.push_back(counts.statistic(i));
    return out;
}

std::vector<std::size_t> every_position() {
    std::vector<std::size_t> all(kLength);
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
}

TEST_CASE("mask statistics: critical values match numeric integration", "[crypto][maskstats]") {
    for (const auto& row : kCriticalRows) {
        INFO(row.positions << " positions");
        CHECK(std::abs(test::normal_upper_quantile(row.p) - row.z) < 1e-9);
        const double critical = test::chi_square_critical(kOverallP, row.positions);
        INFO("Wilson-Hilferty " << critical << ", integrated " << row.critical);
        // 0.01 to 0.05 % above the exact value at these levels; 0.1 % allowed.
        CHECK(std::abs(critical / row.critical - 1) < 1e-3);
        CHECK(critical >= row.critical);
    }
    // The normal quantile's symmetry and its middle.
    CHECK(std::abs(test::normal_upper_quantile(0.5)) < 1e-12);
    CHECK(std::abs(test::normal_upper_quantile(0.975) + test::normal_upper_quantile(0.025)) < 1e-12);
    CHECK_THROWS_AS(test::normal_upper_quantile(0), std::invalid_argument);
    CHECK_THROWS_AS(test::normal_upper_quantile(1), std::invalid_argument);
}

TEST_CASE("mask statistics: the statistic of known counts", "[crypto][maskstats]") {
    // Every byte value equally often at both positions: 0.
    BytePositionCounts flat(2);
    for (int round = 0; round < 5; ++round)
        for (int v = 0; v < 256; ++v) flat.add(test::bytes({v, 255 - v}));
    CHECK(flat.samples() == 1280);
    CHECK(flat.statistic(0) == 0);
    CHECK(flat.statistic(1) == 0);
    // One value always: (n - n/256)^2 / (n/256) + 255 (n/256) = 255 n.
    BytePositionCounts constant(1);
    for (int i = 0; i < 2560; ++i) constant.add(test::bytes({7}));
    CHECK(constant.statistic(0) == Approx(255.0 * 2560));
    CHECK(constant.count(0, 7) == 2560);
    // Too few samples for the approximation, a sample of another length, a position past the end.
    BytePositionCounts few(1);
    few.add(test::bytes({1}));
    CHECK_THROWS_AS(few.statistic(0), std::logic_error);
    CHECK_THROWS_AS(few.add(test::bytes({1, 2})), std::invalid_argument);
    CHECK_THROWS_AS(flat.statistic(2), std::out_of_range);
}

TEST_CASE("mask statistics: masked copies of one plaintext pass at all 64 positions", "[crypto][maskstats]") {
    const auto counts = copies(Salts::per_frame);
    const double critical = test::chi_square_critical(kOverallP, kLength);
    const auto stats = statistics(counts);
    const double mean = std::accumulate(stats.begin(), stats.end(), 0.0) / static_cast<double>(stats.size());
    INFO("critical " << critical << ", largest statistic " << *std::max_element(stats.begin(), stats.end())
                     << ", mean " << mean);
    CHECK(counts.rejected(critical).empty());
    // And not suspiciously good either: uniform bytes give a mean statistic near the degrees of
    // freedom (255; the mean of 64 has a standard deviation of 22.6 / 8 = 2.8).
    CHECK(std::abs(mean - 255) < 15);
}

TEST_CASE("mask statistics: unmasked copies, or copies masked with one salt, fail at every position",
          "[crypto][maskstats]") {
    const double critical = test::chi_square_critical(kOverallP, kLength);
    for (Salts how : {Salts::unmasked, Salts::one_for_all}) {
        const auto counts = copies(how);
        INFO((how == Salts::unmasked ? "unmasked" : "one salt")
             << ", statistic at 0: " << counts.statistic(0));
        CHECK(counts.rejected(critical) == every_position());
    }
}

TEST_CASE("mask statistics: a position biased in 1 % of the samples is found, and only it",
          "[crypto][maskstats]") {
    const double critical = test::chi_square_critical(kOverallP, kLength);
    for (std::size_t biased : {0u, 5u, 63u}) {
        const auto counts = copies(Salts::per_frame, biased);
        INFO("biased position " << biased << ", its statistic " << counts.statistic(biased));
        CHECK(counts.rejected(critical) == std::vector<std::size_t>{biased});
    }
}

}  // namespace mask_statistics_test
