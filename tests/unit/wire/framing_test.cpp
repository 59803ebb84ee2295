// split_frame / write_frame_header: the u16 big-endian length framing of TCP paths.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../../support/bytes.hpp"
#include "porthop/wire/framing.hpp"

using porthop::test::pattern;
using porthop::wire::FrameStatus;
using porthop::wire::kFrameHeaderSize;
using porthop::wire::kMaxFrameLength;
using porthop::wire::split_frame;
using porthop::wire::write_frame_header;

namespace {

void append_frame(std::vector<std::byte>& stream, const std::vector<std::byte>& payload) {
    std::byte header[kFrameHeaderSize];
    write_frame_header(std::span<std::byte, kFrameHeaderSize>(header), static_cast<std::uint16_t>(payload.size()));
    stream.insert(stream.end(), header, header + kFrameHeaderSize);
    stream.insert(stream.end(), payload.begin(), payload.end());
}

bool same_bytes(std::span<const std::byte> a, const std::vector<std::byte>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_CASE("split_frame: every prefix of a multi-frame stream", "[wire][framing]") {
    // Frames of length 3, 0, 1, 300 (a length whose high byte is non-zero), back to back.
    const std::vector<std::vector<std::byte>> payloads{pattern(3, 1), pattern(0, 2), pattern(1, 3),
                                                       pattern(300, 4)};
    std::vector<std::byte> stream;
    for (const auto& p : payloads) append_frame(stream, p);
    REQUIRE(stream.size() == (2 + 3) + (2 + 0) + (2 + 1) + (2 + 300));

    std::size_t frame_start = 0;
    for (const auto& payload : payloads) {
        const std::size_t whole = kFrameHeaderSize + payload.size();
        // Every prefix of this frame (0..whole-1 bytes) asks for more ...
        for (std::size_t have = 0; have < whole; ++have) {
            INFO("frame at " << frame_start << ", prefix " << have);
            const auto split = split_frame(std::span(stream).subspan(frame_start, have), kMaxFrameLength);
            CHECK(split.status == FrameStatus::need_more);
            CHECK(split.consumed == 0);
            CHECK(split.payload.empty());
        }
        // ... and from the whole frame on (up to the end of the stream) the first frame is complete.
        for (std::size_t have = whole; frame_start + have <= stream.size(); ++have) {
            INFO("frame at " << frame_start << ", prefix " << have);
            const auto split = split_frame(std::span(stream).subspan(frame_start, have), kMaxFrameLength);
            REQUIRE(split.status == FrameStatus::complete);
            CHECK(split.consumed == whole);
            CHECK(same_bytes(split.payload, payload));
            // The payload points into the buffer, right after the header (no copy).
            CHECK(split.payload.data() == stream.data() + frame_start + kFrameHeaderSize);
        }
        frame_start += whole;
    }
    CHECK(frame_start == stream.size());
}

TEST_CASE("split_frame: zero-length frame is complete and empty", "[wire][framing]") {
    const std::byte buffer[] = {std::byte{0}, std::byte{0}, std::byte{0xAA}};
    const auto split = split_frame(buffer, kMaxFrameLength);
    CHECK(split.status == FrameStatus::complete);
    CHECK(split.consumed == 2);
    CHECK(split.payload.size() == 0);

    // A zero-length frame is complete even when nothing follows it.
    const auto alone = split_frame(std::span(buffer, 2), kMaxFrameLength);
    CHECK(alone.status == FrameStatus::complete);
    CHECK(alone.consumed == 2);
}

TEST_CASE("split_frame: 65535-byte frame with max 65535", "[wire][framing]") {
    std::vector<std::byte> stream;
    const auto payload = pattern(65535, 9);
    append_frame(stream, payload);
    REQUIRE(stream[0] == std::byte{0xFF});
    REQUIRE(stream[1] == std::byte{0xFF});

    const auto short_by_one = split_frame(std::span(stream).first(stream.size() - 1), 65535);
    CHECK(short_by_one.status == FrameStatus::need_more);

    const auto split = split_frame(stream, 65535);
    REQUIRE(split.status == FrameStatus::complete);
    CHECK(split.consumed == 65537);
    CHECK(same_bytes(split.payload, payload));
}

TEST_CASE("split_frame: too_large as soon as the header is there", "[wire][framing]") {
    // Announces 1000 bytes; the limit is 999. Only the header (and a little payload) has arrived.
    const std::byte header_only[] = {std::byte{0x03}, std::byte{0xE8}};
    const std::byte with_some_payload[] = {std::byte{0x03}, std::byte{0xE8}, std::byte{1}, std::byte{2}};

    CHECK(split_frame(std::span(header_only, 0), 999).status == FrameStatus::need_more);
    CHECK(split_frame(std::span(header_only, 1), 999).status == FrameStatus::need_more);

    for (auto buffer : {std::span<const std::byte>(header_only), std::span<const std::byte>(with_some_payload)}) {
        const auto split = split_frame(buffer, 999);
        CHECK(split.status == FrameStatus::too_large);
        CHECK(split.consumed == 0);
        CHECK(split.payload.empty());
    }
}

TEST_CASE("split_frame: max_length boundary", "[wire][framing]") {
    struct Row {
        std::size_t length;
        std::size_t max_length;
        FrameStatus expected;
    };
    const Row rows[] = {
        {0, 0, FrameStatus::complete},     {1, 0, FrameStatus::too_large},
        {100, 100, FrameStatus::complete}, {101, 100, FrameStatus::too_large},
        {255, 255, FrameStatus::complete}, {256, 255, FrameStatus::too_large},
        {1500, 1500, FrameStatus::complete}, {1501, 1500, FrameStatus::too_large},
        {65534, 65534, FrameStatus::complete}, {65535, 65534, FrameStatus::too_large},
    };
    for (const auto& row : rows) {
        INFO("length " << row.length << ", max " << row.max_length);
        std::vector<std::byte> stream;
        append_frame(stream, pattern(row.length, 5));
        const auto split = split_frame(stream, row.max_length);
        CHECK(split.status == row.expected);
        CHECK(split.consumed == (row.expected == FrameStatus::complete ? row.length + 2 : 0));
    }
}

TEST_CASE("write_frame_header: big-endian, round trip through split_frame", "[wire][framing]") {
    struct Row {
        std::uint16_t length;
        std::uint8_t high, low;
    };
    const Row rows[] = {{0, 0x00, 0x00},   {1, 0x00, 0x01},     {255, 0x00, 0xFF},
                        {256, 0x01, 0x00}, {0x1234, 0x12, 0x34}, {65535, 0xFF, 0xFF}};
    for (const auto& row : rows) {
        INFO("length " << row.length);
        std::byte header[2] = {std::byte{0x5A}, std::byte{0x5A}};
        write_frame_header(std::span<std::byte, 2>(header), row.length);
        CHECK(std::to_integer<int>(header[0]) == row.high);
        CHECK(std::to_integer<int>(header[1]) == row.low);

        std::vector<std::byte> stream(header, header + 2);
        stream.resize(2 + row.length, std::byte{0x77});
        const auto split = split_frame(stream, kMaxFrameLength);
        REQUIRE(split.status == FrameStatus::complete);
        CHECK(split.payload.size() == row.length);
        CHECK(split.consumed == std::size_t{row.length} + 2);
    }
}
