// crypto/stream_random: the per-frame generator of hop link v2 (salts, padding lengths).
//
// The known answers come from tests/vectors/make_mask_vectors.py (ChaCha20 from RFC 8439's
// description, no libsodium): the first 1100 bytes for one seed, which cross two refills, and
// a run of uniform() calls whose rejections are part of the vector (it says how many u32 they
// drew). The rest checks determinism per seed, the bounds of uniform() and that the way the
// output is asked for (chunk sizes, fill or next_u32) does not change it.
#include "porthop/crypto/stream_random.hpp"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../../support/bytes.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here must not meet another file's.
namespace stream_random_test {

using namespace porthop;
using crypto::StreamRandom;
using test::Bytes;
using test::hex;
using Seed = std::array<std::byte, StreamRandom::kSeedSize>;

// python3 tests/vectors/make_mask_vectors.py --cpp
// StreamRandom: the seed, then the first 1100 bytes (refills of 512)
const std::string kSeedHex = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
const std::string kRandomHex =
    "94450e59ff72a79e82288f8544ec3c222f0f41dcb9f80ca308349c2443867ee9"
    "7119e86ea7c49250b4323939570ffdf65677fd29f6f1e7fddff9979edcb75275"
    "80635fdc1388d71d9a28f9e1e5894e1dc669bbce2d4fbad9c5b0c32941b5b316"
    "ce6c97d97f11ecc3c3a947ae3025a2314192bbe9a3d2e628514a5bdfd9d2a041"
    "55e8819191b81cf537dc5a16a2eeb1d49708fcff821703484429a4f4b79c5cc6"
    "c960517c99337eda12d8fea0672a0b08f794a66e1c2452cc7081a50ef7b649ce"
    "c978ba58814cc59943b9b06898dce62a657710bdc1251210849b5b96dd43b979"
    "c892b54774d6307c5997a6ba1a0782258725b39627df1dd4883e0abbeae68b43"
    "2af089aeaf090cd1873cd973b6a79afe71a04e909bdcc9aef5096424b0cf00f5"
    "b8c00972e869877bb9a24b6d634fe6dd3bf9ada8c01fbabec5eaafeceb3f1a2f"
    "43dc1bb556a89a1f0f01068d8c3bfafe2ec8ace790055393c325dbadaf14e537"
    "3610fa3eb71c47a87326da8f4617c3676b9878129e628ada4311a7c52a35e4ab"
    "9e8a67946e3a5951e95a0910bb6275fdda08d06ef8c229be7a32b2329b936b8f"
    "51f8a194e66780277636330a810c6bfe58192081ac6289872cc9703a6f29c857"
    "09dcbf2f2c66375e4cd2801264979c156292f9c4490804c9bafc7fb552cc789a"
    "f6eb926872aa5904d0301b335bd3f2ca3189e16e41421a174ce7934dd6b62f6f"
    "86a55f2719b3031dc77e153b4ee246eedfc7f62de1b037fcd1749931b9538500"
    "85be7809540f33d93ea5d8a8104f75d96b09bcb0d05fadff838a65acd153a577"
    "c5ae113c02f58b98eb96fca6cc4fd902a988e7b4c70be5a9e3d5f933cdb483bd"
    "dc010e4023b3066f00e5652fb7b30a2d367d76198a4467db4d50b2b4e62e193f"
    "fcbdb62d47d64dfc90b9b40a5e4014cb29081349947d5bfd39dd191110a762b1"
    "491fa2d49cecb61266fdc4e89fda97d78703362b2f6a8f474a9097d2d6c7cb8c"
    "0072e324a68b6e86f558695e1f8d614d9e1017835e8d26f4ded7640b5b2a68e6"
    "276198e88fd3e245bc7854376890f8d4b892875213cccf860c5eb3888007f752"
    "a3c35ff9e7f9604977f158de02a5f3d62664a101ee41da1ace6527731f9a8b49"
    "342b96677596b07f339c76d80996d81c32fdecc19321062f65801a096a109f2d"
    "91bac7510613a5968f9efd4da78a11ed77f7e2e8e9e8299a04c13226c091c2c3"
    "fc01f34a382efcdf01ac61e754ee67e1fc9f667f74585a2c8f8536c809fc3630"
    "34197c586aefc59295d47d7134fe6e08f74d6acb6bc8645dcfef7951a0a9c96c"
    "721ab8f0e4edf46f9af4886e21f43c42f51d4ace311be6c4259381ad9d6ef710"
    "06d8982d38d6fce2897b60e8aa7c355a13a681bd1c1ccb9e3b8f4c32edefacde"
    "be678c9e97c531defd21e2103674e118cf357777d8189774004c05ef033afcea"
    "d8c83fe3a5e38222bf36fb999e3bb2bcbed5dc7f5f130347480193409f16a6a3"
    "6bfbfd007bd8f978d1bafe3a8fe64a5dda658840753e99c4fd7f82c89308d684"
    "93a73cb588876c4628b0faff";
// the first 32 bytes of refill 256 (output bytes 131072 ...)
const std::string kRefill256Hex = "f5f791b5ed403515da5069c7da679baa781f2413b3bc82981fd45fcef3f85ee3";

struct UniformRow {
    std::uint32_t bound;
    std::uint32_t value;
};
const UniformRow kUniformRows[] = {
    // bound, uniform(bound), from a fresh generator in this order
    {1u, 0u},
    {2u, 1u},
    {3u, 2u},
    {10u, 8u},
    {1000u, 247u},
    {2147483649u, 588052664u},
    {2147483649u, 1769899586u},
    {2147483649u, 1996296022u},
    {2147483649u, 2112352757u},
    {2147483649u, 513276382u},
    {2147483649u, 1549755263u},
    {4294967295u, 500664339u},
    {1001u, 43u},
};
// u32 drawn by those calls, and next_u32() after them
constexpr std::size_t kUniformDrawn = 19;
constexpr std::uint32_t kNextAfterUniform = 491686373u;

Seed seed_of(const std::string& digits) { return test::hex_array<StreamRandom::kSeedSize>(digits); }

Bytes take(StreamRandom& random, std::size_t n) {
    Bytes out(n);
    random.fill(out);
    return out;
}

std::uint32_t u32le(const Bytes& b, std::size_t at) {
    return std::to_integer<std::uint32_t>(b[at]) | std::to_integer<std::uint32_t>(b[at + 1]) << 8 |
           std::to_integer<std::uint32_t>(b[at + 2]) << 16 | std::to_integer<std::uint32_t>(b[at + 3]) << 24;
}

// Copying would repeat the original's outputs (the salts!), so it does not compile.
static_assert(!std::is_copy_constructible_v<StreamRandom>);
static_assert(!std::is_copy_assignable_v<StreamRandom>);

TEST_CASE("stream random: the first bytes match the RFC 8439 vectors, across refills",
          "[crypto][streamrandom]") {
    const Bytes expected = hex(kRandomHex);
    REQUIRE(expected.size() == 1100);
    REQUIRE(expected.size() > 2 * StreamRandom::kRefillSize);
    StreamRandom random(seed_of(kSeedHex));
    CHECK(take(random, expected.size()) == expected);
}

TEST_CASE("stream random: the refill counter carries past one byte", "[crypto][streamrandom]") {
    // Refill 256 has nonce 00 01 00 ...: a counter that lost its carry would repeat refill 0.
    StreamRandom random(seed_of(kSeedHex));
    const Bytes first = take(random, StreamRandom::kRefillSize);
    take(random, 255 * StreamRandom::kRefillSize);
    const Bytes late = take(random, 32);
    CHECK(late == hex(kRefill256Hex));
    CHECK(late != Bytes(first.begin(), first.begin() + 32));
}

TEST_CASE("stream random: next_u32 reads the same stream, little-endian", "[crypto][streamrandom]") {
    const Bytes expected = hex(kRandomHex);
    {
        StreamRandom random(seed_of(kSeedHex));
        for (std::size_t at = 0; at + 4 <= expected.size(); at += 4) {
            INFO("byte " << at);
            CHECK(random.next_u32() == u32le(expected, at));
        }
    }
    // Mixed with fill at odd offsets, and one u32 that straddles the first refill (bytes 510-513).
    StreamRandom random(seed_of(kSeedHex));
    CHECK(take(random, 3) == Bytes(expected.begin(), expected.begin() + 3));
    CHECK(random.next_u32() == u32le(expected, 3));
    CHECK(take(random, 503) == Bytes(expected.begin() + 7, expected.begin() + 510));
    CHECK(random.next_u32() == u32le(expected, 510));
    CHECK(random.next_u32() == u32le(expected, 514));
}

TEST_CASE("stream random: uniform matches the vectors, rejections included", "[crypto][streamrandom]") {
    StreamRandom random(seed_of(kSeedHex));
    for (const auto& row : kUniformRows) {
        INFO("bound " << row.bound);
        CHECK(random.uniform(row.bound) == row.value);
    }
    CHECK(random.next_u32() == kNextAfterUniform);
    // The vector's calls drew more u32 than there are calls: some were rejected.
    REQUIRE(kUniformDrawn > std::size(kUniformRows));
    StreamRandom again(seed_of(kSeedHex));
    take(again, 4 * kUniformDrawn);
    CHECK(again.next_u32() == kNextAfterUniform);
}

TEST_CASE("stream random: one seed, one output; another seed, another", "[crypto][streamrandom]") {
    const Seed seed = seed_of(kSeedHex);
    StreamRandom a(seed);
    StreamRandom b(seed);
    CHECK(take(a, 3000) == take(b, 3000));

    // Seeds one bit apart (each of the 256 bits), and the seed itself: 257 different outputs.
    std::set<Bytes> firsts;
    {
        StreamRandom r(seed);
        firsts.insert(take(r, 16));
    }
    for (std::size_t bit = 0; bit < 256; ++bit) {
        Seed other = seed;
        other[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
        StreamRandom r(other);
        firsts.insert(take(r, 16));
    }
    CHECK(firsts.size() == 257);

    // Refills do not repeat one another (each has its own nonce).
    StreamRandom r(seed);
    std::set<Bytes> refills;
    for (int i = 0; i < 64; ++i) refills.insert(take(r, StreamRandom::kRefillSize));
    CHECK(refills.size() == 64);
}

TEST_CASE("stream random: uniform stays within its bound", "[crypto][streamrandom]") {
    StreamRandom random(seed_of(kSeedHex));
    const std::uint32_t large = (std::uint32_t{1} << 31) + 1;  // rejects almost half the draws
    for (std::uint32_t bound : {1u, 2u, 3u, 7u, 1000u, large, 0xFFFFFFFFu}) {
        constexpr int kDraws = 30000;
        std::vector<int> low_high(2);  // below and at or above bound / 2
        std::vector<int> small(3);     // bounds 2 and 3: every value
        std::uint32_t highest = 0;
        for (int i = 0; i < kDraws; ++i) {
            const std::uint32_t v = random.uniform(bound);
            REQUIRE(v < bound);
            highest = std::max(highest, v);
            ++low_high[v >= bound / 2 ? 1 : 0];
            if (bound <= 3) ++small[v];
        }
        INFO("bound " << bound << ": " << low_high[0] << " below half, " << low_high[1] << " above");
        if (bound == 1) {
            CHECK(highest == 0);
            continue;
        }
        if (bound <= 3) {
            // Each value about kDraws / bound times (within 5 standard deviations).
            for (std::uint32_t v = 0; v < bound; ++v) {
                INFO("value " << v << ": " << small[v]);
                CHECK(std::abs(small[v] - kDraws / static_cast<int>(bound)) < 5 * 100);
            }
        }
        // Values below bound / 2 in their share (within 5 standard deviations, 5 * 87), and the
        // top of the range reached (bound 2^31 + 1 must reach past 2^31).
        const double below = static_cast<double>(bound / 2) / bound * kDraws;
        CHECK(std::abs(low_high[0] - below) < 500);
        CHECK(highest >= bound - 1 - bound / 100);
    }
    // Bound 0 has no value: 0, and nothing drawn.
    StreamRandom a(seed_of(kSeedHex));
    StreamRandom b(seed_of(kSeedHex));
    CHECK(a.uniform(0) == 0);
    CHECK(a.next_u32() == b.next_u32());
}

TEST_CASE("stream random: fill across refill boundaries equals one long fill", "[crypto][streamrandom]") {
    constexpr std::size_t kTotal = 3 * StreamRandom::kRefillSize + 100;
    StreamRandom once(seed_of(kSeedHex));
    const Bytes expected = take(once, kTotal);
    // Chunk patterns, each repeated until kTotal: small ones cross refills inside the buffer; a
    // chunk of a whole refill or more at an empty buffer is written straight into the caller's
    // storage, and must give the same bytes.
    const std::vector<std::vector<std::size_t>> patterns = {
        {1},   {3},   {4},    {63},     {64},     {65},     {255},          {511},
        {512}, {513}, {1024}, {kTotal}, {1, 511}, {512, 1}, {100, 1000, 7}, {0, 5, 0, 600},
    };
    for (const auto& pattern : patterns) {
        StreamRandom random(seed_of(kSeedHex));
        Bytes got;
        for (std::size_t i = 0; got.size() < kTotal; ++i) {
            const std::size_t n = std::min(pattern[i % pattern.size()], kTotal - got.size());
            const Bytes chunk = take(random, n);
            got.insert(got.end(), chunk.begin(), chunk.end());
        }
        INFO("chunks starting " << pattern.front());
        CHECK(got == expected);
    }
}

TEST_CASE("stream random: from_os generators are seeded differently", "[crypto][streamrandom]") {
    auto a = StreamRandom::from_os();
    auto b = StreamRandom::from_os();
    const Bytes first_a = take(a, 32);
    CHECK(first_a != take(b, 32));
    CHECK(first_a != Bytes(32));
    StreamRandom zero_seed(Seed{});
    CHECK(first_a != take(zero_seed, 32));
}

}  // namespace stream_random_test
