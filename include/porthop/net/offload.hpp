// UDP GSO and GRO, the pure halves: which items can go as one GSO message, which errors mean
// "the kernel refuses GSO", and how a GRO-coalesced receive buffer splits into datagrams. No
// system calls here; UdpBatch (udp_batch.hpp, where the contracts are written) uses these, and
// the relay walks received slots with datagrams().
#pragma once

#include <cstddef>
#include <span>

#include "porthop/net/udp_batch.hpp"

namespace porthop::net {

// The kernel's limits for one UDP_SEGMENT send: at most 64 segments (UDP_MAX_SEGMENTS), and
// one IP packet's worth of payload before segmentation (65535 - 20 IPv4 - 8 UDP; IPv6 allows
// 20 bytes more, the smaller limit serves both).
inline constexpr std::size_t kGsoMaxSegments = 64;
inline constexpr std::size_t kGsoMaxBytes = 65535 - 20 - 8;

// Whether two items go to the same place: same peer (or both on a connected socket) and the
// same chosen source address.
bool same_destination(const SendItem& a, const SendItem& b) noexcept;

// How many items, from the first, can go out as one GSO message: all to the first item's
// destination, all as long as the first (head + data + tail: the segment size) except
// that the last may be shorter (but not empty), at most `max_segments` of them and `max_bytes`
// in total. 1 means "send the first item on its own" (also for an empty first item, or when
// `max_segments` is 1); 0 only for no items or max_segments 0.
std::size_t gso_run(std::span<const SendItem> items, std::size_t max_segments = kGsoMaxSegments,
                    std::size_t max_bytes = kGsoMaxBytes) noexcept;

// An errno from a GSO send that means the kernel or the device will not do GSO (EIO: no
// checksum offload or IPsec on the route; EINVAL: an old kernel's checks or UDP checksums off;
// ENOPROTOOPT/EOPNOTSUPP: no such option). Turns GSO off for good. Other errors are about the
// datagrams or the path, not GSO (EMSGSIZE, ECONNREFUSED, ENETUNREACH...), and EAGAIN is a full
// socket buffer.
bool gso_refused(int error) noexcept;

// One datagram of a received buffer: where it starts and how long it is.
struct Segment {
    std::size_t offset = 0;
    std::size_t length = 0;
    bool truncated = false;  // the datagram did not fit (the caller drops it)
};

// How many datagrams a received buffer of `length` bytes holds, with the kernel's `segment_size`
// (0: not coalesced) and `truncated` flag: ceil(length / segment_size), each segment_size long
// but the last. A coalesced buffer that was truncated (only when the caller's buffer is below
// kGroBufferSize) yields its whole segments and then one truncated piece for what was cut off.
std::size_t gro_segment_count(std::size_t length, std::size_t segment_size, bool truncated) noexcept;
// Datagram `index` (< gro_segment_count) of such a buffer.
Segment gro_segment(std::size_t length, std::size_t segment_size, bool truncated, std::size_t index) noexcept;

// The datagrams of one received slot, as slots of their own (same peer and local address,
// pointing into the slot's buffer, segment_size 0): one for an ordinary datagram, several for
// a GRO-coalesced buffer.
//
//     for (const net::ReceiveSlot& datagram : net::datagrams(slots[i])) ...
class Datagrams {
public:
    explicit Datagrams(const ReceiveSlot& slot) noexcept
        : slot_(slot), count_(gro_segment_count(slot.length, slot.segment_size, slot.truncated)) {}

    std::size_t size() const noexcept { return count_; }
    ReceiveSlot operator[](std::size_t index) const noexcept;

    class iterator {
    public:
        iterator(const Datagrams& d, std::size_t i) noexcept : d_(&d), i_(i) {}
        ReceiveSlot operator*() const noexcept { return (*d_)[i_]; }
        iterator& operator++() noexcept {
            ++i_;
            return *this;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }

    private:
        const Datagrams* d_;
        std::size_t i_;
    };
    iterator begin() const noexcept { return {*this, 0}; }
    iterator end() const noexcept { return {*this, count_}; }

private:
    const ReceiveSlot& slot_;
    std::size_t count_;
};

inline Datagrams datagrams(const ReceiveSlot& slot) noexcept { return Datagrams(slot); }

// Every datagram of a receive batch (the slots a receive filled), in order:
//
//     for (const net::ReceiveSlot& datagram : net::datagrams({slots.data(), received.count})) ...
class BatchDatagrams {
public:
    explicit BatchDatagrams(std::span<const ReceiveSlot> slots) noexcept : slots_(slots) {}

    class iterator {
    public:
        iterator(std::span<const ReceiveSlot> slots, std::size_t slot) noexcept
            : slots_(slots), slot_(slot), count_(count_at(slot)) {}
        ReceiveSlot operator*() const noexcept { return Datagrams(slots_[slot_])[segment_]; }
        iterator& operator++() noexcept {
            if (++segment_ == count_) {
                segment_ = 0;
                count_ = count_at(++slot_);
            }
            return *this;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.slot_ == b.slot_ && a.segment_ == b.segment_;
        }

    private:
        std::size_t count_at(std::size_t slot) const noexcept {
            if (slot >= slots_.size()) return 0;
            const ReceiveSlot& s = slots_[slot];
            return gro_segment_count(s.length, s.segment_size, s.truncated);
        }
        std::span<const ReceiveSlot> slots_;
        std::size_t slot_;
        std::size_t segment_ = 0;
        std::size_t count_;
    };
    iterator begin() const noexcept { return {slots_, 0}; }
    iterator end() const noexcept { return {slots_, slots_.size()}; }

private:
    std::span<const ReceiveSlot> slots_;
};

inline BatchDatagrams datagrams(std::span<const ReceiveSlot> slots) noexcept { return BatchDatagrams(slots); }

}  // namespace porthop::net
