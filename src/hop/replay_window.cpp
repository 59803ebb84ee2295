#include "porthop/hop/replay_window.hpp"

namespace porthop::hop {

bool ReplayWindow::would_accept(std::uint64_t counter) const noexcept {
    if (counter == 0) return false;
    if (counter > highest_) return true;
    const std::uint64_t behind = highest_ - counter;
    return behind < kWidth && (seen_ >> behind & 1) == 0;
}

void ReplayWindow::refuse_through(std::uint64_t floor) noexcept {
    if (floor >= highest_) {
        highest_ = floor;
        seen_ = ~std::uint64_t{0};
        return;
    }
    const std::uint64_t behind = highest_ - floor;  // bit `behind` is `floor`
    if (behind < kWidth) seen_ |= ~std::uint64_t{0} << behind;
}

bool ReplayWindow::accept(std::uint64_t counter) noexcept {
    if (!would_accept(counter)) return false;
    if (counter > highest_) {
        const std::uint64_t ahead = counter - highest_;
        // A shift by the full width or more is undefined for u64: the whole window is forgotten.
        seen_ = ahead >= kWidth ? 0 : seen_ << ahead;
        seen_ |= 1;
        highest_ = counter;
    } else {
        seen_ |= std::uint64_t{1} << (highest_ - counter);
    }
    return true;
}

}  // namespace porthop::hop
