// The way a session's replies (the backend's datagrams) go back to its client: out of a UDP
// listener to the client's address, from the local address the client sent to; or into a TCP
// connection. One type, so that which paths a session may have and which one its replies take
// is decided here and not by every caller:
//
// - a native session has exactly one path, fixed when it opens: UDP (roaming moves it to
//   another listener or address; it stays the one path) or TCP;
// - an agent session (a porthop client) may have both, its last UDP path and its TCP
//   connection, and replies take the one its data last came on (`chosen`). Either may go
//   away while the session lives on (its port closed by a reload, the connection ended, its
//   address taken by another session): replies then take the other, or none until the
//   agent's next attach or data frame.
//
// It records and decides; it never sends, and never closes or looks into what it points at
// (a connection it supersedes is handed back for the caller to close). That is why it is a
// template over the listener and connection types: the server uses UdpListener and
// TcpConnection, the unit test stand-ins (tests/unit/relay/reply_path_test.cpp). The one
// side effect it has: the session is counted (ListenerCounters::sessions) on the listener its
// replies leave from, and the count moves with the path.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/counters.hpp"

namespace porthop::relay {

// Which way replies go.
enum class Via : std::uint8_t { none, udp, tcp };

// What an agent's path operation changed, for the server's counters (agent_hops,
// agent_fallbacks, agent_climbs).
enum class PathChange : std::uint8_t {
    refused,   // not a path this session may take (a native session's second path, an agent
               // operation on a native session or the reverse): nothing changed
    none,      // nothing to count: the path is the same, or another TCP connection took over
    first,     // the session's first path
    hop,       // UDP to UDP (another port, another address, or the same port after it closed)
    fallback,  // UDP to TCP
    climb,     // TCP back to UDP
};

template <class Listener, class Connection>
class BasicReplyPath {
public:
    using Stats = std::shared_ptr<ListenerCounters>;
    enum class Kind : std::uint8_t { unset, native, agent };

    BasicReplyPath() = default;
    // Not copied: the session count it holds on a listener would be counted twice.
    BasicReplyPath(const BasicReplyPath&) = delete;
    BasicReplyPath& operator=(const BasicReplyPath&) = delete;

    // ---- what replies take now ----------------------------------------------------------

    // The way replies go now: the chosen path if it is there, else the other, else none.
    Via via() const noexcept {
        if (chosen_ == Via::tcp && tcp_) return Via::tcp;
        if (listener_) return Via::udp;
        return Via::none;
    }
    // The path last chosen, even if it is gone since (native: its one path; agent: the one its
    // data last came on; none before the first).
    Via chosen() const noexcept { return chosen_; }
    Kind kind() const noexcept { return kind_; }
    Listener* listener() const noexcept { return listener_; }
    Connection* tcp() const noexcept { return tcp_; }
    // The client's address (UDP) or the connection's peer (TCP); stays when the path goes.
    const net::Endpoint& client() const noexcept { return client_; }
    // Where the client sent to: the source address of UDP replies.
    const net::LocalAddress& local() const noexcept { return local_; }
    // The counters of the listener the session is counted on (null before its first path).
    const Stats& stats() const noexcept { return stats_; }
    // Which flow replies are on: changes whenever they may have moved to another one (another
    // listener, client address or connection, or back to a path they had left), so that the
    // first frames on each get padded like a new flow's (hop/flow_padding.hpp). It may change
    // without a move on the wire (that costs a few padded frames), never the other way round.
    std::uint64_t flow() const noexcept { return flow_; }

    // ---- native sessions: one path, set when the session opens ---------------------------

    bool open_udp(Listener& listener, const net::Endpoint& client, const net::LocalAddress& local,
                  Stats stats) noexcept {
        if (kind_ != Kind::unset) return false;
        kind_ = Kind::native;
        chosen_ = Via::udp;
        listener_ = &listener;
        client_ = client;
        local_ = local;
        count_on(std::move(stats));
        return true;
    }

    bool open_tcp(Connection& connection, const net::Endpoint& peer, Stats stats) noexcept {
        if (kind_ != Kind::unset) return false;
        kind_ = Kind::native;
        chosen_ = Via::tcp;
        tcp_ = &connection;
        client_ = peer;
        count_on(std::move(stats));
        return true;
    }

    // A native UDP session's client moved (roaming, accepted by the native guard): the same
    // one path, now on `listener` to `client`. The local address follows with its next
    // datagram (note_local).
    bool roam(Listener& listener, const net::Endpoint& client, Stats stats) noexcept {
        if (kind_ != Kind::native || chosen_ != Via::udp) return false;
        ++flow_;
        listener_ = &listener;
        client_ = client;
        count_on(std::move(stats));
        return true;
    }

    // ---- any session -----------------------------------------------------------------------

    // A datagram came from `client` on `listener`: if that is the UDP path, replies leave from
    // the address it was sent to. A straggler from another address (a roaming native client's
    // old one) changes nothing.
    bool note_local(const Listener& listener, const net::Endpoint& client, const net::LocalAddress& local) noexcept {
        if (listener_ != &listener || client_ != client) return false;
        local_ = local;
        return true;
    }

    // The session ends (or leaves this worker): it is no longer counted on its listener.
    // Returns its TCP connection, if any, for the caller to close. What it was (kind, chosen,
    // client) stays readable for the close log line.
    Connection* close() noexcept {
        Connection* connection = std::exchange(tcp_, nullptr);
        if (counted_) Counters::subtract(stats_->sessions);
        counted_ = false;
        return connection;
    }

    // ---- agent sessions: up to one UDP path and one TCP connection ------------------------

    // The session is a porthop client's (once, before its first path).
    bool become_agent() noexcept {
        if (kind_ != Kind::unset) return false;
        kind_ = Kind::agent;
        return true;
    }

    // An accepted attach on UDP: the path becomes the reply path only if replies have none
    // now (the first path, or the old one's port closed); otherwise they stay where the data
    // goes, and this path is taken when data comes on it (prefer_udp).
    PathChange attach_udp(Listener& listener, const net::Endpoint& client, const net::LocalAddress& local,
                          Stats stats) noexcept {
        if (kind_ != Kind::agent) return PathChange::refused;
        if (via() != Via::none) return PathChange::none;
        listener_ = &listener;
        client_ = client;
        local_ = local;
        return choose(Via::udp, std::move(stats));
    }

    // An accepted attach on a TCP connection: it is the session's connection from now on
    // (one per agent: a new one supersedes the last, which is returned for the caller to
    // close). Replies take it at once only if there is no UDP path to keep using.
    struct TcpAttach {
        PathChange change = PathChange::refused;
        Connection* superseded = nullptr;
    };
    TcpAttach attach_tcp(Connection& connection, const net::Endpoint& peer, Stats stats) noexcept {
        if (kind_ != Kind::agent) return {};
        if (tcp_ == &connection) return {PathChange::none, nullptr};
        TcpAttach result{PathChange::none, std::exchange(tcp_, &connection)};
        ++flow_;
        if (!listener_) {
            client_ = peer;
            result.change = choose(Via::tcp, std::move(stats));
        }
        return result;
    }

    // The agent's data came on UDP from `client` to `listener`: replies follow it there.
    PathChange prefer_udp(Listener& listener, const net::Endpoint& client, Stats stats) noexcept {
        if (kind_ != Kind::agent) return PathChange::refused;
        if (listener_ == &listener && client_ == client && chosen_ != Via::tcp) return PathChange::none;
        listener_ = &listener;
        client_ = client;
        return choose(Via::udp, std::move(stats));
    }

    // The agent's data came on `connection`: replies follow it there. The UDP path is kept
    // (the agent may climb back to it).
    PathChange prefer_tcp(Connection& connection, Stats stats) noexcept {
        if (kind_ != Kind::agent) return PathChange::refused;
        if (chosen_ == Via::tcp && tcp_ == &connection) return PathChange::none;
        tcp_ = &connection;
        return choose(Via::tcp, std::move(stats));
    }

    // The agent's connection ended (the session stays): replies fall back to the UDP path, if
    // any. `chosen` stays tcp, so the agent's next UDP data counts as a climb. A connection
    // that is not the session's (superseded meanwhile) changes nothing.
    bool detach_tcp(const Connection& connection) noexcept {
        if (kind_ != Kind::agent || tcp_ != &connection) return false;
        ++flow_;
        tcp_ = nullptr;
        return true;
    }

    // Another session took the flow (`listener`, `client`) (an authenticated attach wins over
    // what held the address): if it is this session's UDP path, replies lose it.
    bool lose_udp(const Listener& listener, const net::Endpoint& client) noexcept {
        if (kind_ != Kind::agent || listener_ != &listener || client_ != client) return false;
        ++flow_;
        listener_ = nullptr;
        return true;
    }

    // `listener`'s port closed (reload, moving target): an agent's UDP path on it is gone;
    // replies wait for the agent's next path. A native session on it is not cleared (false):
    // it has no other path, so the server closes it.
    bool clear_listener(const Listener& listener) noexcept {
        if (kind_ != Kind::agent || listener_ != &listener) return false;
        ++flow_;
        listener_ = nullptr;
        return true;
    }

    // ---- an agent session moving to another worker (relay/workers.cpp) ---------------------

    // Copies into `to` (a new, unset path) what does not point into this worker: the kind,
    // the choice, the client and local addresses, and the flow id, so that the flows after the
    // move are new ones to the session's FlowPadding (which moves with its AgentLink). The
    // listener, the connection and the count stay here (close() them); the new worker finds
    // its own (resume).
    bool carry_to(BasicReplyPath& to) const noexcept {
        if (kind_ != Kind::agent || to.kind_ != Kind::unset) return false;
        to.kind_ = kind_;
        to.chosen_ = chosen_;
        to.client_ = client_;
        to.local_ = local_;
        to.flow_ = flow_;
        return true;
    }

    // On the new worker: the UDP path on its own listener of the same address (null: that port
    // is not open there), and the listener to count the session on.
    bool resume(Listener* listener, Stats stats) noexcept {
        if (kind_ != Kind::agent || stats_) return false;
        ++flow_;
        listener_ = listener;
        count_on(std::move(stats));
        return true;
    }

private:
    PathChange choose(Via via, Stats stats) noexcept {
        const PathChange change = chosen_ == Via::none                             ? PathChange::first
                                  : via == Via::tcp && chosen_ != Via::tcp         ? PathChange::fallback
                                  : via == Via::udp && chosen_ == Via::tcp         ? PathChange::climb
                                  : via == Via::udp                                ? PathChange::hop
                                                                                   : PathChange::none;
        chosen_ = via;
        ++flow_;
        // The session is counted on the listener its replies leave from.
        count_on(std::move(stats));
        return change;
    }

    void count_on(Stats stats) noexcept {
        if (stats_ == stats) return;
        if (counted_) Counters::subtract(stats_->sessions);
        stats_ = std::move(stats);
        counted_ = stats_ != nullptr;
        if (counted_) Counters::add(stats_->sessions);
    }

    Kind kind_ = Kind::unset;
    Via chosen_ = Via::none;
    Listener* listener_ = nullptr;
    net::Endpoint client_;
    net::LocalAddress local_;
    Connection* tcp_ = nullptr;
    Stats stats_;
    bool counted_ = false;  // stats_->sessions holds this session (until close)
    std::uint64_t flow_ = 0;
};

class TcpConnection;
struct UdpListener;
using ReplyPath = BasicReplyPath<UdpListener, TcpConnection>;

}  // namespace porthop::relay
