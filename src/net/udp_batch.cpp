#include "porthop/net/udp_batch.hpp"

#include <cerrno>
#include <cstring>

namespace porthop::net {
namespace {

int real_recvmmsg(int fd, mmsghdr* msgs, unsigned count, int flags, timespec* timeout) {
    return ::recvmmsg(fd, msgs, count, flags, timeout);
}
int real_sendmmsg(int fd, mmsghdr* msgs, unsigned count, int flags) {
    return ::sendmmsg(fd, msgs, count, flags);
}

void read_local_address(msghdr& msg, LocalAddress& local) {
    local = LocalAddress{};
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
        }
    }
}

// Returns the control length written (0 when the kernel should pick the source).
std::size_t write_local_address(std::byte* buffer, std::size_t size, const LocalAddress* local) {
    if (local == nullptr || local->family == AF_UNSPEC) return 0;
    msghdr msg{};
    msg.msg_control = buffer;
    msg.msg_controllen = size;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (local->family == AF_INET) {
        // Only the source address: pinning the interface could fight the routing table.
        in_pktinfo info{};
        info.ipi_spec_dst = local->v4;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        return CMSG_SPACE(sizeof info);
    }
    in6_pktinfo info{};
    info.ipi6_addr = local->v6;
    // A link-local source is only meaningful together with its interface.
    if (IN6_IS_ADDR_LINKLOCAL(&local->v6)) info.ipi6_ifindex = local->ifindex;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    return CMSG_SPACE(sizeof info);
}

}  // namespace

const Syscalls& system_syscalls() noexcept {
    static const Syscalls sys{&real_recvmmsg, &real_sendmmsg};
    return sys;
}

int enable_pktinfo(int fd, bool ipv6) noexcept {
    const int on = 1;
    const int rc = ipv6 ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on)
                        : ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    return rc == 0 ? 0 : errno;
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
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
        msghdr& m = headers_[i].msg_hdr;
        ReceiveSlot& slot = slots[i];
        slot.length = headers_[i].msg_len;
        slot.truncated = (m.msg_flags & MSG_TRUNC) != 0;
        slot.peer = Endpoint::from_sockaddr(static_cast<const sockaddr*>(m.msg_name), m.msg_namelen);
        read_local_address(m, slot.local);
    }
    return {static_cast<std::size_t>(got), 0};
}

SendResult UdpBatch::send(int fd, std::span<const SendItem> items) noexcept {
    SendResult result;
    std::size_t start = 0;
    while (start < items.size()) {
        const std::size_t n = std::min(items.size() - start, kMaxBatch);
        for (std::size_t i = 0; i < n; ++i) {
            const SendItem& item = items[start + i];
            iovecs_[i] = {const_cast<std::byte*>(item.data), item.length};
            msghdr& m = headers_[i].msg_hdr;
            m.msg_name = item.peer ? const_cast<sockaddr*>(item.peer->sockaddr_ptr()) : nullptr;
            m.msg_namelen = item.peer ? item.peer->sockaddr_len() : 0;
            m.msg_iov = &iovecs_[i];
            m.msg_iovlen = 1;
            const std::size_t control = write_local_address(control_[i].data(), kControlSize, item.local);
            m.msg_control = control ? control_[i].data() : nullptr;
            m.msg_controllen = control;
            m.msg_flags = 0;
        }
        const int sent = sys_.sendmmsg(fd, headers_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
        if (sent < 0) {
            result.error = errno;
            if (result.error == EAGAIN || result.error == EWOULDBLOCK) {
                // The socket buffer is full: everything left is dropped, as the network would.
                result.failed += items.size() - start;
                result.full = true;
                result.stopped_at = start;
                return result;
            }
            // The first datagram of this call failed (too big, unreachable...): skip just it.
            ++result.failed;
            ++start;
            continue;
        }
        if (sent == 0) {  // not expected from Linux; never loop on it
            ++result.failed;
            ++start;
            continue;
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i)
            result.sent_bytes += items[start + i].length;
        result.sent += static_cast<std::size_t>(sent);
        start += static_cast<std::size_t>(sent);
    }
    return result;
}

}  // namespace porthop::net
