// One TCP client connection: u16-length-framed datagrams in both directions.
//
// In: reads land in a fixed per-connection buffer (room for the largest frame plus slack, so
// several frames arrive per read); complete frames are sent to the backend straight from that
// buffer, a partial tail is moved to the front. Out: datagrams from the backend arrive in pool
// buffers; the 2-byte length is written into their headroom and up to 64 frames go out in
// one gathered write. The queue is bounded in frames and bytes; a client that reads too
// slowly loses datagrams (as it would on UDP), never the relay's memory.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "server_impl.hpp"

namespace porthop::relay {

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
public:
    static constexpr std::size_t kQueueFrames = 256;
    static constexpr std::size_t kQueueBytes = 1u << 20;
    static constexpr std::size_t kReadSlack = 16384;

    TcpConnection(Server::Impl& server, boost::asio::ip::tcp::socket socket, SessionPtr session);

    void start();
    // Takes `buffer` (a datagram from the backend) when there is room; false means the caller
    // keeps it and counts the drop.
    bool enqueue(std::unique_ptr<net::PacketBuffer>& buffer);
    // Called by the server when the session closes: closes the socket, frees the queue.
    void close();
    bool got_first_frame() const noexcept { return got_first_frame_; }

private:
    void read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void forward_frames();
    void consume(std::size_t bytes);
    void write();
    void on_written(const boost::system::error_code& ec);
    void release_queue();

    Server::Impl& server_;
    boost::asio::ip::tcp::socket socket_;
    SessionPtr session_;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_capacity_;
    std::size_t in_length_ = 0;
    bool got_first_frame_ = false;
    bool closed_ = false;

    std::array<std::unique_ptr<net::PacketBuffer>, kQueueFrames> queue_;
    std::size_t head_ = 0, count_ = 0, queued_bytes_ = 0;
    bool writing_ = false;
    std::size_t in_flight_ = 0;
    std::array<boost::asio::const_buffer, net::kMaxBatch> out_;
    std::array<net::SendItem, net::kMaxBatch> items_;
    std::array<std::size_t, net::kMaxBatch> starts_;  // where each item's frame begins in in_
};

}  // namespace porthop::relay
