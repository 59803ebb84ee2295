// Private to the relay: the server's side of the hop link's attaches (docs/PROTOCOL.md). An
// attach is checked (tag, epoch, replay window), its session found or opened, and the answer
// sealed; the agent's paths are bound and chosen through the session's ReplyPath, and their
// changes counted. Anything that fails a check is counted and never answered, so a prober
// learns nothing. The links own no socket and no session table: what they need of the server
// they ask its AgentLinkHost, so their verdicts are unit-tested over a fake host
// (tests/unit/relay/agent_links_test.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "listener_set.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/hop/replay_ledger.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/counters.hpp"
#include "porthop/relay/server.hpp"
#include "porthop/relay/session.hpp"

namespace porthop::relay {

class TcpConnection;

// The way an attach arrived, for the lines that name it ("udp 192.0.2.1:4000 -> port 443").
struct AttachVia {
    const char* transport;  // "udp" or "tcp"
    net::Endpoint peer;
    std::uint16_t port;  // the server's port it arrived on
    // The attach's length as it came (the datagram, or the TCP record): the ack is never
    // longer, so nobody gets more bytes back than it sent.
    std::size_t length = 0;
    std::string describe() const;
};

// What the agent links ask of the server (Server::Impl; a fake in the unit test).
class AgentLinkHost {
public:
    using Clock = Session::Clock;
    // The options of now (hop keys, hop interval, wall clock): a reload changes them.
    virtual const ServerOptions& link_options() const noexcept = 0;
    // The hop-link codec of now; asked only while link_options() has a hop key.
    virtual hop::FrameCodec& link_codec() noexcept = 0;
    // This worker's agent session whose hop-link id is `hop_id`, or null.
    virtual Session* find_agent(std::uint64_t hop_id) noexcept = 0;
    // An authenticated attach (`hop_id`, `counter`, `issued`) of a session no worker holds: may
    // it open the session? nullopt when the server remembers the session, closed or from before
    // a restart, and the attach is not above its floors (hop/replay_ledger.hpp): a replay.
    // Otherwise the floors the reopened session must keep (ReplayLedger::admits).
    virtual std::optional<hop::Forgotten> may_reopen(std::uint64_t hop_id, std::uint64_t counter,
                                                     std::uint64_t issued) = 0;
    // A new session (a slot of max_sessions, its backend socket, its table entry) for a porthop
    // client whose attach came `via`; null when refused (the host counts and warns).
    virtual Session* open_agent_session(Clock::time_point now, const AttachVia& via) = 0;
    // Session `s`, just opened, is a porthop client's (s.agent->hop_id is set): the host finds
    // it by that id from now on (table, directory), forgets what it remembered of the session
    // (hop/replay_ledger.hpp: its replay window takes over) and logs it.
    virtual void agent_opened(Session& s, const AttachVia& via) = 0;

protected:
    ~AgentLinkHost() = default;
};

class AgentLinks {
public:
    using Clock = Session::Clock;

    // Counts into `counters` (agent_attaches, agent_reject_*, agent_sessions_opened,
    // agent_hops, agent_fallbacks, agent_climbs).
    AgentLinks(AgentLinkHost& host, Counters& counters) noexcept : host_(host), counters_(counters) {}
    AgentLinks(const AgentLinks&) = delete;
    AgentLinks& operator=(const AgentLinks&) = delete;

    // The hop-link epoch of the host's wall clock.
    std::uint64_t epoch_now() const noexcept;

    // Checks an attach (the control frame as the codec opened it); on success returns its
    // session, opened if new, with the answer sealed into ack(). Null when refused (counted).
    // `current`: the session the connection the attach came on already belongs to; an attach
    // naming another session is refused there (one connection, one session), before it can
    // open or touch any session. Needs a hop key (link_options().hop_keys).
    Session* accept(std::span<const std::byte> frame, Clock::time_point now, const AttachVia& via,
                    const Session* current = nullptr);
    // The last ack sealed (no longer than its attach: never more bytes to a sender than it sent).
    std::span<const std::byte> ack() const noexcept { return ack_; }
    // An ack another worker sealed (a session moving here with the connection that attached):
    // it becomes ack().
    void adopt_ack(std::span<const std::byte> ack) noexcept;

    // The agent's paths, through its ReplyPath, with their changes counted.
    // An accepted attach on UDP: that path is bound (replies go there until data says otherwise
    // if it is the first, or the last one's port closed).
    void attach_udp(Session& s, UdpListener& listener, const net::ReceiveSlot& slot) noexcept;
    // An accepted attach on TCP: `connection` becomes the session's TCP path, and the one it
    // supersedes is closed (one TCP path per agent). The caller queues ack() on it.
    void attach_tcp(Session& s, TcpConnection& connection);
    // Data from the agent: replies follow the path it came on. Data on UDP also drops the
    // replies parked for a next TCP connection (drop_parked_replies; counted in
    // drop_tcp_rotate_bytes, where replies beyond what may be parked are): the agent is on UDP.
    // An attach on UDP is no such proof: an agent on TCP sends them to see whether UDP is back.
    void note_udp_data(Session& s, UdpListener& listener, const net::ReceiveSlot& slot) noexcept;
    void note_tcp_data(Session& s, TcpConnection& connection) noexcept;
    // The agent's TCP connection ended; the session stays.
    void detach_tcp(Session& s, TcpConnection& connection) noexcept;

private:
    // Counts an agent's path change (agent_hops, agent_fallbacks, agent_climbs).
    void count(PathChange change) noexcept;

    AgentLinkHost& host_;
    Counters& counters_;
    std::array<std::byte, hop::FrameCodec::kMaxControl> ack_buffer_{};
    std::span<const std::byte> ack_;  // the last ack sealed or adopted, in ack_buffer_
};

}  // namespace porthop::relay
