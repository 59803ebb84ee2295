// The listener set (src/relay/listener_set.hpp) alone, on loopback ephemeral ports, with a fake
// owner behind ListenerEvents: what a configuration asks to have open, what opens (and only then
// serves), the reload diff (kept, opened, closed), a port already taken (the message, and
// nothing left half-open), shutdown, and the moving target's epoch timer. No session, no worker.
#include "../../../src/relay/listener_set.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace porthop;
using relay::ListenerKey;
using relay::ListenerSet;
namespace asio = boost::asio;

namespace {

const auto kLoopback = asio::ip::make_address("127.0.0.1");

// Records what the set tells its owner; each removed UDP listener "closes" `sessions_each`.
struct FakeOwner final : relay::ListenerEvents {
    std::vector<net::Endpoint> bound, serving_udp, serving_tcp, removing;
    std::size_t sessions_each = 0;
    int epochs = 0;

    void listener_bound(relay::UdpListener& l) override {
        CHECK_FALSE(l.closed);
        bound.push_back(l.bound);
    }
    void listener_serving(const std::shared_ptr<relay::UdpListener>& l) override { serving_udp.push_back(l->bound); }
    void listener_serving(const std::shared_ptr<relay::TcpListener>& l) override { serving_tcp.push_back(l->bound); }
    std::size_t listener_removing(relay::UdpListener& l) override {
        CHECK_FALSE(l.closed);  // told before it closes, so its sessions can still be found
        removing.push_back(l.bound);
        return sessions_each;
    }
    void epoch_began() override { ++epochs; }
};

ListenerKey loopback(std::uint16_t port) { return ListenerKey{kLoopback, port}; }

std::vector<std::uint16_t> ports_of(const std::vector<net::Endpoint>& endpoints) {
    std::vector<std::uint16_t> out;
    for (const auto& e : endpoints) out.push_back(e.port());
    return out;
}

template <typename Listeners>
std::vector<std::uint16_t> bound_ports(const Listeners& listeners) {
    std::vector<std::uint16_t> out;
    for (const auto& l : listeners) out.push_back(l->bound.port());
    return out;
}

// Whether a plain socket (no SO_REUSEADDR / SO_REUSEPORT) can bind the port now: false while
// anything holds it.
bool udp_port_free(std::uint16_t port) {
    asio::io_context io;
    asio::ip::udp::socket probe(io, asio::ip::udp::v4());
    boost::system::error_code ec;
    probe.bind(asio::ip::udp::endpoint(kLoopback, port), ec);
    return !ec;
}

bool tcp_port_listening(std::uint16_t port) {
    asio::io_context io;
    asio::ip::tcp::socket client(io);
    boost::system::error_code ec;
    client.connect(asio::ip::tcp::endpoint(kLoopback, port), ec);
    return !ec;
}

// A UDP port nothing holds a moment ago (bound and released).
std::uint16_t free_udp_port() {
    asio::io_context io;
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(kLoopback, 0));
    return s.local_endpoint().port();
}

}  // namespace

TEST_CASE("listener set: what a configuration asks to have open", "[relay][listener_set]") {
    relay::ServerOptions options;
    options.listen = {kLoopback, asio::ip::make_address("::1")};
    options.udp_ports = {1194, 0};
    options.tcp_ports = {443};
    auto wanted = ListenerSet::wanted(options);
    CHECK(wanted.udp == std::vector<ListenerKey>{{kLoopback, 1194}, {kLoopback, 0},
                                                 {asio::ip::make_address("::1"), 1194},
                                                 {asio::ip::make_address("::1"), 0}});
    CHECK(wanted.tcp == std::vector<ListenerKey>{{kLoopback, 443}, {asio::ip::make_address("::1"), 443}});
    CHECK(wanted.tolerate_missing_ipv6);

    // The other workers open exactly what worker 0 bound, whatever listen x ports say.
    options.binds.emplace();
    options.binds->udp = {net::Endpoint::from_asio(asio::ip::udp::endpoint(kLoopback, 40001))};
    options.tolerate_missing_ipv6 = false;
    wanted = ListenerSet::wanted(options);
    CHECK(wanted.udp == std::vector<ListenerKey>{{kLoopback, 40001}});
    CHECK(wanted.tcp.empty());
    CHECK_FALSE(wanted.tolerate_missing_ipv6);
}

TEST_CASE("listener set: opens on loopback, serves only once applied", "[relay][listener_set]") {
    asio::io_context io;
    FakeOwner owner;
    ListenerSet set(io, {}, owner);
    CHECK(set.empty());
    const ListenerSet::Wanted wanted{{loopback(0), loopback(0)}, {loopback(0)}};

    REQUIRE_FALSE(set.open(wanted));
    REQUIRE(set.udp().size() == 2);
    REQUIRE(set.tcp().size() == 1);
    CHECK_FALSE(set.empty());
    CHECK(owner.bound.size() == 2);  // each UDP socket as it was bound (GRO goes on here)
    CHECK(owner.serving_udp.empty());
    CHECK(owner.serving_tcp.empty());
    CHECK(set.udp()[0]->id != set.udp()[1]->id);
    for (const auto& l : set.udp()) {
        CHECK(l->bound.port() != 0);
        CHECK_FALSE(udp_port_free(l->bound.port()));
    }
    CHECK(tcp_port_listening(set.tcp()[0]->bound.port()));

    const auto diff = set.apply(wanted);
    CHECK(ports_of(diff.added_udp) == bound_ports(set.udp()));
    CHECK(ports_of(diff.added_tcp) == bound_ports(set.tcp()));
    CHECK(diff.removed_udp.empty());
    CHECK(diff.removed_tcp.empty());
    CHECK(ports_of(owner.serving_udp) == bound_ports(set.udp()));
    CHECK(ports_of(owner.serving_tcp) == bound_ports(set.tcp()));

    // Found by the address it is bound to, and by its id; nothing else is.
    const auto& second = set.udp()[1];
    const auto* found = set.udp_at(second->bound);
    REQUIRE(found);
    CHECK(found->get() == second.get());
    CHECK(set.udp_by_id(second->id) == second.get());
    CHECK_FALSE(set.udp_at(net::Endpoint::from_asio(asio::ip::udp::endpoint(kLoopback, free_udp_port()))));
    CHECK_FALSE(set.udp_by_id(second->id + 100));

    // A datagram to the bound address arrives on the listener's socket.
    asio::ip::udp::socket client(io, asio::ip::udp::endpoint(kLoopback, 0));
    const std::string hello = "hello";
    client.send_to(asio::buffer(hello), second->bound.to_udp());
    second->socket.non_blocking(false);
    std::string got(16, '\0');
    got.resize(second->socket.receive(asio::buffer(got)));
    CHECK(got == hello);

    // A second apply with nothing opened changes nothing.
    const auto again = set.apply(wanted);
    CHECK(again.added_udp.empty());
    CHECK(again.removed_udp.empty());
    CHECK(owner.serving_udp.size() == 2);
}

TEST_CASE("listener set: a reload keeps, opens and closes", "[relay][listener_set]") {
    asio::io_context io;
    FakeOwner owner;
    owner.sessions_each = 3;
    ListenerSet set(io, {}, owner);
    REQUIRE_FALSE(set.open({{loopback(0), loopback(0)}, {loopback(0), loopback(0)}}));
    set.apply({{loopback(0), loopback(0)}, {loopback(0), loopback(0)}});
    const auto kept_udp = set.udp()[0], gone_udp = set.udp()[1];
    const auto kept_tcp = set.tcp()[0], gone_tcp = set.tcp()[1];
    const std::uint16_t fresh_port = free_udp_port();

    // The new configuration names the kept ones by the ports they got, one new UDP port, and
    // neither the second UDP nor the second TCP listener.
    const ListenerSet::Wanted next{{loopback(kept_udp->bound.port()), loopback(fresh_port)},
                                   {loopback(kept_tcp->bound.port())}};
    REQUIRE_FALSE(set.open(next));
    CHECK(set.udp().size() == 3);  // opened, not serving yet; nothing closed yet
    CHECK(owner.serving_udp.size() == 2);
    CHECK(owner.removing.empty());

    const auto diff = set.apply(next);
    CHECK(ports_of(diff.added_udp) == std::vector<std::uint16_t>{fresh_port});
    CHECK(diff.added_tcp.empty());
    CHECK(ports_of(diff.removed_udp) == std::vector<std::uint16_t>{gone_udp->bound.port()});
    CHECK(ports_of(diff.removed_tcp) == std::vector<std::uint16_t>{gone_tcp->bound.port()});
    CHECK(diff.sessions_closed == 3);
    CHECK(ports_of(owner.removing) == std::vector<std::uint16_t>{gone_udp->bound.port()});
    CHECK(owner.serving_udp.size() == 3);
    CHECK(owner.serving_udp.back().port() == fresh_port);
    CHECK(owner.serving_tcp.size() == 2);  // no TCP listener added

    // Kept: the same listeners (and so the same ids, which session keys name), still open.
    REQUIRE(set.udp().size() == 2);
    CHECK(set.udp()[0] == kept_udp);
    CHECK(set.udp()[1]->bound.port() == fresh_port);
    CHECK(set.udp()[1]->id != kept_udp->id);
    CHECK(set.udp()[1]->id != gone_udp->id);  // ids are never reused
    CHECK_FALSE(kept_udp->closed);
    REQUIRE(set.tcp().size() == 1);
    CHECK(set.tcp()[0] == kept_tcp);
    CHECK(tcp_port_listening(kept_tcp->bound.port()));

    // Removed: closed (a pending handler sees `closed`), not found, and their ports free again.
    CHECK(gone_udp->closed);
    CHECK(gone_tcp->closed);
    CHECK_FALSE(set.udp_at(gone_udp->bound));
    CHECK(udp_port_free(gone_udp->bound.port()));
    CHECK_FALSE(tcp_port_listening(gone_tcp->bound.port()));
}

TEST_CASE("listener set: a port already taken opens nothing", "[relay][listener_set]") {
    asio::io_context io;
    FakeOwner owner;
    ListenerSet set(io, {}, owner);

    SECTION("udp") {
        asio::ip::udp::socket holder(io, asio::ip::udp::endpoint(kLoopback, 0));
        const auto taken = holder.local_endpoint().port();
        const auto failure = set.open({{loopback(0), loopback(taken)}, {loopback(0)}});
        REQUIRE(failure);
        CHECK_THAT(*failure, Catch::StartsWith("cannot listen on udp 127.0.0.1:" + std::to_string(taken) + ": "));
        CHECK_THAT(*failure, Catch::EndsWith("(another program, or another porthop, uses it)"));
        // The ephemeral listener opened before the failure is closed again; TCP was not tried.
        REQUIRE(owner.bound.size() == 1);
        CHECK(udp_port_free(owner.bound[0].port()));
    }
    SECTION("tcp, after the udp ones opened") {
        asio::ip::tcp::acceptor holder(io, asio::ip::tcp::endpoint(kLoopback, 0));
        const auto taken = holder.local_endpoint().port();
        const auto failure = set.open({{loopback(0)}, {loopback(0), loopback(taken)}});
        REQUIRE(failure);
        CHECK_THAT(*failure, Catch::StartsWith("cannot listen on tcp 127.0.0.1:" + std::to_string(taken) + ": "));
        REQUIRE(owner.bound.size() == 1);
        CHECK(udp_port_free(owner.bound[0].port()));
    }
    CHECK(set.empty());
    CHECK(owner.serving_udp.empty());
    CHECK(owner.serving_tcp.empty());
    CHECK(set.apply({}).added_udp.empty());  // nothing waits to serve either
}

TEST_CASE("listener set: a reload that cannot open leaves the serving set as it was", "[relay][listener_set]") {
    asio::io_context io;
    FakeOwner owner;
    ListenerSet set(io, {}, owner);
    REQUIRE_FALSE(set.open({{loopback(0)}, {}}));
    set.apply({{loopback(0)}, {}});
    const auto serving = set.udp()[0];

    asio::ip::udp::socket holder(io, asio::ip::udp::endpoint(kLoopback, 0));
    const auto taken = holder.local_endpoint().port();
    const std::uint16_t fresh = free_udp_port();
    const ListenerSet::Wanted next{{loopback(fresh), loopback(taken)}, {}};  // drops `serving`
    REQUIRE(set.open(next));

    REQUIRE(set.udp().size() == 1);
    CHECK(set.udp()[0] == serving);
    CHECK_FALSE(serving->closed);
    CHECK(udp_port_free(fresh));  // opened for the reload, closed when it failed
    CHECK(owner.removing.empty());
    CHECK(owner.serving_udp.size() == 1);
}

TEST_CASE("listener set: close_all closes every listener", "[relay][listener_set]") {
    asio::io_context io;
    FakeOwner owner;
    owner.sessions_each = 1;
    ListenerSet set(io, {}, owner);
    const ListenerSet::Wanted wanted{{loopback(0), loopback(0)}, {loopback(0)}};
    REQUIRE_FALSE(set.open(wanted));
    set.apply(wanted);
    const auto udp = set.udp();
    const auto tcp = set.tcp();

    set.close_all();
    for (const auto& l : udp) {
        CHECK(l->closed);
        CHECK_FALSE(set.udp_at(l->bound));
        CHECK(udp_port_free(l->bound.port()));
    }
    CHECK(tcp[0]->closed);
    CHECK_FALSE(tcp_port_listening(tcp[0]->bound.port()));
    CHECK(owner.removing.empty());  // shutdown: the owner closes its sessions itself
}

TEST_CASE("listener set: the moving target's epoch timer", "[relay][listener_set]") {
    asio::io_context io;
    FakeOwner owner;
    ListenerSet set(io, {}, owner);
    relay::ServerOptions options;
    options.hop_interval = std::chrono::seconds{60};
    // 30 ms before an epoch boundary: the timer fires 5 ms after it.
    options.wall_clock = [] {
        return std::chrono::system_clock::time_point{std::chrono::seconds{600}} - std::chrono::milliseconds{30};
    };

    SECTION("fires once the epoch turns") {
        options.moving_target = true;
        options.hop_keys = crypto::HopKeys{};
        set.follow_epochs(options);
        io.run_for(2s);
        CHECK(owner.epochs == 1);  // once: the owner re-arms it for the next epoch
    }
    SECTION("not without moving target") {
        options.hop_keys = crypto::HopKeys{};
        set.follow_epochs(options);
        io.run_for(200ms);
        CHECK(owner.epochs == 0);
    }
    SECTION("not without a hop key") {
        options.moving_target = true;
        set.follow_epochs(options);
        io.run_for(200ms);
        CHECK(owner.epochs == 0);
    }
    SECTION("not after close_all") {
        options.moving_target = true;
        options.hop_keys = crypto::HopKeys{};
        set.follow_epochs(options);
        set.close_all();
        io.run_for(200ms);
        CHECK(owner.epochs == 0);
    }
}
