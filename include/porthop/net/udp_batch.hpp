// The socket seam for UDP: receive a batch, send a batch (recvmmsg/sendmmsg underneath).
//
// Contracts:
// - receive() fills at most `slots.size()` (<= kMaxBatch) buffers, never blocks (the fd is
//   non-blocking), and reports "nothing there" as count 0 with error 0. A datagram larger than
//   its buffer is reported with `truncated` set; the caller must drop it.
// - send() tries every item once; it never blocks or retries. Items the kernel refused are
//   counted in `failed` with the last errno kept; EAGAIN stops the batch (the rest count as
//   failed, and `full` says where it stopped), other errors skip only the datagram that
//   caused them.
// - Neither allocates: the header arrays live in the UdpBatch object, one per event loop.
//
// The system calls go through `Syscalls` so tests can inject errors and short counts.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <span>

#include "porthop/net/endpoint.hpp"

namespace porthop::net {

inline constexpr std::size_t kMaxBatch = 64;

// The local address a datagram arrived on (IP_PKTINFO / IPV6_PKTINFO). Used as the source of the
// reply so a client always hears back from the address and port it sent to, even when the
// listener is bound to a wildcard address on a host with several addresses.
struct LocalAddress {
    sa_family_t family = AF_UNSPEC;  // AF_UNSPEC: unknown, let the kernel choose
    unsigned ifindex = 0;
    in_addr v4{};
    in6_addr v6{};
};

struct ReceiveSlot {
    std::byte* data = nullptr;  // in: where to write
    std::size_t capacity = 0;   // in
    std::size_t length = 0;     // out: payload bytes
    Endpoint peer;              // out: sender
    LocalAddress local;         // out: destination address, when pktinfo is enabled
    bool truncated = false;     // out: the datagram did not fit
};

struct SendItem {
    const std::byte* data = nullptr;
    std::size_t length = 0;
    const Endpoint* peer = nullptr;       // nullptr on connected sockets
    const LocalAddress* local = nullptr;  // nullptr or AF_UNSPEC: kernel's choice
};

struct ReceiveResult {
    std::size_t count = 0;
    int error = 0;  // errno of a failed receive (EAGAIN is not reported)
};

struct SendResult {
    std::size_t sent = 0;
    std::size_t sent_bytes = 0;
    std::size_t failed = 0;
    int error = 0;  // last errno seen, 0 if none
    // The socket buffer was full (EAGAIN): items from `stopped_at` on were not tried (they are
    // included in `failed`). A caller that can wait may retry them once the socket is writable.
    bool full = false;
    std::size_t stopped_at = 0;
};

struct Syscalls {
    int (*recvmmsg)(int fd, mmsghdr* msgs, unsigned count, int flags, timespec* timeout);
    int (*sendmmsg)(int fd, mmsghdr* msgs, unsigned count, int flags);
};
const Syscalls& system_syscalls() noexcept;

// Asks the kernel to report each datagram's destination address (see LocalAddress).
// Returns 0 or an errno.
int enable_pktinfo(int fd, bool ipv6) noexcept;

class UdpBatch {
public:
    explicit UdpBatch(const Syscalls& sys = system_syscalls()) noexcept : sys_(sys) {}

    ReceiveResult receive(int fd, std::span<ReceiveSlot> slots) noexcept;
    SendResult send(int fd, std::span<const SendItem> items) noexcept;

private:
    // Room for the largest control message we ask for (in6_pktinfo) plus slack for more later.
    static constexpr std::size_t kControlSize = 64;

    const Syscalls& sys_;
    std::array<mmsghdr, kMaxBatch> headers_{};
    std::array<iovec, kMaxBatch> iovecs_{};
    std::array<Endpoint, kMaxBatch> addresses_{};
    alignas(cmsghdr) std::array<std::array<std::byte, kControlSize>, kMaxBatch> control_{};
};

}  // namespace porthop::net
