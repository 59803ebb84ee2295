// wire/protocol: telling WireGuard from OpenVPN, and what a listener of each protocol carries.
#include "porthop/wire/protocol.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "../../fixtures/fixture.hpp"
#include "../../support/bytes.hpp"

using namespace porthop::wire;
using porthop::test::load_fixture;
using porthop::test::bytes;
using porthop::test::load_ovpn_capture;

TEST_CASE("protocol names", "[wire][protocol]") {
    for (auto p : {Protocol::any, Protocol::wireguard, Protocol::openvpn}) CHECK(parse_protocol(to_string(p)) == p);
    CHECK_FALSE(parse_protocol("WireGuard"));
    CHECK_FALSE(parse_protocol("wg"));
    CHECK_FALSE(parse_protocol(""));
    CHECK_FALSE(parse_protocol("any "));
}

TEST_CASE("classify_native: real WireGuard and OpenVPN traffic", "[wire][protocol][fixture]") {
    for (const char* file : {"wg_handshake_initiation.hex", "wg_handshake_response.hex", "wg_transport_full_mtu.hex"}) {
        INFO(file);
        const auto packet = load_fixture(file).packet;
        const auto any = classify_native(packet, Protocol::any);
        CHECK(any.is_wireguard());
        CHECK_FALSE(any.is_openvpn());
        CHECK(carries(Protocol::any, any));
        CHECK(carries(Protocol::wireguard, classify_native(packet, Protocol::wireguard)));
        CHECK_FALSE(carries(Protocol::openvpn, classify_native(packet, Protocol::openvpn)));
    }
    const auto captured = load_ovpn_capture();
    REQUIRE(captured.size() > 20);
    for (const auto& c : captured) {
        INFO(c.wrapping << " " << c.direction);
        const auto any = classify_native(c.bytes, Protocol::any);
        CHECK(any.is_openvpn());
        CHECK_FALSE(any.is_wireguard());
        // What a client sends passes an OpenVPN listener; of the server's packets, all but its
        // hard reset would (a listener only ever sees clients).
        const auto ovpn = classify_native(c.bytes, Protocol::openvpn);
        const bool server_reset = ovpn.ovpn.opcode == ovpn::Opcode::control_hard_reset_server_v2;
        CHECK(carries(Protocol::openvpn, ovpn) == !server_reset);
        if (c.direction == "c2s") CHECK_FALSE(server_reset);
        CHECK_FALSE(carries(Protocol::wireguard, classify_native(c.bytes, Protocol::wireguard)));
    }
}

TEST_CASE("classify_native: no datagram is both", "[wire][protocol]") {
    // Every first byte with the WireGuard reserved bytes zero, at every WireGuard size.
    for (int first = 0; first < 256; ++first) {
        for (std::size_t size : {std::size_t{14}, std::size_t{32}, std::size_t{64}, std::size_t{92},
                                 std::size_t{148}, std::size_t{1452}}) {
            const auto d = bytes({first, 0, 0, 0}, size);
            const auto n = classify_native(d, Protocol::any);
            INFO(first << " " << size);
            CHECK_FALSE((n.is_wireguard() && n.is_openvpn()));
            // The single-protocol classification agrees with the "any" one.
            CHECK(classify_native(d, Protocol::wireguard).is_wireguard() == n.is_wireguard());
            CHECK(classify_native(d, Protocol::openvpn).is_openvpn() == n.is_openvpn());
        }
    }
}

TEST_CASE("carries: what each listener lets through", "[wire][protocol]") {
    const auto junk = bytes({0xde, 0xad, 0xbe, 0xef}, 40);  // opcode 27: not OpenVPN; not WireGuard
    const auto empty = std::vector<std::byte>{};
    for (const auto* d : {&junk, &empty}) {
        CHECK(carries(Protocol::any, classify_native(*d, Protocol::any)));
        CHECK_FALSE(carries(Protocol::wireguard, classify_native(*d, Protocol::wireguard)));
        CHECK_FALSE(carries(Protocol::openvpn, classify_native(*d, Protocol::openvpn)));
    }
    // An HTTP request starts with 'G' (0x47): OpenVPN's server hard reset, never a client's.
    const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    std::vector<std::byte> http(get.size());
    std::memcpy(http.data(), get.data(), get.size());
    CHECK(classify_native(http, Protocol::any).is_openvpn());
    CHECK_FALSE(carries(Protocol::openvpn, classify_native(http, Protocol::openvpn)));
    // One byte short of a WireGuard initiation: neither protocol.
    auto short_init = load_fixture("wg_handshake_initiation.hex").packet;
    short_init.pop_back();
    CHECK_FALSE(carries(Protocol::wireguard, classify_native(short_init, Protocol::wireguard)));
    CHECK_FALSE(classify_native(short_init, Protocol::any).is_openvpn());
}

TEST_CASE("is_handshake: initiations and client hard resets only", "[wire][protocol]") {
    CHECK(is_handshake(classify_native(load_fixture("wg_handshake_initiation.hex").packet, Protocol::any)));
    CHECK_FALSE(is_handshake(classify_native(load_fixture("wg_handshake_response.hex").packet, Protocol::any)));
    CHECK_FALSE(is_handshake(classify_native(load_fixture("wg_transport_full_mtu.hex").packet, Protocol::any)));
    std::size_t resets = 0;
    for (const auto& c : load_ovpn_capture()) {
        const auto n = classify_native(c.bytes, Protocol::openvpn);
        const bool client_reset = n.ovpn.kind == ovpn::Kind::control &&
                                  (n.ovpn.opcode == ovpn::Opcode::control_hard_reset_client_v2 ||
                                   n.ovpn.opcode == ovpn::Opcode::control_hard_reset_client_v3);
        CHECK(is_handshake(n) == client_reset);
        resets += client_reset;
    }
    CHECK(resets >= 4);  // one per wrapping at least
    CHECK_FALSE(is_handshake(Native{}));
}
