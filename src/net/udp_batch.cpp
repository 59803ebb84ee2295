#include "porthop/net/udp_batch.hpp"

#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "porthop/net/offload.hpp"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace porthop::net {
namespace {

int real_recvmmsg(int fd, mmsghdr* msgs, unsigned count, int flags, timespec* timeout) {
    return ::recvmmsg(fd, msgs, count, flags, timeout);
}
int real_sendmmsg(int fd, mmsghdr* msgs, unsigned count, int flags) {
    return ::sendmmsg(fd, msgs, count, flags);
}
int real_getsockopt(int fd, int level, int name, void* value, socklen_t* length) {
    return ::getsockopt(fd, level, name, value, length);
}
int real_setsockopt(int fd, int level, int name, const void* value, socklen_t length) {
    return ::setsockopt(fd, level, name, value, length);
}

// Single writer: a plain load and store, as in the relay's counters.
void bump(std::atomic<std::uint64_t>* counter, std::uint64_t n = 1) noexcept {
    if (counter != nullptr && n != 0)
        counter->store(counter->load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// The control messages of one received datagram: its destination address and GRO segment size.
void read_control(msghdr& msg, ReceiveSlot& slot) {
    slot.local = LocalAddress{};
    slot.segment_size = 0;
    LocalAddress& local = slot.local;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            local.family = AF_INET;
            local.v4 = info.ipi_addr;
            local.ifindex = static_cast<unsigned>(info.ipi_ifindex);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
                   c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            local.family = AF_INET6;
            local.v6 = info.ipi6_addr;
            local.ifindex = info.ipi6_ifindex;
        } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
                   c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int size;
            std::memcpy(&size, CMSG_DATA(c), sizeof size);
            // A "coalesced" buffer of one datagram is just a datagram.
            if (size > 0 && static_cast<std::size_t>(size) < slot.length)
                slot.segment_size = static_cast<std::size_t>(size);
        }
    }
}

// Appends control messages to one message's control buffer (sized for all we ever add).
class ControlWriter {
public:
    explicit ControlWriter(std::byte* buffer) noexcept : buffer_(buffer) {}
    template <typename T>
    void add(int level, int type, const T& value) noexcept {
        std::byte* at = buffer_ + used_;
        std::memset(at, 0, CMSG_SPACE(sizeof value));
        cmsghdr header{};
        header.cmsg_level = level;
        header.cmsg_type = type;
        header.cmsg_len = CMSG_LEN(sizeof value);
        std::memcpy(at, &header, sizeof header);
        std::memcpy(at + CMSG_LEN(0), &value, sizeof value);
        used_ += CMSG_SPACE(sizeof value);
    }
    std::size_t used() const noexcept { return used_; }

private:
    std::byte* buffer_;
    std::size_t used_ = 0;
};

void write_local_address(ControlWriter& control, const LocalAddress* local) {
    if (local == nullptr || local->family == AF_UNSPEC) return;
    if (local->family == AF_INET) {
        // Only the source address: pinning the interface could fight the routing table.
        in_pktinfo info{};
        info.ipi_spec_dst = local->v4;
        control.add(IPPROTO_IP, IP_PKTINFO, info);
        return;
    }
    in6_pktinfo info{};
    info.ipi6_addr = local->v6;
    // A link-local source is only meaningful together with its interface.
    if (IN6_IS_ADDR_LINKLOCAL(&local->v6)) info.ipi6_ifindex = local->ifindex;
    control.add(IPPROTO_IPV6, IPV6_PKTINFO, info);
}

}  // namespace

const Syscalls& system_syscalls() noexcept {
    static const Syscalls sys{&real_recvmmsg, &real_sendmmsg, &real_getsockopt, &real_setsockopt};
    return sys;
}

int enable_pktinfo(int fd, bool ipv6) noexcept {
    const int on = 1;
    const int rc = ipv6 ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on)
                        : ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    return rc == 0 ? 0 : errno;
}

void UdpBatch::turn_off(State& state, std::atomic<std::uint64_t>* counter) noexcept {
    if (state == State::off) return;
    state = State::off;
    bump(counter);
}

bool UdpBatch::enable_gro(int fd, std::size_t buffer_capacity) noexcept {
    if (gro_ == State::off || buffer_capacity < kGroBufferSize) return false;
    if (sys_.setsockopt == nullptr) {  // a seam without offload: as on a kernel without it
        gro_ = State::off;
        return false;
    }
    const int on = 1;
    if (sys_.setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) != 0) {
        turn_off(gro_, counters_.gro_fallbacks);
        return false;
    }
    gro_ = State::on;
    return true;
}

bool UdpBatch::gso_usable(int fd) noexcept {
    if (gso_ != State::unknown) return gso_ == State::on;
    if (sys_.getsockopt == nullptr) {
        gso_ = State::off;
        return false;
    }
    // Kernels before 4.18 do not know UDP_SEGMENT and would silently ignore the control
    // message, sending the whole run as one datagram: ask first.
    int size = 0;
    socklen_t length = sizeof size;
    if (sys_.getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &length) != 0) {
        turn_off(gso_, counters_.gso_fallbacks);
        return false;
    }
    gso_ = State::on;
    return true;
}

ReceiveResult UdpBatch::receive(int fd, std::span<ReceiveSlot> slots) noexcept {
    const std::size_t n = std::min(slots.size(), kMaxBatch);
    for (std::size_t i = 0; i < n; ++i) {
        iovecs_[i] = {slots[i].data, slots[i].capacity};
        msghdr& m = headers_[i].msg_hdr;
        m.msg_name = addresses_[i].sockaddr_ptr();
        m.msg_namelen = Endpoint::capacity();
        m.msg_iov = &iovecs_[i];
        m.msg_iovlen = 1;
        m.msg_control = control_[i].data();
        m.msg_controllen = kControlSize;
        m.msg_flags = 0;
        headers_[i].msg_len = 0;
    }
    const int got = sys_.recvmmsg(fd, headers_.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
    if (got < 0) {
        const int err = errno;
        return {0, (err == EAGAIN || err == EWOULDBLOCK) ? 0 : err};
    }
    ReceiveResult result{static_cast<std::size_t>(got), 0};
    std::size_t coalesced = 0;
    for (std::size_t i = 0; i < result.count; ++i) {
        msghdr& m = headers_[i].msg_hdr;
        ReceiveSlot& slot = slots[i];
        slot.length = headers_[i].msg_len;
        slot.truncated = (m.msg_flags & MSG_TRUNC) != 0;
        slot.peer = Endpoint::from_sockaddr(static_cast<const sockaddr*>(m.msg_name), m.msg_namelen);
        read_control(m, slot);
        if (slot.segment_size != 0) {
            result.gro_datagrams += gro_segment_count(slot.length, slot.segment_size, slot.truncated);
            ++coalesced;
        }
    }
    bump(counters_.gro_datagrams, result.gro_datagrams);
    bump(counters_.gro_messages, coalesced);
    return result;
}

SendResult UdpBatch::send(int fd, std::span<const SendItem> items) noexcept {
    SendResult result;
    std::size_t start = 0;
    // Items before this index go one per message: a GSO message holding them failed for a
    // reason of theirs (not GSO's), so each gets the fate it would have had without GSO.
    std::size_t plain_until = 0;
    while (start < items.size()) {
        // Lay out up to kMaxBatch messages: one item each, or a GSO run of several.
        std::size_t messages = 0, next = start, iov = 0;
        while (messages < kMaxBatch && next < items.size() && next - start < kMaxSendItems) {
            std::size_t run = 1;
            if (next >= plain_until && gso_ != State::off) {
                run = gso_run(items.subspan(next), std::min(kGsoMaxSegments, kMaxSendItems - (next - start)));
                if (run > 1 && !gso_usable(fd)) run = 1;
            }
            const SendItem& first = items[next];
            msghdr& m = headers_[messages].msg_hdr;
            m.msg_iov = &iovecs_[iov];
            for (std::size_t k = next; k < next + run; ++k) {
                if (items[k].head_length != 0)
                    iovecs_[iov++] = {const_cast<std::byte*>(items[k].head.data()), items[k].head_length};
                iovecs_[iov++] = {const_cast<std::byte*>(items[k].data), items[k].length};
                if (items[k].tail_length != 0)
                    iovecs_[iov++] = {const_cast<std::byte*>(items[k].tail), items[k].tail_length};
            }
            m.msg_iovlen = static_cast<std::size_t>(&iovecs_[iov] - m.msg_iov);
            m.msg_name = first.peer ? const_cast<sockaddr*>(first.peer->sockaddr_ptr()) : nullptr;
            m.msg_namelen = first.peer ? first.peer->sockaddr_len() : 0;
            ControlWriter control(control_[messages].data());
            write_local_address(control, first.local);
            if (run > 1) control.add(SOL_UDP, UDP_SEGMENT, static_cast<std::uint16_t>(first.size()));
            m.msg_control = control.used() ? control_[messages].data() : nullptr;
            m.msg_controllen = control.used();
            m.msg_flags = 0;
            first_item_[messages] = next;
            item_count_[messages] = run;
            next += run;
            ++messages;
        }
        const int sent = sys_.sendmmsg(fd, headers_.data(), static_cast<unsigned>(messages), MSG_DONTWAIT);
        if (sent < 0) {
            const int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) {
                // The socket buffer is full: everything left is dropped, as the network would.
                result.error = err;
                result.failed += items.size() - start;
                result.full = true;
                result.stopped_at = start;
                return result;
            }
            if (item_count_[0] > 1) {  // a GSO message: nothing of it went out, send it again
                if (gso_refused(err)) {
                    turn_off(gso_, counters_.gso_fallbacks);
                    result.gso_turned_off = err;
                } else {
                    plain_until = start + item_count_[0];
                }
                continue;
            }
            // The first datagram of this call failed (too big, unreachable...): skip just it.
            result.error = err;
            ++result.failed;
            ++start;
            continue;
        }
        if (sent == 0) {  // not expected from Linux; never loop on it
            result.failed += item_count_[0];
            start += item_count_[0];
            continue;
        }
        std::size_t gso_messages = 0, gso_datagrams = 0;
        for (std::size_t m = 0; m < static_cast<std::size_t>(sent); ++m) {
            for (std::size_t k = first_item_[m]; k < first_item_[m] + item_count_[m]; ++k) {
                result.sent_bytes += items[k].size();
                result.head_bytes += items[k].head_length + items[k].tail_length;
            }
            result.sent += item_count_[m];
            if (item_count_[m] > 1) {
                ++gso_messages;
                gso_datagrams += item_count_[m];
            }
        }
        result.gso_datagrams += gso_datagrams;
        bump(counters_.gso_messages, gso_messages);
        bump(counters_.gso_datagrams, gso_datagrams);
        start = first_item_[sent - 1] + item_count_[sent - 1];
    }
    return result;
}

}  // namespace porthop::net
