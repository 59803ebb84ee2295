// relay/native_guard.hpp: the checks on native clients, and the reasons behind their numbers.
#include "porthop/relay/native_guard.hpp"

#include <algorithm>
#include <array>

namespace porthop::relay {

namespace {

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

// kAmplificationWireGuard, kAmplificationOpenVpn: WireGuard never needs more than 1: its
// answers to a client that has not yet shown it receives them (a handshake response, 92 bytes,
// or a cookie reply, 64, to an initiation of 148) are smaller than what triggered them.
// OpenVPN's are not: a 2.6 server answers a 14-byte hard reset with 26 bytes, and retransmits
// it while unanswered (tests/fixtures/ovpn_udp_packets.txt); the certificate flight that
// follows is released by validation (the ClientHello acknowledges the server's session id, or,
// under tls-crypt, see validate_encrypted_ovpn), not by the budget. 3 is RFC 9000's
// anti-amplification factor.

SourceLimiter::Limits NativeGuard::limiter_limits(const Config& config) noexcept {
    SourceLimiter::Limits limits = config.source_limits;
    // Sources holding sessions are never evicted, so the table must hold one per session.
    limits.max_sources = std::max<std::size_t>(limits.max_sources, config.max_sessions);
    return limits;
}

NativeRoaming::Limits NativeGuard::roaming_limits(const Config& config) noexcept {
    NativeRoaming::Limits limits;
    // Allocated up front (a few hundred bytes a session); beyond this many, sessions still work
    // but cannot roam (NativeRoaming counts them as table_full).
    limits.max_sessions = std::min<std::size_t>(config.max_sessions, kMaxRoamingSessions);
    limits.stale_after = std::max<NativeRoaming::Clock::duration>(limits.stale_after, config.idle_timeout);
    return limits;
}

NativeGuard::NativeGuard(const Config& config, Counters& counters)
    : config_(config), counters_(&counters), limiter_(limiter_limits(config)), roaming_(roaming_limits(config)) {
    config_.wg_public_key.reset();  // until configure() has made its verifier
}

std::optional<std::string> NativeGuard::configure(const Config& config) {
    std::optional<crypto::Mac1Verifier> mac1;
    if (config.wg_public_key) {
        std::string why;
        mac1 = crypto::Mac1Verifier::create(*config.wg_public_key, why);
        if (!mac1) return "cannot check WireGuard mac1: " + why;
    }
    mac1_ = std::move(mac1);
    limiter_.set_limits(limiter_limits(config));
    // The tables keep the sizes they were made with (a restart resizes them).
    const std::size_t max_sessions = config_.max_sessions;
    const auto idle_timeout = config_.idle_timeout;
    config_ = config;
    config_.max_sessions = max_sessions;
    config_.idle_timeout = idle_timeout;
    return std::nullopt;
}

bool NativeGuard::passes_filters(const wire::Native& native, std::span<const std::byte> datagram) noexcept {
    if (!wire::carries(config_.protocol, native)) {
        Counters::add(config_.protocol == wire::Protocol::wireguard ? counters_->drop_not_wireguard
                                                                    : counters_->drop_not_openvpn);
        return false;
    }
    // Initiations and responses are both addressed to the backend, so both carry a mac1 made
    // with its public key (crypto/mac1.hpp).
    const auto kind = native.wg.kind;
    if (mac1_ && (kind == wire::wg::Kind::initiation || kind == wire::wg::Kind::response) &&
        !mac1_->verify(datagram)) {
        Counters::add(counters_->drop_bad_mac1);
        return false;
    }
    return true;
}

bool NativeGuard::allow_handshake(const net::Endpoint& peer, Clock::time_point now) noexcept {
    if (limiter_.allow_handshake(peer, now)) return true;
    Counters::add(counters_->drop_handshake_rate);
    return false;
}

std::optional<SourceKey> NativeGuard::acquire_source(const net::Endpoint& peer, Clock::time_point now,
                                                     bool& at_cap) noexcept {
    const auto before = limiter_.stats();
    if (auto source = limiter_.acquire_session(peer, now)) return source;
    at_cap = limiter_.stats().refused_sessions != before.refused_sessions;
    Counters::add(at_cap ? counters_->drop_source_sessions
                         : counters_->drop_source_table);  // table full (or an endpoint it cannot key)
    return std::nullopt;
}

NativeState NativeGuard::open_state(const wire::Native& first) noexcept {
    NativeState state;
    state.validated = false;
    state.opened_by_data = !wire::is_handshake(first);
    state.amplification = first.is_openvpn() ? kAmplificationOpenVpn : kAmplificationWireGuard;
    return state;
}

void NativeGuard::observe(std::uint64_t id, NativeState& s, const wire::Native& native,
                          std::span<const std::byte> datagram, Clock::time_point now) noexcept {
    if (native.is_wireguard()) {
        roaming_.observe_wg(id, native.wg, now);
        // A transport message carrying an index the backend gave this session in a response
        // it sent to the client's address: the client received it. (A session the roaming
        // table could not track cannot be checked that way; WireGuard never amplifies anyway,
        // see kAmplificationWireGuard, so its first transport message counts.)
        if (!s.validated && native.wg.kind == wire::wg::Kind::transport) {
            const auto owner = roaming_.find_wg(native.wg, now);
            if (owner ? *owner == id : roaming_.sessions() >= roaming_.limits().max_sessions) validate(s);
        }
    } else if (native.is_openvpn()) {
        roaming_.observe_ovpn(id, native.ovpn, datagram, now);
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

void NativeGuard::validate(NativeState& s) noexcept {
    s.validated = true;
    Counters::add(counters_->native_validated);
}

std::optional<std::uint64_t> NativeGuard::find_roaming(const wire::Native& native, Clock::time_point now) noexcept {
    if (native.wg.kind == wire::wg::Kind::transport) return roaming_.find_wg(native.wg, now);
    if (native.is_openvpn()) return roaming_.find_ovpn(native.ovpn);
    return std::nullopt;
}

Move NativeGuard::accept_move(std::uint64_t id, const wire::Native& native, std::span<const std::byte> datagram,
                              Clock::time_point now) noexcept {
    const Move move = native.is_wireguard() ? roaming_.accept_wg_move(id, native.wg, now)
                                            : roaming_.accept_ovpn_move(id, native.ovpn, datagram, now);
    switch (move) {
        case Move::accepted: Counters::add(counters_->move_accepted); break;
        case Move::unknown: Counters::add(counters_->move_unknown); break;
        case Move::expired: Counters::add(counters_->move_expired); break;
        case Move::replayed: Counters::add(counters_->move_replayed); break;
        case Move::too_far: Counters::add(counters_->move_too_far); break;
        case Move::unproven: Counters::add(counters_->move_unproven); break;
        case Move::not_movable: Counters::add(counters_->move_not_movable); break;
    }
    return move;
}

void NativeGuard::moved(NativeState& s, std::uint64_t from_client_bytes, std::uint64_t to_client_bytes) noexcept {
    s.validated = false;
    s.roamed = true;
    s.from_client_bytes_at_move = from_client_bytes;
    s.to_client_bytes_at_move = to_client_bytes;
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
void NativeGuard::validate_encrypted_ovpn(NativeState& s, const wire::ovpn::Packet& from_backend,
                                          std::span<const std::byte> datagram) noexcept {
    if (from_backend.opcode == wire::ovpn::Opcode::control_hard_reset_server_v2)
        s.ovpn_control_encrypted = !contains_id(datagram, s.ovpn_client_sid);
    else if (s.ovpn_control_encrypted)
        validate(s);
}

bool NativeGuard::admit_to_client(std::uint64_t id, NativeState& s, std::span<const std::byte> datagram,
                                  std::uint64_t from_client_bytes, std::uint64_t to_client_bytes,
                                  std::uint64_t& pending, Clock::time_point now, DirectoryNote& note) noexcept {
    const auto native = wire::classify_native(datagram, config_.protocol);
    if (native.is_wireguard()) {
        roaming_.learn_wg(id, native.wg, now);
        // WireGuard sends transport data only to an address from which it authenticated a
        // packet of the peer's current session. This socket is this session's own, and only
        // this client's datagrams ever went through it (it has not roamed): so the client holds
        // the peer's keys and its address is where that packet came from. That is how a client
        // that kept its session across a relay restart (transport data first, no handshake, no
        // index the relay learnt) is validated at the backend's first answer, not two minutes
        // later at its next handshake. A forgery is never answered, so never validated.
        // (Sessions opened by an initiation are left to the stronger index proof in observe():
        // their client's first transport message names the index of a response sent to its
        // address.) Caveat, README "Security notes": a fresh socket may get the local port of
        // one the previous process used, and the backend may still be sending there.
        if (native.wg.kind == wire::wg::Kind::transport) {
            s.backend_sent_data = true;
            if (!s.validated && !s.roamed && s.opened_by_data) validate(s);
        }
        // The index the backend names itself by: the client's transport messages carry it.
        if (native.wg.kind == wire::wg::Kind::initiation || native.wg.kind == wire::wg::Kind::response)
            note = {DirectoryNote::Kind::wireguard_index, native.wg.sender};
    } else if (native.is_openvpn()) {
        roaming_.learn_ovpn(id, native.ovpn, now);
        if (native.ovpn.kind == wire::ovpn::Kind::data_v2 && native.ovpn.peer_id != s.directory_peer_id) {
            s.directory_peer_id = native.ovpn.peer_id;  // once per peer-id, not per packet
            note = {DirectoryNote::Kind::openvpn_peer_id, native.ovpn.peer_id};
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
    const std::uint64_t received = from_client_bytes - s.from_client_bytes_at_move;
    const std::uint64_t sent = to_client_bytes - s.to_client_bytes_at_move + pending;
    if (sent + datagram.size() > received * s.amplification) {
        Counters::add(counters_->drop_amplification);
        return false;
    }
    pending += datagram.size();
    return true;
}

void NativeGuard::release(std::uint64_t id, std::optional<SourceKey>& source, Clock::time_point now) noexcept {
    if (source) limiter_.release_session(*source, now);
    source.reset();
    roaming_.forget_session(id);
}

}  // namespace porthop::relay
