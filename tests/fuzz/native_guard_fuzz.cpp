// libFuzzer target: the protocol-aware pieces of the native-client guard (issue 5) --
// wire/protocol (classify_native, carries, is_handshake, parse_protocol), guard/native_roaming
// and guard/source_limiter -- driven statefully with a fake monotonic clock.
//
// Input: two configuration bytes, then operations, each
//   op, session, time step, length (u16 little-endian), datagram (truncated to what is left)
// op & 15 picks the call (learn/observe/find/accept/forget on NativeRoaming, allow_handshake /
// acquire_session / release_session on SourceLimiter); op & 0x80 builds the datagram from a
// compact template (WireGuard handshake or transport, OpenVPN P_DATA_V2 or control) over a few
// indices, peer-ids and session ids, so learned and moved ids meet; otherwise the datagram's
// bytes are used as they are (the seeds hold captured packets, tests/fixtures). The clock
// advances by the time step before every operation.
//
// Checks (std::abort on violation), only what the headers document:
//  - protocol: never WireGuard and OpenVPN at once; classify_native(x, any) is exactly
//    wg::classify and ovpn::classify; a single-protocol classification agrees with `any` and
//    leaves the other side invalid; carries(any, x) always, carries(wireguard, x) ==
//    x.is_wireguard(), carries(openvpn, x) == OpenVPN and not the server's hard reset;
//    is_handshake == WireGuard initiation or OpenVPN hard reset client v2/v3; parse_protocol
//    accepts exactly the three names; none of it allocates.
//  - NativeRoaming, against a model that knows only what the header promises, and so under-
//    approximates what the table holds and its highest counters: sessions() <= max_sessions
//    and <= the sessions learned/observed and not forgotten; find_* returns only such a
//    session: for WireGuard the last to learn the index (the backend's authority) within
//    wg_index_lifetime of its latest possible clock restart, for OpenVPN control one that sent
//    that session id, for P_DATA_V2 the last to learn the peer-id, after kPacketIdProof - 1 or
//    more consecutive steps of 1..kPacketIdStep on one key id; accept_*_move counts exactly its
//    verdict, is not_movable exactly for kinds that never move, and never accepts a counter /
//    packet id at or below one the table accepted or advanced to from the current path since
//    it last bound the index / peer-id afresh; where the model knows the table's highest
//    exactly, the verdict is the documented one (accepted iff above it by at most
//    max_counter_jump, for an index certainly held and live). Liveness: table_full only when
//    the table is full (max_sessions, nothing evicted); a learn or observe that counts no
//    table_full is findable at once, and stays so until something could have dropped it
//    (another session learning it, a session with a full set taking one more, an eviction,
//    forget_session). Stats only grow; no call allocates.
//  - SourceLimiter: sources() <= max_sources; allowed + refused_* == calls, each call counting
//    exactly one verdict of its kind; key_of maps IPv4, IPv4-mapped IPv6 and IPv6 /64 as
//    documented; per source, the allowed handshakes in any window of length W number at most
//    burst + W / interval (token bucket); a source with room in the table and an idle bucket is
//    allowed; sessions_of == the model's acquired - released, never above the cap; a
//    session is refused at the cap and granted below it when there is room; no call allocates.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "fuzz_support.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/guard/native_roaming.hpp"
#include "porthop/guard/source_limiter.hpp"
#include "porthop/wire/openvpn.hpp"
#include "porthop/wire/protocol.hpp"
#include "porthop/wire/wireguard.hpp"

namespace wire = porthop::wire;
namespace wg = porthop::wire::wg;
namespace ovpn = porthop::wire::ovpn;
using porthop::net::Endpoint;
using porthop::guard::Move;
using porthop::guard::NativeRoaming;
using porthop::guard::SourceKey;
using porthop::guard::SourceLimiter;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

using porthop::fuzz::check;
using porthop::fuzz::no_alloc;

using Bytes = std::span<const std::byte>;

bool same(const wg::Packet& a, const wg::Packet& b) {
    return a.kind == b.kind && a.sender == b.sender && a.receiver == b.receiver && a.counter == b.counter;
}
bool same(const ovpn::Packet& a, const ovpn::Packet& b) {
    return a.kind == b.kind && a.opcode == b.opcode && a.key_id == b.key_id && a.session_id == b.session_id &&
           a.peer_id == b.peer_id;
}
bool invalid(const wg::Packet& p) { return same(p, wg::Packet{}); }
bool invalid(const ovpn::Packet& p) {
    return p.kind == ovpn::Kind::invalid && p.session_id == 0 && p.peer_id == 0;
}

bool client_hard_reset(const ovpn::Packet& p) {
    return p.kind == ovpn::Kind::control && (p.opcode == ovpn::Opcode::control_hard_reset_client_v2 ||
                                             p.opcode == ovpn::Opcode::control_hard_reset_client_v3);
}

void check_native(const wire::Native& n) {
    check(!(n.is_wireguard() && n.is_openvpn()));
    check(wire::carries(wire::Protocol::any, n));
    check(wire::carries(wire::Protocol::wireguard, n) == n.is_wireguard());
    check(wire::carries(wire::Protocol::openvpn, n) ==
          (n.is_openvpn() && n.ovpn.opcode != ovpn::Opcode::control_hard_reset_server_v2));
    const bool hs = no_alloc([&] { return wire::is_handshake(n); });
    check(hs == (n.wg.kind == wg::Kind::initiation || client_hard_reset(n.ovpn)));
}

// Part 1: wire/protocol on one datagram. Returns the `any` classification.
wire::Native check_protocol(Bytes d) {
    const auto [any, wgo, ovo, wgc, ovc] = no_alloc([&] {
        return std::tuple{wire::classify_native(d, wire::Protocol::any),
                          wire::classify_native(d, wire::Protocol::wireguard),
                          wire::classify_native(d, wire::Protocol::openvpn), wg::classify(d),
                          ovpn::classify(d)};
    });
    // "Classifies with both": the any answer is each classifier's (which also says that the two
    // never both accept: the `any` path could not report both).
    check(same(any.wg, wgc) && same(any.ovpn, ovc));
    check(same(wgo.wg, any.wg) && invalid(wgo.ovpn));
    check(same(ovo.ovpn, any.ovpn) && invalid(ovo.wg));
    check_native(any);
    check_native(wgo);
    check_native(ovo);

    const std::string_view text(reinterpret_cast<const char*>(d.data()), d.size());
    const auto parsed = no_alloc([&] { return wire::parse_protocol(text); });
    check(parsed.has_value() == (text == "any" || text == "wireguard" || text == "openvpn"));
    if (parsed) check(text == wire::to_string(*parsed));
    return any;
}

// ---- input ----------------------------------------------------------------------------------

struct Reader {
    const std::uint8_t* p;
    std::size_t n;
    std::size_t at = 0;
    std::size_t left() const { return n - at; }
    std::uint8_t byte() { return at < n ? p[at++] : 0; }
};

std::uint8_t get(Bytes b, std::size_t i) { return i < b.size() ? std::to_integer<std::uint8_t>(b[i]) : 0; }

void put_le(std::vector<std::byte>& v, std::size_t at, std::uint64_t x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) v[at + i] = static_cast<std::byte>(x >> (8 * i));
}
void put_be(std::vector<std::byte>& v, std::size_t at, std::uint64_t x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) v[at + i] = static_cast<std::byte>(x >> (8 * (n - 1 - i)));
}

// A datagram from a compact template t: t[0] & 7 picks the kind, its high bits the key id or
// padding, and the next bytes the ids, from small sets (8 WireGuard indices, 8 peer-ids, 8
// OpenVPN session ids) so that they recur, and the counter or packet id.
std::vector<std::byte> synthesize(Bytes t) {
    const std::uint8_t k = get(t, 0);
    const std::uint32_t index = 0x1000 + (get(t, 1) & 7);
    std::uint64_t counter = 0;
    for (std::size_t i = 0; i < 8; ++i) counter |= std::uint64_t{get(t, 2 + i)} << (8 * i);
    std::vector<std::byte> d;
    switch (k & 7) {
        case 0:  // WireGuard initiation, sender `index`
            d.assign(wg::kInitiationSize, std::byte{0x5A});
            put_le(d, 0, 1, 4);
            put_le(d, 4, index, 4);
            break;
        case 1:  // WireGuard response, sender `index`, receiver from byte 2 (from the same set)
            d.assign(wg::kResponseSize, std::byte{0x5A});
            put_le(d, 0, 2, 4);
            put_le(d, 4, index, 4);
            put_le(d, 8, 0x1000 + (get(t, 2) & 7), 4);
            break;
        case 2:  // WireGuard transport to `index`, counter from bytes 2..9 (LE), k >> 4 bytes of padding
        case 3:
        case 6:
            d.assign(wg::kKeepaliveSize + (k >> 4), std::byte{0xA5});
            put_le(d, 0, 4, 4);
            put_le(d, 4, index, 4);
            put_le(d, 8, counter, 8);
            break;
        // OpenVPN P_DATA_V2: key id k >> 5, peer-id byte 1 (0xFF: none), packet id bytes 2..5
        // (big-endian), k >> 3 & 3 bytes of padding.
        case 4:
        case 7: {
            d.assign(4 + 4 + 16 + (k >> 3 & 3), std::byte{0xC3});
            d[0] = static_cast<std::byte>(9 << 3 | k >> 5);
            put_be(d, 1, get(t, 1) == 0xFF ? ovpn::kNoPeerId : get(t, 1) & 7, 3);
            put_be(d, 4, std::uint32_t{get(t, 2)} << 24 | get(t, 3) << 16 | get(t, 4) << 8 | get(t, 5), 4);
            break;
        }
        default: {  // 5: OpenVPN control, opcode from byte 2, session id from byte 1, key id k >> 5
            static constexpr std::uint8_t kOps[] = {3, 4, 5, 7, 8, 10, 11};
            d.assign(ovpn::kMinAckSize, std::byte{0});
            d[0] = static_cast<std::byte>(kOps[get(t, 2) % 7] << 3 | k >> 5);
            put_be(d, 1, 0x5E55'0000'0000'0000ull | (get(t, 1) & 7), 8);
            break;
        }
    }
    return d;
}

// A client address from a byte: IPv4 198.51.100.x, the same as IPv4-mapped IPv6, IPv6
// 2001:db8:0:(x & 3)::x (four /64s), or no address at all.
Endpoint endpoint(std::uint8_t b) {
    const std::uint8_t host = b & 7;
    const std::uint16_t port = htons(static_cast<std::uint16_t>(40000 + (b >> 5)));
    switch (b >> 3 & 3) {
        case 0: {
            sockaddr_in v4{};
            v4.sin_family = AF_INET;
            v4.sin_port = port;
            v4.sin_addr.s_addr = htonl(0xC6336400u | host);
            return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
        }
        case 1:
        case 2: {
            sockaddr_in6 v6{};
            v6.sin6_family = AF_INET6;
            v6.sin6_port = port;
            auto* a = v6.sin6_addr.s6_addr;
            if ((b >> 3 & 3) == 1) {
                a[10] = a[11] = 0xFF;
                a[12] = 198, a[13] = 51, a[14] = 100, a[15] = host;
            } else {
                a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[7] = host & 3, a[15] = host;
            }
            return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
        }
        default:
            return Endpoint{};
    }
}

// What key_of must give for endpoint(b) (source_limiter.hpp).
std::optional<std::uint64_t> expected_key(std::uint8_t b) {
    const std::uint8_t host = b & 7;
    switch (b >> 3 & 3) {
        case 0:
        case 1:
            return 0xff000000'00000000ull | 0xC6336400u | host;
        case 2:
            return 0x20010db8'00000000ull | (host & 3);
        default:
            return std::nullopt;
    }
}

// ---- the roaming model ----------------------------------------------------------------------

struct WgModel {                     // by backend index
    std::uint64_t owner = 0;         // the session that learned it last
    Clock::time_point learned_lo{};  // last learn (or certain restart): the table's clock is not older
    Clock::time_point restart_hi{};  // last learn or client response: its clock is not newer
    bool seen = false;               // `highest` is a counter the table has (or had, lower)
    bool exact = true;               // ... and the table's own, while it holds the index
    std::uint64_t highest = 0;
};
struct KeyModel {
    bool observed = false;  // a P_DATA_V2 of this key id was observed since the binding
    bool seen = false;      // as for WgModel
    bool exact = true;
    std::uint32_t highest = 0;
};
struct PeerModel {  // by peer-id
    std::uint64_t owner = 0;
    bool started = false;
    std::uint8_t last_key = 0;
    std::uint32_t last = 0;
    unsigned run = 0, best_run = 0;  // consecutive small steps of one key id's packet ids
    std::array<KeyModel, 8> keys{};
};

// Ids a session holds: `possibly` (a superset of what the table has: ids bound to it and not
// known to be gone) and `surely` (a subset: bound, and nothing since could have dropped them).
// A session keeps kWgIndicesPerSession indices and kOvpnSessionIdsPerSession session ids, so
// binding one more drops another only when `possibly` is full; an eviction (of some session the
// model cannot name) empties every other session's `surely`.
struct Held {
    std::set<std::uint64_t> possibly, surely;

    void bind(std::uint64_t id, std::size_t capacity) {
        if (surely.count(id)) return;  // bound already: nothing moves
        possibly.erase(id);
        if (possibly.size() >= capacity) surely.clear();  // one of them may have been replaced
        possibly.insert(id);
        surely.insert(id);
    }
    void drop(std::uint64_t id) {
        possibly.erase(id);
        surely.erase(id);
    }
};

struct Roaming {
    NativeRoaming table;
    std::set<std::uint64_t> known;  // learned or observed, not forgotten since
    std::map<std::uint32_t, WgModel> wg;
    std::map<std::uint32_t, PeerModel> peers;
    std::set<std::pair<std::uint64_t, std::uint64_t>> sids;  // (session, OpenVPN session id) observed
    // For liveness: what the table certainly has (by session).
    std::map<std::uint64_t, Held> wg_held, sid_held;
    std::map<std::uint64_t, std::uint32_t> peer_held;
    NativeRoaming::Stats last{};

    explicit Roaming(const NativeRoaming::Limits& l) : table(l) {}

    const NativeRoaming::Limits& limits() const { return table.limits(); }
    bool within_jump(std::uint64_t highest, std::uint64_t c) const {
        return c > highest && c - highest <= limits().max_counter_jump;
    }

    void forget_model(std::uint64_t s) {
        known.erase(s);
        std::erase_if(wg, [&](const auto& kv) { return kv.second.owner == s; });
        std::erase_if(peers, [&](const auto& kv) { return kv.second.owner == s; });
        std::erase_if(sids, [&](const auto& p) { return p.first == s; });
        wg_held.erase(s);
        sid_held.erase(s);
        peer_held.erase(s);
    }
    void reset_keys_of(std::uint64_t s) {  // a control packet may start data keys afresh
        for (auto& [id, m] : peers)
            if (m.owner == s)
                for (auto& k : m.keys) k.seen = k.exact = false;
    }

    // Who certainly holds a WireGuard index / OpenVPN session id now (nullopt: nobody for sure).
    static std::optional<std::uint64_t> holder(const std::map<std::uint64_t, Held>& held, std::uint64_t id) {
        for (const auto& [s, h] : held)
            if (h.surely.count(id)) return s;
        return std::nullopt;
    }

    // After a call about `session` that may add it: if that evicted a session (which one the
    // model cannot tell), nothing of the others' is certain any more.
    void note_eviction(std::uint64_t session, const NativeRoaming::Stats& before) {
        if (table.stats().evicted == before.evicted) return;
        for (auto* held : {&wg_held, &sid_held})
            for (auto& [o, h] : *held)
                if (o != session) h.surely.clear();
        std::erase_if(peer_held, [&](const auto& kv) { return kv.first != session; });
    }

    // table_full counts an id not tracked because the table is full (no room, and its least
    // recently touched session is younger than stale_after): then it had max_sessions sessions
    // and evicted none. (Its indexes are sized for every id of a full table, and at these sizes
    // hold fewer slots than FlatIndex::kMaxProbe, so they never refuse on their own.)
    void check_table_full(const NativeRoaming::Stats& before, std::size_t sessions_before) {
        if (table.stats().table_full == before.table_full) return;
        check(sessions_before == limits().max_sessions && table.stats().evicted == before.evicted);
    }

    // After every operation: bounds and monotonic stats.
    void after() {
        check(table.sessions() <= limits().max_sessions);
        check(table.sessions() <= known.size());
        const auto& s = table.stats();
        check(s.wg_indices_learned >= last.wg_indices_learned);
        check(s.ovpn_peer_ids_learned >= last.ovpn_peer_ids_learned);
        check(s.ovpn_session_ids_learned >= last.ovpn_session_ids_learned);
        check(s.table_full >= last.table_full && s.evicted >= last.evicted);
        for (std::size_t i = 0; i < s.moves.size(); ++i) check(s.moves[i] >= last.moves[i]);
        // One evicted session per new one at most, and a learn adds at most one id.
        check(s.evicted - last.evicted <= 1);
        check(s.wg_indices_learned - last.wg_indices_learned <= 1);
        check(s.ovpn_peer_ids_learned - last.ovpn_peer_ids_learned <= 1);
        check(s.ovpn_session_ids_learned - last.ovpn_session_ids_learned <= 1);
        last = s;
    }

    void learn_wg(std::uint64_t s, const wg::Packet& p, Clock::time_point now) {
        const auto before = table.stats();
        const std::size_t sessions_before = table.sessions();
        no_alloc([&] { table.learn_wg(s, p, now); });
        known.insert(s);
        note_eviction(s, before);
        check_table_full(before, sessions_before);
        if (p.kind != wg::Kind::initiation && p.kind != wg::Kind::response) return;
        const bool fresh = table.stats().wg_indices_learned != before.wg_indices_learned;
        const bool full = table.stats().table_full != before.table_full;
        auto it = wg.find(p.sender);
        if (fresh || it == wg.end() || it->second.owner != s) {
            wg[p.sender] = WgModel{.owner = s, .learned_lo = now, .restart_hi = now};
        } else {
            it->second.learned_lo = it->second.restart_hi = now;  // same index again: counter kept
        }
        for (auto& [o, h] : wg_held)  // the backend's authority: nobody else has it now
            if (o != s) h.drop(p.sender);
        if (full) {
            wg_held[s].surely.clear();  // a slot may have been emptied for it in vain
        } else {
            wg_held[s].bind(p.sender, NativeRoaming::kWgIndicesPerSession);
            // Tracked: a transport message to it finds this session now.
            const wg::Packet probe{wg::Kind::transport, 0, p.sender, 0};
            check(no_alloc([&] { return table.find_wg(probe, now); }) == std::optional<std::uint64_t>{s});
        }
    }

    void observe_wg(std::uint64_t s, const wg::Packet& p, Clock::time_point now) {
        no_alloc([&] { table.observe_wg(s, p, now); });
        known.insert(s);
        const auto it = wg.find(p.receiver);
        if (it == wg.end() || it->second.owner != s) return;
        WgModel& m = it->second;
        if (p.kind == wg::Kind::response) {
            m.restart_hi = now;  // "the client's handshake response restarts the clock"
            if (const auto h = wg_held.find(s); h != wg_held.end() && h->second.surely.count(p.receiver))
                m.learned_lo = now;  // certainly held, so certainly restarted
        } else if (p.kind == wg::Kind::transport) {
            const bool alive = now - m.learned_lo < limits().wg_index_lifetime;  // certainly
            const bool dead = now - m.restart_hi >= limits().wg_index_lifetime;  // certainly: ignored
            if (dead) return;
            if (!alive) {
                m.exact = false;
            } else if (!m.seen) {
                // A keypair's first counter is 0: the move right after a handshake must work.
                // Any other first counter's fate is not specified.
                if (m.exact && p.counter == 0) {
                    m.seen = true;
                    m.highest = 0;
                } else {
                    m.exact = false;
                }
            } else if (within_jump(m.highest, p.counter)) {
                m.highest = p.counter;  // forward and within the cap: the table's highest now
            }
        }
    }

    // Whether session s certainly holds index `index` unexpired.
    bool surely_live(std::uint64_t s, std::uint32_t index, Clock::time_point now) const {
        const auto h = wg_held.find(s);
        const auto m = wg.find(index);
        return h != wg_held.end() && h->second.surely.count(index) && m != wg.end() && m->second.owner == s &&
               now - m->second.learned_lo < limits().wg_index_lifetime;
    }

    void check_found_wg(const wg::Packet& p, std::optional<std::uint64_t> r, Clock::time_point now) {
        if (p.kind == wg::Kind::transport)
            if (const auto h = holder(wg_held, p.receiver); h && surely_live(*h, p.receiver, now))
                check(r == h);
        if (!r) return;
        check(p.kind == wg::Kind::transport && known.count(*r));
        const auto it = wg.find(p.receiver);
        check(it != wg.end() && it->second.owner == *r);
        check(now - it->second.restart_hi < limits().wg_index_lifetime);
    }

    Move counted(const NativeRoaming::Stats& before, Move v) {
        const auto& s = table.stats();
        std::uint64_t added = 0;
        for (std::size_t i = 0; i < s.moves.size(); ++i) added += s.moves[i] - before.moves[i];
        check(added == 1 &&
              s.moves[static_cast<std::size_t>(v)] == before.moves[static_cast<std::size_t>(v)] + 1);
        check(std::string_view(porthop::guard::to_string(v)) != "?");
        return v;
    }

    void accept_wg(std::uint64_t s, const wg::Packet& p, Clock::time_point now) {
        const auto before = table.stats();
        const Move v = counted(before, no_alloc([&] { return table.accept_wg_move(s, p, now); }));
        check((p.kind != wg::Kind::transport) == (v == Move::not_movable));
        check(v != Move::unproven);
        if (p.kind != wg::Kind::transport) return;  // (a cookie reply carries a receiver too)
        const auto it = wg.find(p.receiver);
        const WgModel* m = it != wg.end() && it->second.owner == s ? &it->second : nullptr;
        if (m && m->seen && p.counter <= m->highest)
            check(v == Move::replayed || v == Move::expired || v == Move::unknown);
        if (v == Move::too_far && m && m->seen) check(p.counter > m->highest);
        if (v == Move::expired) check(m && now - m->learned_lo >= limits().wg_index_lifetime);
        if (surely_live(s, p.receiver, now)) check(v != Move::unknown && v != Move::expired);
        if (m && m->seen && m->exact) {  // the verdict is the documented one
            const bool forward = within_jump(m->highest, p.counter);
            if (v == Move::accepted) check(forward);
            if (v == Move::replayed) check(p.counter <= m->highest);
            if (v == Move::too_far) check(p.counter > m->highest && !forward);
            if (forward && surely_live(s, p.receiver, now)) check(v == Move::accepted);
        }
        if (v != Move::accepted) return;
        check(m && known.count(s) && now - m->restart_hi < limits().wg_index_lifetime);
        check(!m->seen || p.counter > m->highest);
        it->second.seen = it->second.exact = true;
        it->second.highest = p.counter;
    }

    void learn_ovpn(std::uint64_t s, const ovpn::Packet& p, Clock::time_point now) {
        const auto before = table.stats();
        const std::size_t sessions_before = table.sessions();
        no_alloc([&] { table.learn_ovpn(s, p, now); });
        known.insert(s);
        note_eviction(s, before);
        check_table_full(before, sessions_before);
        if (p.kind == ovpn::Kind::control) reset_keys_of(s);
        if (p.kind != ovpn::Kind::data_v2 || p.peer_id == ovpn::kNoPeerId) return;
        const bool fresh = table.stats().ovpn_peer_ids_learned != before.ovpn_peer_ids_learned;
        std::erase_if(peer_held, [&](const auto& kv) { return kv.second == p.peer_id; });
        if (table.stats().table_full != before.table_full)
            peer_held.erase(s);
        else
            peer_held[s] = p.peer_id;
        const auto it = peers.find(p.peer_id);
        if (fresh || it == peers.end() || it->second.owner != s) {
            // A new binding: the session's previous peer-id is gone, and so is what was learned.
            std::erase_if(peers, [&](const auto& kv) { return kv.second.owner == s; });
            peers[p.peer_id] = PeerModel{.owner = s};
        }
    }

    void observe_ovpn(std::uint64_t s, const ovpn::Packet& p, Bytes d, Clock::time_point now) {
        const auto before = table.stats();
        const std::size_t sessions_before = table.sessions();
        no_alloc([&] { table.observe_ovpn(s, p, d, now); });
        known.insert(s);
        note_eviction(s, before);
        check_table_full(before, sessions_before);
        if (p.kind == ovpn::Kind::control) {
            reset_keys_of(s);
            sids.insert({s, p.session_id});
            if (table.stats().table_full == before.table_full) {
                // Bound now, to this session or (first come, first served) an earlier one.
                const auto r = no_alloc([&] { return table.find_ovpn(p); });
                check(r.has_value());
                check_found_ovpn(p, r);
                if (r == s) sid_held[s].bind(p.session_id, NativeRoaming::kOvpnSessionIdsPerSession);
            } else {
                sid_held[s].surely.clear();  // the oldest may have gone to make room, in vain
            }
            return;
        }
        const auto id = NativeRoaming::ovpn_packet_id(d);
        if (p.kind != ovpn::Kind::data_v2 || p.peer_id == ovpn::kNoPeerId || !id) return;
        const auto it = peers.find(p.peer_id);
        if (it == peers.end() || it->second.owner != s) return;
        PeerModel& m = it->second;
        const bool step = m.started && m.last_key == p.key_id && *id > m.last &&
                          *id - m.last <= NativeRoaming::kPacketIdStep;
        m.run = step ? m.run + 1 : 0;
        m.best_run = std::max(m.best_run, m.run);
        m.started = true;
        m.last_key = p.key_id;
        m.last = *id;
        KeyModel& k = m.keys[p.key_id & 7];
        k.observed = true;
        if (!k.seen) {
            // A data key's packet ids start at 1 (as for WireGuard's 0 in observe_wg).
            if (k.exact && *id == 1) {
                k.seen = true;
                k.highest = 1;
            } else {
                k.exact = false;
            }
        } else if (within_jump(k.highest, *id))
            k.highest = *id;
    }

    bool proven(const PeerModel& m) const { return m.best_run + 1 >= NativeRoaming::kPacketIdProof; }

    void check_found_ovpn(const ovpn::Packet& p, std::optional<std::uint64_t> r) {
        if (p.kind == ovpn::Kind::control)
            if (const auto h = holder(sid_held, p.session_id)) check(r == h);
        if (!r) return;
        check(known.count(*r));
        if (p.kind == ovpn::Kind::control) {
            check(sids.count({*r, p.session_id}));
            return;
        }
        check(p.kind == ovpn::Kind::data_v2 && p.peer_id != ovpn::kNoPeerId);
        const auto it = peers.find(p.peer_id);
        check(it != peers.end() && it->second.owner == *r && proven(it->second));
    }

    void accept_ovpn(std::uint64_t s, const ovpn::Packet& p, Bytes d, Clock::time_point now) {
        const auto before = table.stats();
        const Move v = counted(before, no_alloc([&] { return table.accept_ovpn_move(s, p, d, now); }));
        const auto id = NativeRoaming::ovpn_packet_id(d);
        const bool movable = p.kind == ovpn::Kind::data_v2 && p.peer_id != ovpn::kNoPeerId && id;
        check(movable == (v != Move::not_movable));
        check(v != Move::expired);
        if (!movable) return;
        const auto it = peers.find(p.peer_id);
        PeerModel* m = it != peers.end() && it->second.owner == s ? &it->second : nullptr;
        KeyModel* k = m ? &m->keys[p.key_id & 7] : nullptr;
        if (const auto h = peer_held.find(s); h != peer_held.end() && h->second == p.peer_id)
            check(v != Move::unknown);
        if (k && k->seen && *id <= k->highest)
            check(v == Move::replayed || v == Move::unproven || v == Move::unknown);
        if (v == Move::too_far && k && k->seen) check(*id > k->highest);
        if (k && k->seen && k->exact) {
            const bool forward = within_jump(k->highest, *id);
            if (v == Move::accepted) check(forward);
            if (v == Move::replayed) check(*id <= k->highest);
            if (v == Move::too_far) check(*id > k->highest && !forward);
            // Bound, shown in clear (kPacketIdProof steps: enough however they are counted), and
            // forward: the documented move.
            const auto h = peer_held.find(s);
            if (forward && h != peer_held.end() && h->second == p.peer_id &&
                m->best_run >= NativeRoaming::kPacketIdProof)
                check(v == Move::accepted);
        }
        if (v != Move::accepted) return;
        check(m && known.count(s) && proven(*m) && k->observed);
        check(!k->seen || *id > k->highest);
        k->seen = k->exact = true;
        k->highest = *id;
    }
};

// ---- the limiter model ----------------------------------------------------------------------

struct Limiter {
    SourceLimiter table;
    std::uint64_t calls = 0;
    std::map<std::uint64_t, std::uint32_t> held;                      // sessions acquired - released, by key
    std::vector<std::uint64_t> held_keys;                             // one entry per session held
    std::map<std::uint64_t, std::vector<Clock::time_point>> allowed;  // allowed handshakes
    std::map<std::uint64_t, Clock::time_point> active;  // last call about the key (>= its `last`)
    SourceLimiter::Stats last{};
    Clock::duration interval_lo{}, refill_hi{};

    explicit Limiter(const SourceLimiter::Limits& l) : table(l) {
        const auto& lim = table.limits();
        if (lim.handshakes_per_second != 0) {
            const auto second = std::chrono::duration_cast<Clock::duration>(1s).count();
            const auto rate = static_cast<Clock::rep>(lim.handshakes_per_second);
            interval_lo = Clock::duration{second / rate};
            refill_hi = Clock::duration{(second + rate - 1) / rate} * std::max<std::uint32_t>(lim.burst, 1);
        }
    }

    std::uint64_t total(const SourceLimiter::Stats& s) const {
        return s.handshakes_allowed + s.sessions_acquired + s.refused_rate + s.refused_sessions +
               s.refused_table_full + s.refused_invalid;
    }

    // A new source certainly gets an entry: a free one, or an idle one old enough to evict.
    bool room_for(std::uint64_t key, Clock::time_point now) const {
        if (table.sources() < table.limits().max_sources) return true;
        if (const auto h = held.find(key); h != held.end() && h->second > 0) return true;
        std::size_t pinned = 0;
        for (const auto& [k, n] : held) pinned += n > 0;
        if (pinned >= table.limits().max_sources) return false;
        for (const auto& [k, t] : active) {
            const auto h = held.find(k);
            if ((h == held.end() || h->second == 0) && now - t < refill_hi) return false;
        }
        return true;
    }

    void after(const SourceLimiter::Stats& before) {
        const auto& s = table.stats();
        check(table.sources() <= table.limits().max_sources);
        check(s.handshakes_allowed >= before.handshakes_allowed &&
              s.sessions_acquired >= before.sessions_acquired);
        check(s.refused_rate >= before.refused_rate && s.refused_sessions >= before.refused_sessions);
        check(s.refused_table_full >= before.refused_table_full &&
              s.refused_invalid >= before.refused_invalid);
        check(s.evicted >= before.evicted);
        check(total(s) == calls);
        std::size_t pinned = 0;
        for (const auto& [k, n] : held) {
            pinned += n > 0;
            if (table.limits().sessions_per_source != 0) check(n <= table.limits().sessions_per_source);
            check(table.sessions_of(SourceKey{k}) == n);
        }
        check(pinned <= table.sources());
        last = s;
    }

    void allow(std::uint8_t who, Clock::time_point now) {
        const Endpoint from = endpoint(who);
        const auto want = expected_key(who);
        const auto key = SourceLimiter::key_of(from);
        check(key.has_value() == want.has_value() && (!key || static_cast<std::uint64_t>(*key) == *want));
        const auto before = table.stats();
        // Certainly allowed: no rate, or room and no handshake allowed for a whole refill.
        bool sure = false;
        if (want) {
            const auto& times = allowed[*want];
            sure = table.limits().handshakes_per_second == 0 ||
                   (room_for(*want, now) && (times.empty() || now - times.back() >= refill_hi));
        }
        const bool ok = no_alloc([&] { return table.allow_handshake(from, now); });
        ++calls;
        const auto& s = table.stats();
        if (ok) {
            check(s.handshakes_allowed == before.handshakes_allowed + 1 && total(s) == total(before) + 1);
        } else {
            check(s.handshakes_allowed == before.handshakes_allowed &&
                  s.refused_sessions == before.refused_sessions);
            check(s.refused_rate + s.refused_table_full + s.refused_invalid ==
                  before.refused_rate + before.refused_table_full + before.refused_invalid + 1);
        }
        if (!want) {
            check(!ok && s.refused_invalid == before.refused_invalid + 1);
        } else {
            active[*want] = now;
            if (sure) check(ok);
            if (ok && table.limits().handshakes_per_second != 0) {
                // Token bucket: in any window [t0, now], at most burst + (now - t0) / interval.
                auto& times = allowed[*want];
                times.push_back(now);
                const std::uint64_t burst = std::max<std::uint32_t>(table.limits().burst, 1);
                for (std::size_t i = 0; i < times.size(); ++i) {
                    const auto in_window = static_cast<std::uint64_t>(times.size() - i);
                    const auto refills = static_cast<std::uint64_t>((now - times[i]) / interval_lo);
                    check(in_window <= burst + refills);
                }
                if (times.size() > 64) times.erase(times.begin(), times.begin() + 32);
            }
        }
        after(before);
    }

    void acquire(std::uint8_t who, Clock::time_point now) {
        const Endpoint from = endpoint(who);
        const auto want = expected_key(who);
        const auto before = table.stats();
        const auto cap = table.limits().sessions_per_source;
        const std::uint32_t had = want && held.count(*want) ? held[*want] : 0;
        const bool sure = want && (cap == 0 || (had < cap && room_for(*want, now)));
        const auto r = no_alloc([&] { return table.acquire_session(from, now); });
        ++calls;
        const auto& s = table.stats();
        if (r) {
            check(want && static_cast<std::uint64_t>(*r) == *want);
            check(s.sessions_acquired == before.sessions_acquired + 1 && total(s) == total(before) + 1);
            check(cap == 0 || had < cap);
            if (cap != 0) {
                ++held[*want];
                held_keys.push_back(*want);
            }
        } else {
            check(s.sessions_acquired == before.sessions_acquired && s.refused_rate == before.refused_rate);
            check(s.refused_sessions + s.refused_table_full + s.refused_invalid ==
                  before.refused_sessions + before.refused_table_full + before.refused_invalid + 1);
            check(!sure);
            if (!want) check(s.refused_invalid == before.refused_invalid + 1);
            if (want && cap != 0 && had >= cap) check(s.refused_sessions == before.refused_sessions + 1);
        }
        if (want) active[*want] = now;
        after(before);
    }

    void release(std::uint8_t who, Bytes d, Clock::time_point now) {
        std::uint64_t key;
        if (!held_keys.empty() && !(who & 0x80)) {
            key = held_keys[who % held_keys.size()];
        } else if (d.size() >= 8) {  // any key at all, mostly one the limiter does not know
            key = 0;
            for (std::size_t i = 0; i < 8; ++i) key = key << 8 | std::to_integer<std::uint64_t>(d[i]);
        } else {
            key = expected_key(who).value_or(0);
        }
        const auto before = table.stats();
        no_alloc([&] { table.release_session(SourceKey{key}, now); });
        if (const auto h = held.find(key); h != held.end() && h->second > 0) {
            --h->second;
            held_keys.erase(std::find(held_keys.begin(), held_keys.end(), key));
            active[key] = now;  // back on the idle list from now
        }
        check(total(table.stats()) == total(before));
        after(before);
    }
};

Clock::duration step_of(std::uint8_t b) {
    static constexpr Clock::duration kUnit[] = {1ms, 100ms, 1s, 60s};
    return kUnit[b >> 6] * (b & 63);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop::fuzz::install_allocation_hooks();
    for (const auto p : {wire::Protocol::any, wire::Protocol::wireguard, wire::Protocol::openvpn})
        check(wire::parse_protocol(wire::to_string(p)) == p);
    for (std::size_t m = 0; m < porthop::guard::kMoveVerdicts; ++m)
        check(std::string_view(porthop::guard::to_string(static_cast<Move>(m))) != "?");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_protocol(Bytes(reinterpret_cast<const std::byte*>(data), size));

    Reader in{data, size};
    const std::uint8_t c0 = in.byte(), c1 = in.byte();

    SourceLimiter::Limits ll;
    static constexpr std::uint32_t kRates[] = {0, 3, 20, 1000};
    ll.handshakes_per_second = kRates[c0 & 3];
    ll.burst = (c0 >> 2 & 3) + 1;
    ll.sessions_per_source = c0 >> 4 & 3;  // 0: no cap
    ll.max_sources = (c0 >> 6) + 1;
    ll.seed = 0x5EED;
    Limiter limiter(ll);

    NativeRoaming::Limits rl;
    static constexpr unsigned kJumpBits[] = {4, 8, 20, 40};
    rl.max_counter_jump = std::uint64_t{1} << kJumpBits[c1 & 3];
    rl.wg_index_lifetime = c1 & 4 ? Clock::duration{5s} : Clock::duration{180s};
    rl.stale_after = c1 & 8 ? Clock::duration{5s} : Clock::duration{180s};
    rl.max_sessions = (c1 >> 4 & 3) + 1;
    rl.seed = 0xB0A7;
    Roaming roaming(rl);

    Clock::time_point now = Clock::time_point{} + 1000h;  // far from the epoch, as in real runs
    while (in.left() >= 3) {
        const std::uint8_t op = in.byte(), who = in.byte(), step = in.byte();
        std::size_t len = in.byte();
        len |= std::size_t{in.byte()} << 8;
        len = std::min(len, in.left());
        const Bytes raw(reinterpret_cast<const std::byte*>(data + in.at), len);
        in.at += len;
        now += step_of(step);

        std::vector<std::byte> built;
        Bytes d = raw;
        if (op & 0x80) {
            built = synthesize(raw);
            d = built;
        }
        const wire::Native n = check_protocol(d);
        const std::uint64_t s = who & 7;

        switch (op & 15) {
            case 0:  // backend -> client
            case 12:
                roaming.learn_wg(s, n.wg, now);
                break;
            case 1:
            case 13:
                roaming.learn_ovpn(s, n.ovpn, now);
                break;
            case 2:  // client -> backend on the session's current path
            case 14:
                roaming.observe_wg(s, n.wg, now);
                break;
            case 3:
            case 15:
                roaming.observe_ovpn(s, n.ovpn, d, now);
                break;
            case 4: {  // from an unknown address: find, then (as the server does) accept
                const auto r = no_alloc([&] { return roaming.table.find_wg(n.wg, now); });
                roaming.check_found_wg(n.wg, r, now);
                if (r) roaming.accept_wg(*r, n.wg, now);
                break;
            }
            case 5: {
                const auto r = no_alloc([&] { return roaming.table.find_ovpn(n.ovpn); });
                roaming.check_found_ovpn(n.ovpn, r);
                if (r) roaming.accept_ovpn(*r, n.ovpn, d, now);
                break;
            }
            case 6:  // a move claimed for any session
                roaming.accept_wg(s, n.wg, now);
                break;
            case 7:
                roaming.accept_ovpn(s, n.ovpn, d, now);
                break;
            case 8:
                no_alloc([&] { roaming.table.forget_session(s); });
                roaming.forget_model(s);
                break;
            case 9:
                limiter.allow(who, now);
                break;
            case 10:
                limiter.acquire(who, now);
                break;
            case 11:
                limiter.release(who, d, now);
                break;
        }
        roaming.after();
    }
    return 0;
}
