// What the server remembers of porthop clients' sessions it no longer holds, so that an attach
// captured while they lived stays unanswered after they are gone: after an idle expiry, and
// (through the state file, relay/session_state.hpp) after a restart. Without it a session the
// server has forgotten is a new session to it, and a replayed attach of it would be accepted
// and acked (docs/PROTOCOL.md, "Replay after a restart").
//
// For each forgotten session it keeps two floors. An attach that would open the session again
// must be above both:
//   counter        the highest attach counter accepted: a captured attach is at most that;
//   issued floor   the agent's clock (the attach's `issued` field, unix ms) when the server
//                  forgot it, as the server can tell: the last attach's issued time plus the time
//                  since that attach arrived, plus a margin for attaches in flight. An attach
//                  the server never saw (sent after its last save before a crash, or dropped on
//                  the way) has a higher counter, but was issued before that moment.
// The agent, which keeps running, issues its next attaches later than both, so it is let back
// in at once (after a crash, once its clock passes the margin).
//
// An entry is kept until `keep_until` (server wall clock, unix seconds): three hop intervals
// after the session's last attach, when every attach it ever sent is stale_epoch anyway.
//
// Pure: no clock, no I/O; the caller passes times. Bounded: at `capacity` the entry that would
// expire first makes room.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace porthop::hop {

struct Forgotten {
    std::uint64_t session = 0;       // the hop-link session id
    std::uint64_t counter = 0;       // highest attach counter accepted
    std::uint64_t issued_floor = 0;  // the agent's clock (unix ms) no replay can be issued after
    std::uint64_t keep_until = 0;    // server wall clock, unix seconds
    friend bool operator==(const Forgotten&, const Forgotten&) = default;
};

// Unix time in milliseconds (0 before 1970): the unit of `issued` and of the floors.
std::uint64_t unix_ms(std::chrono::system_clock::time_point t) noexcept;

// The agent's clock now, as the server estimates it from the last attach it accepted: issued at
// `issued` (the agent's clock), arrived at `arrived_ms` (the server's), and now `now_ms`.
std::uint64_t agent_clock_at(std::uint64_t issued, std::uint64_t arrived_ms, std::uint64_t now_ms) noexcept;

// How long an entry outlives a session's last attach: after three hop intervals (plus a
// minute for clock differences) any attach of it is stale_epoch (docs/PROTOCOL.md).
std::uint64_t ledger_keep_seconds(std::uint64_t hop_interval_seconds) noexcept;

class ReplayLedger {
public:
    explicit ReplayLedger(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

    // May an authenticated attach (`session`, `counter`, `issued`) open `session`, which no
    // worker holds? nullopt: no, a replay. Otherwise the floors the reopened session must keep
    // (all 0 when nothing is known of it): its replay window refuses every counter up to
    // `counter`, and its attaches issued at or before `issued_floor` stay refused, or a captured
    // attach just below the new one would fit in the window.
    std::optional<Forgotten> admits(std::uint64_t session, std::uint64_t counter,
                                    std::uint64_t issued) const noexcept;
    // Remembers `f` (a session closed, or one read from a state file). Merged with what is known
    // of the same session: every field the higher of the two.
    void remember(const Forgotten& f);
    // The session is open again (its own replay window takes over).
    void forget(std::uint64_t session) noexcept;
    // Drops the entries whose keep_until is before `now_s`.
    void expire(std::uint64_t now_s);

    std::vector<Forgotten> entries() const;
    std::size_t size() const noexcept { return entries_.size(); }

private:
    std::size_t capacity_;
    std::unordered_map<std::uint64_t, Forgotten> entries_;
};

}  // namespace porthop::hop
