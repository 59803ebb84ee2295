// Native roaming (DESIGN.md, "Server session model"; issue 5): lets the server re-find a native
// UDP client's session when the client's address or relay port changes (NAT rebinding, Wi-Fi
// to mobile, a client configured with several relay ports), so the session keeps its upstream
// socket and the backend keeps seeing one endpoint -- without letting a replayed or forged
// datagram take the session's return path.
//
// WireGuard. Every transport message carries `receiver`, the RECIPIENT's index, and a counter
// that strictly increases per keypair. Client-to-backend transport therefore carries the index
// the BACKEND chose for the keypair. The relay learns those indices only from the backend's
// side, which it trusts (the upstream socket is connected to the backend): the `sender` of a
// handshake response the backend sends (the client initiated) and of a handshake initiation
// the backend sends (the backend initiated; the client's response to it, seen on the current
// path, restarts the index's clock, as that is when the backend makes the keypair). An index
// lives wg_index_lifetime (default 180 s, WireGuard's REJECT_AFTER_TIME: no peer sends or
// accepts a keypair older than that). A session keeps 3 (WireGuard's previous, current and
// next keypairs); a new one replaces a dead one first, then the oldest of the backend's
// unanswered initiations (it retries every 5 s with a fresh index while the client is silent,
// and those must not push out the keypair in use), then the oldest.
//
// OpenVPN. Data packets of 2.4+ are P_DATA_V2 with a 24-bit peer-id that the backend assigns,
// and the backend's own P_DATA_V2 to the client carry the same peer-id (checked on real
// OpenVPN 2.6 traffic, tests/fixtures/ovpn_udp_packets.txt), so peer-ids too are learned from
// the backend's side. Control packets carry the sender's 8-byte session id; the client's is
// learned from its control packets on the session's current path, first come first served
// (an id already bound to another live session is not rebound).
//
// What a move needs (the threat model). A datagram from an address the server does not know
// may move an existing session's reply path to that address only if it carries a live index
// or peer-id of that session AND a counter that moves forward: above the highest seen for that
// index (or key id) and at most max_counter_jump (default 2^20) above it. The relay cannot
// check the Poly1305 tag or OpenVPN's AEAD tag, so it cannot authenticate the packet; what
// forward-only buys is that a verbatim replay (someone who saw the client's packets on its old
// network and re-sends them from elsewhere) never moves anything, and the highest counter is
// advanced by every accepted packet from the current path too, so a replay of anything the
// client already sent is refused. The jump cap is there because an on-path attacker who knows
// a live index can forge a packet with a huge counter: without the cap one such packet would
// raise the highest counter beyond anything the real client will send for the keypair's
// lifetime, and the real client could never move back; with it, the real client's own counter
// overtakes the forged one after at most 2^20 packets, and the keypair (with its index) is
// replaced within 180 s anyway. WireGuard itself roams only on an authenticated packet; this is
// the closest a relay without keys can get. So the rule stops blind replays and stragglers,
// not an on-path attacker (who can also just drop the client's packets); what such an attacker
// gains from a forged move is bounded: the backend drops the forged payloads (it does check
// the tag), the attacker receives only ciphertext, and the real client, getting no replies,
// starts a new handshake within 15 s (WireGuard: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT), whose
// initiation finds no session by index and opens a new one -- whose response teaches this
// table the new index for the new session. (An OpenVPN client recovers the same way, later:
// its ping-restart timeout ends in a hard reset with a new session id, hence a new session.)
//
// OpenVPN's counter: with an AEAD data cipher (AES-GCM, ChaCha20-Poly1305: the only ones
// OpenVPN 2.6 negotiates by default), P_DATA_V2 is opcode|key_id, peer_id[3], packet_id[4],
// tag[16], ciphertext, so the 32-bit packet id is in clear at bytes 4..7 and counts up from 1
// per data key (key_id). With a CBC cipher those bytes are an HMAC and the packet id is
// encrypted; with OpenVPN 2.7's epoch data format they are a 16-bit epoch and the top of a
// 48-bit counter. The relay cannot tell which from one packet, so it learns it: a session's
// packet ids count as "in clear" only after kPacketIdProof consecutive packets on its current
// path, of one key id, whose bytes 4..7 went up by 1..kPacketIdStep each (random bytes do that
// with probability 2^-26 per packet). Until then its peer-id finds nothing and such a client
// roams the way it does without this table (a new session; OpenVPN's own float moves it at the
// backend on an authenticated packet). Control packets never move a path: their counters sit
// at wrapping-dependent offsets or are encrypted (tls-crypt), so the relay cannot order them.
//
// Bounded: at most max_sessions sessions are tracked (3 WireGuard indices, 2 OpenVPN session
// ids and 1 peer-id each); all memory is allocated by the constructor. forget_session() frees a
// session's entry; when the table is full, the entry untouched for longest is evicted if it has
// been untouched for stale_after, else the new session is not tracked (counted): it still
// works, it just cannot roam.
//
// Not thread-safe: one instance per server, used from the event loop that owns the session
// table; `now` must not go backwards (steady_clock).
//
// How the server calls it (src/relay/native_guard.cpp, NativeGuard). Only native UDP sessions take part:
// not agent sessions (the hop link has its own authenticated attach) and not TCP ones (their
// connection is their path).
//  - Backend -> client, every datagram of a native UDP session: learn_wg / learn_ovpn.
//  - Client -> backend on the session's current path: observe_wg / observe_ovpn.
//  - A datagram with no session for its (listener, address): find_wg / find_ovpn, then
//    accept_*_move; an accepted move re-keys the session (SessionTable::move_udp), and the
//    datagram goes through the found session's upstream socket either way, so stragglers from
//    the old address never open a second session (which would make the backend see the client
//    at a new port). nullopt: a new client (the source limiter decides).
//  - close_session: forget_session.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "porthop/guard/flat_index.hpp"
#include "porthop/guard/lru_list.hpp"
#include "porthop/wire/openvpn.hpp"
#include "porthop/wire/wireguard.hpp"

namespace porthop::guard {

// What accept_*_move decided, and why.
enum class Move : std::uint8_t {
    accepted,     // the reply path may move to the datagram's sender
    unknown,      // no live entry of this session carries the index / peer-id
    expired,      // WireGuard: the index is older than wg_index_lifetime (its keypair is dead)
    replayed,     // counter or packet id at or below the highest seen: replay or reordering
    too_far,      // more than max_counter_jump above the highest seen
    unproven,     // OpenVPN: packet ids not shown to be in clear, or this key id not seen yet
    not_movable,  // a kind that never moves a path (handshake, control, P_DATA_V1, too short)
};
inline constexpr std::size_t kMoveVerdicts = 7;
const char* to_string(Move move) noexcept;

class NativeRoaming {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        std::size_t max_sessions = 16384;  // sessions tracked; the server's max_sessions
        std::uint64_t max_counter_jump = std::uint64_t{1} << 20;
        Clock::duration wg_index_lifetime = std::chrono::seconds{180};  // REJECT_AFTER_TIME
        Clock::duration stale_after = std::chrono::seconds{180};  // evictable when full; >= idle_timeout
        std::uint64_t seed = 0;                                   // hash seed; 0: a random one
    };

    struct Stats {
        std::uint64_t wg_indices_learned = 0;
        std::uint64_t ovpn_peer_ids_learned = 0;
        std::uint64_t ovpn_session_ids_learned = 0;
        std::array<std::uint64_t, kMoveVerdicts> moves{};  // by Move verdict
        std::uint64_t table_full = 0;  // an entry or id not tracked: the table (or its index) full
        std::uint64_t evicted = 0;     // stale sessions dropped to make room
    };

    static constexpr std::size_t kWgIndicesPerSession = 3;
    static constexpr std::size_t kOvpnSessionIdsPerSession = 2;
    static constexpr unsigned kPacketIdProof = 4;
    static constexpr std::uint32_t kPacketIdStep = 64;

    NativeRoaming();
    explicit NativeRoaming(const Limits& limits);

    // ---- WireGuard --------------------------------------------------------------------------
    // A datagram the backend sent to session `session` (classified): learns the index of a
    // handshake initiation or response (its `sender`); ignores every other kind. The backend is
    // the authority on its indices: an index bound to another session moves to this one.
    void learn_wg(std::uint64_t session, const wire::wg::Packet& from_backend,
                  Clock::time_point now) noexcept;
    // A datagram from session `session`'s current path: a transport message advances its
    // index's highest counter (forward and within max_counter_jump only); the client's
    // handshake response restarts the clock of the index it answers.
    void observe_wg(std::uint64_t session, const wire::wg::Packet& from_client,
                    Clock::time_point now) noexcept;
    // The session whose live index a transport message from an unknown address carries.
    std::optional<std::uint64_t> find_wg(const wire::wg::Packet& from_client,
                                         Clock::time_point now) const noexcept;
    // Whether that message may move session `session`'s reply path; if accepted, its counter
    // becomes the index's highest.
    Move accept_wg_move(std::uint64_t session, const wire::wg::Packet& from_client,
                        Clock::time_point now) noexcept;

    // ---- OpenVPN ----------------------------------------------------------------------------
    // A datagram the backend sent to session `session`: a P_DATA_V2 binds its peer-id to it.
    void learn_ovpn(std::uint64_t session, const wire::ovpn::Packet& from_backend,
                    Clock::time_point now) noexcept;
    // A datagram from session `session`'s current path (`datagram` is its bytes): a control
    // packet binds the client's session id; a P_DATA_V2 of the session's peer-id feeds the
    // packet-id proof and advances its key id's highest packet id.
    void observe_ovpn(std::uint64_t session, const wire::ovpn::Packet& from_client,
                      std::span<const std::byte> datagram, Clock::time_point now) noexcept;
    // The session a datagram from an unknown address belongs to: control packets by the
    // client's session id, P_DATA_V2 by peer-id (only once the session's packet ids are proven
    // to be in clear).
    std::optional<std::uint64_t> find_ovpn(const wire::ovpn::Packet& from_client) const noexcept;
    Move accept_ovpn_move(std::uint64_t session, const wire::ovpn::Packet& from_client,
                          std::span<const std::byte> datagram, Clock::time_point now) noexcept;

    // The packet id at bytes 4..7 of a P_DATA_V2 (big-endian; meaningful with AEAD ciphers);
    // nullopt if the datagram is shorter.
    static std::optional<std::uint32_t> ovpn_packet_id(std::span<const std::byte> datagram) noexcept;

    // ---- lifetime ---------------------------------------------------------------------------
    void forget_session(std::uint64_t session) noexcept;

    std::size_t sessions() const noexcept { return by_session_.size(); }
    const Stats& stats() const noexcept { return stats_; }
    const Limits& limits() const noexcept { return limits_; }

private:
    static constexpr std::uint32_t kNone = FlatIndex::kAbsent;
    static Limits seeded(Limits limits);

    struct WgIndex {
        std::uint32_t index = 0;
        bool live = false;
        bool seen = false;     // a counter has been seen: `highest` is meaningful
        bool pending = false;  // from the backend's initiation, not answered yet
        std::uint64_t highest = 0;
        Clock::time_point learned{};
    };
    struct OvpnKey {  // per OpenVPN key id (0-7)
        bool seen = false;
        std::uint32_t highest = 0;
    };
    struct Entry {
        std::uint64_t session = 0;
        Clock::time_point touched{};
        std::uint32_t prev = kNone;  // LRU list, most recently touched first
        std::uint32_t next = kNone;  // LRU list, or the free list
        std::array<WgIndex, kWgIndicesPerSession> wg{};
        std::array<std::uint64_t, kOvpnSessionIdsPerSession> sids{};
        std::uint8_t sid_count = 0;  // sids[0, sid_count) are bound, oldest first
        std::uint32_t peer_id = wire::ovpn::kNoPeerId;
        std::array<OvpnKey, 8> keys{};
        bool ids_in_clear = false;  // packet ids proven to be a counter
        bool proof_started = false;
        std::uint8_t proof_key = 0;
        std::uint8_t proof_run = 0;
        std::uint32_t proof_last = 0;
    };

    bool forward(bool seen, std::uint64_t highest, std::uint64_t counter) const noexcept;
    std::uint32_t entry_of(std::uint64_t session) const noexcept;
    std::uint32_t find_or_add(std::uint64_t session, Clock::time_point now) noexcept;
    void touch(std::uint32_t i, Clock::time_point now) noexcept;
    void release(std::uint32_t i) noexcept;
    void drop_wg(Entry& e, std::size_t slot) noexcept;
    void drop_sid(Entry& e, std::size_t slot) noexcept;
    void drop_peer(Entry& e) noexcept;
    Move count(Move move) noexcept;

    Limits limits_;
    std::vector<Entry> entries_;
    FlatIndex by_session_;  // session id -> entry
    FlatIndex by_wg_;       // backend index -> entry
    FlatIndex by_sid_;      // client's OpenVPN session id -> entry
    FlatIndex by_peer_;     // OpenVPN peer-id -> entry
    std::uint32_t free_ = kNone;
    LruList lru_;  // through Entry::prev/next, most recently touched first
    Stats stats_;
};

}  // namespace porthop::guard
