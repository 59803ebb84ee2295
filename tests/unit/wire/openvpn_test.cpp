// ovpn::classify / opcode_name: OpenVPN opcodes, key ids, session ids, peer-ids, minimum sizes.
#include "porthop/wire/openvpn.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../../fixtures/fixture.hpp"
#include "../../support/bytes.hpp"

namespace ovpn = porthop::wire::ovpn;
using ovpn::Kind;
using ovpn::Opcode;

namespace {

// A packet of `size` bytes whose first byte is opcode << 3 | key_id; the rest counts up from
// 0x01, so the session id bytes are 01..08 and the peer-id bytes 01 02 03.
std::vector<std::byte> packet(std::uint8_t opcode, std::uint8_t key_id, std::size_t size) {
    auto p = porthop::test::pattern(size, 0, 1);
    if (size > 0) p[0] = static_cast<std::byte>(opcode << 3 | key_id);
    return p;
}

constexpr std::uint8_t kControlOpcodes[] = {3, 4, 5, 7, 8, 10, 11};
constexpr std::uint8_t kValidOpcodes[] = {3, 4, 5, 6, 7, 8, 9, 10, 11};
constexpr std::uint8_t kUnknownOpcodes[] = {0, 12, 13, 16, 31};

std::size_t minimum_for(std::uint8_t opcode) {
    switch (opcode) {
        case 5:
            return ovpn::kMinAckSize;
        case 6:
            return ovpn::kMinDataV1Size;
        case 9:
            return ovpn::kMinDataV2Size;
        default:
            return ovpn::kMinControlSize;
    }
}

}  // namespace

TEST_CASE("ovpn: minimum sizes are the documented header sums", "[wire][openvpn]") {
    STATIC_REQUIRE(ovpn::kMinControlSize == 14);  // opcode, session id, ack count, message id
    STATIC_REQUIRE(ovpn::kMinAckSize == 22);      // opcode, session id, ack count, 1 ack, remote session id
    STATIC_REQUIRE(ovpn::kMinDataV1Size == 2);
    STATIC_REQUIRE(ovpn::kMinDataV2Size == 5);
}

TEST_CASE("ovpn::classify: every opcode and key id", "[wire][openvpn]") {
    for (int op = 0; op < 32; ++op) {
        for (std::uint8_t key_id = 0; key_id < 8; ++key_id) {
            INFO("opcode " << op << ", key id " << int(key_id));
            const auto p = ovpn::classify(packet(static_cast<std::uint8_t>(op), key_id, 100));
            Kind expected = Kind::invalid;
            switch (op) {
                case 3:
                case 4:
                case 5:
                case 7:
                case 8:
                case 10:
                case 11:
                    expected = Kind::control;
                    break;
                case 6:
                    expected = Kind::data_v1;
                    break;
                case 9:
                    expected = Kind::data_v2;
                    break;
                default:
                    break;  // 0, key-method 1 resets (1, 2), 12-31
            }
            CHECK(p.kind == expected);
            if (expected != Kind::invalid) {
                CHECK(static_cast<int>(p.opcode) == op);
                CHECK(p.key_id == key_id);
            }
        }
    }
}

TEST_CASE("ovpn::classify: control packets carry the sender's session id", "[wire][openvpn]") {
    for (std::uint8_t op : kControlOpcodes) {
        INFO("opcode " << int(op));
        const auto p = ovpn::classify(packet(op, 2, 60));
        REQUIRE(p.kind == Kind::control);
        CHECK(p.session_id == 0x0102030405060708);  // wire order
        CHECK(p.peer_id == 0);
        CHECK(p.key_id == 2);
    }
    auto p = packet(7, 0, 30);
    const std::uint8_t sid[] = {0xFF, 0x00, 0xAB, 0xCD, 0x00, 0x00, 0x01, 0x80};
    for (std::size_t i = 0; i < 8; ++i) p[1 + i] = std::byte{sid[i]};
    CHECK(ovpn::classify(p).session_id == 0xFF00ABCD00000180);
    // Session id zero is the backend's business, not a format error.
    for (std::size_t i = 0; i < 8; ++i) p[1 + i] = std::byte{0};
    CHECK(ovpn::classify(p).kind == Kind::control);
    CHECK(ovpn::classify(p).session_id == 0);
}

TEST_CASE("ovpn::classify: P_DATA_V2 carries a 24-bit big-endian peer-id", "[wire][openvpn]") {
    struct Row {
        std::uint8_t b1, b2, b3;
        std::uint32_t peer_id;
    };
    const Row rows[] = {{0x00, 0x00, 0x00, 0},        {0x00, 0x00, 0x01, 1},
                        {0x01, 0x02, 0x03, 0x010203}, {0x80, 0x00, 0x00, 0x800000},
                        {0xFF, 0xFF, 0xFE, 0xFFFFFE}, {0xFF, 0xFF, 0xFF, ovpn::kNoPeerId}};
    for (const auto& row : rows) {
        INFO("peer-id " << row.peer_id);
        auto p = packet(9, 1, 40);
        p[1] = std::byte{row.b1};
        p[2] = std::byte{row.b2};
        p[3] = std::byte{row.b3};
        const auto c = ovpn::classify(p);
        REQUIRE(c.kind == Kind::data_v2);
        CHECK(c.peer_id == row.peer_id);
        CHECK(c.session_id == 0);
        CHECK(c.key_id == 1);
    }
    CHECK(ovpn::kNoPeerId == 0xFFFFFF);
}

TEST_CASE("ovpn::classify: P_DATA_V1 has neither session id nor peer-id", "[wire][openvpn]") {
    const auto c = ovpn::classify(packet(6, 7, 100));
    REQUIRE(c.kind == Kind::data_v1);
    CHECK(c.opcode == Opcode::data_v1);
    CHECK(c.key_id == 7);
    CHECK(c.session_id == 0);
    CHECK(c.peer_id == 0);
}

TEST_CASE("ovpn::classify: minimum size of each opcode, one byte either side", "[wire][openvpn]") {
    for (std::uint8_t op : kValidOpcodes) {
        const std::size_t minimum = minimum_for(op);
        INFO("opcode " << int(op) << ", minimum " << minimum);
        CHECK(ovpn::classify(packet(op, 0, minimum - 1)).kind == Kind::invalid);
        CHECK(ovpn::classify(packet(op, 0, minimum)).kind != Kind::invalid);
        CHECK(ovpn::classify(packet(op, 0, minimum + 1)).kind != Kind::invalid);
        // Every shorter prefix is refused too, and reports nothing.
        for (std::size_t n = 0; n < minimum; ++n) {
            const auto c = ovpn::classify(packet(op, 0, n));
            CHECK(c.kind == Kind::invalid);
            CHECK(c.session_id == 0);
            CHECK(c.peer_id == 0);
        }
    }
    // Opcode + session id is OpenVPN's own first check; our control minimum is stricter.
    CHECK(ovpn::classify(packet(4, 0, 9)).kind == Kind::invalid);
    CHECK(ovpn::classify(packet(5, 0, ovpn::kMinControlSize)).kind == Kind::invalid);  // ACK needs 22
}

TEST_CASE("ovpn::classify: retired and unknown opcodes", "[wire][openvpn]") {
    // Key-method 1 resets: OpenVPN 2.6 answers them with "unknown opcode".
    for (std::uint8_t op : {std::uint8_t{1}, std::uint8_t{2}}) {
        INFO("opcode " << int(op));
        const auto c = ovpn::classify(packet(op, 0, 200));
        CHECK(c.kind == Kind::invalid);
        CHECK(c.session_id == 0);
    }
    for (std::uint8_t op : kUnknownOpcodes) {
        INFO("opcode " << int(op));
        CHECK(ovpn::classify(packet(op, 0, 200)).kind == Kind::invalid);
    }
    CHECK(ovpn::classify({}).kind == Kind::invalid);
}

TEST_CASE("ovpn::opcode_name: OpenVPN's names", "[wire][openvpn]") {
    struct Row {
        Opcode op;
        std::string_view name;
    };
    const Row rows[] = {
        {Opcode::control_hard_reset_client_v1, "P_CONTROL_HARD_RESET_CLIENT_V1"},
        {Opcode::control_hard_reset_server_v1, "P_CONTROL_HARD_RESET_SERVER_V1"},
        {Opcode::control_soft_reset_v1, "P_CONTROL_SOFT_RESET_V1"},
        {Opcode::control_v1, "P_CONTROL_V1"},
        {Opcode::ack_v1, "P_ACK_V1"},
        {Opcode::data_v1, "P_DATA_V1"},
        {Opcode::control_hard_reset_client_v2, "P_CONTROL_HARD_RESET_CLIENT_V2"},
        {Opcode::control_hard_reset_server_v2, "P_CONTROL_HARD_RESET_SERVER_V2"},
        {Opcode::data_v2, "P_DATA_V2"},
        {Opcode::control_hard_reset_client_v3, "P_CONTROL_HARD_RESET_CLIENT_V3"},
        {Opcode::control_wkc_v1, "P_CONTROL_WKC_V1"},
    };
    for (const auto& row : rows) {
        CHECK(ovpn::opcode_name(row.op) == row.name);
        CHECK(static_cast<int>(row.op) == static_cast<int>(&row - rows) + 1);  // values 1..11 in order
    }
    CHECK(ovpn::opcode_name(static_cast<Opcode>(0)) == "P_???");
    CHECK(ovpn::opcode_name(static_cast<Opcode>(12)) == "P_???");
}

using porthop::test::load_ovpn_capture;

TEST_CASE("ovpn::classify: real OpenVPN 2.6 traffic under every wrapping", "[wire][openvpn][fixture]") {
    const auto captured = load_ovpn_capture();
    REQUIRE(captured.size() > 40);
    struct Seen {
        std::set<int> opcodes;
        std::set<std::uint64_t> session_ids;
        std::set<std::uint32_t> peer_ids;
    };
    std::map<std::pair<std::string, std::string>, Seen> seen;
    std::size_t smallest_control = SIZE_MAX, smallest_ack = SIZE_MAX;
    for (const auto& c : captured) {
        INFO(c.wrapping << " " << c.direction << ", " << c.bytes.size() << " bytes, first byte "
                        << std::to_integer<int>(c.bytes.at(0)));
        const auto p = ovpn::classify(c.bytes);
        REQUIRE(p.kind != Kind::invalid);  // no real packet is refused
        CHECK(p.key_id == 0);              // no renegotiation in a few seconds
        auto& s = seen[{c.wrapping, c.direction}];
        s.opcodes.insert(static_cast<int>(p.opcode));
        if (p.kind == Kind::control) {
            s.session_ids.insert(p.session_id);
            if (p.opcode == Opcode::ack_v1)
                smallest_ack = std::min(smallest_ack, c.bytes.size());
            else
                smallest_control = std::min(smallest_control, c.bytes.size());
        }
        if (p.kind == Kind::data_v2) s.peer_ids.insert(p.peer_id);
        CHECK(p.kind != Kind::data_v1);  // 2.6 uses P_DATA_V2 both ways
    }
    const std::set<int> handshake_c2s{4, 5, 7, 9}, handshake_s2c{4, 8, 9};
    for (const std::string wrapping : {"none", "tls-auth", "tls-crypt", "tls-crypt-v2"}) {
        INFO(wrapping);
        const auto& c2s = seen[{wrapping, "c2s"}];
        const auto& s2c = seen[{wrapping, "s2c"}];
        // tls-crypt-v2 opens with P_CONTROL_HARD_RESET_CLIENT_V3 and resends the wrapped client
        // key in P_CONTROL_WKC_V1 (early negotiation) instead of P_CONTROL_HARD_RESET_CLIENT_V2.
        CHECK(c2s.opcodes == (wrapping == "tls-crypt-v2" ? std::set<int>{4, 5, 9, 10, 11} : handshake_c2s));
        CHECK(s2c.opcodes == handshake_s2c);
        // One session id per side for the whole exchange, and the two sides differ: this is
        // what lets the relay find a session by it.
        CHECK(c2s.session_ids.size() == 1);
        CHECK(s2c.session_ids.size() == 1);
        CHECK(c2s.session_ids != s2c.session_ids);
        // The first (only) client gets peer-id 0, and the server uses it too.
        CHECK(c2s.peer_ids == std::set<std::uint32_t>{0});
        CHECK(s2c.peer_ids == std::set<std::uint32_t>{0});
    }
    // The control minimum is tight: a plain client reset is exactly opcode + session id +
    // ack count + message id (14 bytes). The smallest ACK seen acks two packets (26 bytes);
    // an ACK of one packet would be the 22-byte minimum.
    CHECK(smallest_control == ovpn::kMinControlSize);
    CHECK(smallest_ack >= ovpn::kMinAckSize);
}
