// Per-source abuse bounds for the server (DESIGN.md, "Server session model"; issue 5): a rate
// limit on handshake-like datagrams and a cap on concurrent sessions, per source, where a
// source is an IPv4 address or an IPv6 /64 (an IPv6 host usually owns a whole /64, so a /128
// limit would give one attacker 2^64 budgets; WireGuard's own ratelimiter groups the same way).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack "::" socket reports for an
// IPv4 client) count as that IPv4 address: their /64 is ::/64, which would put every IPv4
// client of a dual-stack listener into one shared budget.
//
// Rate: a token bucket of `burst` tokens refilled at `handshakes_per_second` (defaults 20/s
// and 5, as WireGuard's ratelimiter.c), kept as GCRA: one "theoretical arrival time" per
// source, integer nanoseconds, so refill timing is exact and an entry is a few words.
//
// Table: at most `max_sources` sources (fixed at construction; all memory is allocated then,
// none per call). A source that holds no session and has been idle for burst / rate (long
// enough to refill an empty bucket) is equivalent to an absent one, so when the table is full
// the least recently active such source is evicted to make room. If none is that old, the new
// source is refused and counted (fail closed): under a flood of fresh sources the limiter
// sheds new sources, never its memory bound, and sources it already tracks keep their state.
// Sources holding sessions are never evicted (their count must survive), so max_sources
// should be at least the server's max_sessions. The table turns over every burst / rate
// (250 ms by default): only a flood of more than max_sources fresh sources per 250 ms (65536
// per second by default) makes new sources wait.
//
// Many clients share one IPv4 address behind carrier-grade NAT: 20 handshakes per second
// carries thousands of WireGuard clients (one handshake each per 2 minutes), but
// sessions_per_source is a per-client-count limit there and may need raising.
//
// Not thread-safe: one instance per server, used from the event loop that owns the session
// table. `now` must not go backwards (steady_clock).
//
// How the server calls it (src/relay/native_guard.cpp, server.cpp):
//  - A native datagram that would open a session (after roaming found none): allow_handshake,
//    then acquire_session; the key is kept in Session::source and released in close_session.
//    Opening a session costs a socket, so any such datagram is handshake-like, whatever it is.
//  - A native datagram of an existing session that is a handshake (a WireGuard initiation,
//    after the mac1 check so forged ones do not spend the source's tokens; an OpenVPN client
//    hard reset): allow_handshake.
//  - A TCP connection: allow_handshake when accepted, acquire_session when its first frame
//    opens a native session.
//  - Refusals are counted in the server's porthop_drops_total by reason.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "porthop/guard/flat_index.hpp"
#include "porthop/guard/lru_list.hpp"

namespace porthop::guard {

// Anything that holds a socket address, as net::Endpoint does. The limiter reads the address
// through sockaddr_ptr() and never names net::Endpoint: its header brings in Asio, which this
// layer, built once for every event backend, must not see.
template <typename Address>
concept HoldsSockaddr = requires(const Address& a) {
    { a.sockaddr_ptr() } -> std::convertible_to<const sockaddr*>;
};

// A source as the limiter sees it: an IPv4 address or an IPv6 /64, packed into 64 bits. IPv6:
// the /64 prefix. IPv4: 0xff000000'00000000 | address, i.e. as if it were the IPv6 prefix
// ff00:0:a.b:c.d::/64, which lies in multicast space (ff00::/8) and so can never be a real
// source (Linux drops datagrams with a multicast source address).
enum class SourceKey : std::uint64_t {};

class SourceLimiter {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        std::uint32_t handshakes_per_second = 20;  // 0: no rate limit
        std::uint32_t burst = 5;                   // handshakes allowed at once after idling (>= 1)
        std::uint32_t sessions_per_source = 64;    // 0: no cap
        std::size_t max_sources = 16384;           // fixed at construction
        std::uint64_t seed = 0;                    // hash seed; 0: a random one
    };

    // Every refusal by reason; allowed + refused_* = calls of allow_handshake and acquire_session.
    struct Stats {
        std::uint64_t handshakes_allowed = 0;
        std::uint64_t sessions_acquired = 0;
        std::uint64_t refused_rate = 0;        // over the handshake rate
        std::uint64_t refused_sessions = 0;    // at sessions_per_source
        std::uint64_t refused_table_full = 0;  // a new source, the table full, nothing evictable
        std::uint64_t refused_invalid = 0;     // not an IPv4/IPv6 endpoint
        std::uint64_t evicted = 0;             // idle sources dropped to make room
    };

    SourceLimiter();
    explicit SourceLimiter(const Limits& limits);

    // True if a handshake-like datagram from `from` is within its source's rate; then it is
    // counted against it.
    bool allow_handshake(const sockaddr* from, Clock::time_point now) noexcept;
    template <HoldsSockaddr Address>
    bool allow_handshake(const Address& from, Clock::time_point now) noexcept {
        return allow_handshake(from.sockaddr_ptr(), now);
    }

    // Counts one more session for the source of `from`; nullopt if the source is at its cap or
    // cannot be tracked (table full, invalid endpoint). Does not spend a handshake token.
    std::optional<SourceKey> acquire_session(const sockaddr* from, Clock::time_point now) noexcept;
    template <HoldsSockaddr Address>
    std::optional<SourceKey> acquire_session(const Address& from, Clock::time_point now) noexcept {
        return acquire_session(from.sockaddr_ptr(), now);
    }
    // Gives back a session acquire_session counted. Releasing more than was acquired, or a key
    // the limiter does not know (the cap was off when the session opened), is ignored.
    void release_session(SourceKey source, Clock::time_point now) noexcept;

    // Rate, burst and cap take effect at once; max_sources and seed stay as constructed.
    // Current token states and session counts are kept.
    void set_limits(const Limits& limits) noexcept;

    // The source `from` belongs to; nullopt for an endpoint that is neither IPv4 nor IPv6.
    // A sockaddr* must hold the whole sockaddr_in or sockaddr_in6 its family says (as an
    // endpoint's storage does).
    static std::optional<SourceKey> key_of(const sockaddr* from) noexcept;
    template <HoldsSockaddr Address>
    static std::optional<SourceKey> key_of(const Address& from) noexcept {
        return key_of(from.sockaddr_ptr());
    }

    std::uint32_t sessions_of(SourceKey source) const noexcept;
    std::size_t sources() const noexcept { return index_.size(); }  // sources tracked now
    const Stats& stats() const noexcept { return stats_; }
    const Limits& limits() const noexcept { return limits_; }

private:
    static constexpr std::uint32_t kNone = FlatIndex::kAbsent;

    struct Entry {
        std::uint64_t key = 0;
        Clock::time_point tat{};   // GCRA: the bucket is full from this time on
        Clock::time_point last{};  // last allowed handshake or last session released (LRU order)
        std::uint32_t sessions = 0;
        std::uint32_t prev = kNone;  // idle list (entries holding no session), most recent first
        std::uint32_t next = kNone;  // idle list, or the free list for unused entries
    };

    void apply_rate() noexcept;
    std::uint32_t find_or_add(std::uint64_t key, Clock::time_point now) noexcept;

    Limits limits_;
    Clock::duration interval_{};   // 1 s / rate: one token
    Clock::duration tolerance_{};  // (burst - 1) * interval: how far tat may run ahead of now
    Clock::duration refill_{};     // burst * interval: idle this long, any bucket is full
    std::vector<Entry> entries_;
    FlatIndex index_;  // key -> position in entries_
    std::uint32_t free_ = kNone;
    LruList idle_;  // entries holding no session, through Entry::prev/next, most recent first
    Stats stats_;
};

}  // namespace porthop::guard
