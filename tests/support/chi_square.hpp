// Chi-square tests of byte uniformity at each position of many equal-length byte strings: the
// statistics tests of hop link v2's masked and padded frames (research/censorship.md 5.6:
// "chi-square per byte position 0-63 not rejected at p = 0.001"). A censor that classifies
// flows by their first bytes sees a byte position that is not uniform; these tests look for
// one the same way.
//
//   BytePositionCounts counts(64);                  // 64 positions, 256 bins each
//   counts.add(sample);                             // every sample exactly 64 bytes long
//   counts.statistic(i)                             // sum over bins of (observed - expected)^2 / expected
//   const double critical = chi_square_critical(0.001, 64);
//   counts.rejected(critical)                       // the positions at or above it: none, if uniform
//
// chi_square_critical(p, N) is the level at which N positions, tested together, reject uniform
// bytes with probability at most p: each position is tested at p / N (Bonferroni), against the
// chi-square distribution with 255 degrees of freedom (256 byte values), whose quantile comes
// from the Wilson-Hilferty approximation (the cube root of chi-square / k is nearly normal).
// For 255 degrees of freedom and the levels the tests use (p / N from 1e-3 down to 7e-7) that is
// within 0.05 % of the exact quantile, and above it (so slightly conservative); the unit test
// checks it against numeric integration done in Python (tests/vectors/make_mask_vectors.py).
//
// The approximation of the statistic by the chi-square distribution needs about 5 expected
// counts per bin: statistic() throws std::logic_error below 5 * 256 samples.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace porthop::test {

inline constexpr std::size_t kByteBins = 256;
inline constexpr double kByteDegreesOfFreedom = static_cast<double>(kByteBins - 1);
inline constexpr std::size_t kChiSquareMinSamples = 5 * kByteBins;

class BytePositionCounts {
public:
    explicit BytePositionCounts(std::size_t length) : length_(length), counts_(length * kByteBins) {}

    void add(std::span<const std::byte> sample) {
        if (sample.size() != length_)
            throw std::invalid_argument("BytePositionCounts::add: a sample of " +
                                        std::to_string(sample.size()) + " bytes, not " +
                                        std::to_string(length_));
        for (std::size_t i = 0; i < length_; ++i)
            ++counts_[i * kByteBins + std::to_integer<std::size_t>(sample[i])];
        ++samples_;
    }

    std::size_t length() const noexcept { return length_; }
    std::size_t samples() const noexcept { return samples_; }
    std::uint32_t count(std::size_t position, std::size_t value) const {
        return counts_.at(position * kByteBins + value);
    }

    // Pearson's statistic at `position` against uniform bytes.
    double statistic(std::size_t position) const {
        if (samples_ < kChiSquareMinSamples)
            throw std::logic_error("BytePositionCounts: " + std::to_string(samples_) + " samples; at least " +
                                   std::to_string(kChiSquareMinSamples) + " (5 expected per bin) are needed");
        if (position >= length_)
            throw std::out_of_range("BytePositionCounts: no position " + std::to_string(position));
        const double expected = static_cast<double>(samples_) / static_cast<double>(kByteBins);
        double sum = 0;
        for (std::size_t v = 0; v < kByteBins; ++v) {
            const double d = counts_[position * kByteBins + v] - expected;
            sum += d * d / expected;
        }
        return sum;
    }

    // The positions whose statistic is at or above `critical`, in order.
    std::vector<std::size_t> rejected(double critical) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < length_; ++i)
            if (statistic(i) >= critical) out.push_back(i);
        return out;
    }

private:
    std::size_t length_;
    std::vector<std::uint32_t> counts_;  // [position * 256 + byte value]
    std::size_t samples_ = 0;
};

// z with P(Z > z) = p for a standard normal Z, 0 < p < 1: bisection on erfc, to the last bits
// of a double (no table of coefficients to get wrong).
inline double normal_upper_quantile(double p) {
    if (!(p > 0 && p < 1)) throw std::invalid_argument("normal_upper_quantile: p must be in (0, 1)");
    double lo = -40, hi = 40;  // P(Z > 40) underflows: every representable p is inside
    for (int i = 0; i < 200 && lo < hi; ++i) {
        const double mid = (lo + hi) / 2;
        if (mid == lo || mid == hi) break;
        (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
}

// x with P(X > x) = p for X chi-square with `dof` degrees of freedom (Wilson-Hilferty).
inline double chi_square_upper_quantile(double p, double dof) {
    const double v = 2 / (9 * dof);
    const double c = 1 - v + normal_upper_quantile(p) * std::sqrt(v);
    return dof * c * c * c;
}

// The critical value for `positions` tests at an overall level `overall_p` (Bonferroni).
inline double chi_square_critical(double overall_p, std::size_t positions,
                                  double dof = kByteDegreesOfFreedom) {
    return chi_square_upper_quantile(overall_p / static_cast<double>(positions), dof);
}

}  // namespace porthop::test
