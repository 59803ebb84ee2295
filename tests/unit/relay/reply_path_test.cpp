// ReplyPath (relay/reply_path.hpp): every transition of a session's reply path, over stand-ins
// for the listener and the connection (the type never looks into them): a native session's
// one path, an agent's UDP path and TCP connection with the one its data last came on chosen,
// the count of sessions on the listener replies leave from, and the operations it refuses.
// And flow(), with hop::FlowPadding as the server uses them: the first replies on every flow
// are padded like a new flow's.
#include "porthop/relay/reply_path.hpp"

#include <catch2/catch.hpp>
#include <memory>

#include "../../support/endpoints.hpp"
#include "porthop/hop/flow_padding.hpp"

// A namespace of its own: with unity builds the test files share translation units, and names
// such as Kind and Path must not meet another file's.
namespace reply_path_test {

using namespace porthop;
using relay::PathChange;
using relay::Via;
using test::endpoint;

namespace {

using Stats = std::shared_ptr<relay::ListenerCounters>;

struct Listener {
    Stats stats = std::make_shared<relay::ListenerCounters>();
};
struct Connection {
    Stats stats = std::make_shared<relay::ListenerCounters>();
};
using Path = relay::BasicReplyPath<Listener, Connection>;
using Kind = Path::Kind;

std::uint64_t counted(const Stats& stats) { return stats->sessions.load(); }

net::LocalAddress local_v4(unsigned ifindex) {
    net::LocalAddress local;
    local.family = AF_INET;
    local.ifindex = ifindex;
    return local;
}

const net::Endpoint kClient = endpoint("198.51.100.7", 40001);
const net::Endpoint kMoved = endpoint("198.51.100.8", 40002);
const net::Endpoint kPeer = endpoint("203.0.113.5", 50000);

// Where the path points and which way replies go.
void check_path(const Path& path, Listener* listener, Connection* tcp, Via via, Via chosen) {
    CHECK(path.listener() == listener);
    CHECK(path.tcp() == tcp);
    CHECK(path.via() == via);
    CHECK(path.chosen() == chosen);
}

}  // namespace

TEST_CASE("ReplyPath: a new path has none", "[relay][reply_path]") {
    Path path;
    CHECK(path.kind() == Kind::unset);
    check_path(path, nullptr, nullptr, Via::none, Via::none);
    CHECK(path.stats() == nullptr);
    CHECK(path.close() == nullptr);  // nothing counted, nothing to close
}

TEST_CASE("ReplyPath: a native UDP session has exactly one path", "[relay][reply_path]") {
    Listener a, b;
    Connection c;
    Path path;
    REQUIRE(path.open_udp(a, kClient, local_v4(2), a.stats));
    CHECK(path.kind() == Kind::native);
    check_path(path, &a, nullptr, Via::udp, Via::udp);
    CHECK(path.client() == kClient);
    CHECK(path.local().ifindex == 2);
    CHECK(path.stats() == a.stats);
    CHECK(counted(a.stats) == 1);

    SECTION("a second path is refused, of either kind") {
        CHECK_FALSE(path.open_udp(b, kMoved, local_v4(3), b.stats));
        CHECK_FALSE(path.open_tcp(c, kPeer, c.stats));
        CHECK_FALSE(path.become_agent());
        CHECK(path.attach_udp(b, kMoved, local_v4(3), b.stats) == PathChange::refused);
        const auto bound = path.attach_tcp(c, kPeer, c.stats);
        CHECK(bound.change == PathChange::refused);
        CHECK(bound.superseded == nullptr);
        CHECK(path.prefer_udp(b, kMoved, b.stats) == PathChange::refused);
        CHECK(path.prefer_tcp(c, c.stats) == PathChange::refused);
        check_path(path, &a, nullptr, Via::udp, Via::udp);
        CHECK(path.client() == kClient);
        CHECK(path.kind() == Kind::native);
        CHECK(counted(a.stats) == 1);
        CHECK(counted(b.stats) == 0);
        CHECK(counted(c.stats) == 0);
    }
    SECTION("its one path cannot be taken away: the server closes the session instead") {
        CHECK_FALSE(path.clear_listener(a));
        CHECK_FALSE(path.lose_udp(a, kClient));
        CHECK_FALSE(path.detach_tcp(c));
        check_path(path, &a, nullptr, Via::udp, Via::udp);
    }
    SECTION("roaming moves the one path, and the count with it") {
        REQUIRE(path.roam(b, kMoved, b.stats));
        check_path(path, &b, nullptr, Via::udp, Via::udp);
        CHECK(path.client() == kMoved);
        CHECK(path.local().ifindex == 2);  // until the client's next datagram says where it sent to
        CHECK(counted(a.stats) == 0);
        CHECK(counted(b.stats) == 1);
        REQUIRE(path.roam(b, kClient, b.stats));  // another address on the same listener
        CHECK(path.client() == kClient);
        CHECK(counted(b.stats) == 1);
    }
    SECTION("the local address follows datagrams on the path, not stragglers from elsewhere") {
        CHECK(path.note_local(a, kClient, local_v4(4)));
        CHECK(path.local().ifindex == 4);
        CHECK_FALSE(path.note_local(a, kMoved, local_v4(5)));  // another address
        CHECK_FALSE(path.note_local(b, kClient, local_v4(6)));  // another listener
        CHECK(path.local().ifindex == 4);
    }
    SECTION("closing uncounts it once; what it was stays readable") {
        CHECK(path.close() == nullptr);
        CHECK(counted(a.stats) == 0);
        CHECK(path.close() == nullptr);
        CHECK(counted(a.stats) == 0);  // not twice
        CHECK(path.chosen() == Via::udp);
        CHECK(path.client() == kClient);
        CHECK(path.stats() == a.stats);  // replies still in flight are counted somewhere
    }
    SECTION("it does not move to another worker") {
        Path to;
        CHECK_FALSE(path.carry_to(to));
        CHECK(to.kind() == Kind::unset);
        CHECK_FALSE(path.resume(&b, b.stats));
        CHECK(counted(b.stats) == 0);
    }
}

TEST_CASE("ReplyPath: a native TCP session has exactly one path", "[relay][reply_path]") {
    Listener a;
    Connection c, d;
    Path path;
    REQUIRE(path.open_tcp(c, kPeer, c.stats));
    CHECK(path.kind() == Kind::native);
    check_path(path, nullptr, &c, Via::tcp, Via::tcp);
    CHECK(path.client() == kPeer);
    CHECK(counted(c.stats) == 1);

    CHECK_FALSE(path.open_udp(a, kClient, local_v4(2), a.stats));
    CHECK_FALSE(path.open_tcp(d, kPeer, d.stats));
    CHECK_FALSE(path.roam(a, kClient, a.stats));  // only a UDP path roams
    CHECK(path.prefer_udp(a, kClient, a.stats) == PathChange::refused);
    CHECK(path.attach_tcp(d, kPeer, d.stats).change == PathChange::refused);
    CHECK_FALSE(path.detach_tcp(c));  // its connection ends with the session (close)
    CHECK_FALSE(path.note_local(a, kPeer, local_v4(3)));  // no UDP path to note it on
    check_path(path, nullptr, &c, Via::tcp, Via::tcp);
    CHECK(counted(a.stats) == 0);
    CHECK(counted(d.stats) == 0);

    CHECK(path.close() == &c);  // for the caller to close
    CHECK(path.tcp() == nullptr);
    CHECK(path.chosen() == Via::tcp);  // the close log line says "tcp"
    CHECK(counted(c.stats) == 0);
}

TEST_CASE("ReplyPath: an agent session starts with no path and takes no native one", "[relay][reply_path]") {
    Listener a;
    Connection c;
    Path path;
    REQUIRE(path.become_agent());
    CHECK_FALSE(path.become_agent());
    CHECK(path.kind() == Kind::agent);
    check_path(path, nullptr, nullptr, Via::none, Via::none);
    CHECK_FALSE(path.open_udp(a, kClient, local_v4(2), a.stats));
    CHECK_FALSE(path.open_tcp(c, kPeer, c.stats));
    CHECK_FALSE(path.roam(a, kClient, a.stats));
    check_path(path, nullptr, nullptr, Via::none, Via::none);
    CHECK(counted(a.stats) == 0);
    CHECK(counted(c.stats) == 0);
}

TEST_CASE("ReplyPath: an agent's UDP paths", "[relay][reply_path]") {
    Listener a, b;
    Path path;
    REQUIRE(path.become_agent());
    REQUIRE(path.attach_udp(a, kClient, local_v4(2), a.stats) == PathChange::first);
    check_path(path, &a, nullptr, Via::udp, Via::udp);
    CHECK(path.client() == kClient);
    CHECK(path.local().ifindex == 2);
    CHECK(counted(a.stats) == 1);

    SECTION("a later attach does not take the replies while the path is there") {
        CHECK(path.attach_udp(b, kMoved, local_v4(3), b.stats) == PathChange::none);
        check_path(path, &a, nullptr, Via::udp, Via::udp);
        CHECK(path.client() == kClient);
        CHECK(path.local().ifindex == 2);
        CHECK(counted(b.stats) == 0);
    }
    SECTION("data on the path changes nothing; data elsewhere is a hop") {
        CHECK(path.prefer_udp(a, kClient, a.stats) == PathChange::none);
        CHECK(path.prefer_udp(a, kMoved, a.stats) == PathChange::hop);  // another address
        CHECK(path.client() == kMoved);
        CHECK(counted(a.stats) == 1);
        CHECK(path.prefer_udp(b, kMoved, b.stats) == PathChange::hop);  // another port
        check_path(path, &b, nullptr, Via::udp, Via::udp);
        CHECK(counted(a.stats) == 0);
        CHECK(counted(b.stats) == 1);
    }
    SECTION("its port closed: no path until the next attach, which counts as a hop") {
        CHECK_FALSE(path.clear_listener(b));  // not its listener
        check_path(path, &a, nullptr, Via::udp, Via::udp);
        CHECK(path.clear_listener(a));
        check_path(path, nullptr, nullptr, Via::none, Via::udp);
        CHECK(counted(a.stats) == 1);  // counted where its replies last left from, until a new path
        CHECK(path.attach_udp(b, kMoved, local_v4(3), b.stats) == PathChange::hop);
        check_path(path, &b, nullptr, Via::udp, Via::udp);
        CHECK(path.local().ifindex == 3);
        CHECK(counted(a.stats) == 0);
        CHECK(counted(b.stats) == 1);
    }
    SECTION("its address taken by another session's attach") {
        CHECK_FALSE(path.lose_udp(a, kMoved));  // another address on its listener
        CHECK_FALSE(path.lose_udp(b, kClient));  // its address on another listener
        check_path(path, &a, nullptr, Via::udp, Via::udp);
        CHECK(path.lose_udp(a, kClient));
        check_path(path, nullptr, nullptr, Via::none, Via::udp);
    }
    SECTION("the local address follows its datagrams") {
        CHECK(path.note_local(a, kClient, local_v4(7)));
        CHECK(path.local().ifindex == 7);
        CHECK_FALSE(path.note_local(b, kClient, local_v4(8)));
        CHECK(path.local().ifindex == 7);
    }
}

TEST_CASE("ReplyPath: an agent between UDP and TCP", "[relay][reply_path]") {
    Listener a;
    Connection c, d;
    Path path;
    REQUIRE(path.become_agent());
    REQUIRE(path.attach_udp(a, kClient, local_v4(2), a.stats) == PathChange::first);

    // An attach on TCP binds the connection; replies stay on UDP until data comes on TCP.
    const auto bound = path.attach_tcp(c, kPeer, c.stats);
    CHECK(bound.change == PathChange::none);
    CHECK(bound.superseded == nullptr);
    check_path(path, &a, &c, Via::udp, Via::udp);
    CHECK(path.client() == kClient);
    CHECK(counted(c.stats) == 0);

    REQUIRE(path.prefer_tcp(c, c.stats) == PathChange::fallback);
    check_path(path, &a, &c, Via::tcp, Via::tcp);
    CHECK(counted(a.stats) == 0);
    CHECK(counted(c.stats) == 1);
    CHECK(path.prefer_tcp(c, c.stats) == PathChange::none);

    SECTION("UDP data again: a climb, and the connection is kept") {
        CHECK(path.prefer_udp(a, kClient, a.stats) == PathChange::climb);
        check_path(path, &a, &c, Via::udp, Via::udp);
        CHECK(counted(a.stats) == 1);
        CHECK(counted(c.stats) == 0);
    }
    SECTION("the connection ends: replies fall back to UDP, and UDP data is still a climb") {
        CHECK_FALSE(path.detach_tcp(d));  // not its connection: nothing happens
        check_path(path, &a, &c, Via::tcp, Via::tcp);
        CHECK(path.detach_tcp(c));
        check_path(path, &a, nullptr, Via::udp, Via::tcp);
        CHECK_FALSE(path.detach_tcp(c));  // once
        CHECK(path.prefer_udp(a, kClient, a.stats) == PathChange::climb);
        CHECK(path.via() == Via::udp);
    }
    SECTION("a new connection supersedes the last, which the caller closes") {
        const auto next = path.attach_tcp(d, kMoved, d.stats);
        CHECK(next.superseded == &c);
        CHECK(next.change == PathChange::none);  // replies had a UDP path: not re-chosen here
        check_path(path, &a, &d, Via::tcp, Via::tcp);  // still chosen: the new connection carries them
        CHECK(path.attach_tcp(d, kMoved, d.stats).superseded == nullptr);  // the same one again
        CHECK(path.detach_tcp(c) == false);  // the superseded one ending changes nothing
        CHECK(path.tcp() == &d);
    }
    SECTION("its UDP port closes: replies stay on TCP") {
        CHECK(path.clear_listener(a));
        check_path(path, nullptr, &c, Via::tcp, Via::tcp);
        CHECK(path.detach_tcp(c));
        check_path(path, nullptr, nullptr, Via::none, Via::tcp);
        // The next attach on UDP takes the replies back: a climb.
        CHECK(path.attach_udp(a, kMoved, local_v4(3), a.stats) == PathChange::climb);
        check_path(path, &a, nullptr, Via::udp, Via::udp);
    }
    SECTION("closing hands back the connection and uncounts the session") {
        CHECK(path.close() == &c);
        CHECK(path.tcp() == nullptr);
        CHECK(counted(c.stats) == 0);
        CHECK(path.chosen() == Via::tcp);
    }
}

TEST_CASE("ReplyPath: an agent on TCP alone", "[relay][reply_path]") {
    Listener a;
    Connection c, d;
    Path path;
    REQUIRE(path.become_agent());

    SECTION("the first path") {
        const auto bound = path.attach_tcp(c, kPeer, c.stats);
        CHECK(bound.change == PathChange::first);
        CHECK(bound.superseded == nullptr);
        check_path(path, nullptr, &c, Via::tcp, Via::tcp);
        CHECK(path.client() == kPeer);
        CHECK(counted(c.stats) == 1);
        // Another connection takes over: no change to count, the count moves to its listener.
        const auto next = path.attach_tcp(d, kMoved, d.stats);
        CHECK(next.change == PathChange::none);
        CHECK(next.superseded == &c);
        check_path(path, nullptr, &d, Via::tcp, Via::tcp);
        CHECK(path.client() == kMoved);
        CHECK(counted(c.stats) == 0);
        CHECK(counted(d.stats) == 1);
        // Then UDP: a climb; a UDP attach alone would not have taken the replies.
        CHECK(path.attach_udp(a, kClient, local_v4(2), a.stats) == PathChange::none);
        CHECK(path.via() == Via::tcp);
        CHECK(path.listener() == nullptr);
        CHECK(path.prefer_udp(a, kClient, a.stats) == PathChange::climb);
        check_path(path, &a, &d, Via::udp, Via::udp);
    }
    SECTION("after its UDP port closed, a connection is a fallback") {
        REQUIRE(path.attach_udp(a, kClient, local_v4(2), a.stats) == PathChange::first);
        REQUIRE(path.clear_listener(a));
        CHECK(path.attach_tcp(c, kPeer, c.stats).change == PathChange::fallback);
        check_path(path, nullptr, &c, Via::tcp, Via::tcp);
        CHECK(path.client() == kPeer);
    }
    SECTION("data on another connection than its own (a superseded one still delivering)") {
        REQUIRE(path.attach_tcp(c, kPeer, c.stats).change == PathChange::first);
        CHECK(path.prefer_tcp(d, d.stats) == PathChange::none);  // TCP to TCP: nothing to count
        check_path(path, nullptr, &d, Via::tcp, Via::tcp);
        CHECK(counted(d.stats) == 1);
    }
}

TEST_CASE("ReplyPath: an agent session moving to another worker", "[relay][reply_path]") {
    Listener a, there;
    Connection c, d;
    Path here;
    REQUIRE(here.become_agent());
    REQUIRE(here.attach_udp(a, kClient, local_v4(2), a.stats) == PathChange::first);
    REQUIRE(here.attach_tcp(c, kPeer, c.stats).change == PathChange::none);
    REQUIRE(here.prefer_tcp(c, c.stats) == PathChange::fallback);

    Path moved;
    REQUIRE(here.carry_to(moved));
    CHECK(moved.kind() == Kind::agent);
    CHECK(moved.chosen() == Via::tcp);
    CHECK(moved.client() == kClient);
    CHECK(moved.local().ifindex == 2);
    check_path(moved, nullptr, nullptr, Via::none, Via::tcp);  // nothing of this worker's
    CHECK(moved.stats() == nullptr);

    Path again;
    REQUIRE(again.become_agent());
    CHECK_FALSE(here.carry_to(again));  // only into a new path

    CHECK(here.close() == &c);  // closed here: the connection it moves to supersedes it
    CHECK(counted(c.stats) == 0);

    REQUIRE(moved.resume(&there, there.stats));
    check_path(moved, &there, nullptr, Via::udp, Via::tcp);
    CHECK(counted(there.stats) == 1);
    CHECK_FALSE(moved.resume(nullptr, d.stats));  // once
    CHECK(counted(d.stats) == 0);
    CHECK(moved.attach_tcp(d, kMoved, d.stats).change == PathChange::none);  // chosen tcp already
    CHECK(moved.via() == Via::tcp);

    Path unset;
    CHECK_FALSE(unset.resume(&there, there.stats));  // not an agent's
    CHECK(counted(there.stats) == 1);
}

// ---- flow(): where the first replies of a flow get padded (hop/flow_padding.hpp) ---------------

namespace {

constexpr std::uint32_t kOpening = hop::FlowPadding::kOpeningFrames;

// An agent session's reply path and the server's FlowPadding for it.
struct Replies {
    Path path;
    hop::FlowPadding padding;

    // An agent whose first path is UDP on `listener`; its first replies are padded.
    explicit Replies(Listener& listener) {
        REQUIRE(path.become_agent());
        REQUIRE(path.attach_udp(listener, kClient, local_v4(1), listener.stats) == PathChange::first);
        CHECK(sent() == kOpening);
    }

    // Replies sent now: how many of 20 are opening frames.
    std::uint32_t sent() {
        std::uint32_t opening = 0;
        for (int i = 0; i < 20; ++i)
            if (padding.next(path.flow()) == hop::DataShape::opening) ++opening;
        return opening;
    }
};

}  // namespace

TEST_CASE("ReplyPath flow: each hop restarts the opening frames, the same path does not", "[relay][reply_path]") {
    Listener a, b;
    Replies r(a);
    CHECK(r.path.prefer_udp(a, kClient, a.stats) == PathChange::none);  // more data, same path
    CHECK(r.path.attach_udp(a, kClient, local_v4(1), a.stats) == PathChange::none);
    CHECK(r.sent() == 0);
    r.path.attach_udp(b, kClient, local_v4(1), b.stats);  // a hop: attached (replies stay)...
    CHECK(r.sent() == 0);
    CHECK(r.path.prefer_udp(b, kClient, b.stats) == PathChange::hop);  // ...then data there
    CHECK(r.sent() == kOpening);
    r.path.prefer_udp(b, kMoved, b.stats);  // the agent's address changed (NAT, network)
    CHECK(r.sent() == kOpening);
}

TEST_CASE("ReplyPath flow: TCP, another connection, and back to UDP", "[relay][reply_path]") {
    Listener a;
    Connection first, second;
    Replies r(a);
    r.path.attach_tcp(first, kPeer, first.stats);
    CHECK(r.path.prefer_tcp(first, first.stats) == PathChange::fallback);
    CHECK(r.sent() == kOpening);
    r.path.attach_tcp(second, kPeer, second.stats);  // a rotation: a new connection
    r.path.prefer_tcp(second, second.stats);
    CHECK(r.sent() == kOpening);
    CHECK(r.path.detach_tcp(second));  // it ends: replies fall back to UDP
    CHECK(r.path.via() == Via::udp);
    CHECK(r.sent() == kOpening);
    // The climb: replies were on that UDP flow already, but flow() moves with the choice (it
    // may move without a move on the wire: a few padded frames more, never fewer).
    CHECK(r.path.prefer_udp(a, kClient, a.stats) == PathChange::climb);
    CHECK(r.sent() == kOpening);
}

TEST_CASE("ReplyPath flow: a session moving to another worker and back has new flows", "[relay][reply_path]") {
    // The FlowPadding moves with the session (its AgentLink): the flow ids must go on from
    // where they were, or a move back would repeat one and its replies get no opening frames.
    Listener a, b;
    Connection c, d, e;
    Replies r(a);
    r.path.attach_tcp(c, kPeer, c.stats);
    r.path.prefer_tcp(c, c.stats);
    CHECK(r.sent() == kOpening);

    Path there;
    REQUIRE(r.path.carry_to(there));
    REQUIRE(there.resume(&b, b.stats));
    there.attach_tcp(d, kMoved, d.stats);
    const std::uint64_t flow_there = there.flow();
    CHECK(flow_there > r.path.flow());
    for (int i = 0; i < 20; ++i) r.padding.next(there.flow());  // its replies there

    Path back;
    REQUIRE(there.carry_to(back));
    REQUIRE(back.resume(&a, a.stats));
    back.attach_tcp(e, kPeer, e.stats);
    CHECK(back.flow() > flow_there);
    std::uint32_t opening = 0;
    for (int i = 0; i < 20; ++i)
        if (r.padding.next(back.flow()) == hop::DataShape::opening) ++opening;
    CHECK(opening == kOpening);
}

TEST_CASE("ReplyPath flow: a path that goes away and comes back is a new flow", "[relay][reply_path]") {
    Listener a;
    Replies r(a);
    CHECK(r.path.clear_listener(a));  // its port closed (moving target, reload)
    r.path.attach_udp(a, kClient, local_v4(1), a.stats);
    CHECK(r.sent() == kOpening);
    CHECK(r.path.lose_udp(a, kClient));  // another session took the address
    r.path.attach_udp(a, kClient, local_v4(1), a.stats);
    CHECK(r.sent() == kOpening);
}

TEST_CASE("ReplyPath flow: refused operations leave the flow as it is", "[relay][reply_path]") {
    Listener a, other;
    Connection c;
    Replies r(a);
    const std::uint64_t before = r.path.flow();
    CHECK_FALSE(r.path.clear_listener(other));               // not its listener
    CHECK_FALSE(r.path.lose_udp(a, kMoved));                 // not its client
    CHECK_FALSE(r.path.detach_tcp(c));                       // not its connection
    CHECK_FALSE(r.path.roam(other, kMoved, other.stats));    // agents do not roam
    CHECK(r.path.prefer_udp(a, kClient, a.stats) == PathChange::none);
    CHECK(r.path.flow() == before);
    CHECK(r.sent() == 0);
}

}  // namespace reply_path_test
