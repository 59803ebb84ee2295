// The server's checks on native clients (issue 5; DESIGN.md, "Security rules"): what a listener
// carries, the mac1 firewall, per-source rate limits and session caps, native roaming, and
// anti-amplification. Everything here runs on the loop thread, per datagram, without
// allocating: the tables it uses are sized when the server starts.
#include <algorithm>
#include <array>

#include "server_impl.hpp"

namespace porthop::relay {

namespace {

// How much an unvalidated native session may receive, as a multiple of what it sent.
// WireGuard never needs more than 1: its answers to a client that has not yet shown it
// receives them (a handshake response, 92 bytes, or a cookie reply, 64, to an initiation of
// 148) are smaller than what triggered them. OpenVPN's are not: a 2.6 server answers a 14-byte
// hard reset with 26 bytes, and retransmits it while unanswered (tests/fixtures/
// ovpn_udp_packets.txt); the certificate flight that follows is released by validation (the
// ClientHello acknowledges the server's session id, or, under tls-crypt, see
// validate_encrypted_ovpn), not by the budget. 3 is RFC 9000's anti-amplification factor.
constexpr std::uint8_t kAmplificationWireGuard = 1;
constexpr std::uint8_t kAmplificationOpenVpn = 3;

bool contains_id(std::span<const std::byte> datagram, std::uint64_t id) noexcept {
    // OpenVPN writes session ids big-endian (wire/openvpn.hpp).
    std::array<std::byte, 8> needle{};
    for (std::size_t i = 0; i < needle.size(); ++i) needle[i] = static_cast<std::byte>(id >> (56 - 8 * i));
    // Bytes 1..8 are the client's own session id; the backend's can only follow.
    constexpr std::size_t kFrom = 1 + wire::ovpn::kSessionIdSize;
    if (datagram.size() < kFrom + needle.size()) return false;
    const auto rest = datagram.subspan(kFrom);
    return std::search(rest.begin(), rest.end(), needle.begin(), needle.end()) != rest.end();
}

}  // namespace

SourceLimiter::Limits Server::Impl::limiter_limits(const ServerOptions& options) {
    SourceLimiter::Limits limits = options.source_limits;
    // Sources holding sessions are never evicted, so the table must hold one per session.
    limits.max_sources = std::max<std::size_t>(limits.max_sources, options.max_sessions);
    return limits;
}

NativeRoaming::Limits Server::Impl::roaming_limits(const ServerOptions& options) {
    NativeRoaming::Limits limits;
    // Allocated up front (a few hundred bytes a session); beyond this many, sessions still work
    // but cannot roam (NativeRoaming counts them as table_full).
    limits.max_sessions = std::min<std::size_t>(options.max_sessions, kMaxRoamingSessions);
    limits.stale_after = std::max<NativeRoaming::Clock::duration>(limits.stale_after, options.idle_timeout);
    return limits;
}

std::optional<std::string> Server::Impl::configure_guard(const ServerOptions& next) {
    std::optional<crypto::Mac1Verifier> verifier;
    if (next.wg_public_key) {
        std::string why;
        verifier = crypto::Mac1Verifier::create(*next.wg_public_key, why);
        if (!verifier) return "cannot check WireGuard mac1: " + why;
    }
    mac1_ = std::move(verifier);
    limiter_.set_limits(limiter_limits(next));
    return std::nullopt;
}

bool Server::Impl::passes_filters(const wire::Native& native, std::span<const std::byte> datagram) noexcept {
    if (!wire::carries(opt_.protocol, native)) {
        Counters::add(opt_.protocol == wire::Protocol::wireguard ? counters_.drop_not_wireguard
                                                                 : counters_.drop_not_openvpn);
        return false;
    }
    // Initiations and responses are both addressed to the backend, so both carry a mac1 made
    // with its public key (crypto/mac1.hpp).
    const auto kind = native.wg.kind;
    if (mac1_ && (kind == wire::wg::Kind::initiation || kind == wire::wg::Kind::response) &&
        !mac1_->verify(datagram)) {
        Counters::add(counters_.drop_bad_mac1);
        return false;
    }
    return true;
}

bool Server::Impl::allow_handshake(const net::Endpoint& peer, Clock::time_point now) {
    if (limiter_.allow_handshake(peer, now)) return true;
    Counters::add(counters_.drop_handshake_rate);
    warn_limited(warn_source_, [&] {
        return "source " + peer.to_string() + " is over its handshake rate (handshake_rate = " +
               std::to_string(opt_.source_limits.handshakes_per_second) + "/s, burst " +
               std::to_string(opt_.source_limits.burst) +
               "): dropping its datagrams from new addresses and its new TCP connections";
    });
    return false;
}

std::optional<SourceKey> Server::Impl::acquire_source(const net::Endpoint& peer, Clock::time_point now) {
    const auto before = limiter_.stats();
    if (auto source = limiter_.acquire_session(peer, now)) return source;
    const auto& after = limiter_.stats();
    const bool at_cap = after.refused_sessions != before.refused_sessions;
    Counters::add(at_cap ? counters_.drop_source_sessions
                         : counters_.drop_source_table);  // table full (or an endpoint it cannot key)
    warn_limited(warn_source_, [&] {
        return at_cap ? "source " + peer.to_string() + " holds sessions_per_source = " +
                            std::to_string(opt_.source_limits.sessions_per_source) + " sessions: refusing another"
                      : "the per-source table is full of active sources: refusing a session for " + peer.to_string();
    });
    return std::nullopt;
}

void Server::Impl::observe_native(Session& s, const wire::Native& native, std::span<const std::byte> datagram,
                                  Clock::time_point now) noexcept {
    if (native.is_wireguard()) {
        roaming_.observe_wg(s.id, native.wg, now);
        // A transport message carrying an index the backend gave this session in a response
        // it sent to the client's address: the client received it. (A session the roaming
        // table could not track cannot be checked that way; WireGuard never amplifies anyway,
        // see kAmplificationWireGuard, so its first transport message counts.)
        if (!s.validated && native.wg.kind == wire::wg::Kind::transport) {
            const auto owner = roaming_.find_wg(native.wg, now);
            if (owner ? *owner == s.id : roaming_.sessions() >= roaming_.limits().max_sessions) validate(s);
        }
    } else if (native.is_openvpn()) {
        roaming_.observe_ovpn(s.id, native.ovpn, datagram, now);
        if (native.ovpn.kind == wire::ovpn::Kind::control && s.ovpn_client_sid == 0)
            s.ovpn_client_sid = native.ovpn.session_id;
        if (s.validated) return;
        // Plain and tls-auth control packets acknowledge the backend's packets with its session
        // id in clear (and arrive before the backend's certificate flight, which they ask for).
        // Data packets from the client after the backend's show a working data channel, which
        // takes a completed TLS handshake with this client. (tls-crypt: admit_to_client.)
        if ((s.ovpn_backend_sid != 0 && native.ovpn.kind == wire::ovpn::Kind::control &&
             contains_id(datagram, s.ovpn_backend_sid)) ||
            (s.backend_sent_data && native.ovpn.kind != wire::ovpn::Kind::control))
            validate(s);
    }
}

void Server::Impl::validate(Session& s) noexcept {
    s.validated = true;
    Counters::add(counters_.native_validated);
}

void Server::Impl::count_move(Move move) noexcept {
    switch (move) {
        case Move::accepted: Counters::add(counters_.move_accepted); break;
        case Move::unknown: Counters::add(counters_.move_unknown); break;
        case Move::expired: Counters::add(counters_.move_expired); break;
        case Move::replayed: Counters::add(counters_.move_replayed); break;
        case Move::too_far: Counters::add(counters_.move_too_far); break;
        case Move::unproven: Counters::add(counters_.move_unproven); break;
        case Move::not_movable: Counters::add(counters_.move_not_movable); break;
    }
}

Session* Server::Impl::roam(UdpListener& listener, const net::ReceiveSlot& slot, const wire::Native& native,
                            std::span<const std::byte> datagram, Clock::time_point now) {
    std::optional<std::uint64_t> id;
    if (native.wg.kind == wire::wg::Kind::transport)
        id = roaming_.find_wg(native.wg, now);
    else if (native.is_openvpn())
        id = roaming_.find_ovpn(native.ovpn);
    if (!id) return nullptr;
    Session* s = sessions_.find(*id);
    // Only native UDP sessions roam; the table never names others, but a closing one may linger.
    if (!s || s->closed || s->agent || s->tcp || !s->listener) return nullptr;
    const Move move = native.is_wireguard() ? roaming_.accept_wg_move(s->id, native.wg, now)
                                            : roaming_.accept_ovpn_move(s->id, native.ovpn, datagram, now);
    count_move(move);
    // Refused or not, the datagram goes through this session's upstream socket: a straggler from
    // the client's old address (or a replay) must not open a second session, which would make
    // the backend see the client at a new port. Only an accepted move changes the reply path.
    if (move == Move::accepted && sessions_.move_udp(s->id, UdpKey{listener.id, slot.peer})) {
        if (s->stats != listener.stats) {
            Counters::subtract(s->stats->sessions);
            s->stats = listener.stats;
            Counters::add(s->stats->sessions);
        }
        s->listener = &listener;
        s->client = slot.peer;
        note_flow(*s, listener, slot.peer);
        // One line per move (not per packet): a roaming client is worth seeing in the log.
        base::log_info("session " + std::to_string(s->id) + " moved: udp " + slot.peer.to_string() + " -> port " +
                      std::to_string(listener.bound.port()) + " (roaming; the backend still sees the same socket)");
        // A new address has proved nothing yet: the reply cap applies again until it does.
        s->validated = false;
        s->roamed = true;
        s->from_client_bytes_at_move = s->from_client_bytes;
        s->to_client_bytes_at_move = s->to_client_bytes;
    }
    return s;
}

Session* Server::Impl::admit_native_udp(UdpListener& listener, const net::ReceiveSlot& slot,
                                        std::span<const std::byte> datagram, Session* session,
                                        Clock::time_point now, bool handed) {
    const auto native = wire::classify_native(datagram, opt_.protocol);
    if (!passes_filters(native, datagram)) return nullptr;
    if (session) {
        if (wire::is_handshake(native) && !allow_handshake(slot.peer, now)) return nullptr;
        observe_native(*session, native, datagram, now);
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
        limiter_.release_session(*source, now);
        return nullptr;
    }
    opened->source = source;
    opened->validated = false;
    opened->opened_by_data = opened_by_data;
    opened->amplification = native.is_openvpn() ? kAmplificationOpenVpn : kAmplificationWireGuard;
    if (provisional) enter_provisional(*opened, key);
    observe_native(*opened, native, datagram, now);
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
                   session->client.to_string();
        });
        close_session(*session, CloseReason::evicted);
        return true;
    }
    return false;
}

// Under tls-crypt the client's acks are encrypted, so nothing it sends shows the relay that it
// received the backend's packets, and the backend's certificate flight (about 1.2-2.4 KB) comes
// right after a ClientHello of about 350 bytes: more than 3x. But there the backend itself
// checks: it answers only packets whose tls-crypt tag verifies (key holders), and OpenVPN 2.6
// answers a hard reset statelessly, with a cookie in its session id, and goes on to the TLS
// handshake only once the client has echoed that cookie from the reset reply -- a return
// routability check of its own. So the backend's first control packet that is not its reset
// reply validates the session. Which wrapping a session uses is read from the backend's reset
// reply (trusted: it comes from the backend's address on the connected upstream socket): plain
// and tls-auth replies acknowledge the client's hard reset with its session id in clear,
// tls-crypt ones do not. A spoofer cannot make a plain backend look encrypted that way.
void Server::Impl::validate_encrypted_ovpn(Session& s, const wire::ovpn::Packet& from_backend,
                                           std::span<const std::byte> datagram) noexcept {
    if (from_backend.opcode == wire::ovpn::Opcode::control_hard_reset_server_v2)
        s.ovpn_control_encrypted = !contains_id(datagram, s.ovpn_client_sid);
    else if (s.ovpn_control_encrypted)
        validate(s);
}

bool Server::Impl::admit_to_client(Session& s, std::span<const std::byte> datagram, std::uint64_t& pending,
                                   Clock::time_point now) {
    const auto native = wire::classify_native(datagram, opt_.protocol);
    if (native.is_wireguard()) {
        roaming_.learn_wg(s.id, native.wg, now);
        // WireGuard sends transport data only to an address from which it authenticated a
        // packet of the peer's current session. This socket is this session's own, and only
        // this client's datagrams ever went through it (it has not roamed): so the client holds
        // the peer's keys and its address is where that packet came from. That is how a client
        // that kept its session across a relay restart (transport data first, no handshake, no
        // index the relay learnt) is validated at the backend's first answer, not two minutes
        // later at its next handshake. A forgery is never answered, so never validated.
        // (Sessions opened by an initiation are left to the stronger index proof above: their
        // client's first transport message names the index of a response sent to its address.)
        // Caveat, README "Security notes": a fresh socket may get the local port of one the
        // previous process used, and the backend may still be sending there.
        if (native.wg.kind == wire::wg::Kind::transport) {
            s.backend_sent_data = true;
            if (!s.validated && !s.roamed && s.opened_by_data) validate(s);
        }
        // The index the backend names itself by: the client's transport messages carry it.
        if (multi_worker() &&
            (native.wg.kind == wire::wg::Kind::initiation || native.wg.kind == wire::wg::Kind::response))
            shared_.directory.set_id(IdKind::wireguard_index, native.wg.sender, owner(s));
    } else if (native.is_openvpn()) {
        roaming_.learn_ovpn(s.id, native.ovpn, now);
        if (multi_worker() && native.ovpn.kind == wire::ovpn::Kind::data_v2 &&
            native.ovpn.peer_id != s.directory_peer_id) {
            s.directory_peer_id = native.ovpn.peer_id;  // once per peer-id, not per packet
            shared_.directory.set_id(IdKind::openvpn_peer_id, native.ovpn.peer_id, owner(s));
        }
        if (native.ovpn.kind != wire::ovpn::Kind::control) {
            s.backend_sent_data = true;
        } else {
            s.ovpn_backend_sid = native.ovpn.session_id;
            if (!s.validated && s.ovpn_client_sid != 0) validate_encrypted_ovpn(s, native.ovpn, datagram);
        }
    }
    if (s.validated) return true;
    // Counted from the session's last move: what an earlier address sent buys nothing here.
    const std::uint64_t received = s.from_client_bytes - s.from_client_bytes_at_move;
    const std::uint64_t sent = s.to_client_bytes - s.to_client_bytes_at_move + pending;
    if (sent + datagram.size() > received * s.amplification) {
        Counters::add(counters_.drop_amplification);
        warn_limited(warn_amplification_, [&] {
            return "session " + std::to_string(s.id) + " (udp " + s.client.to_string() +
                   "): holding back the backend's replies beyond " + std::to_string(s.amplification) +
                   "x what the client sent, until it shows it receives at its address (anti-amplification)";
        });
        return false;
    }
    pending += datagram.size();
    return true;
}

bool Server::Impl::admit_native_frame(std::span<const std::byte> frame, const net::Endpoint& peer,
                                      Clock::time_point now) {
    const auto native = wire::classify_native(frame, opt_.protocol);
    if (!passes_filters(native, frame)) return false;
    return !wire::is_handshake(native) || allow_handshake(peer, now);
}

void Server::Impl::release_native(Session& s, Clock::time_point now) noexcept {
    leave_provisional(s);
    if (s.source) limiter_.release_session(*s.source, now);
    s.source.reset();
    roaming_.forget_session(s.id);
}

}  // namespace porthop::relay
