// The agent links (src/relay/agent_links.hpp) over a fake server: the verdicts on attaches
// (a new session opened, a known one attached again, and each refusal: replay, bad tag, an
// epoch too far, a malformed frame, the reserved id, another session on a connection that
// belongs to one), that every refusal is counted and touches no session, and the ack each
// accepted attach is answered with; what UDP data does to replies parked for TCP. No socket
// is bound, no backend, no worker.
#include "../../../src/relay/agent_links.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <vector>

#include "../../support/endpoints.hpp"
#include "../../support/hop_vectors.hpp"
#include "porthop/crypto/hop_auth.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/attach_check.hpp"
#include "porthop/hop/replay_ledger.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/wire/framing.hpp"
#include "porthop/wire/hoplink.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here (FakeHost, attach, ...) must not meet another file's.
namespace agent_links_test {

using namespace std::chrono_literals;
using namespace porthop;
using relay::AgentLinks;
using relay::AttachVia;
using relay::Counters;
using relay::Session;
using Frame = std::array<std::byte, wire::hop::kControlSize>;

constexpr std::uint64_t kHop = 0x0123456789abcdef;
constexpr std::uint64_t kOtherHop = 0x1111222233334444;

std::chrono::system_clock::time_point fixed_wall_clock() {
    return std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
}

crypto::HopKeys keys_from(std::uint8_t first) {
    crypto::HopKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(first + i);
    return crypto::derive_hop_keys(k);
}

// The server's hop keys in these tests.
const crypto::HopKeys& server_keys() {
    static const auto k = keys_from(7);
    return k;
}

// The server's state as the links see it, recording what they ask.
struct FakeHost final : relay::AgentLinkHost {
    FakeHost() : codec(keys, hop::FrameCodec::Side::server, test::seeded_random(0x40)) {
        opt.hop_keys = keys;
        opt.hop_interval = 60s;
        opt.wall_clock = &fixed_wall_clock;
    }

    const relay::ServerOptions& link_options() const noexcept override { return opt; }
    hop::FrameCodec& link_codec() noexcept override { return codec; }
    Session* find_agent(std::uint64_t hop_id) noexcept override {
        const auto it = by_hop.find(hop_id);
        return it == by_hop.end() ? nullptr : it->second;
    }
    std::optional<hop::Forgotten> may_reopen(std::uint64_t hop_id, std::uint64_t counter,
                                             std::uint64_t issued) override {
        return ledger.admits(hop_id, counter, issued);
    }
    Session* open_agent_session(Clock::time_point, const AttachVia& via) override {
        opened_via.push_back(via.describe());
        if (refuse_open) return nullptr;
        sessions.push_back(std::make_unique<Session>(sessions.size() + 1, boost::asio::ip::udp::socket(io)));
        return sessions.back().get();
    }
    void agent_opened(Session& s, const AttachVia&) override {
        REQUIRE(s.agent);
        by_hop[s.agent->hop_id] = &s;
    }

    boost::asio::io_context io;
    crypto::HopKeys keys = server_keys();
    hop::FrameCodec codec;
    relay::ServerOptions opt;
    bool refuse_open = false;
    hop::ReplayLedger ledger{16};
    std::vector<std::unique_ptr<Session>> sessions;
    std::map<std::uint64_t, Session*> by_hop;
    std::vector<std::string> opened_via;
};

std::uint64_t epoch() { return hop::epoch_at(fixed_wall_clock(), 60s); }

// A session's acks count from the server's clock in ms when it opened.
constexpr std::uint64_t kAckBase = 1'700'000'000'000;

Frame attach(std::uint64_t counter, std::uint64_t hop = kHop, std::uint64_t at_epoch = epoch(),
             const crypto::HopKeys& k = server_keys()) {
    Frame f{};
    crypto::seal_control(k, {wire::hop::Type::attach, hop, counter, at_epoch, 0}, f);
    return f;
}

// An attach issued at `issued` (the agent's clock, unix ms: its echo field).
Frame attach_issued(std::uint64_t counter, std::uint64_t issued) {
    Frame f{};
    crypto::seal_control(server_keys(), {wire::hop::Type::attach, kHop, counter, epoch(), issued}, f);
    return f;
}

// An attach of 400 bytes on the wire: no ack may be longer.
constexpr std::size_t kAttachLength = 400;
const AttachVia kVia{"udp", test::endpoint("192.0.2.7", 4000), 443, kAttachLength};

// The counters an attach can move, as one value to compare.
struct Tally {
    std::uint64_t attaches, opened, malformed, bad_tag, stale_epoch, replay, other;
    friend bool operator==(const Tally&, const Tally&) = default;
};
Tally tally(const Counters& c) {
    return {c.agent_attaches.load(),       c.agent_sessions_opened.load(),    c.agent_reject_malformed.load(),
            c.agent_reject_bad_tag.load(), c.agent_reject_stale_epoch.load(), c.agent_reject_replay.load(),
            c.agent_reject_other.load()};
}

// The ack (a hop-link frame, as the agent receives it) answers `counter` of session `hop`,
// authenticated with the hop keys in this epoch, and is no longer than the attach.
void check_ack(const FakeHost& host, std::span<const std::byte> ack, std::uint64_t hop,
               std::uint64_t counter) {
    CHECK(ack.size() <= kAttachLength);
    std::vector<std::byte> frame(ack.begin(), ack.end());
    const hop::FrameCodec agent(host.keys, hop::FrameCodec::Side::agent, test::seeded_random(0x60));
    const auto opened = agent.open(frame);
    REQUIRE(opened.kind == wire::hop::Kind::control);
    const auto checked = hop::authenticate(host.keys, opened.body, wire::hop::Type::ack, epoch());
    REQUIRE(checked.verdict == hop::Verdict::accept);
    CHECK(checked.control.session_id == hop);
    CHECK(checked.control.echo == counter);
}

TEST_CASE("agent links: an attach from a new porthop client opens its session and is acked",
          "[relay][agent_links]") {
    FakeHost host;
    Counters counters;
    AgentLinks links(host, counters);
    const auto now = Session::Clock::now();

    Session* s = links.accept(attach(1), now, kVia);
    REQUIRE(s);
    REQUIRE(s->agent);
    CHECK(s->agent->hop_id == kHop);
    CHECK(s->path.kind() == relay::ReplyPath::Kind::agent);
    CHECK(s->last_from_client == now);
    CHECK(host.by_hop.at(kHop) == s);  // the host entered it under its hop id
    CHECK(host.opened_via == std::vector<std::string>{"udp 192.0.2.7:4000 -> port 443"});
    CHECK(tally(counters) == Tally{1, 1, 0, 0, 0, 0, 0});
    check_ack(host, links.ack(), kHop, 1);
    CHECK(links.epoch_now() == epoch());
}

TEST_CASE("agent links: an attach for a known session attaches it again without opening one",
          "[relay][agent_links]") {
    FakeHost host;
    Counters counters;
    AgentLinks links(host, counters);
    Session* first = links.accept(attach(1), Session::Clock::now(), kVia);
    REQUIRE(first);

    Session* again = links.accept(attach(2), Session::Clock::now(), kVia);
    CHECK(again == first);
    CHECK(host.sessions.size() == 1);
    CHECK(tally(counters) == Tally{2, 1, 0, 0, 0, 0, 0});
    check_ack(host, links.ack(), kHop, 2);
    // Each ack has a counter of its own, from the server's clock (ms) when the session opened.
    CHECK(first->agent->ack_counter == kAckBase + 2);
}

TEST_CASE("agent links: a session the server forgot opens again only above the ledger's floors",
          "[relay][agent_links][replay]") {
    FakeHost host;
    Counters counters;
    AgentLinks links(host, counters);
    host.ledger.remember({kHop, 10, 5'000, 9'999'999'999});
    const auto refused = [&](const Frame& f) {
        const auto before = host.opened_via.size();
        const bool none = links.accept(f, Session::Clock::now(), kVia) == nullptr;
        CHECK(host.opened_via.size() == before);  // no session was even asked for
        return none;
    };
    CHECK(refused(attach_issued(10, 6'000)));  // a captured attach: its counter was accepted
    CHECK(refused(attach_issued(11, 5'000)));  // issued before the server forgot the session
    CHECK(links.ack().empty());
    CHECK(tally(counters) == Tally{0, 0, 0, 0, 0, 2, 0});
    // The agent's next attach.
    Session* s = links.accept(attach_issued(11, 5'001), Session::Clock::now(), kVia);
    REQUIRE(s);
    CHECK(tally(counters) == Tally{1, 1, 0, 0, 0, 2, 0});
    check_ack(host, links.ack(), kHop, 11);
    // The counters it accepted before it was forgotten stay refused in its new window.
    CHECK(links.accept(attach_issued(10, 9'000), Session::Clock::now(), kVia) == nullptr);
    CHECK(links.accept(attach_issued(4, 9'000), Session::Clock::now(), kVia) == nullptr);
    // So do attaches issued before it was forgotten, though their counters fit the window.
    CHECK(links.accept(attach_issued(12, 5'000), Session::Clock::now(), kVia) == nullptr);
    CHECK(counters.agent_reject_replay == 5);
    // What the ledger's floor is made from when the session is forgotten again.
    CHECK(s->agent->issued == 5'001);
    CHECK(s->agent->issued_arrived_ms == kAckBase);
    // A later attach issued earlier (a path slower than another) keeps the latest.
    REQUIRE(links.accept(attach_issued(13, 7'000), Session::Clock::now(), kVia) == s);
    REQUIRE(links.accept(attach_issued(14, 6'000), Session::Clock::now(), kVia) == s);
    CHECK(s->agent->issued == 7'000);
}

TEST_CASE("agent links: refused attaches are counted, never acked, and touch no session",
          "[relay][agent_links]") {
    FakeHost host;
    Counters counters;
    AgentLinks links(host, counters);
    const auto now = Session::Clock::now();
    Session* s = links.accept(attach(5), now, kVia);
    REQUIRE(s);
    const std::vector<std::byte> first_ack(links.ack().begin(), links.ack().end());
    const Tally before = tally(counters);
    const auto refused = [&](std::span<const std::byte> frame, const Session* current = nullptr) {
        const auto later = now + 1s;
        CHECK_FALSE(links.accept(frame, later, kVia, current));
        CHECK(s->last_from_client == now);
        CHECK(s->agent->ack_counter == kAckBase + 1);
        CHECK(host.sessions.size() == 1);
        CHECK(std::equal(links.ack().begin(), links.ack().end(), first_ack.begin(), first_ack.end()));
    };

    SECTION("replayed") {
        refused(attach(5));
        refused(attach(5));  // however often
        CHECK(tally(counters) == Tally{before.attaches, 1, 0, 0, 0, 2, 0});
    }
    SECTION("bad tag") {
        refused(attach(6, kHop, epoch(), keys_from(8)));
        Frame flipped = attach(6);
        flipped[flipped.size() - 1] ^= std::byte{1};
        refused(flipped);
        CHECK(tally(counters) == Tally{before.attaches, 1, 0, 2, 0, 0, 0});
    }
    SECTION("an epoch too far from the server's") {
        refused(attach(6, kHop, epoch() + 2));
        refused(attach(6, kHop, epoch() - 2));
        CHECK(tally(counters) == Tally{before.attaches, 1, 0, 0, 2, 0, 0});
        // One epoch away is the tolerance: still accepted.
        CHECK(links.accept(attach(7, kHop, epoch() + 1), now, kVia) == s);
    }
    SECTION("malformed") {
        refused(std::span<const std::byte>(attach(6)).first(wire::hop::kControlSize - 1));
        CHECK(tally(counters) == Tally{before.attaches, 1, 1, 0, 0, 0, 0});
    }
    SECTION("the reserved session id 0") {
        refused(attach(1, 0));
        CHECK(tally(counters) == Tally{before.attaches, 1, 0, 0, 0, 0, 1});
        CHECK(host.opened_via.size() == 1);
    }
    SECTION("another session on a connection that belongs to one") {
        refused(attach(1, kOtherHop), s);
        CHECK(tally(counters) == Tally{before.attaches, 1, 0, 0, 0, 0, 1});
        CHECK_FALSE(host.by_hop.count(kOtherHop));
        CHECK(host.opened_via.size() == 1);
        // Refused before the check: its counter stays unused, so the same attach on a
        // connection of its own opens its session.
        Session* other = links.accept(attach(1, kOtherHop), now, kVia);
        REQUIRE(other);
        CHECK(other != s);
        // Its own session on that connection is accepted.
        CHECK(links.accept(attach(6), now, kVia, s) == s);
    }
}

TEST_CASE("agent links: an attach the server has no room for opens nothing", "[relay][agent_links]") {
    FakeHost host;
    host.refuse_open = true;
    Counters counters;
    AgentLinks links(host, counters);
    CHECK_FALSE(links.accept(attach(1), Session::Clock::now(), kVia));
    CHECK(host.opened_via.size() == 1);  // asked, refused (the host counts that)
    CHECK(tally(counters) == Tally{0, 0, 0, 0, 0, 0, 0});
    CHECK(links.ack().empty());
    // Room again: the same attach is accepted (a refused open took no replay counter).
    host.refuse_open = false;
    CHECK(links.accept(attach(1), Session::Clock::now(), kVia));
}

TEST_CASE("agent links: an ack sealed on another worker becomes the links' ack", "[relay][agent_links]") {
    FakeHost host;
    Counters counters;
    AgentLinks links(host, counters);
    // As the other worker's codec sealed it: a whole hop-link frame.
    const auto ack =
        test::sealed_control(host.codec, {wire::hop::Type::ack, kHop, 3, epoch(), 9}, kAttachLength);
    links.adopt_ack(ack);
    check_ack(host, links.ack(), kHop, 9);
}

TEST_CASE("agent links: UDP data, not a UDP attach, drops the replies parked for a next TCP connection",
          "[relay][agent_links]") {
    FakeHost host;
    Counters counters;
    AgentLinks links(host, counters);
    Session* s = links.accept(attach(1), Session::Clock::now(), kVia);
    REQUIRE(s);
    relay::UdpListener listener{1, {}, boost::asio::ip::udp::socket(host.io), test::endpoint("192.0.2.1", 443)};
    net::ReceiveSlot slot;
    slot.peer = kVia.peer;
    links.attach_udp(*s, listener, slot);
    // Two replies parked while the agent was on TCP (as TcpConnection parks them).
    for (const std::size_t length : {100U, 300U}) {
        std::array<std::byte, wire::kFrameHeaderSize> header{};
        wire::write_frame_header(header, static_cast<std::uint16_t>(length));
        auto& parked = s->agent->parked_replies;
        parked.insert(parked.end(), header.begin(), header.end());
        parked.resize(parked.size() + length, std::byte{0x5a});
    }
    const std::size_t parked_bytes = s->agent->parked_replies.size();

    // An attach on UDP: an agent on TCP tries UDP that way; its next connection drains them.
    links.attach_udp(*s, listener, slot);
    CHECK(s->agent->parked_replies.size() == parked_bytes);
    CHECK(counters.drop_tcp_rotate_bytes.load() == 0);

    // Data on UDP: the agent is there; the replies would go out stale later.
    links.note_udp_data(*s, listener, slot);
    CHECK(s->agent->parked_replies.empty());
    CHECK(counters.drop_tcp_rotate_bytes.load() == 2);
    links.note_udp_data(*s, listener, slot);  // nothing left: nothing more counted
    CHECK(counters.drop_tcp_rotate_bytes.load() == 2);
    CHECK(counters.agent_attaches.load() == 1);
}

}  // namespace agent_links_test
