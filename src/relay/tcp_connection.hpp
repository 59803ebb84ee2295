// One TCP client connection: u16-length-framed datagrams in both directions.
//
// The first complete frame decides what the connection is. With a hop key configured: an
// attach that passes the hop link's checks makes it a path of that porthop client's session
// (agent mode: every frame then carries a hop-link frame); anything else must look like the
// first packet of a native VPN client (an OpenVPN client hard reset, a WireGuard initiation),
// or the connection is closed without a byte, as a web server drops a bad request. Without
// a key every connection is a native client. A native connection owns its session; an agent
// connection is one path of a session that outlives it.
//
// In: reads land in a fixed per-connection buffer (room for the largest frame plus slack), at
// most kReadChunk bytes at a time unless a longer frame is being assembled, so the pages a
// connection touches follow its frames, not the largest possible one; complete frames are sent
// to the backend straight from that buffer, a partial tail is moved to the front. Every frame
// has a deadline (frame_timeout, from its first byte; for the first frame, from the accept):
// a connection that starts a frame and stalls is closed, not kept until the idle timeout.
// Out: datagrams from the backend go out through a FrameQueue (copied, bounded).
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "frame_queue.hpp"
#include "server_impl.hpp"

namespace porthop::relay {

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
public:
    static constexpr std::size_t kReadSlack = 16384;
    static constexpr std::size_t kReadChunk = 16384;

    enum class Mode : std::uint8_t { pending, native, agent };

    TcpConnection(Server::Impl& server, boost::asio::ip::tcp::socket socket, net::Endpoint peer,
                  std::shared_ptr<ListenerCounters> stats, std::uint16_t port);

    // `already`: bytes another worker read from this connection before handing it over
    // (`adopted`: it is not handed on again). `source`: the source it counts against in the
    // server's per-source TCP share (released when the connection closes or moves).
    void start(std::span<const std::byte> already = {}, bool adopted = false,
               std::optional<SourceKey> source = std::nullopt);
    // Queues a copy of `datagram` (from the backend) and counts it sent; anything but `queued`
    // is a drop the caller counts. In agent mode it goes out as a hop-link data frame.
    FrameQueue::Push enqueue(std::span<const std::byte> datagram);
    // Queues a hop-link control frame (an ack) as it is.
    FrameQueue::Push enqueue_control(std::span<const std::byte> frame);
    // Closes the socket, frees the queue and leaves the server's connection count (once). The
    // session, if any, is the caller's business.
    void close();

    Mode mode() const noexcept { return mode_; }
    bool closed() const noexcept { return closed_; }
    // While pending: when it was accepted (the first frame's deadline counts from there).
    Session::Clock::time_point waiting_since() const noexcept { return frame_started_; }
    const net::Endpoint& peer() const noexcept { return peer_; }
    std::uint16_t port() const noexcept { return port_; }
    const std::shared_ptr<ListenerCounters>& stats() const noexcept { return stats_; }

private:
    void read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    // Decides the mode from the first frame; false when the connection was closed instead.
    bool decide(std::span<const std::byte> first_frame);
    void reject(const char* why);
    // Gives the socket and the bytes read to worker `to` (several workers); this object is done.
    void hand_over(std::uint32_t to);
    void forward_frames();
    void consume(std::size_t bytes);
    void end(CloseReason reason);  // the client went away or broke the framing
    // The frame deadline: armed while a frame is incomplete (or none has come yet).
    void arm_deadline();
    void on_deadline();
    void leave_source() noexcept;

    Server::Impl& server_;
    boost::asio::ip::tcp::socket socket_;
    net::Endpoint peer_;
    std::shared_ptr<ListenerCounters> stats_;
    std::uint16_t port_;
    boost::asio::steady_timer frame_timer_;
    Session::Clock::time_point frame_started_{};  // when the incomplete frame's first byte came
    bool awaiting_frame_ = true;                  // a frame is incomplete (or none has come yet)
    bool deadline_armed_ = false;
    std::optional<SourceKey> source_;
    SessionPtr session_;  // null while pending
    Mode mode_ = Mode::pending;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_capacity_;
    std::size_t in_length_ = 0;
    bool closed_ = false;
    bool adopted_ = false;

    FrameQueue out_;
    std::array<net::SendItem, net::kMaxBatch> items_;
    std::array<std::size_t, net::kMaxBatch> starts_;  // where each item's frame begins in in_
};

}  // namespace porthop::relay
