// The server's start, stop and live reload, and what its listeners' coming and going means to
// the sessions. The listeners themselves (what opens and closes) are the ListenerSet's
// (listener_set.hpp).
#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

using boost::system::error_code;

namespace {

std::string describe_ports(const char* proto, const std::vector<net::Endpoint>& endpoints) {
    std::string out;
    for (const auto& e : endpoints) out += std::string(" ") + proto + " " + e.to_string();
    return out;
}

}  // namespace

std::optional<std::string> Server::Impl::start() {
    if (auto failure = guard_.configure(guard_config(opt_))) return failure;
    const auto wanted = ListenerSet::wanted(opt_);
    if (auto failure = listeners_.open(wanted)) {
        stop();
        return failure;
    }
    if (listeners_.empty()) {
        stop();
        return std::string("no listener could be opened");
    }
    listeners_.apply(wanted);  // they all serve: receiving and accepting start
    if (multi_worker()) {  // datagrams other workers hand over (workers.cpp)
        inbox_wake_.emplace(io_, ::dup(shared_.inboxes[worker_]->wake_fd()));
        handoff_buffer_ = pool_.get();
        arm_inbox();
    }
    set_sweep_interval();
    arm_sweep();
    listeners_.follow_epochs(opt_);
    return std::nullopt;
}

void Server::Impl::stop() {
    if (stopped_) return;
    stopped_ = true;
    listeners_.close_all();
    sweep_timer_.cancel();
    if (inbox_wake_) {
        error_code ignored;
        inbox_wake_->close(ignored);
    }
    std::vector<std::uint64_t> ids;
    sessions_.for_each([&](const Session& s) { ids.push_back(s.id); });
    for (auto id : ids)
        if (auto session = sessions_.get(id)) close_session(*session, CloseReason::shutdown);
    // Connections still waiting for their first frame belong to no session.
    for (const auto& weak : std::exchange(pending_tcp_, {}))
        if (const auto c = weak.lock(); c && c->pending()) c->close();
}

std::optional<std::string> Server::Impl::reconfigure(ServerOptions next, std::string& changes) {
    changes.clear();
    if (stopped_) return std::string("the server is stopped");
    if (next.max_datagram != opt_.max_datagram) {
        changes += " max_datagram stays " + std::to_string(opt_.max_datagram) + " until a restart;";
        next.max_datagram = opt_.max_datagram;  // buffers are sized for it
    }
    if (next.workers != opt_.workers) {
        changes += " workers stays " + std::to_string(opt_.workers) + " until a restart;";
        next.workers = opt_.workers;  // the threads and reuseport groups are made at start-up
    }
    // Fails (leaving everything as it was) only where start-up would have failed too.
    if (next.wg_public_key != opt_.wg_public_key)
        if (auto failure = guard_.configure(guard_config(next))) return failure;
    const auto wanted = ListenerSet::wanted(next);
    if (auto failure = listeners_.open(wanted)) return failure;
    guard_.configure(guard_config(next));  // the mac1 key was made above: this cannot fail now

    // Everything needed is open: now close what the new configuration no longer lists.
    const auto diff = listeners_.apply(wanted);
    changes += describe_ports("+udp", diff.added_udp) + describe_ports("+tcp", diff.added_tcp) +
               describe_ports("-udp", diff.removed_udp) + describe_ports("-tcp", diff.removed_tcp);
    if (diff.sessions_closed != 0)
        changes += "; " + std::to_string(diff.sessions_closed) + " sessions on removed ports closed";
    if (next.backend != opt_.backend) {
        changes += "; backend " + next.backend.to_string() + " for new sessions";
        backend_ = next.backend.to_udp();
    }
    if (next.max_sessions != opt_.max_sessions)
        changes += "; max_sessions " + std::to_string(next.max_sessions);
    if (next.max_tcp_connections != opt_.max_tcp_connections)
        changes += "; max_tcp_connections " + std::to_string(next.max_tcp_connections);
    if (next.tcp_per_source != opt_.tcp_per_source)
        changes += "; tcp_connections_per_source " + std::to_string(next.tcp_per_source);
    if (next.idle_timeout != opt_.idle_timeout)
        changes += "; idle_timeout " + std::to_string(next.idle_timeout.count()) + " ms";
    if (next.protocol != opt_.protocol)
        changes += std::string("; protocol ") + wire::to_string(next.protocol);
    if (next.mask != opt_.mask) changes += std::string("; mask ") + hop::v2::to_string(next.mask);
    if (next.wg_public_key != opt_.wg_public_key)
        changes += next.wg_public_key ? "; mac1 checked with a new WireGuard public key" : "; mac1 no longer checked";
    if (next.source_limits.handshakes_per_second != opt_.source_limits.handshakes_per_second ||
        next.source_limits.burst != opt_.source_limits.burst ||
        next.source_limits.sessions_per_source != opt_.source_limits.sessions_per_source)
        changes += "; per-source limits " + std::to_string(next.source_limits.handshakes_per_second) + "/s burst " +
                   std::to_string(next.source_limits.burst) + ", " +
                   std::to_string(next.source_limits.sessions_per_source) + " sessions";
    sessions_.set_limit(next.max_sessions);  // sessions above a lowered limit stay; new ones wait
    opt_ = std::move(next);
    // A new key seals from now on. A key removed keeps its codec for the replies to agent
    // sessions that are still open (they end when idle); ingress no longer opens hop link.
    if (opt_.hop_keys)
        codec_.emplace(*opt_.hop_keys, hop::FrameCodec::Side::server, hop::v2::Sealing::asking(opt_.mask));
    set_sweep_interval();
    // A reload may turn moving target on or off, or change the interval or the key.
    listeners_.follow_epochs(opt_);
    if (changes.empty()) changes = " nothing changed";
    return std::nullopt;
}

ServerSnapshot Server::Impl::snapshot() const {
    ServerSnapshot out;
    const auto add = [&](const char* proto, const net::Endpoint& bound, const ListenerCounters& c) {
        out.listeners.push_back(ListenerSnapshot{proto, bound, c.sessions.load(std::memory_order_relaxed),
                                                 c.from_client_packets.load(std::memory_order_relaxed),
                                                 c.from_client_bytes.load(std::memory_order_relaxed),
                                                 c.to_client_packets.load(std::memory_order_relaxed),
                                                 c.to_client_bytes.load(std::memory_order_relaxed)});
    };
    for (const auto& l : listeners_.udp()) add("udp", l->bound, *l->stats);
    for (const auto& l : listeners_.tcp()) add("tcp", l->bound, *l->stats);
    out.sessions = sessions_.size();
    out.worker_sessions = {sessions_.size()};
    out.tcp_connections = shared_.tcp_connections.load(std::memory_order_relaxed);
    out.max_sessions = opt_.max_sessions;
    out.max_tcp_connections = opt_.max_tcp_connections;
    return out;
}

// ---- the listener set's events ----------------------------------------------------------

void Server::Impl::listener_bound(UdpListener& listener) {
    batch_.enable_gro(listener.socket.native_handle(), pool_.payload_capacity());  // refused: just off
}

void Server::Impl::listener_serving(const std::shared_ptr<UdpListener>& listener) { arm_udp(listener); }

void Server::Impl::listener_serving(const std::shared_ptr<TcpListener>& listener) {
    accept_connections(listener, tcp_host_);
}

std::size_t Server::Impl::listener_removing(UdpListener& listener) {
    std::vector<std::uint64_t> orphaned;  // native UDP sessions whose reply path closes
    std::vector<std::uint64_t> agents;    // porthop clients: they lose a path, not the session
    sessions_.for_each([&](const Session& s) {
        if (s.agent)
            agents.push_back(s.id);
        else if (s.path.listener() == &listener)
            orphaned.push_back(s.id);
    });
    for (auto id : agents) {
        sessions_.remove_listener_paths(id, listener.id);
        if (auto session = sessions_.get(id))
            session->path.clear_listener(listener);  // replies wait for the agent's next path
    }
    for (auto id : orphaned)
        if (auto session = sessions_.get(id)) close_session(*session, CloseReason::listener_removed);
    return orphaned.size();
}

// Moving target: the UDP ports of the new epoch (needs the hop key's schedule).
void Server::Impl::epoch_began() {
    if (stopped_) return;
    std::string changes;
    if (auto failure = reconfigure(opt_, changes)) {
        base::log_warn("moving target: " + *failure + "; keeping the ports that are open");
        listeners_.follow_epochs(opt_);  // try again at the next boundary (a success re-arms)
    } else {
        base::log_debug("moving target: epoch " + std::to_string(agent_links_.epoch_now()) + ":" + changes);
    }
    if (after_listener_change_) after_listener_change_();
}

}  // namespace porthop::relay
