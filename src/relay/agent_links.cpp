#include "agent_links.hpp"

#include <algorithm>
#include <memory>

#include "porthop/hop/attach_check.hpp"
#include "porthop/hop/replay_ledger.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/wire/hoplink.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

std::string AttachVia::describe() const {
    return std::string(transport) + " " + peer.to_string() + " -> port " + std::to_string(port);
}

std::uint64_t AgentLinks::epoch_now() const noexcept {
    const auto& options = host_.link_options();
    return hop::epoch_at(options.wall_clock(), options.hop_interval);
}

Session* AgentLinks::accept(std::span<const std::byte> frame, Clock::time_point now, const AttachVia& via,
                            const Session* current) {
    if (current) {  // checked before the frame can create or touch any session
        const auto fields = wire::hop::decode_control(frame);
        if (!fields || fields->session_id != current->agent->hop_id) {
            Counters::add(counters_.agent_reject_other);
            return nullptr;
        }
    }
    const std::uint64_t wall_ms = hop::unix_ms(host_.link_options().wall_clock());
    const auto checked =
        hop::check_attach(*host_.link_options().hop_keys, frame, epoch_now(), [&](std::uint64_t id) {
            Session* known = host_.find_agent(id);
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
    Session* session = host_.find_agent(c.session_id);
    if (!session) {
        if (c.session_id == 0) {  // 0 is reserved: "no agent" in the table
            Counters::add(counters_.agent_reject_other);
            return nullptr;
        }
        // A session the server forgot (closed, or before a restart) is not new: a captured
        // attach of it must not open it again (hop/replay_ledger.hpp).
        const auto floor = host_.may_reopen(c.session_id, c.counter, c.echo);
        if (!floor) {
            Counters::add(counters_.agent_reject_replay);
            return nullptr;
        }
        session = host_.open_agent_session(now, via);
        if (!session) return nullptr;  // counted by the host
        session->agent = std::make_unique<AgentLink>();
        session->path.become_agent();
        session->agent->hop_id = c.session_id;
        session->agent->attaches.accept(c.counter);
        session->agent->attaches.refuse_through(floor->counter);
        session->agent->issued_floor = floor->issued_floor;
        session->agent->ack_counter = wall_ms;
        Counters::add(counters_.agent_sessions_opened);
        host_.agent_opened(*session, via);
    }
    Counters::add(counters_.agent_attaches);
    session->last_from_client = now;
    // An attach's echo field is its `issued` time (the agent's clock, unix ms).
    AgentLink& link = *session->agent;
    if (link.issued_floor != 0 && c.echo <= link.issued_floor) {
        // Sent before the server forgot the session, never seen by it (its counter fits the
        // reopened window): a captured attach, not the agent's.
        Counters::add(counters_.agent_reject_replay);
        return nullptr;
    }
    if (c.echo >= link.issued) {
        link.issued = c.echo;
        link.issued_arrived_ms = wall_ms;
        link.issued_arrived = now;
    }
    // The ack is no longer than the attach: never more bytes to a sender than it sent.
    const wire::hop::Control ack{wire::hop::Type::ack, c.session_id, ++session->agent->ack_counter,
                                 epoch_now(), c.counter};
    ack_ = host_.link_codec().seal_control(ack, ack_buffer_, via.length);
    return session;
}

void AgentLinks::adopt_ack(std::span<const std::byte> ack) noexcept {
    const std::size_t n = std::min(ack.size(), ack_buffer_.size());
    std::copy_n(ack.begin(), n, ack_buffer_.begin());
    ack_ = std::span<const std::byte>(ack_buffer_.data(), n);
}

void AgentLinks::attach_udp(Session& s, UdpListener& listener, const net::ReceiveSlot& slot) noexcept {
    count(s.path.attach_udp(listener, slot.peer, slot.local, listener.stats));
}

void AgentLinks::attach_tcp(Session& s, TcpConnection& connection) {
    const auto bound = s.path.attach_tcp(connection, connection.peer(), connection.stats());
    if (bound.superseded) bound.superseded->close();
    count(bound.change);
}

void AgentLinks::note_udp_data(Session& s, UdpListener& listener, const net::ReceiveSlot& slot) noexcept {
    count(s.path.prefer_udp(listener, slot.peer, listener.stats));
    // Whatever the change: after a switch an attach made, this data reports none.
    if (s.agent && !s.agent->parked_replies.empty())
        Counters::add(counters_.drop_tcp_rotate_bytes, drop_parked_replies(*s.agent));
}

void AgentLinks::note_tcp_data(Session& s, TcpConnection& connection) noexcept {
    s.last_from_client = Clock::now();
    count(s.path.prefer_tcp(connection, connection.stats()));
}

void AgentLinks::detach_tcp(Session& s, TcpConnection& connection) noexcept {
    // Replies fall back to the last UDP path, if any; the agent's next UDP data counts as a climb.
    s.path.detach_tcp(connection);
}

void AgentLinks::count(PathChange change) noexcept {
    // Counted by what the last path was, even if it is gone since (its port closed): a move to
    // TCP after the UDP ports closed is still a fallback.
    switch (change) {
        case PathChange::hop:
            Counters::add(counters_.agent_hops);
            return;
        case PathChange::fallback:
            Counters::add(counters_.agent_fallbacks);
            return;
        case PathChange::climb:
            Counters::add(counters_.agent_climbs);
            return;
        case PathChange::refused:
        case PathChange::none:
        case PathChange::first:
            return;
    }
}

}  // namespace porthop::relay
