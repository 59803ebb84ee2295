#include <catch2/catch.hpp>

#include "porthop/relay/directory.hpp"

#include "../../support/endpoints.hpp"

using namespace porthop;
using porthop::test::endpoint;
using relay::Directory;
using relay::FlowKey;
using relay::IdKind;
using relay::Owner;

TEST_CASE("directory: flows and ids lead to their owner until the session closes", "[relay][directory]") {
    Directory d;
    const FlowKey flow{endpoint("0.0.0.0", 443), endpoint("192.0.2.7", 5000)};
    const Owner a{1, 10}, b{0, 11};
    CHECK_FALSE(d.flow(flow));
    d.set_flow(flow, a);
    d.set_id(IdKind::wireguard_index, 0xabcd, a);
    d.set_id(IdKind::hop_session, 0xabcd, b);  // kinds are separate spaces
    REQUIRE(d.flow(flow));
    CHECK(*d.flow(flow) == a);
    CHECK(*d.id(IdKind::wireguard_index, 0xabcd) == a);
    CHECK(*d.id(IdKind::hop_session, 0xabcd) == b);
    CHECK_FALSE(d.id(IdKind::openvpn_peer_id, 0xabcd));
    // The same port from another client, or another port: other flows.
    CHECK_FALSE(d.flow(FlowKey{endpoint("0.0.0.0", 443), endpoint("192.0.2.7", 5001)}));
    CHECK_FALSE(d.flow(FlowKey{endpoint("0.0.0.0", 444), endpoint("192.0.2.7", 5000)}));
    d.erase_session(a);
    CHECK_FALSE(d.flow(flow));
    CHECK_FALSE(d.id(IdKind::wireguard_index, 0xabcd));
    CHECK(d.id(IdKind::hop_session, 0xabcd));
    CHECK(d.size() == 1);
}

TEST_CASE("directory: a key taken over by another session stays with it", "[relay][directory]") {
    Directory d;
    const Owner old_owner{0, 1}, new_owner{1, 2};
    d.set_id(IdKind::wireguard_index, 7, old_owner);
    d.set_id(IdKind::wireguard_index, 7, new_owner);  // the backend gave the index to another
    d.erase_session(old_owner);
    REQUIRE(d.id(IdKind::wireguard_index, 7));
    CHECK(*d.id(IdKind::wireguard_index, 7) == new_owner);
}

TEST_CASE("directory: a session holds at most kMaxKeysPerSession entries, oldest out first", "[relay][directory]") {
    Directory d;
    const Owner o{0, 5};
    const auto flow = [](std::uint16_t port) { return FlowKey{endpoint("0.0.0.0", port), endpoint("198.51.100.1", 9)}; };
    for (std::uint16_t port = 1; port <= Directory::kMaxKeysPerSession + 10; ++port) {
        d.set_flow(flow(port), o);
        d.set_flow(flow(port), o);  // known: not counted twice
    }
    CHECK(d.size() == Directory::kMaxKeysPerSession);
    CHECK_FALSE(d.flow(flow(10)));
    CHECK(d.flow(flow(11)));
    CHECK(d.flow(flow(Directory::kMaxKeysPerSession + 10)));
    d.erase_session(o);
    CHECK(d.size() == 0);
}

TEST_CASE("directory: a session that moves to another worker takes its entries along", "[relay][directory]") {
    Directory d;
    const FlowKey flow{endpoint("0.0.0.0", 443), endpoint("192.0.2.7", 5000)};
    const FlowKey taken{endpoint("0.0.0.0", 443), endpoint("192.0.2.8", 5000)};
    const Owner before{0, 21}, after{1, 21}, other{0, 22};
    d.set_flow(flow, before);
    d.set_flow(taken, before);
    d.set_id(IdKind::hop_session, 0xfeed, before);
    d.set_flow(taken, other);  // a key another session took over stays with it
    d.move_session(before, after);
    CHECK(*d.flow(flow) == after);
    CHECK(*d.id(IdKind::hop_session, 0xfeed) == after);
    CHECK(*d.flow(taken) == other);
    // The entries are now the new owner's: they go when it closes, and the old owner has none.
    d.erase_session(before);
    CHECK(*d.flow(flow) == after);
    d.erase_session(after);
    CHECK_FALSE(d.flow(flow));
    CHECK_FALSE(d.id(IdKind::hop_session, 0xfeed));
    CHECK(*d.flow(taken) == other);
    // Negative: moving an owner that holds nothing changes nothing.
    d.move_session(Owner{3, 99}, after);
    CHECK(d.size() == 1);
}
