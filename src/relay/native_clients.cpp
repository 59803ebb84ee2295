// The server's native clients (relay/native_guard.hpp decides): admission of a native UDP
// datagram (its session, found by address or by roaming, opened, or handed to the worker that
// owns it), provisional sessions, and the warnings the guard's refusals deserve. Everything
// here runs on the loop thread, per datagram, without allocating.
#include <algorithm>

#include "server_impl.hpp"

namespace porthop::relay {

NativeGuard::Config Server::Impl::guard_config(const ServerOptions& options) {
    return {options.protocol, options.source_limits, options.max_sessions, options.idle_timeout,
            options.wg_public_key};
}

bool Server::Impl::allow_handshake(const net::Endpoint& peer, Clock::time_point now) {
    if (guard_.allow_handshake(peer, now)) return true;
    warn_limited(warn_source_, [&] {
        return "source " + peer.to_string() + " is over its handshake rate (handshake_rate = " +
               std::to_string(opt_.source_limits.handshakes_per_second) + "/s, burst " +
               std::to_string(opt_.source_limits.burst) +
               "): dropping its datagrams from new addresses and its new TCP connections";
    });
    return false;
}

std::optional<SourceKey> Server::Impl::acquire_source(const net::Endpoint& peer, Clock::time_point now) {
    bool at_cap = false;
    if (auto source = guard_.acquire_source(peer, now, at_cap)) return source;
    warn_limited(warn_source_, [&] {
        return at_cap ? "source " + peer.to_string() + " holds sessions_per_source = " +
                            std::to_string(opt_.source_limits.sessions_per_source) + " sessions: refusing another"
                      : "the per-source table is full of active sources: refusing a session for " + peer.to_string();
    });
    return std::nullopt;
}

Session* Server::Impl::roam(UdpListener& listener, const net::ReceiveSlot& slot, const wire::Native& native,
                            std::span<const std::byte> datagram, Clock::time_point now) {
    const auto id = guard_.find_roaming(native, now);
    if (!id) return nullptr;
    Session* s = sessions_.find(*id);
    // Only native UDP sessions roam; the table never names others, but a closing one may linger.
    if (!s || s->closed || s->agent || s->path.via() != Via::udp) return nullptr;
    const Move move = guard_.accept_move(s->id, native, datagram, now);
    // Refused or not, the datagram goes through this session's upstream socket: a straggler from
    // the client's old address (or a replay) must not open a second session, which would make
    // the backend see the client at a new port. Only an accepted move changes the reply path.
    if (move == Move::accepted && sessions_.move_udp(s->id, UdpKey{listener.id, slot.peer})) {
        s->path.roam(listener, slot.peer, listener.stats);
        note_flow(*s, listener, slot.peer);
        // One line per move (not per packet): a roaming client is worth seeing in the log.
        base::log_info("session " + std::to_string(s->id) + " moved: udp " + slot.peer.to_string() + " -> port " +
                      std::to_string(listener.bound.port()) + " (roaming; the backend still sees the same socket)");
        NativeGuard::moved(s->native, s->from_client_bytes, s->to_client_bytes);
    }
    return s;
}

Session* Server::Impl::admit_native_udp(UdpListener& listener, const net::ReceiveSlot& slot,
                                        std::span<const std::byte> datagram, Session* session,
                                        Clock::time_point now, bool handed) {
    const auto native = wire::classify_native(datagram, opt_.protocol);
    if (!guard_.passes_filters(native, datagram)) return nullptr;
    if (session) {
        if (wire::is_handshake(native) && !allow_handshake(slot.peer, now)) return nullptr;
        guard_.observe(session->id, session->native, native, datagram, now);
        return session;
    }
    if (!handed && multi_worker()) {
        // A client this worker has no session for, whose session another worker holds: its
        // flow is known there (it came back to an address it used before, or the kernel's
        // choice of worker changed), or it roams with that worker's index or peer-id. That
        // worker judges it.
        std::optional<std::uint32_t> to = other_owner(FlowKey{listener.bound, slot.peer});
        if (to) {
            hand_off(*to, listener, slot, datagram);
            return nullptr;
        }
    }
    // From here on the datagram names an index or id to look up, or opens a session: either
    // costs its source a token, so neither index guesses nor session opens outrun the
    // handshake rate. (A datagram another worker handed here paid there.)
    if (!handed && !allow_handshake(slot.peer, now)) return nullptr;
    if (Session* moved = roam(listener, slot, native, datagram, now)) return moved;
    if (!handed && multi_worker()) {
        std::optional<std::uint32_t> to;
        if (native.wg.kind == wire::wg::Kind::transport)
            to = other_owner(IdKind::wireguard_index, native.wg.receiver);
        else if (native.ovpn.kind == wire::ovpn::Kind::data_v2 && native.ovpn.peer_id != wire::ovpn::kNoPeerId)
            to = other_owner(IdKind::openvpn_peer_id, native.ovpn.peer_id);
        if (to) {
            hand_off(*to, listener, slot, datagram);
            return nullptr;
        }
    }
    // A new client. A handshake opens a session; anything else (a WireGuard transport message
    // from a client that was here before a restart, or a forgery: the relay cannot tell them
    // apart) opens a provisional one, from a small budget, until the backend answers it.
    const bool opened_by_data = !wire::is_handshake(native);
    // With the per-source limits off (sessions_per_source = 0: benchmarks against a sink that
    // never answers, tests) every session is ordinary, as before.
    const bool provisional = opened_by_data && opt_.source_limits.sessions_per_source != 0;
    const auto key = SourceLimiter::key_of(slot.peer);
    if (provisional && !make_room_provisional(key, slot.peer)) return nullptr;
    const auto source = acquire_source(slot.peer, now);
    if (!source) return nullptr;
    Session* opened = open_udp_session(listener, slot, now, provisional);
    if (!opened) {
        guard_.release_source(*source, now);
        return nullptr;
    }
    opened->source = source;
    opened->native = NativeGuard::open_state(native);
    if (provisional) enter_provisional(*opened, key);
    guard_.observe(opened->id, opened->native, native, datagram, now);
    return opened;
}

std::size_t Server::Impl::max_provisional() const noexcept {
    // Enough for every client of a busy relay to come back after a restart within a few round
    // trips (each is answered, so promoted, within one), and small beside max_sessions, so
    // forgeries can neither fill the table nor hold many backend sockets.
    const std::size_t share = opt_.max_sessions / 2 / std::max<std::uint32_t>(1, shared_.workers);
    return std::clamp<std::size_t>(share, 1, kMaxProvisional);
}

bool Server::Impl::make_room_provisional(const std::optional<SourceKey>& key, const net::Endpoint& peer) {
    if (key) {
        const auto it = provisional_sources_.find(*key);
        const std::uint32_t cap = std::min(kProvisionalPerSource, opt_.source_limits.sessions_per_source);
        if (it != provisional_sources_.end() && it->second >= cap) {
            Counters::add(counters_.drop_provisional_source);
            warn_limited(warn_provisional_, [&] {
                return "source " + peer.to_string() + " has " + std::to_string(cap) +
                       " sessions the backend has not answered: dropping its further non-handshake datagrams";
            });
            return false;
        }
    }
    if (provisional_count_ >= max_provisional()) evict_provisional();
    return true;
}

void Server::Impl::enter_provisional(Session& s, const std::optional<SourceKey>& key) {
    s.provisional = true;
    s.provisional_source = key;
    ++provisional_count_;
    if (key) ++provisional_sources_[*key];
    if (provisional_.size() >= 2 * kMaxProvisional)  // entries of sessions promoted or closed since
        std::erase_if(provisional_, [&](std::uint64_t id) {
            const Session* p = sessions_.find(id);
            return !p || !p->provisional;
        });
    provisional_.push_back(s.id);
}

void Server::Impl::leave_provisional(Session& s) noexcept {
    if (!s.provisional) return;
    s.provisional = false;
    --provisional_count_;
    if (s.provisional_source) {
        const auto it = provisional_sources_.find(*s.provisional_source);
        if (it != provisional_sources_.end() && --it->second == 0) provisional_sources_.erase(it);
    }
}

bool Server::Impl::evict_provisional() {
    while (!provisional_.empty()) {
        const auto session = sessions_.get(provisional_.front());
        provisional_.pop_front();
        if (!session || !session->provisional || session->closed) continue;
        Counters::add(counters_.drop_provisional_evicted);
        warn_limited(warn_provisional_, [&] {
            return "unanswered sessions from non-handshake datagrams at their limit: closing the oldest, " +
                   session->path.client().to_string();
        });
        close_session(*session, CloseReason::evicted);
        return true;
    }
    return false;
}

bool Server::Impl::admit_to_client(Session& s, std::span<const std::byte> datagram, std::uint64_t& pending,
                                   Clock::time_point now) {
    NativeGuard::DirectoryNote note;
    const bool pass =
        guard_.admit_to_client(s.id, s.native, datagram, s.from_client_bytes, s.to_client_bytes, pending, now, note);
    if (multi_worker() && note.kind != NativeGuard::DirectoryNote::Kind::none)
        shared_.directory.set_id(note.kind == NativeGuard::DirectoryNote::Kind::wireguard_index
                                     ? IdKind::wireguard_index
                                     : IdKind::openvpn_peer_id,
                                 note.id, owner(s));
    if (!pass)
        warn_limited(warn_amplification_, [&] {
            return "session " + std::to_string(s.id) + " (udp " + s.path.client().to_string() +
                   "): holding back the backend's replies beyond " + std::to_string(s.native.amplification) +
                   "x what the client sent, until it shows it receives at its address (anti-amplification)";
        });
    return pass;
}

bool Server::Impl::admit_native_frame(std::span<const std::byte> frame, const net::Endpoint& peer,
                                      Clock::time_point now) {
    const auto native = wire::classify_native(frame, opt_.protocol);
    if (!guard_.passes_filters(native, frame)) return false;
    return !wire::is_handshake(native) || allow_handshake(peer, now);
}

void Server::Impl::release_native(Session& s, Clock::time_point now) noexcept {
    leave_provisional(s);
    guard_.release(s.id, s.source, now);
}

}  // namespace porthop::relay
