// Masked record lengths on a stream (docs/PROTOCOL.md, "TCP framing"): how FrameReader splits
// records in each form (plain, masked, either) and how FrameQueue masks what it queues. The
// masks themselves are checked against the independent generator in frame_codec_v2_test.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/hop_vectors.hpp"
#include "porthop/crypto/length_mask.hpp"
#include "porthop/net/frame_queue.hpp"
#include "porthop/net/frame_reader.hpp"

namespace record_lengths_test {

using namespace porthop;
using net::FrameReader;
using test::Bytes;
using wire::FrameStatus;

const crypto::LengthMask& mask() {
    static const crypto::LengthMask m(crypto::derive_hop_keys(test::counting_key()).mask,
                                      crypto::MaskDirection::agent_to_server);
    return m;
}

// A frame of `size` bytes whose first 8 (its salt) come from `seed`.
Bytes frame_with_salt(std::size_t size, std::uint32_t seed) {
    Bytes f = test::pattern(size, static_cast<std::uint8_t>(seed));
    for (std::size_t i = 0; i < 4 && i < f.size(); ++i) f[i] = static_cast<std::byte>(seed >> (8 * i));
    return f;
}

// The first seed whose frame, as a record, satisfies `want` (records are random-looking, so a
// few thousand tries find any case the tests need).
template <class Want>
Bytes find_record(std::size_t size, Want want) {
    for (std::uint32_t seed = 1; seed < 1'000'000; ++seed) {
        Bytes r = test::masked_record(mask(), frame_with_salt(size, seed));
        if (want(r)) return r;
    }
    FAIL("no such record");
    return {};
}

std::size_t plain_length(std::span<const std::byte> r) {
    return std::to_integer<std::size_t>(r[0]) << 8 | std::to_integer<std::size_t>(r[1]);
}

// Accepts plain first records that start with 0xee (a stand-in for a VPN handshake).
struct StartsWithEE final : FrameReader::PlainFirst {
    bool accepts(std::span<const std::byte> payload) const noexcept override {
        return !payload.empty() && payload[0] == std::byte{0xee};
    }
};

struct Reader {
    FrameReader reader{{1400, 4096, 4096}};
    Reader() { reader.allocate(); }
    // Appends `bytes` as if read from the stream.
    void put(std::span<const std::byte> bytes) {
        auto target = reader.read_target();
        REQUIRE(target.size() >= bytes.size());
        std::copy(bytes.begin(), bytes.end(), target.begin());
        reader.commit(bytes.size());
    }
    wire::FrameSplit split() const { return reader.split_at(0); }
};

TEST_CASE("record lengths: a masked record splits once its length and salt are in", "[net][record_lengths]") {
    Reader r;
    r.reader.read_masked(mask());
    const Bytes frame = frame_with_salt(300, 7);
    const Bytes record = test::masked_record(mask(), frame);
    REQUIRE(plain_length(record) != frame.size());  // the clear bytes say nothing
    for (std::size_t n = 0; n < record.size(); ++n) {
        Reader partial;
        partial.reader.read_masked(mask());
        partial.put(std::span(record).first(n));
        INFO(n);
        CHECK(partial.split().status == FrameStatus::need_more);
        // Once the salt is in, the reader asks for the whole record.
        if (n >= 10) CHECK(partial.reader.read_target().size() >= record.size() - n);
    }
    r.put(record);
    const auto split = r.split();
    REQUIRE(split.status == FrameStatus::complete);
    CHECK(split.masked);
    CHECK(split.consumed == record.size());
    CHECK(Bytes(split.payload.begin(), split.payload.end()) == frame);
}

TEST_CASE("record lengths: negative: a masked length out of range ends the stream", "[net][record_lengths]") {
    SECTION("shorter than a frame's salt and header") {
        Reader r;
        r.reader.read_masked(mask());
        Bytes record = test::masked_record(mask(), frame_with_salt(12, 3));
        record[1] ^= std::byte{12 ^ 10};  // now announces 10 bytes
        r.put(record);
        CHECK(r.split().status == FrameStatus::too_short);
    }
    SECTION("longer than max_frame") {
        Reader r;
        r.reader.read_masked(mask());
        r.put(test::masked_record(mask(), frame_with_salt(1401, 3)));
        CHECK(r.split().status == FrameStatus::too_large);
    }
    SECTION("another key's record") {
        const crypto::LengthMask other(crypto::HopKey{}, crypto::MaskDirection::agent_to_server);
        Reader r;
        r.reader.read_masked(mask());
        r.put(test::masked_record(other, frame_with_salt(300, 9)));
        CHECK(r.split().status != FrameStatus::complete);
    }
}

TEST_CASE("record lengths: a plain reader still reads plain records", "[net][record_lengths]") {
    Reader r;
    r.reader.read_masked(mask());
    r.reader.read_plain();
    const Bytes payload = test::pattern(50);
    r.put(test::stream_frame(payload));
    const auto split = r.split();
    REQUIRE(split.status == FrameStatus::complete);
    CHECK_FALSE(split.masked);
    CHECK(split.payload.size() == 50);
}

TEST_CASE("record lengths: a first record read either way", "[net][record_lengths]") {
    const StartsWithEE rule;
    const std::size_t kMaxMasked = 2048;
    Reader r;
    r.reader.read_either(mask(), rule, kMaxMasked);

    SECTION("a native client's first datagram, complete, is taken plain") {
        Bytes native(148, std::byte{0xee});
        // Whatever its bytes announce when read as masked.
        r.put(test::stream_frame(native));
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);
        CHECK(split.payload.size() == 148);
    }
    SECTION("an agent's masked record is taken masked") {
        const Bytes record = find_record(400, [](const Bytes& rec) { return plain_length(rec) > 400; });
        // Arriving in two parts: the first is never judged on its own.
        r.put(std::span(record).first(200));
        CHECK(r.split().status == FrameStatus::need_more);
        r.put(std::span(record).subspan(200));
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK(split.masked);
        CHECK(split.payload.size() == 400);
    }
    SECTION("complete both ways and not native: masked") {
        const Bytes record = find_record(400, [](const Bytes& rec) {
            return plain_length(rec) <= 398 && rec[2] != std::byte{0xee};
        });
        r.put(record);
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK(split.masked);
    }
    SECTION("native and complete both ways: plain, the native client is not kept waiting") {
        const Bytes record = find_record(400, [](const Bytes& rec) {
            return plain_length(rec) <= 398 && rec[2] == std::byte{0xee};
        });
        r.put(record);
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);
        CHECK(split.payload.size() == plain_length(record));
    }
    SECTION("negative: a complete plain record that is not native, with no complete masked one, goes to the owner") {
        Bytes garbage = test::stream_frame(test::pattern(60, 4));
        r.put(garbage);
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);  // the owner refuses it at once
    }
    SECTION("a masked first record longer than max_masked is not one") {
        Reader capped;
        capped.reader.read_either(mask(), rule, 400);
        // Read masked it announces 500, beyond 400; read plain, more than has come: only a
        // native record could still complete, so the reader waits for that one.
        const Bytes waits = find_record(500, [](const Bytes& rec) {
            return plain_length(rec) > 600 && plain_length(rec) <= 1400;
        });
        capped.put(waits);
        CHECK(capped.split().status == FrameStatus::need_more);
        // Negative: neither reading can complete.
        Reader neither;
        neither.reader.read_either(mask(), rule, 400);
        neither.put(find_record(500, [](const Bytes& rec) { return plain_length(rec) > 1400; }));
        CHECK(neither.split().status == FrameStatus::too_large);
    }
}

TEST_CASE("record lengths: a record longer than a read chunk is read whole in every form",
          "[net][record_lengths]") {
    // A reader that asks for 64 bytes per read: a longer record must make it ask for more,
    // or its buffer fills and the next read has no room (a busy loop until the deadline).
    const StartsWithEE rule;
    const Bytes native = [] {
        Bytes b(1000, std::byte{0xee});
        return test::stream_frame(b);
    }();
    const Bytes masked = find_record(1000, [](const Bytes& rec) { return plain_length(rec) > 1400; });
    const auto read_all = [](FrameReader& reader, const Bytes& record) {
        std::size_t fed = 0;
        while (fed < record.size()) {
            const auto target = reader.read_target();
            REQUIRE_FALSE(target.empty());
            const std::size_t n = std::min(target.size(), record.size() - fed);
            std::copy_n(record.begin() + static_cast<std::ptrdiff_t>(fed), n, target.begin());
            reader.commit(n);
            fed += n;
            if (fed < record.size()) REQUIRE(reader.split_at(0).status == FrameStatus::need_more);
        }
        return reader.split_at(0);
    };
    SECTION("plain") {
        FrameReader reader({1400, 64, 64});
        reader.allocate();
        CHECK(read_all(reader, native).status == FrameStatus::complete);
    }
    SECTION("masked") {
        FrameReader reader({1400, 64, 64});
        reader.allocate();
        reader.read_masked(mask());
        CHECK(read_all(reader, masked).status == FrameStatus::complete);
    }
    SECTION("either, a native record") {
        FrameReader reader({1400, 64, 64});
        reader.allocate();
        reader.read_either(mask(), rule, 2048);
        const auto split = read_all(reader, native);
        CHECK(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);
    }
    SECTION("either, a masked record") {
        FrameReader reader({1400, 64, 64});
        reader.allocate();
        reader.read_either(mask(), rule, 2048);
        const auto split = read_all(reader, masked);
        CHECK(split.status == FrameStatus::complete);
        CHECK(split.masked);
    }
}

TEST_CASE("record lengths: the queue masks each record with its frame's salt", "[net][record_lengths]") {
    net::QueueBudget budget{1 << 20};
    net::FrameQueue q(budget);
    q.write_masked(mask());
    const Bytes frame = frame_with_salt(120, 11);
    const std::span<const std::byte> all(frame);
    // The salt whole in the head (a data frame's header), split across head and payload, or
    // in the payload (a control frame): the same record.
    REQUIRE(q.push(all.first(11), all.subspan(11, 100), all.subspan(111)) == net::FrameQueue::Push::queued);
    REQUIRE(q.push(all.first(3), all.subspan(3)) == net::FrameQueue::Push::queued);
    REQUIRE(q.push({}, all) == net::FrameQueue::Push::queued);
    const auto written = q.start_write();
    const Bytes record = test::masked_record(mask(), frame);
    Bytes expected;
    for (int i = 0; i < 3; ++i) expected.insert(expected.end(), record.begin(), record.end());
    CHECK(Bytes(written.begin(), written.end()) == expected);
    q.finish_write();
    // Negative: nothing shorter than a salt is a hop-link frame.
    CHECK(q.push({}, all.first(7)) == net::FrameQueue::Push::closed);
    CHECK_FALSE(q.should_write());
}

}  // namespace record_lengths_test
