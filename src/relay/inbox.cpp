#include "porthop/relay/inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace porthop::relay {

namespace {
constexpr std::size_t kAlign = 8;
constexpr std::size_t aligned(std::size_t n) noexcept { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Inbox::Inbox(std::size_t capacity_bytes)
    : ring_(std::make_unique_for_overwrite<std::byte[]>(aligned(capacity_bytes))), capacity_(aligned(capacity_bytes)) {
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

Inbox::~Inbox() {
    if (wake_ >= 0) ::close(wake_);
}

void Inbox::clear_wake() noexcept {
    std::uint64_t value;
    [[maybe_unused]] auto n = ::read(wake_, &value, sizeof value);  // EAGAIN: nothing to clear
}

bool Inbox::push(const Header& header, std::span<const std::byte> payload) noexcept {
    const std::size_t need = aligned(sizeof(Header) + payload.size());
    const std::size_t capacity = capacity_;
    bool was_empty;
    {
        std::lock_guard lock(mutex_);
        const std::size_t pos = tail_ % capacity;
        const std::size_t to_end = capacity - pos;
        // A record never wraps: if it does not fit before the end, the rest is skipped.
        const std::size_t waste = to_end < need ? to_end : 0;
        if ((tail_ - head_) + waste + need > capacity) return false;
        if (waste) {
            if (to_end >= sizeof(Header)) {
                Header skip{};
                skip.length = kSkip;
                std::memcpy(ring_.get() + pos, &skip, sizeof skip);
            }
            tail_ += waste;
        }
        Header h = header;
        h.length = static_cast<std::uint32_t>(payload.size());
        std::byte* at = ring_.get() + tail_ % capacity;
        std::memcpy(at, &h, sizeof h);
        if (!payload.empty()) std::memcpy(at + sizeof h, payload.data(), payload.size());
        was_empty = tail_ == head_ + waste;
        tail_ += need;
    }
    if (was_empty) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);  // EAGAIN: already awake
    }
    return true;
}

bool Inbox::pop(Header& header, std::span<std::byte> out) noexcept {
    std::lock_guard lock(mutex_);
    const std::size_t capacity = capacity_;
    while (head_ != tail_) {
        const std::size_t pos = head_ % capacity;
        const std::size_t to_end = capacity - pos;
        if (to_end < sizeof(Header)) {  // too short for a header: the writer skipped it
            head_ += to_end;
            continue;
        }
        std::memcpy(&header, ring_.get() + pos, sizeof header);
        if (header.length == kSkip) {
            head_ += to_end;
            continue;
        }
        head_ += aligned(sizeof(Header) + header.length);
        if (header.length <= out.size())
            std::memcpy(out.data(), ring_.get() + pos + sizeof header, header.length);
        else
            header.length = 0;
        return true;
    }
    return false;
}

}  // namespace porthop::relay
