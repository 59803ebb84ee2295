#include "porthop/guard/source_limiter.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace porthop::guard {

namespace {

constexpr std::uint64_t kV4Tag = 0xff00000000000000ull;

}  // namespace

SourceLimiter::SourceLimiter() : SourceLimiter(Limits{}) {}

SourceLimiter::SourceLimiter(const Limits& limits)
    : limits_(limits),
      entries_(limits.max_sources),
      index_(limits.max_sources, limits.seed != 0 ? limits.seed : FlatIndex::random_seed()) {
    // Every entry starts on the free list; nothing is allocated after this.
    for (std::size_t i = 0; i < entries_.size(); ++i)
        entries_[i].next = i + 1 < entries_.size() ? static_cast<std::uint32_t>(i + 1) : kNone;
    free_ = entries_.empty() ? kNone : 0;
    apply_rate();
}

void SourceLimiter::apply_rate() noexcept {
    limits_.burst = std::max<std::uint32_t>(limits_.burst, 1);
    if (limits_.handshakes_per_second == 0) {
        interval_ = tolerance_ = refill_ = Clock::duration::zero();
        return;
    }
    interval_ =
        std::chrono::duration_cast<Clock::duration>(std::chrono::seconds{1}) / limits_.handshakes_per_second;
    tolerance_ = interval_ * (limits_.burst - 1);
    refill_ = interval_ * limits_.burst;
}

void SourceLimiter::set_limits(const Limits& limits) noexcept {
    const auto max_sources = limits_.max_sources;
    const auto seed = limits_.seed;
    limits_ = limits;
    limits_.max_sources = max_sources;
    limits_.seed = seed;
    apply_rate();
}

std::optional<SourceKey> SourceLimiter::key_of(const sockaddr* sa) noexcept {
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        return SourceKey{kV4Tag | ntohl(in->sin_addr.s_addr)};
    }
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        const unsigned char* b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            std::uint32_t v4;
            std::memcpy(&v4, b + 12, sizeof v4);
            return SourceKey{kV4Tag | ntohl(v4)};
        }
        std::uint64_t prefix = 0;
        for (int i = 0; i < 8; ++i) prefix = prefix << 8 | b[i];
        return SourceKey{prefix};
    }
    return std::nullopt;
}

// The entry for `key`, added if absent (on the idle list, with a full bucket); kNone if the
// table is full and its least recently active idle entry has not been idle for refill_.
std::uint32_t SourceLimiter::find_or_add(std::uint64_t key, Clock::time_point now) noexcept {
    if (const auto i = index_.find(key); i != FlatIndex::kAbsent) return i;
    if (free_ == kNone) {
        // The idle list is ordered by `last`, so if its tail is not stale, no entry is.
        const std::uint32_t victim = idle_.back();
        if (victim == kNone || now - entries_[victim].last < refill_) return kNone;
        idle_.unlink(entries_, victim);
        index_.erase(entries_[victim].key);
        entries_[victim].next = free_;
        free_ = victim;
        ++stats_.evicted;
    }
    const std::uint32_t i = free_;
    // A full probe run refuses the key even with free entries: fail closed, as when full.
    if (!index_.insert(key, i)) return kNone;
    free_ = entries_[i].next;
    entries_[i] = Entry{.key = key, .tat = now, .last = now};
    idle_.push_front(entries_, i);
    return i;
}

bool SourceLimiter::allow_handshake(const sockaddr* from, Clock::time_point now) noexcept {
    const auto key = key_of(from);
    if (!key) {
        ++stats_.refused_invalid;
        return false;
    }
    if (limits_.handshakes_per_second == 0) {
        ++stats_.handshakes_allowed;
        return true;
    }
    const std::uint32_t i = find_or_add(static_cast<std::uint64_t>(*key), now);
    if (i == kNone) {
        ++stats_.refused_table_full;
        return false;
    }
    Entry& e = entries_[i];
    // GCRA: each handshake pushes tat one interval further; tat may run at most `burst - 1`
    // intervals ahead of now (the bucket's depth). tat <= now means a full bucket.
    if (e.tat > now + tolerance_) {
        ++stats_.refused_rate;
        return false;
    }
    e.tat = std::max(e.tat, now) + interval_;
    e.last = now;
    if (e.sessions == 0) idle_.to_front(entries_, i);
    ++stats_.handshakes_allowed;
    return true;
}

std::optional<SourceKey> SourceLimiter::acquire_session(const sockaddr* from, Clock::time_point now) noexcept {
    const auto key = key_of(from);
    if (!key) {
        ++stats_.refused_invalid;
        return std::nullopt;
    }
    if (limits_.sessions_per_source == 0) {
        ++stats_.sessions_acquired;
        return key;
    }
    const std::uint32_t i = find_or_add(static_cast<std::uint64_t>(*key), now);
    if (i == kNone) {
        ++stats_.refused_table_full;
        return std::nullopt;
    }
    Entry& e = entries_[i];
    if (e.sessions >= limits_.sessions_per_source) {
        ++stats_.refused_sessions;
        return std::nullopt;
    }
    if (e.sessions++ == 0) idle_.unlink(entries_, i);  // pinned: an entry holding sessions is never evicted
    ++stats_.sessions_acquired;
    return key;
}

void SourceLimiter::release_session(SourceKey source, Clock::time_point now) noexcept {
    const std::uint32_t i = index_.find(static_cast<std::uint64_t>(source));
    if (i == FlatIndex::kAbsent || entries_[i].sessions == 0) return;
    Entry& e = entries_[i];
    if (--e.sessions == 0) {
        // Back on the idle list as its most recent member, which keeps the list ordered by
        // `last`; the entry may be evicted once it has been idle for refill_.
        e.last = now;
        idle_.push_front(entries_, i);
    }
}

std::uint32_t SourceLimiter::sessions_of(SourceKey source) const noexcept {
    const std::uint32_t i = index_.find(static_cast<std::uint64_t>(source));
    return i == FlatIndex::kAbsent ? 0 : entries_[i].sessions;
}

}  // namespace porthop::guard
