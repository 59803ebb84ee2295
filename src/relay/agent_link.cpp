// The server's side of the hop link (docs/PROTOCOL.md): attaches from porthop clients are
// checked and answered, their paths bound to the session they name, and replies sent the way
// the agent's data last came. Anything that fails a check is dropped and counted, never
// answered, so a prober learns nothing.
#include <boost/asio/post.hpp>
#include <cstring>

#include "porthop/crypto/hop_auth.hpp"
#include "porthop/hop/attach_check.hpp"
#include "porthop/hop/schedule.hpp"
#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using boost::system::error_code;

std::uint64_t Server::Impl::epoch_now() const noexcept {
    return hop::epoch_at(opt_.wall_clock(), opt_.hop_interval);
}

template <typename Describe>
Session* Server::Impl::accept_attach(std::span<const std::byte> frame, Clock::time_point now,
                                     Describe&& describe) {
    const auto checked = hop::check_attach(*opt_.hop_keys, frame, epoch_now(), [&](std::uint64_t id) {
        Session* known = sessions_.find_agent(id);
        return known ? &known->agent->attaches : nullptr;
    });
    switch (checked.verdict) {
        case hop::Verdict::accept:
            break;
        case hop::Verdict::malformed:
            Counters::add(counters_.agent_reject_malformed);
            return nullptr;
        case hop::Verdict::bad_tag:
            Counters::add(counters_.agent_reject_bad_tag);
            return nullptr;
        case hop::Verdict::stale_epoch:
            Counters::add(counters_.agent_reject_stale_epoch);
            return nullptr;
        case hop::Verdict::replay:
            Counters::add(counters_.agent_reject_replay);
            return nullptr;
    }
    const auto& c = checked.control;
    Session* session = sessions_.find_agent(c.session_id);
    if (!session) {
        if (c.session_id == 0) {  // 0 is reserved: "no agent" in the table
            Counters::add(counters_.agent_reject_other);
            return nullptr;
        }
        auto created = open_session(nullptr, now, [&] { return "refusing a porthop client on " + describe(); });
        if (!created) return nullptr;
        created->agent = std::make_unique<AgentLink>();
        created->path.become_agent();
        created->agent->hop_id = c.session_id;
        created->agent->attaches.accept(c.counter);
        sessions_.set_hop_id(created->id, c.session_id);
        if (multi_worker()) shared_.directory.set_id(IdKind::hop_session, c.session_id, owner(*created));
        Counters::add(counters_.agent_sessions_opened);
        error_code ec;
        char hop_id[17];
        std::snprintf(hop_id, sizeof hop_id, "%016llx", static_cast<unsigned long long>(c.session_id));
        base::log_info("session " + std::to_string(created->id) + " opened: porthop client " + hop_id +
                      " via " + describe() + ", backend sees " +
                      net::Endpoint::from_asio(created->upstream.local_endpoint(ec)).to_string());
        session = created.get();
    }
    Counters::add(counters_.agent_attaches);
    session->last_from_client = now;
    // The ack is as long as the attach: never more bytes to a sender than it sent.
    const wire::hop::Control ack{wire::hop::Type::ack, c.session_id, ++session->agent->ack_counter,
                                 epoch_now(), c.counter};
    ack_ = codec()->seal_control(ack, ack_buffer_);
    return session;
}

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
                hand_off(*to, listener, slot, {slot.data, slot.length});
                return;
            }
    }
    const UdpKey key{listener.id, slot.peer};
    Session* session = accept_attach(frame, now, [&] {
        return "udp " + slot.peer.to_string() + " -> port " + std::to_string(listener.bound.port());
    });
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
    count(session->path.attach_udp(listener, slot.peer, slot.local, listener.stats));
    const net::SendItem item{ack_.data(), ack_.size(), &slot.peer, &slot.local};
    const auto result = batch_.send(listener.socket.native_handle(), {&item, 1});
    if (result.failed) Counters::add(counters_.drop_send_to_client, result.failed);
}

SessionPtr Server::Impl::attach_tcp(TcpConnection& connection, std::span<const std::byte> frame,
                                    const Session* current) {
    if (current) {  // checked before the frame can create or touch any session
        const auto fields = wire::hop::decode_control(frame);
        if (!fields || fields->session_id != current->agent->hop_id) {
            Counters::add(counters_.agent_reject_other);
            return nullptr;
        }
    }
    Session* session = accept_tcp_attach(frame, connection.peer(), connection.port());
    if (!session) return nullptr;
    bind_tcp_path(*session, connection);
    return sessions_.get(session->id);
}

Session* Server::Impl::accept_tcp_attach(std::span<const std::byte> frame, const net::Endpoint& peer,
                                         std::uint16_t port) {
    return accept_attach(frame, Clock::now(),
                         [&] { return "tcp " + peer.to_string() + " -> port " + std::to_string(port); });
}

void Server::Impl::bind_tcp_path(Session& session, TcpConnection& connection) {
    // One TCP path per agent: a new connection supersedes the last one (the agent opens a new
    // one only after giving up on the old).
    const auto bound = session.path.attach_tcp(connection, connection.peer(), connection.stats());
    if (bound.superseded) bound.superseded->close();
    count(bound.change);
    count_tcp_push(connection, connection.enqueue_control(ack_));
}

void Server::Impl::count(PathChange change) noexcept {
    // Counted by what the last path was, even if it is gone since (its port closed): a move to
    // TCP after the UDP ports closed is still a fallback.
    switch (change) {
        case PathChange::hop: Counters::add(counters_.agent_hops); return;
        case PathChange::fallback: Counters::add(counters_.agent_fallbacks); return;
        case PathChange::climb: Counters::add(counters_.agent_climbs); return;
        case PathChange::refused:
        case PathChange::none:
        case PathChange::first: return;
    }
}

void Server::Impl::note_udp_data(Session& s, UdpListener& listener, const net::ReceiveSlot& slot) noexcept {
    count(s.path.prefer_udp(listener, slot.peer, listener.stats));
}

void Server::Impl::note_tcp_data(Session& s, TcpConnection& connection) noexcept {
    s.last_from_client = Clock::now();
    count(s.path.prefer_tcp(connection, connection.stats()));
}

void Server::Impl::detach_tcp(Session& s, TcpConnection& connection) noexcept {
    // Replies fall back to the last UDP path, if any; the agent's next UDP data counts as a climb.
    s.path.detach_tcp(connection);
}

}  // namespace porthop::relay
