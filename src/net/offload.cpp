#include "porthop/net/offload.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace porthop::net {
namespace {

bool same_local(const LocalAddress* a, const LocalAddress* b) noexcept {
    const bool a_unspec = a == nullptr || a->family == AF_UNSPEC;
    const bool b_unspec = b == nullptr || b->family == AF_UNSPEC;
    if (a_unspec || b_unspec) return a_unspec == b_unspec;
    if (a == b) return true;
    if (a->family != b->family || a->ifindex != b->ifindex) return false;
    return a->family == AF_INET ? a->v4.s_addr == b->v4.s_addr
                                : std::memcmp(&a->v6, &b->v6, sizeof a->v6) == 0;
}

}  // namespace

bool same_destination(const SendItem& a, const SendItem& b) noexcept {
    if (a.peer != b.peer && (a.peer == nullptr || b.peer == nullptr || !(*a.peer == *b.peer))) return false;
    return same_local(a.local, b.local);
}

std::size_t gso_run(std::span<const SendItem> items, std::size_t max_segments,
                    std::size_t max_bytes) noexcept {
    if (items.empty() || max_segments == 0) return 0;
    const std::size_t size = items[0].size();
    if (size == 0 || size > max_bytes) return 1;
    std::size_t n = 1, total = size;
    while (n < items.size() && n < max_segments) {
        const SendItem& next = items[n];
        const std::size_t next_size = next.size();
        if (next_size == 0 || next_size > size || total + next_size > max_bytes ||
            !same_destination(items[0], next))
            break;
        total += next_size;
        ++n;
        if (next_size < size) break;  // a shorter segment can only be the last
    }
    return n;
}

bool gso_refused(int error) noexcept {
    switch (error) {
        case EIO:
        case EINVAL:
        case ENOPROTOOPT:
        case EOPNOTSUPP:
#if ENOTSUP != EOPNOTSUPP
        case ENOTSUP:
#endif
            return true;
        default:
            return false;
    }
}

std::size_t gro_segment_count(std::size_t length, std::size_t segment_size, bool truncated) noexcept {
    if (segment_size == 0 || segment_size >= length) return 1;
    return truncated ? length / segment_size + 1 : (length + segment_size - 1) / segment_size;
}

Segment gro_segment(std::size_t length, std::size_t segment_size, bool truncated,
                    std::size_t index) noexcept {
    if (segment_size == 0 || segment_size >= length) return {0, length, truncated};
    const std::size_t offset = index * segment_size;
    if (offset >= length) return {length, 0, truncated};  // only the cut-off piece starts at the end
    if (truncated && index == length / segment_size) return {offset, length - offset, true};
    return {offset, std::min(segment_size, length - offset), false};
}

ReceiveSlot Datagrams::operator[](std::size_t index) const noexcept {
    const Segment s = gro_segment(slot_.length, slot_.segment_size, slot_.truncated, index);
    ReceiveSlot out = slot_;
    out.data = slot_.data + s.offset;
    out.capacity = s.length;
    out.length = s.length;
    out.truncated = s.truncated;
    out.segment_size = 0;
    return out;
}

}  // namespace porthop::net
