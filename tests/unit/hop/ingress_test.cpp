// hop::decide: the server's one ingress decision, row by row of the table in hop/ingress.hpp.
#include "porthop/hop/ingress.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "../../support/bytes.hpp"
#include "../../support/hop_vectors.hpp"

using namespace porthop::hop;
using porthop::test::counting_codec;
using porthop::test::hex;
using porthop::test::kAttachHex;

namespace {

using porthop::test::bytes;

struct Row {
    const char* name;
    bool with_codec;
    Flow flow;
    std::vector<std::byte> datagram;
    Route route;
    Drop drop;
    // What `bytes` must be: the whole datagram, the payload after the 1-byte data header, or nothing.
    enum class Bytes { whole, payload, none } expect_bytes;
};

}  // namespace

TEST_CASE("ingress: every row of the decision table", "[hop][ingress]") {
    const auto codec = counting_codec();
    const auto attach = hex(kAttachHex);
    const auto data = bytes({0x03, 0x04, 0x00, 0x00, 0x00, 0x11});
    const auto empty_data = bytes({0x03});
    const auto wg = bytes({0x01, 0x00, 0x00, 0x00, 0x22});  // a WireGuard initiation's first bytes
    using B = Row::Bytes;
    const std::vector<Row> rows = {
        {"no key: an attach is a native datagram", false, Flow::unknown, attach, Route::native, Drop::none, B::whole},
        {"no key: data on a native flow", false, Flow::native, data, Route::native, Drop::none, B::whole},
        {"no key: an agent flow left from before a reload", false, Flow::agent, data, Route::drop, Drop::not_data,
         B::none},
        {"empty, no key", false, Flow::unknown, {}, Route::drop, Drop::empty, B::none},
        {"empty, key", true, Flow::agent, {}, Route::drop, Drop::empty, B::none},
        {"attach on a new flow", true, Flow::unknown, attach, Route::attach, Drop::none, B::whole},
        {"attach on a native flow", true, Flow::native, attach, Route::attach, Drop::none, B::whole},
        {"attach on an agent flow (keepalive)", true, Flow::agent, attach, Route::attach, Drop::none, B::whole},
        {"data on an agent flow", true, Flow::agent, data, Route::agent_data, Drop::none, B::payload},
        {"empty data on an agent flow", true, Flow::agent, empty_data, Route::drop, Drop::empty, B::none},
        {"not hop link on an agent flow", true, Flow::agent, wg, Route::drop, Drop::not_data, B::none},
        {"data on a new flow", true, Flow::unknown, data, Route::stray_data, Drop::none, B::whole},
        {"data on a native flow", true, Flow::native, data, Route::native, Drop::none, B::whole},
        {"native on a new flow", true, Flow::unknown, wg, Route::native, Drop::none, B::whole},
        {"native on a native flow", true, Flow::native, wg, Route::native, Drop::none, B::whole},
    };
    for (const Row& row : rows) {
        INFO(row.name);
        auto datagram = row.datagram;
        const auto in = decide(row.with_codec ? &codec : nullptr, row.flow, datagram);
        CHECK(to_string(in.route) == std::string(to_string(row.route)));
        CHECK(in.drop == row.drop);
        switch (row.expect_bytes) {
            case B::whole:
                CHECK(in.bytes.data() == datagram.data());
                CHECK(in.bytes.size() == datagram.size());
                break;
            case B::payload:
                CHECK(in.bytes.data() == datagram.data() + 1);
                CHECK(in.bytes.size() == datagram.size() - 1);
                break;
            case B::none:
                CHECK(in.bytes.empty());
                break;
        }
        CHECK(datagram == row.datagram);  // version 1 opens without changing a byte
    }
}

TEST_CASE("ingress: route names", "[hop][ingress]") {
    CHECK(std::string(to_string(Route::attach)) == "attach");
    CHECK(std::string(to_string(Route::agent_data)) == "agent_data");
    CHECK(std::string(to_string(Route::stray_data)) == "stray_data");
    CHECK(std::string(to_string(Route::native)) == "native");
    CHECK(std::string(to_string(Route::drop)) == "drop");
}
