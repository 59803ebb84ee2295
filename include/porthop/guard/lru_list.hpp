// A least-recently-used order threaded through a table's own entries. The guard tables
// (NativeRoaming, SourceLimiter) keep their entries in one vector allocated at construction and
// evict the least recently active one when full; each entry carries `prev` and `next` positions
// (std::uint32_t) and this list holds the two ends, so the order costs two words per entry and
// never allocates. Most recent first: back() is the eviction candidate.
//
// kNone, "no entry", is FlatIndex::kAbsent, so a table marks the end of this list, of its free
// list (which reuses `next`) and a failed index lookup alike. Every call is O(1); the caller
// keeps the contract (an entry is in the list before unlink, not in it before push_front).
#pragma once

#include <cstdint>
#include <vector>

#include "porthop/guard/flat_index.hpp"

namespace porthop::guard {

class LruList {
public:
    static constexpr std::uint32_t kNone = FlatIndex::kAbsent;

    std::uint32_t front() const noexcept { return head_; }  // most recent, kNone when empty
    std::uint32_t back() const noexcept { return tail_; }   // least recent, kNone when empty

    // Takes entry i out of the list; its prev and next become kNone.
    template <typename Entry>
    void unlink(std::vector<Entry>& entries, std::uint32_t i) noexcept {
        Entry& e = entries[i];
        if (e.prev != kNone)
            entries[e.prev].next = e.next;
        else
            head_ = e.next;
        if (e.next != kNone)
            entries[e.next].prev = e.prev;
        else
            tail_ = e.prev;
        e.prev = e.next = kNone;
    }

    // Puts entry i, which is not in the list, at the front.
    template <typename Entry>
    void push_front(std::vector<Entry>& entries, std::uint32_t i) noexcept {
        Entry& e = entries[i];
        e.prev = kNone;
        e.next = head_;
        if (head_ != kNone) entries[head_].prev = i;
        head_ = i;
        if (tail_ == kNone) tail_ = i;
    }

    // Moves entry i, which is in the list, to the front.
    template <typename Entry>
    void to_front(std::vector<Entry>& entries, std::uint32_t i) noexcept {
        if (head_ == i) return;
        unlink(entries, i);
        push_front(entries, i);
    }

private:
    std::uint32_t head_ = kNone, tail_ = kNone;
};

}  // namespace porthop::guard
