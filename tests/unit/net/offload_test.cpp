// The pure halves of UDP GSO and GRO: which items go as one GSO message, which errors turn GSO
// off, and how a coalesced receive buffer splits into datagrams. No sockets here.
#include "porthop/net/offload.hpp"

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <iterator>
#include <vector>

#include "../../support/endpoints.hpp"

using namespace porthop::net;
using porthop::test::endpoint;

namespace {

// Items of the given sizes, all to `peer` (nullptr: a connected socket).
std::vector<SendItem> items_of(std::initializer_list<std::size_t> sizes, const Endpoint* peer = nullptr) {
    static const std::vector<std::byte> bytes(70000);
    std::vector<SendItem> out;
    for (auto size : sizes) out.push_back(SendItem{bytes.data(), size, peer, nullptr});
    return out;
}

}  // namespace

// ---- gso_run ----------------------------------------------------------------------------------

TEST_CASE("gso_run: runs of equal sizes, the last may be shorter", "[net][offload][gso]") {
    struct Row {
        std::initializer_list<std::size_t> sizes;
        std::size_t run;
    };
    const Row rows[] = {
        {{100}, 1},
        {{100, 100}, 2},
        {{100, 100, 100, 100}, 4},
        {{100, 100, 50}, 3},      // a shorter last segment is fine...
        {{100, 100, 50, 50}, 3},  // ...but it ends the run
        {{100, 50, 100}, 2},
        {{100, 100, 101, 100}, 2},  // a longer one cannot follow
        {{50, 100}, 1},
        {{100, 100, 0, 100}, 2},  // an empty datagram is never a segment
        {{0, 0, 0}, 1},           // and never a segment size
        {{1, 1, 1}, 3},
        {{1400, 1400, 1400, 1399, 1400}, 4},
    };
    for (const auto& row : rows) {
        const auto items = items_of(row.sizes);
        INFO("sizes " << Catch::Detail::stringify(std::vector<std::size_t>(row.sizes)));
        CHECK(gso_run(items) == row.run);
    }
    CHECK(gso_run(std::span<const SendItem>{}) == 0);
}

TEST_CASE("gso_run: at most 64 segments and 65507 bytes", "[net][offload][gso]") {
    std::vector<SendItem> many(100, items_of({10})[0]);
    CHECK(gso_run(many) == kGsoMaxSegments);
    CHECK(kGsoMaxSegments == 64);
    CHECK(gso_run(many, 7) == 7);
    CHECK(gso_run(many, 1) == 1);
    CHECK(gso_run(many, 0) == 0);

    // 1400-byte datagrams: 46 make 64400 bytes, a 47th would pass 65507.
    std::vector<SendItem> wg(64, items_of({1400})[0]);
    CHECK(kGsoMaxBytes == 65507);
    CHECK(gso_run(wg) == 46);
    CHECK(gso_run(wg, 64, 2800) == 2);
    CHECK(gso_run(wg, 64, 2799) == 1);
    // A shorter last segment still has to fit.
    auto tail = std::vector<SendItem>(46, items_of({1400})[0]);
    tail.push_back(items_of({1107})[0]);  // 64400 + 1107 = 65507: fits exactly
    CHECK(gso_run(tail) == 47);
    tail.back().length = 1108;
    CHECK(gso_run(tail) == 46);
    // One item larger than the limit goes alone (the kernel may still fragment it).
    CHECK(gso_run(items_of({65508, 65508})) == 1);
    CHECK(gso_run(items_of({32753, 32753})) == 2);  // 65506
    CHECK(gso_run(items_of({32754, 32754})) == 1);  // 65508
}

TEST_CASE("gso_run: one destination per run", "[net][offload][gso]") {
    const Endpoint a = endpoint("192.0.2.1", 1000), a_again = endpoint("192.0.2.1", 1000);
    const Endpoint b = endpoint("192.0.2.1", 1001), c = endpoint("192.0.2.2", 1000);
    std::vector<SendItem> items = items_of({100, 100, 100, 100}, &a);
    CHECK(gso_run(items) == 4);

    items[2].peer = &a_again;  // another object, same address: same destination
    CHECK(gso_run(items) == 4);
    items[2].peer = &b;  // another port
    CHECK(gso_run(items) == 2);
    items[2].peer = &c;  // another host
    CHECK(gso_run(items) == 2);
    items[2].peer = nullptr;  // connected vs addressed
    CHECK(gso_run(items) == 2);
    items[0].peer = items[1].peer = nullptr;
    CHECK(gso_run(items) == 3);  // all three connected, then a's item

    // The source address chosen for the reply is part of the destination.
    items = items_of({100, 100, 100}, &a);
    LocalAddress unspec, x, y, x6;
    x.family = y.family = AF_INET;
    REQUIRE(inet_pton(AF_INET, "203.0.113.1", &x.v4) == 1);
    REQUIRE(inet_pton(AF_INET, "203.0.113.2", &y.v4) == 1);
    x6.family = AF_INET6;
    items[1].local = &unspec;  // AF_UNSPEC is the same as no address
    CHECK(gso_run(items) == 3);
    items[0].local = items[1].local = &x;
    CHECK(gso_run(items) == 2);
    items[2].local = &x;
    CHECK(gso_run(items) == 3);
    LocalAddress x_again = x;
    items[2].local = &x_again;
    CHECK(gso_run(items) == 3);
    items[2].local = &y;
    CHECK(gso_run(items) == 2);
    items[2].local = &x6;
    CHECK(gso_run(items) == 2);
    x_again.ifindex = 3;
    items[2].local = &x_again;
    CHECK(gso_run(items) == 2);

    CHECK(same_destination(items[0], items[0]));
    CHECK_FALSE(same_destination(items[0], items[2]));
}

TEST_CASE("gso_run: a head counts towards the segment size", "[net][offload][gso]") {
    auto items = items_of({100, 100, 101, 100});
    items[0].head_length = items[1].head_length = 1;
    CHECK(gso_run(items) == 4);  // 101, 101, 101, then 100 as a shorter last
    items[2].head_length = 1;  // 102: longer, ends the run
    CHECK(gso_run(items) == 2);
}

TEST_CASE("gso_run: a tail counts towards the segment size too", "[net][offload][gso]") {
    const std::byte pad[3] = {};
    auto items = items_of({100, 100, 100, 100});
    items[0].tail = items[1].tail = pad;
    items[0].tail_length = items[1].tail_length = 2;  // 102, 102
    items[2].head_length = 2;                         // 102 too, with a head instead
    CHECK(items[0].size() == 102);
    CHECK(gso_run(items) == 4);  // 102, 102, 102, then 100 as a shorter last
    items[3].tail = pad;
    items[3].tail_length = 3;  // 103: longer, ends the run
    CHECK(gso_run(items) == 3);
}

// ---- gso_refused ------------------------------------------------------------------------------

TEST_CASE("gso_refused: errors that turn GSO off, and the others", "[net][offload][gso]") {
    for (int e : {EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP, ENOTSUP}) {
        INFO("errno " << e);
        CHECK(gso_refused(e));
    }
    for (int e : {0, EAGAIN, EWOULDBLOCK, EMSGSIZE, ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EPERM, ENOBUFS,
                  EACCES, EADDRNOTAVAIL}) {
        INFO("errno " << e);
        CHECK_FALSE(gso_refused(e));
    }
}

// ---- gro_segment_count / gro_segment ----------------------------------------------------------

TEST_CASE("gro segments: a coalesced buffer of length L with segment size S", "[net][offload][gro]") {
    struct Row {
        std::size_t length, size;
        bool truncated;
        std::vector<Segment> segments;
    };
    const Row rows[] = {
        {0, 0, false, {{0, 0, false}}},        // an empty datagram is still one
        {100, 0, false, {{0, 100, false}}},    // not coalesced
        {100, 0, true, {{0, 100, true}}},      // an ordinary truncated datagram
        {100, 100, false, {{0, 100, false}}},  // one segment is one datagram
        {100, 200, false, {{0, 100, false}}},
        {0, 100, false, {{0, 0, false}}},
        {200, 100, false, {{0, 100, false}, {100, 100, false}}},
        {250, 100, false, {{0, 100, false}, {100, 100, false}, {200, 50, false}}},
        {201, 100, false, {{0, 100, false}, {100, 100, false}, {200, 1, false}}},
        {5, 1, false, {{0, 1, false}, {1, 1, false}, {2, 1, false}, {3, 1, false}, {4, 1, false}}},
        // Truncated (buffers below kGroBufferSize): whole segments, then the cut-off piece.
        {250, 100, true, {{0, 100, false}, {100, 100, false}, {200, 50, true}}},
        {300, 100, true, {{0, 100, false}, {100, 100, false}, {200, 100, false}, {300, 0, true}}},
    };
    for (const auto& row : rows) {
        INFO("length " << row.length << ", segment size " << row.size
                       << (row.truncated ? ", truncated" : ""));
        REQUIRE(gro_segment_count(row.length, row.size, row.truncated) == row.segments.size());
        for (std::size_t i = 0; i < row.segments.size(); ++i) {
            INFO("segment " << i);
            const Segment s = gro_segment(row.length, row.size, row.truncated, i);
            CHECK(s.offset == row.segments[i].offset);
            CHECK(s.length == row.segments[i].length);
            CHECK(s.truncated == row.segments[i].truncated);
        }
    }
    // 64 WireGuard data packets, the most the kernel coalesces into 64 KiB.
    CHECK(gro_segment_count(64 * 1000, 1000, false) == 64);
    CHECK(gro_segment(64 * 1000 - 10, 1000, false, 63).length == 990);
}

TEST_CASE("datagrams(): one slot per datagram, pointing into the buffer", "[net][offload][gro]") {
    std::vector<std::byte> buffer(1000);
    ReceiveSlot slot;
    slot.data = buffer.data();
    slot.capacity = buffer.size();
    slot.length = 250;
    slot.segment_size = 100;
    slot.peer = endpoint("198.51.100.1", 51820);
    slot.local.family = AF_INET;
    slot.local.ifindex = 4;

    std::vector<ReceiveSlot> seen;
    for (const ReceiveSlot& d : datagrams(slot)) seen.push_back(d);
    REQUIRE(seen.size() == 3);
    REQUIRE(datagrams(slot).size() == 3);
    const std::size_t lengths[] = {100, 100, 50};
    for (std::size_t i = 0; i < 3; ++i) {
        INFO("datagram " << i);
        CHECK(seen[i].data == buffer.data() + 100 * i);  // no copy
        CHECK(seen[i].length == lengths[i]);
        CHECK(seen[i].capacity == lengths[i]);
        CHECK(seen[i].segment_size == 0);
        CHECK_FALSE(seen[i].truncated);
        CHECK(seen[i].peer == slot.peer);
        CHECK(seen[i].local.family == AF_INET);
        CHECK(seen[i].local.ifindex == 4);
    }

    slot.segment_size = 0;
    seen.clear();
    for (const ReceiveSlot& d : datagrams(slot)) seen.push_back(d);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].data == buffer.data());
    CHECK(seen[0].length == 250);
}

TEST_CASE("datagrams(): every datagram of a batch, in order", "[net][offload][gro]") {
    std::vector<std::byte> buffer(4000);
    // Slot lengths / segment sizes: plain, coalesced 3, truncated plain, empty, coalesced 2.
    struct Shape {
        std::size_t length, size;
        bool truncated;
    };
    const Shape shapes[] = {{10, 0, false}, {25, 10, false}, {8, 0, true}, {0, 0, false}, {40, 20, false}};
    std::vector<ReceiveSlot> slots;
    for (std::size_t i = 0; i < std::size(shapes); ++i) {
        ReceiveSlot s;
        s.data = buffer.data() + 500 * i;
        s.capacity = 500;
        s.length = shapes[i].length;
        s.segment_size = shapes[i].size;
        s.truncated = shapes[i].truncated;
        s.peer = endpoint("192.0.2.9", static_cast<std::uint16_t>(1000 + i));
        slots.push_back(s);
    }
    struct Want {
        std::size_t offset, length;
        bool truncated;
        std::uint16_t port;
    };
    const std::vector<Want> want = {{0, 10, false, 1000},    {500, 10, false, 1001}, {510, 10, false, 1001},
                                    {520, 5, false, 1001},   {1000, 8, true, 1002},  {1500, 0, false, 1003},
                                    {2000, 20, false, 1004}, {2020, 20, false, 1004}};
    std::vector<ReceiveSlot> seen;
    for (const ReceiveSlot& d : datagrams(std::span<const ReceiveSlot>(slots))) seen.push_back(d);
    REQUIRE(seen.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("datagram " << i);
        CHECK(seen[i].data == buffer.data() + want[i].offset);
        CHECK(seen[i].length == want[i].length);
        CHECK(seen[i].truncated == want[i].truncated);
        CHECK(seen[i].peer.port() == want[i].port);
    }

    std::size_t none = 0;
    for (const ReceiveSlot& d : datagrams(std::span<const ReceiveSlot>{})) none += d.length + 1;
    CHECK(none == 0);
}
