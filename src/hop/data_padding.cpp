#include "porthop/hop/data_padding.hpp"

#include <algorithm>
#include <array>
#include <span>

namespace porthop::hop {

namespace {

// A bijection on 64 bits that spreads every input bit over the output (the finaliser of
// SplitMix64). With a uniformly random seed, seed + k * odd is uniform for any fixed length k,
// and so is its image: each length's padding is uniform over bursts. Different lengths land on
// unrelated outputs, so one burst's paddings do not line up on a common grid. Not a secret
// against anyone: the seed only has to be unpredictable per burst, which the generator makes it.
std::uint64_t bulk_mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace

BulkBurst BulkBurst::draw(crypto::StreamRandom& random) noexcept {
    std::array<std::byte, 8> bytes;
    random.fill(bytes);
    std::uint64_t seed = 0;
    for (const std::byte b : bytes) seed = seed << 8 | std::to_integer<std::uint64_t>(b);
    return {seed};
}

std::size_t bulk_total(std::size_t unpadded, std::size_t cap, BulkBurst burst) noexcept {
    if (unpadded >= cap) return unpadded;
    // Near the cap the window shrinks to the room left, rather than piling the lengths that
    // would pass it onto the cap itself (one length holding a third of all full-size frames).
    const std::size_t window = std::min(kBulkWindow, cap - unpadded + 1);
    const std::uint64_t mixed = bulk_mix(burst.seed + static_cast<std::uint64_t>(unpadded) * 0x9e3779b97f4a7c15ULL);
    // The modulo bias is window / 2^64: nothing.
    return unpadded + static_cast<std::size_t>(mixed % window);
}

std::size_t opening_total(std::size_t unpadded, std::size_t cap, std::size_t min_total, std::size_t max_total,
                          crypto::StreamRandom& random) noexcept {
    // Short frames: a handshake's range. Frames beyond it (full-size data in a new flow) would
    // keep their telltale lengths there, so they range up to the cap instead.
    const std::size_t top = unpadded <= max_total ? max_total : kPaddedFrameCap;
    const std::size_t lo = std::max(unpadded, std::min(min_total, cap));
    const std::size_t hi = std::max(lo, std::min(top, cap));
    return lo + random.uniform(static_cast<std::uint32_t>(hi - lo + 1));
}

}  // namespace porthop::hop
