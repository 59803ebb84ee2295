// wg::classify / is_keepalive / mac_layout: WireGuard message types, exact sizes, indices.
#include "porthop/wire/wireguard.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../../fixtures/fixture.hpp"

namespace wg = porthop::wire::wg;
using porthop::test::load_fixture;

namespace {

// A message of `size` bytes with the given type byte; the rest is a pattern with no zero
// bytes, so a field read from the wrong offset shows up as a wrong value.
std::vector<std::byte> message(std::uint8_t type, std::size_t size) {
    std::vector<std::byte> m(size);
    for (std::size_t i = 0; i < size; ++i) m[i] = static_cast<std::byte>(0x10 + (i * 37) % 0xE0);
    if (size > 0) m[0] = std::byte{type};
    for (std::size_t i = 1; i < 4 && i < size; ++i) m[i] = std::byte{0};
    return m;
}

void put_u32le(std::vector<std::byte>& m, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) m[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
}

void put_u64le(std::vector<std::byte>& m, std::size_t at, std::uint64_t v) {
    for (std::size_t i = 0; i < 8; ++i) m[at + i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
}

}  // namespace

TEST_CASE("wg::classify: each type at its exact size, fields little-endian", "[wire][wireguard]") {
    SECTION("initiation: sender at 4") {
        auto m = message(1, 148);
        put_u32le(m, 4, 0x11223344);
        const auto p = wg::classify(m);
        CHECK(p.kind == wg::Kind::initiation);
        CHECK(p.sender == 0x11223344);
        CHECK(p.receiver == 0);
        CHECK(p.counter == 0);
    }
    SECTION("response: sender at 4, receiver at 8") {
        auto m = message(2, 92);
        put_u32le(m, 4, 0xA1B2C3D4);
        put_u32le(m, 8, 0x01020304);
        const auto p = wg::classify(m);
        CHECK(p.kind == wg::Kind::response);
        CHECK(p.sender == 0xA1B2C3D4);
        CHECK(p.receiver == 0x01020304);
        CHECK(p.counter == 0);
    }
    SECTION("cookie reply: receiver at 4") {
        auto m = message(3, 64);
        put_u32le(m, 4, 0xDEADBEEF);
        const auto p = wg::classify(m);
        CHECK(p.kind == wg::Kind::cookie_reply);
        CHECK(p.sender == 0);
        CHECK(p.receiver == 0xDEADBEEF);
        CHECK(p.counter == 0);
    }
    SECTION("transport: receiver at 4, counter at 8") {
        auto m = message(4, 96);
        put_u32le(m, 4, 0xCAFEF00D);
        put_u64le(m, 8, 0x0807060504030201);
        const auto p = wg::classify(m);
        CHECK(p.kind == wg::Kind::transport);
        CHECK(p.sender == 0);
        CHECK(p.receiver == 0xCAFEF00D);
        CHECK(p.counter == 0x0807060504030201);
    }
}

TEST_CASE("wg::classify: handshake sizes are exact", "[wire][wireguard]") {
    struct Row {
        std::uint8_t type;
        std::size_t size;
        wg::Kind expected;
    };
    const Row rows[] = {
        {1, 147, wg::Kind::invalid},     {1, 148, wg::Kind::initiation}, {1, 149, wg::Kind::invalid},
        {1, 92, wg::Kind::invalid},      {1, 64, wg::Kind::invalid},     {1, 1500, wg::Kind::invalid},
        {2, 91, wg::Kind::invalid},      {2, 92, wg::Kind::response},    {2, 93, wg::Kind::invalid},
        {2, 148, wg::Kind::invalid},     {2, 64, wg::Kind::invalid},     {3, 63, wg::Kind::invalid},
        {3, 64, wg::Kind::cookie_reply}, {3, 65, wg::Kind::invalid},     {3, 92, wg::Kind::invalid},
        {3, 148, wg::Kind::invalid},
    };
    for (const auto& row : rows) {
        INFO("type " << int(row.type) << ", size " << row.size);
        CHECK(wg::classify(message(row.type, row.size)).kind == row.expected);
    }
}

TEST_CASE("wg::classify: transport is any size from 32 up, padded or not", "[wire][wireguard]") {
    // 32 = keepalive. Sizes other than 32 + 16k are real whenever the padding is clamped at
    // an MTU that is not a multiple of 16 (1452 = 32 + 1420 with the usual MTU; see header).
    for (std::size_t size : {std::size_t{32}, std::size_t{33}, std::size_t{47}, std::size_t{48},
                             std::size_t{1452}, std::size_t{1500}, std::size_t{65535}}) {
        INFO("size " << size);
        CHECK(wg::classify(message(4, size)).kind == wg::Kind::transport);
    }
    for (std::size_t size = 0; size < 32; ++size) {
        INFO("size " << size);
        CHECK(wg::classify(message(4, size)).kind == wg::Kind::invalid);
    }
}

TEST_CASE("wg::classify: every type byte and size up to 200", "[wire][wireguard]") {
    // The whole rule in one table: only types 1-4 exist, and each has its size rule.
    for (int type = 0; type < 256; ++type) {
        for (std::size_t size = 0; size <= 200; ++size) {
            wg::Kind expected = wg::Kind::invalid;
            if (type == 1 && size == 148) expected = wg::Kind::initiation;
            if (type == 2 && size == 92) expected = wg::Kind::response;
            if (type == 3 && size == 64) expected = wg::Kind::cookie_reply;
            if (type == 4 && size >= 32) expected = wg::Kind::transport;
            const auto p = wg::classify(message(static_cast<std::uint8_t>(type), size));
            if (p.kind != expected) {
                INFO("type " << type << ", size " << size);
                CHECK(p.kind == expected);
            }
        }
    }
}

TEST_CASE("wg::classify: a non-zero reserved byte means not WireGuard", "[wire][wireguard]") {
    const std::pair<std::uint8_t, std::size_t> valid[] = {{1, 148}, {2, 92}, {3, 64}, {4, 32}, {4, 1452}};
    for (auto [type, size] : valid) {
        REQUIRE(wg::classify(message(type, size)).kind != wg::Kind::invalid);
        for (std::size_t at = 1; at <= 3; ++at) {
            for (std::uint8_t value : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
                INFO("type " << int(type) << ", size " << size << ", byte " << at << " = " << int(value));
                auto m = message(type, size);
                m[at] = std::byte{value};
                const auto p = wg::classify(m);
                CHECK(p.kind == wg::Kind::invalid);
                CHECK(p.sender == 0);
                CHECK(p.receiver == 0);
                CHECK(p.counter == 0);
            }
        }
    }
}

TEST_CASE("wg::classify: counters WireGuard would reject are invalid", "[wire][wireguard]") {
    struct Row {
        std::uint64_t counter;
        wg::Kind expected;
    };
    const Row rows[] = {
        {0, wg::Kind::transport},
        {1, wg::Kind::transport},
        {std::uint64_t{1} << 60, wg::Kind::transport},  // RekeyAfterMessages: still accepted
        {wg::kRejectAfterMessages - 1, wg::Kind::transport},
        {wg::kRejectAfterMessages, wg::Kind::invalid},
        {wg::kRejectAfterMessages + 1, wg::Kind::invalid},
        {~std::uint64_t{0}, wg::Kind::invalid},
    };
    CHECK(wg::kRejectAfterMessages == 0xFFFFFFFFFFFFDFFFull);  // 2^64 - 2^13 - 1
    for (const auto& row : rows) {
        INFO("counter " << row.counter);
        auto m = message(4, 64);
        put_u64le(m, 8, row.counter);
        const auto p = wg::classify(m);
        CHECK(p.kind == row.expected);
        if (row.expected == wg::Kind::transport) CHECK(p.counter == row.counter);
    }
}

TEST_CASE("wg::classify: short and empty input", "[wire][wireguard]") {
    CHECK(wg::classify({}).kind == wg::Kind::invalid);
    const std::byte one[] = {std::byte{4}};
    CHECK(wg::classify(one).kind == wg::Kind::invalid);
    // A valid keepalive, cut short one byte at a time.
    const auto keepalive = message(4, 32);
    for (std::size_t n = 0; n < keepalive.size(); ++n) {
        INFO("prefix " << n);
        CHECK(wg::classify(std::span(keepalive).first(n)).kind == wg::Kind::invalid);
    }
}

TEST_CASE("wg::is_keepalive: exactly a 32-byte transport message", "[wire][wireguard]") {
    CHECK(wg::is_keepalive(message(4, 32)));
    CHECK_FALSE(wg::is_keepalive(message(4, 31)));
    CHECK_FALSE(wg::is_keepalive(message(4, 33)));
    CHECK_FALSE(wg::is_keepalive(message(4, 48)));
    CHECK_FALSE(wg::is_keepalive(message(3, 32)));
    auto reserved = message(4, 32);
    reserved[2] = std::byte{1};
    CHECK_FALSE(wg::is_keepalive(reserved));
    auto rejected = message(4, 32);
    put_u64le(rejected, 8, wg::kRejectAfterMessages);
    CHECK_FALSE(wg::is_keepalive(rejected));
}

TEST_CASE("wg::mac_layout: mac1/mac2 offsets of the handshake messages", "[wire][wireguard]") {
    // The last 32 bytes of both handshake messages are mac1 then mac2.
    STATIC_REQUIRE(wg::kInitiationMacs.mac1 == 116);
    STATIC_REQUIRE(wg::kInitiationMacs.mac2 == 132);
    STATIC_REQUIRE(wg::kResponseMacs.mac1 == 60);
    STATIC_REQUIRE(wg::kResponseMacs.mac2 == 76);
    REQUIRE(wg::mac_layout(wg::Kind::initiation));
    CHECK(wg::mac_layout(wg::Kind::initiation)->mac1 == 116);
    CHECK(wg::mac_layout(wg::Kind::initiation)->mac2 == 132);
    REQUIRE(wg::mac_layout(wg::Kind::response));
    CHECK(wg::mac_layout(wg::Kind::response)->mac1 == 60);
    CHECK(wg::mac_layout(wg::Kind::response)->mac2 == 76);
    CHECK_FALSE(wg::mac_layout(wg::Kind::cookie_reply));
    CHECK_FALSE(wg::mac_layout(wg::Kind::transport));
    CHECK_FALSE(wg::mac_layout(wg::Kind::invalid));
}

TEST_CASE("wg::classify: a real exchange captured from wireguard-go", "[wire][wireguard][fixture]") {
    // tests/fixtures/capture_wg_handshake.sh: initiation, response and a full-MTU data packet
    // of one session, so the indices must link up.
    const auto initiation = load_fixture("wg_handshake_initiation.hex");
    const auto response = load_fixture("wg_handshake_response.hex");
    const auto transport = load_fixture("wg_transport_full_mtu.hex");

    const auto i = wg::classify(initiation.packet);
    REQUIRE(i.kind == wg::Kind::initiation);
    CHECK(i.sender == 0x7f2673b7);

    const auto r = wg::classify(response.packet);
    REQUIRE(r.kind == wg::Kind::response);
    CHECK(r.sender == 0xdb308f82);
    CHECK(r.receiver == i.sender);  // the response answers that initiation

    const auto t = wg::classify(transport.packet);
    REQUIRE(t.kind == wg::Kind::transport);
    CHECK(t.receiver == r.sender);  // initiator -> responder data is addressed by the responder's index
    CHECK(t.counter == 1);          // the small ping before it used counter 0
    // The fact the size rule rests on: a real data packet whose length is not 32 + 16k.
    CHECK(transport.packet.size() == 1452);
    CHECK((transport.packet.size() - wg::kKeepaliveSize) % 16 == 12);

    // No cookie was involved: mac2 is all zeros in both handshake messages.
    for (const auto* f : {&initiation, &response}) {
        const auto layout = *wg::mac_layout(wg::classify(f->packet).kind);
        for (std::size_t k = layout.mac2; k < f->packet.size(); ++k) CHECK(f->packet[k] == std::byte{0});
    }
}
