// Private to the relay: one worker of the server. It owns the components (ListenerSet,
// NativeGuard, AgentLinks, the session table) and runs the per-packet loops that call them.
// Its methods live in server.cpp (sessions, receive loops, expiry), listeners.cpp (start,
// stop, reload), native_clients.cpp, agent_link.cpp and workers.cpp; TCP connections reach it
// through TcpHost (tcp_host.hpp). docs/ARCHITECTURE.md draws the whole.
#pragma once

#include <array>
#include <deque>
#include <unordered_map>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "porthop/base/log.hpp"
#include "porthop/hop/ingress.hpp"
#include "porthop/net/frame_queue.hpp"
#include "porthop/relay/native_guard.hpp"
#include "porthop/net/packet_pool.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/server.hpp"
#include "porthop/relay/guard_tables.hpp"
#include "porthop/relay/session_state.hpp"
#include "porthop/relay/session_table.hpp"
#include "porthop/wire/protocol.hpp"
#include "porthop/wire/hoplink.hpp"
#include "agent_links.hpp"
#include "handoff.hpp"
#include "listener_set.hpp"
#include "pending_connection.hpp"
#include "tcp_host.hpp"

namespace porthop::relay {

class TcpConnection;
class PendingConnection;
struct SessionHandover;  // workers.cpp
using net::FrameQueue;
using net::QueueBudget;

// The listener set's events (listener_set.hpp) and what the agent links ask (agent_links.hpp)
// are private: only those components call them. Final, so that deleting an Impl needs no
// virtual destructor.
class Server::Impl final : private ListenerEvents, private AgentLinkHost {
public:
    using Clock = Session::Clock;
    // Datagrams handled per wakeup of one socket before yielding to the others (fairness);
    // the rest is picked up by a posted continuation.
    static constexpr int kBatchesPerWakeup = 4;

    // Worker `worker` of the server whose shared state is `shared` (one worker: worker 0 alone).
    Impl(boost::asio::io_context& io, ServerOptions options, Shared& shared, std::uint32_t worker);

    std::optional<std::string> start();
    void stop();
    std::optional<std::string> reconfigure(ServerOptions next, std::string& changes);
    ServerSnapshot snapshot() const;
    // Restarts (relay/session_state.hpp): this worker's native UDP sessions as a state file
    // keeps them, and one such session re-created on its old backend-side port (false: its
    // listener is not open here, it exists already, or the port is taken).
    std::vector<SavedSession> saved_sessions() const;
    bool restore(const SavedSession& saved);
    // This worker's porthop clients' sessions as the replay ledger would remember them if the
    // server forgot them now (hop/replay_ledger.hpp), for the state file; `until_next`: the
    // longest time until the file is written again (0 when the server stops), which attaches
    // accepted meanwhile could be issued in.
    std::vector<hop::Forgotten> saved_agents(std::chrono::milliseconds until_next) const;
    // Attaches in flight (sent, not yet arrived) when the server forgets a session may be
    // issued up to this long after the last one it saw: above the issued floor by this margin.
    static constexpr std::chrono::milliseconds kInFlight{1000};

    // What the worker group (workers.cpp) reads and sets of a worker.
    const ListenerSet& listeners() const noexcept { return listeners_; }  // what is open now
    const ServerOptions& options() const noexcept { return opt_; }
    const Counters& counters() const noexcept { return counters_; }
    // Workers 1.. before they start: worker 0's options with the addresses its listeners
    // bound (ServerOptions::binds), so that every worker opens the same ports.
    void mirror(ServerOptions options) { opt_ = std::move(options); }
    // Worker 0 with several workers: called after the moving target changed its UDP ports, so
    // the other workers open and close the same ones (after it, in worker order).
    void set_after_listener_change(std::function<void()> call) { after_listener_change_ = std::move(call); }

private:
    // The TCP connections' view of this worker (tcp_host.hpp) is part of it.
    friend class TcpHost;

    // Sends `items` (all for this session) to the backend and counts the outcome. Returns how
    // many items are done with (sent, or dropped for a reason other than a full socket). With
    // `hold_when_full` the items a full socket refused are not dropped: the caller keeps them
    // and tries again when the socket is writable (the TCP path); otherwise they are dropped
    // and counted, as the network would drop them (the UDP path).
    std::size_t forward_to_backend(Session& session, std::span<const net::SendItem> items,
                                   bool hold_when_full = false);
    void close_session(Session& session, CloseReason reason);
    // A native TCP client's session (its first frame arrived); null when refused (counted).
    SessionPtr open_tcp_session(TcpConnection& connection);
    // A TCP connection whose first frame has not decided what it is: no session holds it, so
    // stop() finds it here (else it would keep the event loop busy until its first-frame timeout).
    void track_pending(const std::shared_ptr<PendingConnection>& connection);
    // The per-source TCP share (ServerOptions::tcp_per_source): a connection enters its source
    // when it starts on this worker and leaves it when it closes or moves to another worker.
    void enter_tcp_source(SourceKey source);
    void leave_tcp_source(SourceKey source) noexcept;

    // ---- hop link (agent_link.cpp; the checks and path bookkeeping are AgentLinks') ----
    AgentLinks& agent_links() noexcept { return agent_links_; }
    // An attach on UDP: checked; if accepted, the path is bound and an ack goes back the same way.
    // `frame`: the control frame as the codec opened it (the datagram in `slot` is what is
    // handed to another worker).
    void on_udp_attach(UdpListener& listener, const net::ReceiveSlot& slot, std::span<const std::byte> frame,
                       Clock::time_point now, bool handed = false);
    // An attach on a TCP connection: the session it names (new or known) or null if refused
    // (counted, never answered). On success the connection becomes the session's TCP path and
    // the ack is queued on it.
    // `current` is the session an agent connection already belongs to: an attach naming
    // another session is refused there (one connection, one session). `length`: the record's
    // length as it came (the ack is no longer).
    SessionPtr attach_tcp(TcpConnection& connection, std::span<const std::byte> frame, std::size_t length,
                          const Session* current = nullptr);
    // Makes `connection` the session's TCP path (superseding another) and queues the agent
    // links' last ack on it.
    void bind_tcp_path(Session& session, TcpConnection& connection);

    // ---- workers (workers.cpp) ----
    bool multi_worker() const noexcept { return shared_.workers > 1; }
    Owner owner(const Session& s) const noexcept { return Owner{worker_, s.id}; }
    // The worker other than this one that owns the session of this flow / id, if any.
    std::optional<std::uint32_t> other_owner(const FlowKey& key) const;
    std::optional<std::uint32_t> other_owner(IdKind kind, std::uint64_t id) const;
    // Copies a datagram into worker `to`'s inbox (counted; dropped and counted when full).
    void hand_off(std::uint32_t to, const UdpListener& listener, const net::ReceiveSlot& slot,
                  std::span<const std::byte> datagram) noexcept;
    // Records in the directory that this flow now leads to session `s` (several workers only).
    void note_flow(const Session& s, const UdpListener& listener, const net::Endpoint& peer);
    void arm_inbox();
    void drain_inbox();
    // A porthop client's TCP connection on this worker whose attach names a session of another
    // worker: that worker judges the attach and, if it accepts, hands the session to this one
    // (give_session, then adopt_session here), where the connection is. False (nothing asked)
    // when no other worker holds the session. workers.cpp says why the session moves.
    // `attach`: the control frame as the codec opened it; `length`: the record as it came.
    bool request_session(TcpConnection& connection, std::span<const std::byte> attach, std::size_t length);
    void give_session(std::unique_ptr<SessionHandover> handover);   // on the session's worker
    void adopt_session(std::unique_ptr<SessionHandover> handover);  // on the connection's worker
    // The worker other than this one holding the agent session an attach frame names.
    std::optional<std::uint32_t> attach_owner(std::span<const std::byte> frame) const;
    // Takes a session slot of the server's max_sessions (false: full, nothing taken).
    bool reserve_session() noexcept;
    void unreserve_session() noexcept;
    std::uint64_t new_session_id() noexcept;

    // ---- native clients (native_clients.cpp; the checks are NativeGuard's) ----
    static NativeGuard::Config guard_config(const ServerOptions& options);
    // A native client's datagram on UDP, with the session of its (listener, address) if any:
    // the session to forward it through (found by roaming, or newly opened), or null when it
    // is dropped (counted).
    Session* admit_native_udp(UdpListener& listener, const net::ReceiveSlot& slot,
                              std::span<const std::byte> datagram, Session* session, Clock::time_point now,
                              bool handed = false);
    // A native TCP client's frame: false when dropped (counted).
    bool admit_native_frame(std::span<const std::byte> frame, const net::Endpoint& peer,
                            Clock::time_point now);
    // The backend's datagram to native UDP session `s` (NativeGuard::admit_to_client, plus the
    // directory and the warning); false when the anti-amplification cap holds it back.
    bool admit_to_client(Session& s, std::span<const std::byte> datagram, std::uint64_t& pending,
                         Clock::time_point now);
    // Provisional sessions (Session::provisional): at most kProvisionalPerSource per source and
    // max_provisional() per worker, the oldest evicted for a newer one or for a session that
    // needs a slot of a full table; promoted (made ordinary) by the backend's first answer.
    static constexpr std::uint32_t kProvisionalPerSource = 4;
    static constexpr std::size_t kMaxProvisional = 1024;
    std::size_t max_provisional() const noexcept;
    // False (counted) when the source holds its share; may evict the oldest provisional session.
    bool make_room_provisional(const std::optional<SourceKey>& key, const net::Endpoint& peer);
    void enter_provisional(Session& s, const std::optional<SourceKey>& key);
    void leave_provisional(Session& s) noexcept;
    // Closes the oldest provisional session (counted); false if there is none.
    bool evict_provisional();
    // The guard's answers, with the warnings its refusals deserve (rate-limited).
    bool passes_filters(const wire::Native& native, std::span<const std::byte> datagram) noexcept {
        return guard_.passes_filters(native, datagram);
    }
    bool allow_handshake(const net::Endpoint& peer, Clock::time_point now);
    std::optional<SourceKey> acquire_source(const net::Endpoint& peer, Clock::time_point now);
    void release_native(Session& s, Clock::time_point now) noexcept;
    // One datagram from a client on `listener`, judged by the one ingress decision
    // (hop/ingress.hpp). `handed`: it came from another worker's inbox, so it is not handed on.
    struct Admitted {
        Session* session = nullptr;          // where `payload` goes; null: dropped (counted) or handed over
        std::span<const std::byte> payload;  // the VPN datagram; with `attach`, the control frame
        bool attach = false;                 // a hop-link control frame: the caller runs on_udp_attach
    };
    Admitted admit_udp(UdpListener& listener, const net::ReceiveSlot& slot, Clock::time_point now, bool handed);
    void count_ingress_drop(hop::Drop drop) noexcept;
    // The hop-link codec: every hop-link frame is opened and sealed by it. Ingress opens hop
    // link only while a key is configured (null: none); agent sessions always have a codec.
    // Sealing draws from the codec's random generator: the non-const one seals.
    hop::FrameCodec* codec() noexcept { return codec_ ? &*codec_ : nullptr; }
    const hop::FrameCodec* codec() const noexcept { return codec_ ? &*codec_ : nullptr; }
    const hop::FrameCodec* ingress_codec() const noexcept { return opt_.hop_keys ? codec() : nullptr; }
    // Counts (and logs, rate-limited) a reply a TCP connection's queue did not take.
    void count_tcp_push(const TcpConnection& connection, FrameQueue::Push pushed) noexcept;
    void account_to_backend(Session& session, std::uint64_t packets, std::uint64_t bytes);
    void account_to_client(Session& session, std::uint64_t packets, std::uint64_t bytes);
    // The message is built only when the line is actually logged: a flood of bad input must
    // cost a counter increment per packet, not a string.
    template <typename MakeMessage>
    void warn_limited(base::RateLimitedWarning& limiter, MakeMessage&& make_message) {
        std::uint64_t suppressed = 0;
        if (!limiter.allow(Clock::now(), suppressed)) return;
        std::string message = make_message();
        if (suppressed) message += " (" + std::to_string(suppressed) + " similar suppressed)";
        base::log_warn(message);
    }

    boost::asio::io_context& io_;
    ServerOptions opt_;
    Counters counters_;
    SessionTable sessions_;
    net::PacketPool pool_;
    QueueBudget tcp_budget_{opt_.tcp_queue_budget};  // all TCP reply queues of this worker
    net::UdpBatch batch_;
    // Connections that were pending when tracked; entries of those decided or gone are pruned
    // whenever the list doubles, so a connect/close flood cannot grow it without bound.
    // Oldest first: when every TCP slot is taken, the connection that has waited longest for
    // its first frame makes room for a new one (as a SYN cache does), so connections that send
    // nothing cannot hold the slots against a client that sends its first frame at once.
    std::deque<std::weak_ptr<PendingConnection>> pending_tcp_;
    std::size_t prune_pending_at_ = 64;
    TcpHost tcp_host_{*this};  // what its TCP connections see of this worker
    // Connections whose attach another worker is judging (request_session), by request number.
    std::unordered_map<std::uint64_t, std::shared_ptr<TcpConnection>> awaiting_session_;
    std::uint64_t next_handover_ = 0;
    std::unordered_map<SourceKey, std::uint32_t> tcp_sources_;  // TCP connections per source
    std::deque<std::uint64_t> provisional_;  // provisional session ids, oldest first (some stale)
    std::size_t provisional_count_ = 0;
    std::unordered_map<SourceKey, std::uint32_t> provisional_sources_;
    Shared& shared_;
    const std::uint32_t worker_;
    bool stopped_ = false;
    std::function<void()> after_listener_change_;  // set_after_listener_change

    base::RateLimitedWarning warn_session_limit_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_tcp_limit_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_input_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_backend_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_socket_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_tcp_slow_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_amplification_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_provisional_{std::chrono::seconds{10}};
    base::RateLimitedWarning warn_source_{std::chrono::seconds{10}};

    Session* roam(UdpListener& listener, const net::ReceiveSlot& slot, const wire::Native& native,
                  std::span<const std::byte> datagram, Clock::time_point now);

    // AgentLinkHost (agent_link.cpp): the options and codec of now, agent sessions by hop-link
    // id, opening one (open_session) and entering it in the table, directory and log.
    const ServerOptions& link_options() const noexcept override;
    hop::FrameCodec& link_codec() noexcept override;
    Session* find_agent(std::uint64_t hop_id) noexcept override;
    std::optional<hop::Forgotten> may_reopen(std::uint64_t hop_id, std::uint64_t counter,
                                             std::uint64_t issued) override;
    // What the replay ledger keeps of agent session `s` if it is forgotten at `now_ms`.
    hop::Forgotten forgotten(const Session& s, std::uint64_t now_ms, std::chrono::milliseconds margin) const noexcept;
    Session* open_agent_session(Clock::time_point now, const AttachVia& via) override;
    void agent_opened(Session& s, const AttachVia& via) override;
    // ListenerEvents (listeners.cpp): GRO on a new UDP socket, receiving and accepting on a
    // listener that serves, the sessions of a UDP listener a reload removes (native ones close
    // with CloseReason::listener_removed, agents lose that path), and the moving target's epoch.
    void listener_bound(UdpListener& listener) override;
    void listener_serving(const std::shared_ptr<UdpListener>& listener) override;
    void listener_serving(const std::shared_ptr<TcpListener>& listener) override;
    std::size_t listener_removing(UdpListener& listener) override;
    void epoch_began() override;
    void arm_udp(const std::shared_ptr<UdpListener>& listener);
    void on_udp_readable(const std::shared_ptr<UdpListener>& listener);
    void arm_upstream(const SessionPtr& session);
    // workers.cpp: a session leaving this worker for worker `to` (what it is goes into
    // `handover`; false: it stays), and one arriving (null: it could not stay, closed).
    bool release_session(Session& session, Impl& to, SessionHandover& handover);
    SessionPtr install_session(SessionHandover& handover, const TcpConnection* connection);
    void on_upstream_readable(const SessionPtr& session);
    // Takes a TCP slot for a connection from `source` (nullopt: an endpoint with no source).
    bool admit_tcp(const net::Endpoint& peer, const std::optional<SourceKey>& source);
    // Closes the oldest connection still waiting for its first frame that has waited
    // kEvictionGrace and has nothing unread in the kernel (under a burst of accepts its first
    // read may not have run yet); false if the first kEvictionScan candidates hold none. A
    // real client's first segment follows its handshake's last one back to back, so the grace
    // is short: a long one let a flood that reopens every slot within it (or in bursts larger
    // than a worker's share of slots) refuse every newcomer, real clients too.
    bool evict_pending_tcp();
    static constexpr std::chrono::milliseconds kEvictionGrace{50};
    static constexpr std::size_t kEvictionScan = 16;
    // The one way a session opens: a slot of max_sessions (a provisional session evicted if the
    // table is full), a socket to the backend (bound to `bind_to` for a restored session), the
    // table entry under `key` (UDP) and the count; its upstream armed. `admit` runs once the
    // slot is taken, before the socket opens (TCP: the source's share); false gives the slot
    // back. Null when refused (counted; a full table is warned about, `refused` saying whom).
    SessionPtr open_session(const UdpKey* key, Clock::time_point now, const std::function<std::string()>& refused,
                            const net::Endpoint* bind_to = nullptr, const std::function<bool()>& admit = {});
    // `bind_to`: the backend-side address a restored session had (session_state.hpp).
    Session* open_udp_session(UdpListener& listener, const net::ReceiveSlot& slot, Clock::time_point now,
                              bool provisional = false, const net::Endpoint* bind_to = nullptr);
    // "session N opened: ..." (info; debug while provisional), `note` appended.
    void log_opened(const Session& s, const char* note);
    // Takes a session slot, making room by evicting a provisional session if the table is full.
    bool reserve_or_evict();
    std::optional<boost::asio::ip::udp::socket> open_upstream(const net::Endpoint* bind_to = nullptr);
    void set_sweep_interval();
    void arm_sweep();
    void sweep();
    // Fills slots_ from rx_ so a receive lands in pool buffers.
    std::span<net::ReceiveSlot> receive_slots();

    boost::asio::ip::udp::endpoint backend_;
    boost::asio::steady_timer sweep_timer_;
    std::chrono::milliseconds sweep_interval_;
    // The receive batch: buffers that receives land in. A buffer handed to a TCP connection's
    // queue is replaced from the pool, so the batch is always full.
    std::array<std::unique_ptr<net::PacketBuffer>, net::kMaxBatch> rx_;
    std::array<net::ReceiveSlot, net::kMaxBatch> slots_;
    std::array<net::SendItem, net::kMaxBatch> items_;
    // The padding of items_[k] sent to an agent (FrameCodec::seal_data's tail).
    std::array<std::array<std::byte, hop::FrameCodec::kMaxTail>, net::kMaxBatch> tails_;
    std::optional<hop::FrameCodec> codec_;  // from opt_.hop_keys (start and reload)
    AgentLinks agent_links_{*this, counters_};
    NativeGuard guard_;
    ListenerSet listeners_;
    // Several workers: the inbox's eventfd, and the buffer a handed-off datagram is copied into.
    std::optional<boost::asio::posix::stream_descriptor> inbox_wake_;
    std::unique_ptr<net::PacketBuffer> handoff_buffer_;
};

}  // namespace porthop::relay
