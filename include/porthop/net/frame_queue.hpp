// The sending half of a framed stream (net/framed_stream.hpp), without the stream: each
// datagram is copied, with its frame header (u16 length, then a `head` such as the hop-link type
// byte), into the connection's own byte queue, and whatever queued while a write was in flight
// goes out in the next single write (many frames per write). Bounded in what it really costs:
// the capacity of the queue's two buffers, per connection (kMaxBytes) and, through a
// QueueBudget, for all connections of an event loop.
//
// Why a copy and not the pool buffer the datagram arrived in: a queued pool buffer pins a
// whole receive buffer (64 KiB, sized for GRO) for a datagram of a few hundred bytes, from a
// pool the event loop shares, so a few peers that never read could hold the loop's memory and
// starve every other client of buffers. A copy of ~1400 bytes costs far less than the write.
//
// Pure bookkeeping (no I/O): the stream asks for the bytes of the next write with
// start_write() and reports its completion with finish_write().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "porthop/crypto/length_mask.hpp"

namespace porthop::net {

// What the stream queues of one event loop may hold together, in bytes of buffer capacity.
// One event loop only: not thread-safe.
struct QueueBudget {
    std::size_t limit;
    std::size_t used = 0;
};

class FrameQueue {
public:
    // One connection's queue (the frames waiting plus the write in flight) at most.
    static constexpr std::size_t kMaxBytes = 128 * 1024;
    // A connection may always hold this much, whatever the budget says: a client that reads
    // what it is sent never queues more, so peers that never read cannot cost it a datagram.
    static constexpr std::size_t kFloor = 16 * 1024;

    enum class Push : std::uint8_t {
        queued,
        closed,
        too_slow,     // this connection's queue is at kMaxBytes
        over_budget,  // the event loop's budget is spent (and this queue is above kFloor)
        spent,        // never from the queue: its owner's byte budget for the connection is used
    };

    explicit FrameQueue(QueueBudget& budget) noexcept : budget_(budget) {}
    ~FrameQueue();
    FrameQueue(const FrameQueue&) = delete;
    FrameQueue& operator=(const FrameQueue&) = delete;

    // From the next push on, the lengths are masked (a porthop agent's records: the frame's
    // first 8 bytes are its salt, crypto/length_mask.hpp); plain until then.
    void write_masked(const crypto::LengthMask& mask) noexcept { mask_.emplace(mask); }

    // Queues one frame: the u16 length of (head + payload + tail), `head` (0 or a few bytes),
    // `payload`, `tail` (a hop-link frame's padding, or nothing). Nothing is queued unless the
    // result is `queued`. With masked lengths, a frame shorter than a salt is refused (`closed`:
    // no hop-link frame is).
    Push push(std::span<const std::byte> head, std::span<const std::byte> payload,
              std::span<const std::byte> tail = {});

    // True when frames wait and no write is in flight: the caller should start one.
    bool should_write() const noexcept { return !closed_ && !writing_now_ && !waiting_.empty(); }
    // The bytes of the next write: every frame queued so far. They stay valid (and are not
    // touched by push) until finish_write(). Call only when should_write().
    std::span<const std::byte> start_write() noexcept;
    // The write in flight ended (written or failed). After close(), frees what it could not.
    void finish_write() noexcept;
    // Frees the queue; a write in flight keeps its buffer until finish_write().
    void close() noexcept;

    bool writing() const noexcept { return writing_now_; }
    bool closed() const noexcept { return closed_; }
    std::size_t waiting_bytes() const noexcept { return waiting_.size(); }
    // The buffer capacity this queue holds (what it counts against the budget).
    std::size_t held() const noexcept { return waiting_.capacity() + writing_.capacity(); }

private:
    bool grow(std::size_t need);
    void free(std::vector<std::byte>& buffer) noexcept;

    QueueBudget& budget_;
    std::optional<crypto::LengthMask> mask_;
    std::vector<std::byte> waiting_;  // frames queued behind the write in flight
    std::vector<std::byte> writing_;  // the write in flight
    bool writing_now_ = false;
    bool closed_ = false;
};

}  // namespace porthop::net
