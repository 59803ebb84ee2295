// PacketPool / PacketBuffer: reuse, the limit, headroom arithmetic.
#include <catch2/catch.hpp>

#include "porthop/net/packet_pool.hpp"

using porthop::net::kHeadroom;
using porthop::net::PacketBuffer;
using porthop::net::PacketPool;

TEST_CASE("PacketPool: a returned buffer is reused, with its length reset", "[net][packet_pool]") {
    PacketPool pool(1500, 4);
    CHECK(pool.payload_capacity() == 1500);
    CHECK(pool.created() == 0);
    CHECK(pool.available() == 0);

    auto a = pool.get();
    REQUIRE(a != nullptr);
    CHECK(a->payload_capacity() == 1500);
    CHECK(a->length == 0);
    CHECK(pool.created() == 1);

    a->length = 1234;
    PacketBuffer* const raw = a.get();
    pool.put(std::move(a));
    CHECK(pool.available() == 1);

    auto b = pool.get();
    CHECK(b.get() == raw);
    CHECK(b->length == 0);
    CHECK(pool.created() == 1);
    CHECK(pool.available() == 0);
}

TEST_CASE("PacketPool: the limit counts buffers in use and free", "[net][packet_pool]") {
    PacketPool pool(64, 3);
    auto a = pool.get();
    auto b = pool.get();
    auto c = pool.get();
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(c);
    CHECK(a.get() != b.get());
    CHECK(b.get() != c.get());
    CHECK(pool.created() == 3);

    CHECK(pool.get() == nullptr);  // all three in use
    CHECK(pool.get() == nullptr);
    CHECK(pool.created() == 3);

    pool.put(std::move(b));
    auto again = pool.get();
    CHECK(again != nullptr);
    CHECK(pool.get() == nullptr);
    CHECK(pool.created() == 3);
}

TEST_CASE("PacketPool: put(nullptr) is ignored; a zero limit gives nothing", "[net][packet_pool]") {
    PacketPool pool(64, 1);
    pool.put(nullptr);
    CHECK(pool.available() == 0);
    CHECK(pool.get() != nullptr);

    PacketPool none(64, 0);
    CHECK(none.get() == nullptr);
    CHECK(none.created() == 0);
}

TEST_CASE("PacketBuffer: with_header spans the header and the payload", "[net][packet_pool]") {
    PacketBuffer buffer(100);
    buffer.length = 37;
    std::byte* const payload = buffer.payload();
    const PacketBuffer& const_ref = buffer;
    CHECK(const_ref.payload() == payload);

    for (std::size_t header : {std::size_t{0}, std::size_t{2}, std::size_t{16}, kHeadroom}) {
        INFO(header);
        const auto span = buffer.with_header(header);
        CHECK(span.data() == payload - header);
        CHECK(span.size() == header + 37);
        CHECK(span.data() + span.size() == payload + 37);
    }
    // The whole headroom and the whole payload area are writable.
    buffer.length = buffer.payload_capacity();
    auto all = buffer.with_header(kHeadroom);
    REQUIRE(all.size() == kHeadroom + 100);
    for (auto& b : all) b = std::byte{0x5A};
    CHECK(payload[99] == std::byte{0x5A});
    CHECK(payload[-static_cast<std::ptrdiff_t>(kHeadroom)] == std::byte{0x5A});
}
