// The sending half of a framed TCP path (server connection or agent path): each datagram is
// copied, with its frame header (u16 length, and for hop-link data the type byte), into the
// connection's own byte queue, and whatever queued while a write was in flight goes out in the
// next single write. Bounded in what it really costs: the capacity of the queue's two buffers,
// per connection (kMaxBytes) and, through a QueueBudget, for all connections of an event loop.
//
// Why a copy and not the pool buffer the datagram arrived in: a queued pool buffer pins a
// whole receive buffer (64 KiB, sized for GRO) for a datagram of a few hundred bytes, from a
// pool the event loop shares, so a few peers that never read could hold the loop's memory and
// starve every other client of buffers. A copy of ~1400 bytes costs far less than the write.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace porthop::relay {

// What the TCP queues of one event loop may hold together, in bytes of buffer capacity.
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
    };

    // `on_error` runs (once per failed write) when the socket refuses a write.
    FrameQueue(boost::asio::ip::tcp::socket& socket, QueueBudget& budget,
               std::function<void(const boost::system::error_code&)> on_error);
    ~FrameQueue();

    // Queues one frame: the u16 length of (head + payload), `head` (0 or a few bytes, e.g. the
    // hop-link type byte), `payload`; starts a write unless one is in flight. `owner` is kept
    // alive until the write completes.
    Push push(std::span<const std::byte> head, std::span<const std::byte> payload,
              const std::shared_ptr<void>& owner);
    // Frees the queue; a write in flight finishes first (its buffer cannot be freed before).
    void close();

    std::size_t held() const noexcept { return waiting_.capacity() + writing_.capacity(); }

private:
    void write(const std::shared_ptr<void>& owner);
    void on_written(const boost::system::error_code& ec, const std::shared_ptr<void>& owner);
    bool grow(std::size_t need);
    void free(std::vector<std::byte>& buffer) noexcept;

    boost::asio::ip::tcp::socket& socket_;
    QueueBudget& budget_;
    std::function<void(const boost::system::error_code&)> on_error_;
    std::vector<std::byte> waiting_;  // frames queued behind the write in flight
    std::vector<std::byte> writing_;  // the write in flight
    bool writing_now_ = false;
    bool closed_ = false;
};

}  // namespace porthop::relay
