#include "porthop/guard/native_roaming.hpp"


namespace porthop::guard {

namespace wg = wire::wg;
namespace ovpn = wire::ovpn;

namespace {

bool is_hard_reset(ovpn::Opcode op) noexcept {
    return op == ovpn::Opcode::control_hard_reset_client_v2 ||
           op == ovpn::Opcode::control_hard_reset_client_v3 ||
           op == ovpn::Opcode::control_hard_reset_server_v2;
}

}  // namespace

const char* to_string(Move move) noexcept {
    switch (move) {
        case Move::accepted:
            return "accepted";
        case Move::unknown:
            return "unknown";
        case Move::expired:
            return "expired";
        case Move::replayed:
            return "replayed";
        case Move::too_far:
            return "too_far";
        case Move::unproven:
            return "unproven";
        case Move::not_movable:
            return "not_movable";
    }
    return "?";
}

NativeRoaming::Limits NativeRoaming::seeded(Limits limits) {
    if (limits.seed == 0) limits.seed = FlatIndex::random_seed();
    return limits;
}

NativeRoaming::NativeRoaming() : NativeRoaming(Limits{}) {}

// One seed, spread over the four indices so that their layouts differ.
NativeRoaming::NativeRoaming(const Limits& limits)
    : limits_(seeded(limits)),
      entries_(limits_.max_sessions),
      by_session_(limits_.max_sessions, limits_.seed),
      by_wg_(limits_.max_sessions * kWgIndicesPerSession, limits_.seed ^ 0x9e3779b97f4a7c15ull),
      by_sid_(limits_.max_sessions * kOvpnSessionIdsPerSession, limits_.seed ^ 0xbf58476d1ce4e5b9ull),
      by_peer_(limits_.max_sessions, limits_.seed ^ 0x94d049bb133111ebull) {
    for (std::size_t i = 0; i < entries_.size(); ++i)
        entries_[i].next = i + 1 < entries_.size() ? static_cast<std::uint32_t>(i + 1) : kNone;
    free_ = entries_.empty() ? kNone : 0;
}

// ---- the table ----------------------------------------------------------------------------

bool NativeRoaming::forward(bool seen, std::uint64_t highest, std::uint64_t counter) const noexcept {
    // Nothing seen yet counts as "highest = -1": the first counter of a keypair or data key is
    // 0 (WireGuard) or 1 (OpenVPN), and a move right after a handshake must still be possible.
    if (!seen) return counter < limits_.max_counter_jump;
    return counter > highest && counter - highest <= limits_.max_counter_jump;
}

Move NativeRoaming::count(Move move) noexcept {
    ++stats_.moves[static_cast<std::size_t>(move)];
    return move;
}

std::uint32_t NativeRoaming::entry_of(std::uint64_t session) const noexcept {
    return by_session_.find(session);
}

void NativeRoaming::touch(std::uint32_t i, Clock::time_point now) noexcept {
    entries_[i].touched = now;
    lru_.to_front(entries_, i);
}

void NativeRoaming::drop_wg(Entry& e, std::size_t slot) noexcept {
    if (!e.wg[slot].live) return;
    by_wg_.erase(e.wg[slot].index);
    e.wg[slot] = WgIndex{};
}

void NativeRoaming::drop_sid(Entry& e, std::size_t slot) noexcept {
    by_sid_.erase(e.sids[slot]);
    for (std::size_t k = slot; k + 1 < e.sid_count; ++k) e.sids[k] = e.sids[k + 1];
    --e.sid_count;
}

void NativeRoaming::drop_peer(Entry& e) noexcept {
    if (e.peer_id != ovpn::kNoPeerId) by_peer_.erase(e.peer_id);
    // A peer-id is one client instance at the backend: what was learned about its packet ids
    // belongs to it.
    e.peer_id = ovpn::kNoPeerId;
    e.keys = {};
    e.ids_in_clear = e.proof_started = false;
    e.proof_run = 0;
}

void NativeRoaming::release(std::uint32_t i) noexcept {
    Entry& e = entries_[i];
    for (std::size_t s = 0; s < e.wg.size(); ++s) drop_wg(e, s);
    while (e.sid_count > 0) drop_sid(e, e.sid_count - 1);
    drop_peer(e);
    by_session_.erase(e.session);
    lru_.unlink(entries_, i);
    e = Entry{};
    e.next = free_;
    free_ = i;
}

// The entry of `session`, added if absent; kNone if the table is full and its least recently
// touched entry is younger than stale_after (the caller counts table_full).
std::uint32_t NativeRoaming::find_or_add(std::uint64_t session, Clock::time_point now) noexcept {
    if (const auto i = by_session_.find(session); i != kNone) return i;
    if (free_ == kNone) {
        const std::uint32_t victim = lru_.back();
        if (victim == kNone || now - entries_[victim].touched < limits_.stale_after) return kNone;
        release(victim);
        ++stats_.evicted;
    }
    const std::uint32_t i = free_;
    if (!by_session_.insert(session, i)) return kNone;
    free_ = entries_[i].next;
    entries_[i] = Entry{};
    entries_[i].session = session;
    entries_[i].touched = now;
    lru_.push_front(entries_, i);
    return i;
}

void NativeRoaming::forget_session(std::uint64_t session) noexcept {
    if (const auto i = entry_of(session); i != kNone) release(i);
}

// ---- WireGuard ----------------------------------------------------------------------------

void NativeRoaming::learn_wg(std::uint64_t session, const wg::Packet& from_backend,
                             Clock::time_point now) noexcept {
    if (from_backend.kind != wg::Kind::initiation && from_backend.kind != wg::Kind::response) return;
    const std::uint32_t index = from_backend.sender;
    if (const auto owner = by_wg_.find(index); owner != kNone) {
        Entry& o = entries_[owner];
        for (std::size_t s = 0; s < o.wg.size(); ++s) {
            if (!o.wg[s].live || o.wg[s].index != index) continue;
            if (o.session == session) {  // the same index again: keep its counter, restart its clock
                o.wg[s].learned = now;
                touch(owner, now);
                return;
            }
            drop_wg(o, s);  // the backend gave the index to another client
        }
    }
    const std::uint32_t i = find_or_add(session, now);
    if (i == kNone) {
        ++stats_.table_full;
        return;
    }
    Entry& e = entries_[i];
    touch(i, now);
    // The slot to reuse: a free one, else one whose keypair is dead, else the oldest of the
    // backend's unanswered initiations (it retries every 5 s with a new index while the client
    // is silent, and those must not push out the index of the keypair in use), else the
    // oldest. WireGuard holds at most three keypairs per peer (previous, current, next), so the
    // oldest of three is one it has let go of too.
    const auto rank = [&](const WgIndex& w) {
        if (!w.live) return 0;
        if (now - w.learned >= limits_.wg_index_lifetime) return 1;
        return w.pending ? 2 : 3;
    };
    std::size_t slot = 0;
    for (std::size_t s = 1; s < e.wg.size(); ++s) {
        const int r = rank(e.wg[s]), best = rank(e.wg[slot]);
        if (r < best || (r == best && e.wg[s].learned < e.wg[slot].learned)) slot = s;
    }
    drop_wg(e, slot);
    if (!by_wg_.insert(index, i)) {
        ++stats_.table_full;
        return;
    }
    e.wg[slot] = WgIndex{.index = index,
                         .live = true,
                         .seen = false,
                         .pending = from_backend.kind == wg::Kind::initiation,
                         .highest = 0,
                         .learned = now};
    ++stats_.wg_indices_learned;
}

void NativeRoaming::observe_wg(std::uint64_t session, const wg::Packet& from_client,
                               Clock::time_point now) noexcept {
    if (from_client.kind != wg::Kind::transport && from_client.kind != wg::Kind::response) return;
    const std::uint32_t i = by_wg_.find(from_client.receiver);
    if (i == kNone || entries_[i].session != session) return;
    Entry& e = entries_[i];
    for (WgIndex& w : e.wg) {
        if (!w.live || w.index != from_client.receiver) continue;
        touch(i, now);
        if (from_client.kind == wg::Kind::response) {
            // The client answers the backend's initiation: the backend makes the keypair now.
            w.learned = now;
            w.pending = false;
        } else if (now - w.learned < limits_.wg_index_lifetime &&
                   forward(w.seen, w.highest, from_client.counter)) {
            // Capped even here: whoever holds the path must not be able to lift the highest
            // counter out of the real client's reach in one packet either.
            w.highest = from_client.counter;
            w.seen = true;
        }
        return;
    }
}

std::optional<std::uint64_t> NativeRoaming::find_wg(const wg::Packet& from_client,
                                                    Clock::time_point now) const noexcept {
    if (from_client.kind != wg::Kind::transport) return std::nullopt;
    const std::uint32_t i = by_wg_.find(from_client.receiver);
    if (i == kNone) return std::nullopt;
    const Entry& e = entries_[i];
    for (const WgIndex& w : e.wg)
        if (w.live && w.index == from_client.receiver && now - w.learned < limits_.wg_index_lifetime)
            return e.session;
    return std::nullopt;
}

Move NativeRoaming::accept_wg_move(std::uint64_t session, const wg::Packet& from_client,
                                   Clock::time_point now) noexcept {
    if (from_client.kind != wg::Kind::transport) return count(Move::not_movable);
    const std::uint32_t i = by_wg_.find(from_client.receiver);
    if (i == kNone || entries_[i].session != session) return count(Move::unknown);
    Entry& e = entries_[i];
    for (WgIndex& w : e.wg) {
        if (!w.live || w.index != from_client.receiver) continue;
        if (now - w.learned >= limits_.wg_index_lifetime) return count(Move::expired);
        if (!forward(w.seen, w.highest, from_client.counter))
            return count(w.seen && from_client.counter <= w.highest ? Move::replayed : Move::too_far);
        w.highest = from_client.counter;
        w.seen = true;
        touch(i, now);
        return count(Move::accepted);
    }
    return count(Move::unknown);
}

// ---- OpenVPN ------------------------------------------------------------------------------

std::optional<std::uint32_t> NativeRoaming::ovpn_packet_id(std::span<const std::byte> datagram) noexcept {
    constexpr std::size_t at = ovpn::kDataV2HeaderSize;
    if (datagram.size() < at + 4) return std::nullopt;
    std::uint32_t id = 0;
    for (std::size_t k = 0; k < 4; ++k) id = id << 8 | std::to_integer<std::uint32_t>(datagram[at + k]);
    return id;
}

void NativeRoaming::learn_ovpn(std::uint64_t session, const ovpn::Packet& from_backend,
                               Clock::time_point now) noexcept {
    if (from_backend.kind == ovpn::Kind::control) {
        // The backend starts a new data key (renegotiation, or a new TLS session): packet ids of
        // that key id start again from 1, so what was seen for it says nothing any more.
        const std::uint32_t i = entry_of(session);
        if (i == kNone) return;
        if (from_backend.opcode == ovpn::Opcode::control_soft_reset_v1)
            entries_[i].keys[from_backend.key_id & 7] = OvpnKey{};
        else if (is_hard_reset(from_backend.opcode))
            entries_[i].keys = {};
        return;
    }
    if (from_backend.kind != ovpn::Kind::data_v2 || from_backend.peer_id == ovpn::kNoPeerId) return;
    const std::uint32_t peer = from_backend.peer_id;
    if (const auto owner = by_peer_.find(peer); owner != kNone) {
        if (entries_[owner].session == session) {
            touch(owner, now);
            return;
        }
        drop_peer(entries_[owner]);  // the backend gave the peer-id to another client
    }
    const std::uint32_t i = find_or_add(session, now);
    if (i == kNone) {
        ++stats_.table_full;
        return;
    }
    Entry& e = entries_[i];
    touch(i, now);
    drop_peer(e);
    if (!by_peer_.insert(peer, i)) {
        ++stats_.table_full;
        return;
    }
    e.peer_id = peer;
    ++stats_.ovpn_peer_ids_learned;
}

void NativeRoaming::observe_ovpn(std::uint64_t session, const ovpn::Packet& from_client,
                                 std::span<const std::byte> datagram, Clock::time_point now) noexcept {
    if (from_client.kind == ovpn::Kind::control) {
        const std::uint32_t i = find_or_add(session, now);
        if (i == kNone) {
            ++stats_.table_full;
            return;
        }
        Entry& e = entries_[i];
        touch(i, now);
        if (from_client.opcode == ovpn::Opcode::control_soft_reset_v1)
            e.keys[from_client.key_id & 7] = OvpnKey{};
        else if (is_hard_reset(from_client.opcode))
            e.keys = {};
        const std::uint64_t sid = from_client.session_id;
        if (const auto owner = by_sid_.find(sid); owner != kNone) return;  // bound: first one wins
        if (e.sid_count == kOvpnSessionIdsPerSession) drop_sid(e, 0);      // the oldest goes
        if (!by_sid_.insert(sid, i)) {
            ++stats_.table_full;
            return;
        }
        e.sids[e.sid_count++] = sid;
        ++stats_.ovpn_session_ids_learned;
        return;
    }
    if (from_client.kind != ovpn::Kind::data_v2 || from_client.peer_id == ovpn::kNoPeerId) return;
    const std::uint32_t i = entry_of(session);
    if (i == kNone || entries_[i].peer_id != from_client.peer_id) return;
    const auto id = ovpn_packet_id(datagram);
    if (!id) return;
    Entry& e = entries_[i];
    touch(i, now);
    const std::uint8_t key = from_client.key_id & 7;
    if (!e.ids_in_clear) {
        // The proof: consecutive packets of one key id whose bytes 4..7 count up in small steps.
        const bool step = e.proof_started && e.proof_key == key && *id > e.proof_last &&
                          *id - e.proof_last <= kPacketIdStep;
        e.proof_run = step ? static_cast<std::uint8_t>(e.proof_run + 1) : 0;
        if (e.proof_run >= kPacketIdProof) e.ids_in_clear = true;
        e.proof_started = true;
        e.proof_key = key;
        e.proof_last = *id;
    }
    OvpnKey& k = e.keys[key];
    if (forward(k.seen, k.highest, *id)) {
        k.highest = *id;
        k.seen = true;
    }
}

std::optional<std::uint64_t> NativeRoaming::find_ovpn(const ovpn::Packet& from_client) const noexcept {
    if (from_client.kind == ovpn::Kind::control) {
        const std::uint32_t i = by_sid_.find(from_client.session_id);
        if (i == kNone) return std::nullopt;
        return entries_[i].session;
    }
    if (from_client.kind != ovpn::Kind::data_v2 || from_client.peer_id == ovpn::kNoPeerId)
        return std::nullopt;
    const std::uint32_t i = by_peer_.find(from_client.peer_id);
    // Until its packet ids are known to be in clear the relay could not judge a move, so the
    // peer-id finds nothing and the client is handled as a new one.
    if (i == kNone || !entries_[i].ids_in_clear) return std::nullopt;
    return entries_[i].session;
}

Move NativeRoaming::accept_ovpn_move(std::uint64_t session, const ovpn::Packet& from_client,
                                     std::span<const std::byte> datagram, Clock::time_point now) noexcept {
    if (from_client.kind != ovpn::Kind::data_v2 || from_client.peer_id == ovpn::kNoPeerId)
        return count(Move::not_movable);
    const auto id = ovpn_packet_id(datagram);
    if (!id) return count(Move::not_movable);
    const std::uint32_t i = by_peer_.find(from_client.peer_id);
    if (i == kNone || entries_[i].session != session) return count(Move::unknown);
    Entry& e = entries_[i];
    OvpnKey& k = e.keys[from_client.key_id & 7];
    // An unseen key id (one just negotiated, or never seen on the current path) has no highest
    // to be above: refused, and the current path sets one with its next packet.
    if (!e.ids_in_clear || !k.seen) return count(Move::unproven);
    if (!forward(true, k.highest, *id)) return count(*id <= k.highest ? Move::replayed : Move::too_far);
    k.highest = *id;
    touch(i, now);
    return count(Move::accepted);
}

}  // namespace porthop::guard
