#include "porthop/hop/replay_ledger.hpp"

#include <algorithm>

namespace porthop::hop {

std::uint64_t unix_ms(std::chrono::system_clock::time_point t) noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return ms > 0 ? static_cast<std::uint64_t>(ms) : 0;
}

std::uint64_t agent_clock_at(std::uint64_t issued, std::uint64_t arrived_ms, std::uint64_t now_ms) noexcept {
    // A server clock stepped back since the attach arrived adds nothing.
    return issued + (now_ms > arrived_ms ? now_ms - arrived_ms : 0);
}

std::uint64_t ledger_keep_seconds(std::uint64_t hop_interval_seconds) noexcept {
    return 3 * hop_interval_seconds + 60;
}

std::optional<Forgotten> ReplayLedger::admits(std::uint64_t session, std::uint64_t counter,
                                              std::uint64_t issued) const noexcept {
    const auto it = entries_.find(session);
    if (it == entries_.end()) return Forgotten{session, 0, 0, 0};
    if (counter <= it->second.counter || issued <= it->second.issued_floor) return std::nullopt;
    return it->second;
}

void ReplayLedger::remember(const Forgotten& f) {
    if (auto it = entries_.find(f.session); it != entries_.end()) {
        Forgotten& known = it->second;
        known.counter = std::max(known.counter, f.counter);
        known.issued_floor = std::max(known.issued_floor, f.issued_floor);
        known.keep_until = std::max(known.keep_until, f.keep_until);
        return;
    }
    if (entries_.size() >= capacity_) {
        // Full: the entry closest to expiring goes. Rare (a session must close for an entry to
        // be made), so a scan is fine.
        const auto first = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
            return a.second.keep_until < b.second.keep_until;
        });
        if (first->second.keep_until > f.keep_until) return;  // the newcomer would go first
        entries_.erase(first);
    }
    entries_.emplace(f.session, f);
}

void ReplayLedger::forget(std::uint64_t session) noexcept { entries_.erase(session); }

void ReplayLedger::expire(std::uint64_t now_s) {
    std::erase_if(entries_, [now_s](const auto& e) { return e.second.keep_until < now_s; });
}

std::vector<Forgotten> ReplayLedger::entries() const {
    std::vector<Forgotten> out;
    out.reserve(entries_.size());
    for (const auto& [id, f] : entries_) out.push_back(f);
    std::sort(out.begin(), out.end(), [](const Forgotten& a, const Forgotten& b) { return a.session < b.session; });
    return out;
}

}  // namespace porthop::hop
