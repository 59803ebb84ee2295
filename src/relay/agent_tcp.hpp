// The agent's TCP path to porthop server: one connection, u16-length-framed hop-link frames
// both ways (docs/PROTOCOL.md), TCP_NODELAY. Reads land in a fixed buffer and are handed to the
// owner frame by frame; sends go through a FrameQueue. After close() no callback runs.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <span>

#include "frame_queue.hpp"

namespace porthop::relay {

class AgentTcpPath : public std::enable_shared_from_this<AgentTcpPath> {
public:
    struct Handler {
        virtual void on_tcp_up() = 0;
        // One complete frame (valid until the call returns; a data frame's payload stays
        // valid until on_tcp_frames_done).
        virtual void on_tcp_frame(std::span<const std::byte> frame) = 0;
        virtual void on_tcp_frames_done() = 0;                 // after the frames of one read
        virtual void on_tcp_down(const std::string& why) = 0;  // once; not after close()

    protected:
        ~Handler() = default;
    };

    AgentTcpPath(boost::asio::io_context& io, Handler& handler, std::size_t max_frame);

    void connect(const boost::asio::ip::tcp::endpoint& server);
    // Queues a copy of `datagram` as a hop-link data frame; false when the queue is full or
    // the path is not up.
    bool send_data(std::span<const std::byte> datagram);
    bool send_control(std::span<const std::byte> frame);
    void close();
    bool up() const noexcept { return up_ && !closed_; }

private:
    void read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void fail(const std::string& why);

    boost::asio::ip::tcp::socket socket_;
    Handler& handler_;
    std::size_t max_frame_;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_capacity_;
    std::size_t in_length_ = 0;
    bool up_ = false;
    bool closed_ = false;
    QueueBudget budget_{FrameQueue::kMaxBytes};  // one connection: its own queue is the bound
    FrameQueue out_;
};

}  // namespace porthop::relay
