// The server's side of the hop link (docs/PROTOCOL.md) where it meets sockets and the session
// table: an attach that arrived on a UDP listener or a TCP connection goes to the agent links
// (agent_links.hpp: the checks, the ack, the path bookkeeping), and what they accept is entered
// in the table and answered the way it came. Also what the links ask of this worker
// (AgentLinkHost).
#include <cstdio>

#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

using boost::system::error_code;

// ---- AgentLinkHost: what the agent links (agent_links.hpp) reach of this worker ----------

const ServerOptions& Server::Impl::link_options() const noexcept { return opt_; }

hop::FrameCodec& Server::Impl::link_codec() noexcept { return *codec_; }

Session* Server::Impl::find_agent(std::uint64_t hop_id) noexcept { return sessions_.find_agent(hop_id); }

Session* Server::Impl::open_agent_session(Clock::time_point now, const AttachVia& via) {
    // The table holds the session: the pointer stays valid after `created` goes.
    const auto created =
        open_session(nullptr, now, [&] { return "refusing a porthop client on " + via.describe(); });
    return created.get();
}

std::optional<hop::Forgotten> Server::Impl::may_reopen(std::uint64_t hop_id, std::uint64_t counter,
                                                       std::uint64_t issued) {
    const std::lock_guard lock(shared_.ledger_mutex);
    return shared_.ledger.admits(hop_id, counter, issued);
}

namespace {
std::uint64_t steady_ms(Session::Clock::time_point t) noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return ms > 0 ? static_cast<std::uint64_t>(ms) : 0;
}
}  // namespace

hop::Forgotten Server::Impl::forgotten(const Session& s, std::uint64_t now_ms,
                                       std::chrono::milliseconds margin) const noexcept {
    const AgentLink& link = *s.agent;
    // Kept from now, not from the last attach that arrived: attaches the server never saw (held
    // back, or blocked on the way) may have been issued until now, and stay fresh for three
    // hop intervals after that.
    const std::uint64_t from_s = std::max(link.issued_arrived_ms, now_ms) / 1000;
    return hop::Forgotten{link.hop_id, link.attaches.highest(),
                          std::max(link.issued_floor, hop::agent_clock_at(link.issued, steady_ms(link.issued_arrived),
                                                                          steady_ms(Clock::now())) +
                                                          static_cast<std::uint64_t>((kInFlight + margin).count())),
                          from_s + hop::ledger_keep_seconds(static_cast<std::uint64_t>(opt_.hop_interval.count()))};
}

std::vector<hop::Forgotten> Server::Impl::saved_agents(std::chrono::milliseconds until_next) const {
    std::vector<hop::Forgotten> out;
    const std::uint64_t now_ms = hop::unix_ms(opt_.wall_clock());
    sessions_.for_each([&](const Session& s) {
        if (s.agent && !s.closed) out.push_back(forgotten(s, now_ms, until_next));
    });
    return out;
}

void Server::Impl::agent_opened(Session& s, const AttachVia& via) {
    const std::uint64_t hop_id = s.agent->hop_id;
    sessions_.set_hop_id(s.id, hop_id);
    if (multi_worker()) shared_.directory.set_id(IdKind::hop_session, hop_id, owner(s));
    // Forgotten only once every worker can find the session: in between, another worker would
    // find neither and take a captured attach of it for a new session.
    {
        const std::lock_guard lock(shared_.ledger_mutex);
        shared_.ledger.forget(hop_id);
    }
    if (shared_.agent_session_opened) shared_.agent_session_opened();
    error_code ec;
    char hop_name[17];
    std::snprintf(hop_name, sizeof hop_name, "%016llx", static_cast<unsigned long long>(hop_id));
    base::log_info("session " + std::to_string(s.id) + " opened: porthop client " + hop_name + " via " +
                   via.describe() + ", backend sees " +
                   net::Endpoint::from_asio(s.upstream.local_endpoint(ec)).to_string());
}

// ---- the attaches' I/O ---------------------------------------------------------------------

void Server::Impl::on_udp_attach(UdpListener& listener, const net::ReceiveSlot& slot,
                                 std::span<const std::byte> frame, Clock::time_point now, bool handed) {
    if (!handed && multi_worker()) {
        // An agent that changed address may land on another worker than its session's: that
        // worker checks the attach (against its replay window) and binds the path. Unchecked
        // here on purpose: the owner's check is the one that counts, and a forged frame costs
        // one copy, bounded by the inbox.
        const auto fields = wire::hop::decode_control(frame);
        if (fields && !sessions_.find_agent(fields->session_id))
            if (auto to = other_owner(IdKind::hop_session, fields->session_id)) {
                // The owner opens it again: it goes as it arrived, masked.
                codec_->restore({slot.data, slot.length});
                hand_off(*to, listener, slot, {slot.data, slot.length});
                return;
            }
    }
    const UdpKey key{listener.id, slot.peer};
    Session* session =
        agent_links_.accept(frame, now, {"udp", slot.peer, listener.bound.port(), slot.length});
    if (!session) return;
    // The agent's address on this port may still belong to a native session (it sent data to a
    // server that had forgotten it, say after a restart): the authenticated attach wins.
    if (Session* holder = sessions_.find_udp(key); holder && holder != session) {
        if (holder->agent) {
            sessions_.remove_listener_paths(holder->id, listener.id);  // handled below by add
            holder->path.lose_udp(listener, slot.peer);
        } else {
            close_session(*holder, CloseReason::superseded);
        }
    }
    sessions_.add_udp_path(session->id, key);
    note_flow(*session, listener, slot.peer);
    // Its first path (or its last one's port closed): replies go here until data says otherwise.
    agent_links_.attach_udp(*session, listener, slot);
    const auto ack = agent_links_.ack();
    const net::SendItem item{ack.data(), ack.size(), &slot.peer, &slot.local};
    const auto result = batch_.send(listener.socket.native_handle(), {&item, 1});
    if (result.failed) Counters::add(counters_.drop_send_to_client, result.failed);
}

SessionPtr Server::Impl::attach_tcp(TcpConnection& connection, std::span<const std::byte> frame,
                                    std::size_t length, const Session* current) {
    Session* session = agent_links_.accept(frame, Clock::now(),
                                           {"tcp", connection.peer(), connection.port(), length}, current);
    if (!session) return nullptr;
    bind_tcp_path(*session, connection);
    return sessions_.get(session->id);
}

void Server::Impl::bind_tcp_path(Session& session, TcpConnection& connection) {
    agent_links_.attach_tcp(session, connection);
    count_tcp_push(connection, connection.enqueue_control(agent_links_.ack()));
}

}  // namespace porthop::relay
