#include "porthop/net/frame_queue.hpp"

#include <algorithm>
#include <array>

#include "porthop/wire/framing.hpp"

namespace porthop::net {

namespace {
// A drained buffer larger than this is given back (to the budget and the heap): a burst must
// not keep a connection's memory high after it passed.
constexpr std::size_t kKeep = 16 * 1024;
constexpr std::size_t kMinGrowth = 4096;
}  // namespace

FrameQueue::~FrameQueue() {
    free(waiting_);
    free(writing_);
}

bool FrameQueue::grow(std::size_t need) {
    const std::size_t room = kMaxBytes - std::min(kMaxBytes, writing_.capacity());
    if (need > room) return false;
    const std::size_t next = std::min(room, std::max({need, 2 * waiting_.capacity(), kMinGrowth}));
    const std::size_t extra = next - waiting_.capacity();
    if (held() + extra > kFloor && budget_.used + extra > budget_.limit) return false;
    waiting_.reserve(next);
    budget_.used += extra;
    return true;
}

void FrameQueue::free(std::vector<std::byte>& buffer) noexcept {
    budget_.used -= buffer.capacity();
    std::vector<std::byte>().swap(buffer);
}

FrameQueue::Push FrameQueue::push(std::span<const std::byte> head, std::span<const std::byte> payload,
                                  std::span<const std::byte> tail) {
    if (closed_) return Push::closed;
    const std::size_t length = head.size() + payload.size() + tail.size();
    if (length > wire::kMaxFrameLength) return Push::too_slow;  // callers never get here
    std::uint16_t mask = 0;
    if (mask_) {
        if (length < crypto::kMaskSaltSize) return Push::closed;
        // The salt is the frame's first 8 bytes, wherever the parts split them.
        crypto::MaskSalt salt{};
        std::size_t have = 0;
        for (const auto part : {head, payload, tail}) {
            const std::size_t n = std::min(part.size(), salt.size() - have);
            std::copy_n(part.begin(), n, salt.begin() + static_cast<std::ptrdiff_t>(have));
            have += n;
        }
        mask = (*mask_)(salt);
    }
    const std::size_t need = waiting_.size() + wire::kFrameHeaderSize + length;
    if (need > waiting_.capacity() && !grow(need)) {
        const std::size_t room = kMaxBytes - std::min(kMaxBytes, writing_.capacity());
        return need > room ? Push::too_slow : Push::over_budget;
    }
    std::array<std::byte, wire::kFrameHeaderSize> header{};
    wire::write_frame_header(header, static_cast<std::uint16_t>(length ^ mask));
    waiting_.insert(waiting_.end(), header.begin(), header.end());
    waiting_.insert(waiting_.end(), head.begin(), head.end());
    waiting_.insert(waiting_.end(), payload.begin(), payload.end());
    waiting_.insert(waiting_.end(), tail.begin(), tail.end());
    return Push::queued;
}

std::span<const std::byte> FrameQueue::start_write() noexcept {
    waiting_.swap(writing_);  // writing_ was drained: its capacity becomes the next queue's
    writing_now_ = true;
    return {writing_.data(), writing_.size()};
}

void FrameQueue::finish_write() noexcept {
    writing_now_ = false;
    if (closed_) {
        free(waiting_);
        free(writing_);  // could not be freed while the write was in flight; now it can
        return;
    }
    writing_.clear();
    if (writing_.capacity() > kKeep) free(writing_);
}

void FrameQueue::close() noexcept {
    if (closed_) return;
    closed_ = true;
    free(waiting_);
    if (!writing_now_) free(writing_);
}

}  // namespace porthop::net
