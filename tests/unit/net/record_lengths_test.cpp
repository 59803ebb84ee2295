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

// What the test rule takes for an agent's frame: this byte after the salt (a stand-in for an
// attach that opens under the key).
constexpr std::byte kAgentMark{0xa5};

// A frame of `size` bytes whose first 8 (its salt) come from `seed`, marked as an agent's.
Bytes frame_with_salt(std::size_t size, std::uint32_t seed) {
    Bytes f = test::pattern(size, static_cast<std::uint8_t>(seed));
    for (std::size_t i = 0; i < 4 && i < f.size(); ++i) f[i] = static_cast<std::byte>(seed >> (8 * i));
    if (f.size() > 8) f[8] = kAgentMark;
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

// Takes masked readings carrying kAgentMark for an agent's, clear ones that start with 0xee
// for a native client's (stand-ins for an attach and a VPN handshake).
struct TestRule final : FrameReader::FirstRecord {
    bool agent(std::span<const std::byte> payload) const noexcept override {
        return payload.size() > 8 && payload[8] == kAgentMark;
    }
    bool native(std::span<const std::byte> payload) const noexcept override {
        return !payload.empty() && payload[0] == std::byte{0xee};
    }
};

// A native client's first record of `size` bytes (starting 0xee, never marked), the first for
// `seed` upwards whose record satisfies `want`.
template <class Want>
Bytes find_native(std::size_t size, Want want) {
    for (std::uint32_t seed = 1; seed < 1'000'000; ++seed) {
        Bytes payload = test::pattern(size, static_cast<std::uint8_t>(seed));
        payload[0] = std::byte{0xee};
        for (std::size_t i = 1; i < 5; ++i) payload[i] = static_cast<std::byte>(seed >> (8 * (i - 1)));
        payload[8] = ~kAgentMark;
        Bytes r = test::stream_frame(payload);
        if (want(r)) return r;
    }
    FAIL("no such record");
    return {};
}

// What a record's first bytes announce when read masked (at least 10 bytes).
std::size_t masked_reading(std::span<const std::byte> r) { return *test::masked_length(mask(), r); }

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
        // Negative: 11 bytes, a salt and a header with no body, is a record.
        Reader eleven;
        eleven.reader.read_masked(mask());
        eleven.put(test::masked_record(mask(), frame_with_salt(11, 3)));
        CHECK(eleven.split().status == FrameStatus::complete);
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
    const TestRule rule;
    const std::size_t kMaxMasked = 2048;
    Reader r;
    r.reader.read_either(mask(), rule, kMaxMasked);

    SECTION("a native client's first datagram, complete, is taken plain") {
        Bytes native(148, std::byte{0xee});
        r.put(test::stream_frame(native));
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);
        CHECK(split.payload.size() == 148);
    }
    SECTION("an agent's masked record is taken masked, also when it comes in two parts") {
        const Bytes record = find_record(400, [](const Bytes& rec) { return plain_length(rec) > 400; });
        r.put(std::span(record).first(200));
        CHECK(r.split().status == FrameStatus::need_more);
        r.put(std::span(record).subspan(200));
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK(split.masked);
        CHECK(split.payload.size() == 400);
    }
    SECTION("an agent whose clear reading looks like a native client's is taken masked") {
        const Bytes record = find_record(400, [](const Bytes& rec) {
            return plain_length(rec) <= 398 && rec[2] == std::byte{0xee};
        });
        r.put(record);
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK(split.masked);
    }
    SECTION("a native first record in pieces is not cut short by a masked reading of its start") {
        // Its first 536 bytes read masked as a complete record (not an agent's).
        const Bytes record = find_native(1100, [](const Bytes& rec) {
            const std::size_t m = masked_reading(rec);
            return m >= 11 && m + 2 <= 536;
        });
        r.put(std::span(record).first(536));
        CHECK(r.split().status == FrameStatus::need_more);
        r.put(std::span(record).subspan(536));
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);
        CHECK(split.payload.size() == 1100);
    }
    SECTION("a masked reading shorter than a frame does not end a first record still arriving") {
        const Bytes record = find_native(1100, [](const Bytes& rec) { return masked_reading(rec) < 11; });
        r.put(std::span(record).first(300));
        CHECK(r.split().status == FrameStatus::need_more);
        r.put(std::span(record).subspan(300));
        CHECK(r.split().status == FrameStatus::complete);
    }
    SECTION("negative: a complete clear record that nobody claims goes to the owner at once") {
        r.put(test::stream_frame(test::pattern(60, 4)));
        const auto split = r.split();
        REQUIRE(split.status == FrameStatus::complete);
        CHECK_FALSE(split.masked);  // the owner refuses it
    }
    SECTION("negative: a complete masked reading that is not an agent's is not taken") {
        Bytes frame = frame_with_salt(300, 5);
        frame[8] = ~kAgentMark;
        const Bytes record = test::masked_record(mask(), frame);
        REQUIRE(plain_length(record) > 1400);  // the clear reading cannot complete either
        r.put(record);
        CHECK(r.split().status == FrameStatus::too_large);
    }
    SECTION("the longest masked first record is max_masked bytes") {
        Reader capped;
        capped.reader.read_either(mask(), rule, 400);
        const Bytes fits = find_record(400, [](const Bytes& rec) { return plain_length(rec) > 1400; });
        capped.put(fits);
        CHECK(capped.split().masked);
        // One byte more is not a masked first record: the clear reading decides.
        Reader over;
        over.reader.read_either(mask(), rule, 400);
        over.put(find_record(401, [](const Bytes& rec) { return plain_length(rec) > 1400; }));
        CHECK(over.split().status == FrameStatus::too_large);
        Reader waits;
        waits.reader.read_either(mask(), rule, 400);
        waits.put(find_record(401, [](const Bytes& rec) {
            return plain_length(rec) > 600 && plain_length(rec) <= 1400;
        }));
        CHECK(waits.split().status == FrameStatus::need_more);  // only a native record could complete
    }
}

TEST_CASE("record lengths: a record longer than a read chunk is read whole in every form",
          "[net][record_lengths]") {
    // A reader that asks for 64 bytes per read: a longer record must make it ask for more,
    // or its buffer fills and the next read has no room (a busy loop until the deadline).
    const TestRule rule;
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
