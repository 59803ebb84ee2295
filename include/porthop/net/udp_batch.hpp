// The socket seam for UDP: receive a batch, send a batch (recvmmsg/sendmmsg underneath), with
// UDP GSO on send and GRO on receive where the kernel offers them.
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
// Offload (the pure halves are in offload.hpp, with their unit tests):
// - GRO (receive). enable_gro() sets UDP_GRO on a socket, only when the caller's receive buffers
//   hold kGroBufferSize bytes (a coalesced buffer is up to 64 KiB). The kernel may then deliver
//   several datagrams of one sender as one buffer: the slot's `segment_size` is set, and the
//   datagrams are the consecutive `segment_size`-byte pieces of the buffer (the last may be
//   shorter). A slot is never handed to the relay as is: callers walk `datagrams(slot)`
//   (offload.hpp), which yields one ReceiveSlot per datagram, pointing into the same buffer (no
//   copy). Segments are packed back to back, so nothing may be written in front of a segment:
//   a header goes out through SendItem::head instead. If setsockopt fails, GRO is off for good
//   for this UdpBatch (counted as a fallback) and sockets simply get one datagram per buffer.
// - GSO (send). send() itself finds runs of consecutive items to one destination (same peer
//   and source address) of one size, the last possibly shorter (gso_run), at most 64
//   datagrams and 65507 bytes, and sends each run of two or more as ONE message: an iovec per
//   item (no copy) and a UDP_SEGMENT control message; the kernel (or the NIC) cuts it back into
//   the datagrams. Results still count datagrams, so callers see no difference. The first time
//   a run is found, GSO support is probed (getsockopt UDP_SEGMENT); no support = off.
//   Fallback: if the kernel refuses a GSO message with EIO, EINVAL, ENOPROTOOPT or EOPNOTSUPP
//   (no checksum offload on the device, an old kernel, IPsec...), GSO is turned off for good for
//   this UdpBatch, counted, and the same datagrams are sent again one per message, so nothing is
//   lost. Any other error on a GSO message (EMSGSIZE from a path MTU below the segment size,
//   ECONNREFUSED...) re-sends that message's datagrams one by one with GSO kept on, so each
//   datagram meets the same fate it would have met without GSO. EAGAIN is a full socket, as
//   without GSO.
// - "For good" is per UdpBatch, which is per event loop: one refusal turns the offload off for
//   every socket of that loop. Counters (set_offload_counters) see datagrams that came or went
//   coalesced and each fallback.
//
// The system calls go through `Syscalls` so tests can inject errors, short counts, and
// offload support or refusal.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
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
    // out: GRO coalesced several datagrams of `peer` into this buffer, each this long but the
    // last; 0: the buffer is one datagram. Walk them with datagrams(slot) (offload.hpp).
    std::size_t segment_size = 0;
};

struct SendItem {
    const std::byte* data = nullptr;
    std::size_t length = 0;
    const Endpoint* peer = nullptr;       // nullptr on connected sockets
    const LocalAddress* local = nullptr;  // nullptr or AF_UNSPEC: kernel's choice
    // Bytes sent in front of `data`: a per-datagram header (a hop-link frame header, which a
    // codec may write differently for every datagram: a nonce, padding). It lives in the item,
    // so a batch of items carries a batch of headers; the datagram is head + data, gathered by
    // the kernel, so the payload is never copied to make room in front of it.
    static constexpr std::size_t kMaxHead = 32;
    std::array<std::byte, kMaxHead> head{};
    std::size_t head_length = 0;
    // Bytes sent after `data` (a hop-link frame's padding), from storage the caller keeps
    // until send() returns: the datagram is head + data + tail.
    const std::byte* tail = nullptr;
    std::size_t tail_length = 0;

    // The datagram's length on the wire.
    std::size_t size() const noexcept { return head_length + length + tail_length; }
};

struct ReceiveResult {
    std::size_t count = 0;          // slots filled (buffers; with GRO one may hold several datagrams)
    int error = 0;                  // errno of a failed receive (EAGAIN is not reported)
    std::size_t gro_datagrams = 0;  // datagrams that came coalesced (in slots with segment_size)
};

struct SendResult {
    std::size_t sent = 0;        // datagrams (items), however many messages they went in
    std::size_t sent_bytes = 0;  // head + data of the items sent
    std::size_t head_bytes =
        0;  // of sent_bytes, the heads' and tails' (what a caller's payload count leaves out)
    std::size_t failed = 0;
    int error = 0;  // last errno seen, 0 if none
    // The socket buffer was full (EAGAIN): items from `stopped_at` on were not tried (they are
    // included in `failed`). A caller that can wait may retry them once the socket is writable.
    bool full = false;
    std::size_t stopped_at = 0;
    std::size_t gso_datagrams = 0;  // of `sent`, those that went in GSO messages
    int gso_turned_off = 0;         // the errno that turned GSO off during this call, or 0
};

struct Syscalls {
    int (*recvmmsg)(int fd, mmsghdr* msgs, unsigned count, int flags, timespec* timeout);
    int (*sendmmsg)(int fd, mmsghdr* msgs, unsigned count, int flags);
    // Used for the offloads only (UDP_SEGMENT probe, UDP_GRO). Null: no offload at all, as on a
    // kernel without it (not counted as a fallback); fakes that only count messages leave them out.
    int (*getsockopt)(int fd, int level, int name, void* value, socklen_t* length) = nullptr;
    int (*setsockopt)(int fd, int level, int name, const void* value, socklen_t length) = nullptr;
};
const Syscalls& system_syscalls() noexcept;

// Asks the kernel to report each datagram's destination address (see LocalAddress).
// Returns 0 or an errno.
int enable_pktinfo(int fd, bool ipv6) noexcept;

// Where a UdpBatch counts its offload work (any may be null). Written by the batch's loop only.
struct OffloadCounters {
    std::atomic<std::uint64_t>* gso_datagrams = nullptr;  // sent inside GSO messages
    std::atomic<std::uint64_t>* gso_messages = nullptr;   // GSO messages sent (2+ datagrams each)
    std::atomic<std::uint64_t>* gro_datagrams = nullptr;  // received inside coalesced buffers
    std::atomic<std::uint64_t>* gro_messages = nullptr;   // coalesced buffers received
    std::atomic<std::uint64_t>* gso_fallbacks = nullptr;  // GSO turned off (0 or 1)
    std::atomic<std::uint64_t>* gro_fallbacks = nullptr;  // GRO turned off (0 or 1)
};

// A receive buffer this large takes any GRO-coalesced datagram (the kernel stops at 64 KiB).
inline constexpr std::size_t kGroBufferSize = 65535;

class UdpBatch {
public:
    explicit UdpBatch(const Syscalls& sys = system_syscalls()) noexcept : sys_(sys) {}

    ReceiveResult receive(int fd, std::span<ReceiveSlot> slots) noexcept;
    SendResult send(int fd, std::span<const SendItem> items) noexcept;

    // Turns UDP_GRO on for `fd` (see the contract above) if this batch still uses GRO and the
    // caller's receive buffers hold `buffer_capacity` >= kGroBufferSize bytes. Returns whether
    // it is on. A failure is no error: GRO is just off from then on.
    bool enable_gro(int fd, std::size_t buffer_capacity) noexcept;

    void set_offload_counters(const OffloadCounters& counters) noexcept { counters_ = counters; }
    // Off for good once refused; "unknown" (not probed yet) counts as usable.
    bool gso_enabled() const noexcept { return gso_ != State::off; }
    bool gro_enabled() const noexcept { return gro_ != State::off; }

private:
    enum class State : std::uint8_t { unknown, on, off };

    // Items per sendmmsg call (a GSO message takes up to 64): bounds the iovec array below.
    static constexpr std::size_t kMaxSendItems = 4 * kMaxBatch;
    // Room for every control message we ask for or send (in6_pktinfo plus UDP_GRO or
    // UDP_SEGMENT take 64 bytes), with slack.
    static constexpr std::size_t kControlSize = 96;

    bool gso_usable(int fd) noexcept;
    void turn_off(State& state, std::atomic<std::uint64_t>* counter) noexcept;

    const Syscalls& sys_;
    State gso_ = State::unknown;
    State gro_ = State::unknown;
    OffloadCounters counters_;
    std::array<mmsghdr, kMaxBatch> headers_{};
    std::array<iovec, 3 * kMaxSendItems> iovecs_{};  // up to 3 per item: head, data and tail
    std::array<Endpoint, kMaxBatch> addresses_{};
    // Per message of the current send call: its first item and how many items it carries.
    std::array<std::size_t, kMaxBatch> first_item_{};
    std::array<std::size_t, kMaxBatch> item_count_{};
    alignas(cmsghdr) std::array<std::array<std::byte, kControlSize>, kMaxBatch> control_{};
};

}  // namespace porthop::net
