// Sliding replay window over 64-bit counters (the idea of RFC 6479, small): a counter is
// accepted once, if it is above the highest seen or within the last kWidth below it. Counter 0
// is never valid. Pure, no allocation.
#pragma once

#include <cstdint>

namespace porthop::hop {

class ReplayWindow {
public:
    static constexpr std::uint64_t kWidth = 64;

    // True if `counter` is fresh; then it is marked seen. False for 0, a repeat, or a counter
    // more than kWidth - 1 below the highest seen.
    bool accept(std::uint64_t counter) noexcept;
    // The same test without marking anything.
    bool would_accept(std::uint64_t counter) const noexcept;
    // Marks every counter up to `floor` seen (a session opened again after the server forgot
    // it: counters it accepted before are not in this window, hop/replay_ledger.hpp).
    void refuse_through(std::uint64_t floor) noexcept;
    std::uint64_t highest() const noexcept { return highest_; }

private:
    std::uint64_t highest_ = 0;
    std::uint64_t seen_ = 0;  // bit i: highest_ - i has been seen
};

}  // namespace porthop::hop
