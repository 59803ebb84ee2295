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
            if (holder->listener == &listener && holder->client == slot.peer) holder->listener = nullptr;
        } else {
            close_session(*holder, CloseReason::superseded);
        }
    }
    sessions_.add_udp_path(session->id, key);
    note_flow(*session, listener, slot.peer);
    if (!session->listener && !(session->agent->reply_via_tcp && session->tcp)) {
        session->client = slot.peer;  // its first path: replies go here until data says otherwise
        session->local = slot.local;
        set_reply_path(*session, false, &listener, listener.stats);
    }
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
    if (session.tcp != &connection) {
        // One TCP path per agent: a new connection supersedes the last one (the agent opens a
        // new one only after giving up on the old).
        if (TcpConnection* old = session.tcp) {
            session.tcp = nullptr;
            old->close();
        }
        session.tcp = &connection;
        if (!session.listener) {
            session.client = connection.peer();
            set_reply_path(session, true, nullptr, connection.stats());
        }
    }
    count_tcp_push(connection, connection.enqueue_control(ack_));
}

void Server::Impl::set_reply_path(Session& s, bool via_tcp, UdpListener* listener,
                                  const std::shared_ptr<ListenerCounters>& stats) noexcept {
    auto& link = *s.agent;
    // Counted by what the last path was, even if it is gone since (its port closed): a move to
    // TCP after the UDP ports closed is still a fallback.
    if (link.has_path) {
        if (via_tcp && !link.reply_via_tcp)
            Counters::add(counters_.agent_fallbacks);
        else if (!via_tcp && link.reply_via_tcp)
            Counters::add(counters_.agent_climbs);
        else if (!via_tcp)
            Counters::add(counters_.agent_hops);
    }
    link.reply_via_tcp = via_tcp;
    link.has_path = true;
    if (!via_tcp) s.listener = listener;
    // The session is counted on the listener its replies leave from.
    if (s.stats != stats) {
        if (s.stats) Counters::subtract(s.stats->sessions);
        s.stats = stats;
        Counters::add(s.stats->sessions);
    }
}

void Server::Impl::note_udp_data(Session& s, UdpListener& listener, const net::ReceiveSlot& slot) noexcept {
    if (s.listener != &listener || s.client != slot.peer || s.agent->reply_via_tcp) {
        s.client = slot.peer;
        set_reply_path(s, false, &listener, listener.stats);
    }
}

void Server::Impl::note_tcp_data(Session& s, TcpConnection& connection) noexcept {
    s.last_from_client = Clock::now();
    if (!s.agent->reply_via_tcp || s.tcp != &connection) {
        s.tcp = &connection;
        set_reply_path(s, true, s.listener, connection.stats());
    }
}

void Server::Impl::detach_tcp(Session& s, TcpConnection& connection) noexcept {
    if (s.tcp != &connection) return;
    // Replies fall back to the last UDP path, if any (the upstream loop sends on TCP only while
    // there is a connection); reply_via_tcp stays, so the agent's next UDP data counts as a climb.
    s.tcp = nullptr;
}

}  // namespace porthop::relay
