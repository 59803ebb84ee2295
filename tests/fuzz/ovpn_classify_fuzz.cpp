// libFuzzer target: wire::ovpn::classify and opcode_name on arbitrary datagrams, checking the
// contract: invalid results carry no fields; valid ones match the first byte, respect the
// documented minimum sizes, and carry only the id their kind has.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "porthop/wire/openvpn.hpp"

namespace ovpn = porthop::wire::ovpn;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    const auto p = ovpn::classify(in);
    if (p.kind == ovpn::Kind::invalid) {
        check(p.session_id == 0 && p.peer_id == 0 && p.key_id == 0);
        return 0;
    }
    check(size > 0);
    check(static_cast<int>(p.opcode) == data[0] >> 3 && p.key_id == (data[0] & 7));
    check(ovpn::opcode_name(p.opcode) != "P_???");
    switch (p.kind) {
        case ovpn::Kind::control: {
            const std::size_t minimum =
                p.opcode == ovpn::Opcode::ack_v1 ? ovpn::kMinAckSize : ovpn::kMinControlSize;
            check(size >= minimum && p.peer_id == 0);
            std::uint64_t sid = 0;
            for (std::size_t i = 1; i <= 8; ++i) sid = sid << 8 | data[i];
            check(p.session_id == sid);
            break;
        }
        case ovpn::Kind::data_v1:
            check(p.opcode == ovpn::Opcode::data_v1 && size >= ovpn::kMinDataV1Size);
            check(p.session_id == 0 && p.peer_id == 0);
            break;
        case ovpn::Kind::data_v2:
            check(p.opcode == ovpn::Opcode::data_v2 && size >= ovpn::kMinDataV2Size);
            check(p.session_id == 0 && p.peer_id == (std::uint32_t{data[1]} << 16 | data[2] << 8 | data[3]));
            check(p.peer_id <= ovpn::kNoPeerId);
            break;
        case ovpn::Kind::invalid:
            break;
    }
    return 0;
}
