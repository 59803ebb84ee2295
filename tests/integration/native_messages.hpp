// Native VPN datagrams of the right shape for the relay's tests. WireGuard messages
// (wire/wireguard.hpp): their crypto is zeros, which the relay cannot tell (it has no keys),
// and mac1 is only checked when a public key is set. OpenVPN P_DATA_V2 (wire/openvpn.hpp).
#pragma once

#include <catch2/catch.hpp>

#include "../support/harness.hpp"

namespace porthop::test {

inline void put_le32(Bytes& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}
inline void put_le64(Bytes& b, std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}
inline std::uint32_t le32(const Bytes& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::to_integer<std::uint32_t>(b[at + i]) << (8 * i);
    return v;
}

inline Bytes wg_initiation(std::uint32_t sender) {
    Bytes b(148);
    b[0] = std::byte{1};
    put_le32(b, 4, sender);
    return b;
}
inline Bytes wg_response(std::uint32_t sender, std::uint32_t receiver) {
    Bytes b(92);
    b[0] = std::byte{2};
    put_le32(b, 4, sender);
    put_le32(b, 8, receiver);
    return b;
}
inline Bytes wg_transport(std::uint32_t receiver, std::uint64_t counter, std::size_t payload = 0) {
    Bytes b(32 + payload);
    b[0] = std::byte{4};
    put_le32(b, 4, receiver);
    put_le64(b, 8, counter);
    return b;
}

// A WireGuard server in outline for an EchoBackend: answers an initiation with a response
// naming `index` (plus `extra` more datagrams, as a backend sends data right after), and echoes
// everything else.
inline EchoBackend::Script wg_server(std::uint32_t index, std::vector<Bytes> extra = {}) {
    return [index, extra](const Bytes& d) {
        std::vector<Bytes> out;
        if (d.size() == 148 && d[0] == std::byte{1}) {
            out.push_back(wg_response(index, le32(d, 4)));
            out.insert(out.end(), extra.begin(), extra.end());
        } else {
            out.push_back(d);
        }
        return out;
    };
}

// P_DATA_V2 (opcode 9, key id 0) with peer-id 5 and an AEAD packet id in clear.
inline Bytes ovpn_data_v2(std::uint32_t packet_id) {
    Bytes b(64);
    b[0] = std::byte{9 << 3};
    b[3] = std::byte{5};
    for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<std::byte>(packet_id >> (24 - 8 * i));
    return b;
}

// An OpenVPN client on `from` sends P_DATA_V2 with packet ids counting up (which proves they are
// in clear, NativeRoaming::kPacketIdProof) through an echoing backend, then the next one from
// `to`: the relay must move the session there and echo it back to `to`.
inline void ovpn_move(RunningRelay& relay, UdpClient& from, UdpClient& to) {
    for (std::uint32_t id = 1; id <= 6; ++id) {
        from.send_to(relay.udp_port(0), ovpn_data_v2(id));
        REQUIRE(from.receive());
    }
    to.send_to(relay.udp_port(0), ovpn_data_v2(7));
    auto reply = to.receive();
    REQUIRE(reply);
    CHECK(reply->first == ovpn_data_v2(7));
    CHECK(relay.counter(&relay::Counters::move_accepted) == 1);
}

}  // namespace porthop::test
