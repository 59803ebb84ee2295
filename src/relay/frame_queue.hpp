// The sending half of a framed TCP path (server connection or agent path): datagrams in pool
// buffers, each with its frame header (u16 length, and for hop-link data the type byte) written
// into the buffer's headroom, go out many per gathered write. Bounded in frames and bytes: a
// peer that reads too slowly loses datagrams (as it would on UDP), never the relay's memory.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>

#include "porthop/net/packet_pool.hpp"
#include "porthop/net/udp_batch.hpp"

namespace porthop::relay {

class FrameQueue {
public:
    static constexpr std::size_t kFrames = 256;
    static constexpr std::size_t kBytes = 1u << 20;

    // `on_error` runs (once per failed write) when the socket refuses a write.
    FrameQueue(boost::asio::ip::tcp::socket& socket, net::PacketPool& pool,
               std::function<void(const boost::system::error_code&)> on_error);

    // Queues `buffer` as one frame: `header` bytes in front of its payload, of which the first
    // two are set here to the frame length (the rest the caller wrote). Takes the buffer and
    // starts a write unless one is in flight; false (buffer untouched) when full or closed.
    // `owner` is kept alive until the write completes.
    bool push(std::unique_ptr<net::PacketBuffer>& buffer, std::size_t header,
              const std::shared_ptr<void>& owner);
    // A control frame copied into a pool buffer and queued as is.
    bool push_copy(std::span<const std::byte> frame, const std::shared_ptr<void>& owner);
    // Frees the queue; a write in flight finishes first (its buffers cannot be reused before).
    void close();

private:
    void write(const std::shared_ptr<void>& owner);
    void on_written(const boost::system::error_code& ec, const std::shared_ptr<void>& owner);
    void release();

    boost::asio::ip::tcp::socket& socket_;
    net::PacketPool& pool_;
    std::function<void(const boost::system::error_code&)> on_error_;
    std::array<std::unique_ptr<net::PacketBuffer>, kFrames> queue_;
    std::array<std::uint8_t, kFrames> headers_{};  // header bytes in front of each payload
    std::size_t head_ = 0, count_ = 0, bytes_ = 0;
    bool writing_ = false;
    bool closed_ = false;
    std::size_t in_flight_ = 0;
    std::array<boost::asio::const_buffer, net::kMaxBatch> out_;
};

}  // namespace porthop::relay
