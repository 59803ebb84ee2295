// One TCP client connection: u16-length-framed datagrams in both directions, carried by a
// net::FramedStream (the stream seam: TCP today, TLS or an in-memory stream just as well).
//
// The first complete frame decides what the connection is. With a hop key configured, the
// first record is read in either form (net/frame_reader.hpp): a plain one that is the first
// packet of a native VPN client (an OpenVPN client hard reset, a WireGuard initiation), or a
// masked one, which must be an attach that passes the hop link's checks: it makes the
// connection a path of that porthop client's session (agent mode: every record then has a
// masked length and carries a hop-link frame). Anything else is closed without a byte, as a
// web server drops a bad request. Without
// a key every connection is a native client. A native connection owns its session; an agent
// connection is one path of a session that outlives it. An attach naming a session of another
// worker brings that session here (StreamHost::hand_over_attach); the connection never moves.
//
// In: complete frames go to the backend straight from the stream's read buffer, up to 64 per
// sendmmsg; when the backend socket is full, the rest is held in the buffer and reading pauses
// (TCP's flow control then slows the client down instead of the relay dropping datagrams).
// Every frame has a deadline (first_frame_timeout, from its first byte; for the first frame,
// from the accept): a connection that starts a frame and stalls is closed, not kept until the
// idle timeout. Out: datagrams from the backend are queued on the stream (copied, bounded).
//
// It sees the server only through StreamHost (stream_host.hpp).
#pragma once

#include <array>
#include <memory>
#include <optional>

#include "pending_connection.hpp"
#include "porthop/net/framed_stream.hpp"
#include "stream_host.hpp"

namespace porthop::relay {

using Push = net::FrameQueue::Push;

class TcpConnection final : public std::enable_shared_from_this<TcpConnection>,
                            public PendingConnection,
                            private net::FrameHandler,
                            private net::FrameReader::FirstRecord {
public:
    static constexpr std::size_t kReadSlack = 16384;
    static constexpr std::size_t kReadChunk = 16384;

    enum class Mode : std::uint8_t { pending, native, agent };
    // The answer to StreamHost::hand_over_attach: the session came to this worker (bound to
    // this connection, ack queued), its owner refused the attach, or it held no such session.
    enum class Handover : std::uint8_t { moved, refused, gone };

    // `stream` is connected (and, for TLS, past its handshake); its frames are read once
    // start() runs. `budget`: what the reply queues of this event loop may hold together.
    template <class AsyncStream>
    TcpConnection(StreamHost& host, AsyncStream stream, net::QueueBudget& budget, net::Endpoint peer,
                  std::shared_ptr<ListenerCounters> stats, std::uint16_t port)
        : host_(host),
          peer_(peer),
          stats_(std::move(stats)),
          port_(port),
          stream_(std::make_unique<net::FramedStream<AsyncStream>>(
              std::move(stream), static_cast<net::FrameHandler&>(*this),
              typename net::FramedStream<AsyncStream>::Options{
                  {host.options().max_datagram, kReadChunk, kReadSlack}, true},
              budget)) {}
    TcpConnection(const TcpConnection&) = delete;
    TcpConnection& operator=(const TcpConnection&) = delete;

    // `source`: the source it counts against in the server's per-source TCP share (released
    // when the connection closes). `entered`: the connection already counts in that share
    // (it comes from the TLS port's intake, which took the slot at the accept).
    void start(std::optional<SourceKey> source = std::nullopt, bool entered = false);
    // Bytes already read from the stream (the TLS port's intake judged them): the first
    // frames. Before start(); false if they do not fit the read buffer (nothing kept).
    bool preload(std::span<const std::byte> bytes);
    // Queues a copy of `datagram` (from the backend) and counts it sent; anything but `queued`
    // is a drop the caller counts. In agent mode it goes out as a hop-link data frame. With
    // tcp_rotate_bytes, once this connection has sent its budget, replies are parked in the
    // session's AgentLink for the connection the agent moves to (`queued`), and dropped (`spent`) when
    // that holds kMaxParkedReplies already.
    net::FrameQueue::Push enqueue(std::span<std::byte> datagram);
    // Queues a hop-link control frame (an ack) as it is.
    net::FrameQueue::Push enqueue_control(std::span<const std::byte> frame);
    // Closes the stream, frees the queue and leaves the server's connection count (once). The
    // session, if any, is the caller's business.
    void close() override;

    // The host's answer to hand_over_attach (with the session when `moved`).
    void handed_over(Handover result, SessionPtr session);
    // The backend socket takes data again: the held frames go on (StreamHost::when_backend_writable).
    void backend_writable();

    Mode mode() const noexcept { return mode_; }
    // PendingConnection
    bool pending() const noexcept override { return mode_ == Mode::pending; }
    bool closed() const noexcept override { return closed_; }
    // While pending: when it was accepted (the first frame's deadline counts from there).
    Session::Clock::time_point waiting_since() const noexcept override { return accepted_; }
    // Whether the client has sent bytes this relay has not read yet (the read is queued behind
    // other work): such a connection is not a silent one, whatever its age.
    bool has_unread_input() const noexcept override { return stream_->unread_bytes() > 0; }
    const net::Endpoint& peer() const noexcept override { return peer_; }
    std::uint16_t port() const noexcept { return port_; }
    const std::shared_ptr<ListenerCounters>& stats() const noexcept { return stats_; }

private:
    // What the ingress decision makes of a frame.
    enum class Ingress : std::uint8_t {
        forward,  // send the datagram (the frame, a hop-link header stripped) to the backend
        done,     // nothing to forward (an attach, a keepalive, a dropped frame)
        stop,     // the connection closed, or waits for another worker's answer
    };
    Ingress ingress(const net::Frame& frame, std::span<const std::byte>& datagram);
    bool decide(const net::Frame& first);
    bool decide_agent(const net::Frame& first);

    // net::FrameHandler
    void on_frame(const net::Frame& frame) override;
    void on_frames_done() override;
    void on_stream_end(net::StreamEnd why, const boost::system::error_code& ec) override;
    std::chrono::milliseconds frame_timeout() const noexcept override;
    // net::FrameReader::FirstRecord: an attach that opens under the key (checked on a copy:
    // the stream's bytes stay as they came); the first datagram a native client of this port
    // may send.
    bool agent(std::span<const std::byte> payload) const noexcept override;
    bool native(std::span<const std::byte> payload) const noexcept override;

    // Replies in agent mode with ServerOptions::tcp_rotate_bytes (`budget`; 0: none).
    Push push_datagram(std::span<std::byte> datagram, std::uint64_t budget);
    bool fits(std::uint64_t budget, std::size_t datagram) const noexcept;
    Push park(std::span<const std::byte> datagram);
    bool drain_parked(std::uint64_t budget);  // true when nothing is left parked
    void after_attach();
    // Sends the batched frames; what a full backend socket refuses is held in the stream.
    void flush();
    void reject(const char* why);
    void end(CloseReason reason);  // the client went away or broke the framing

    StreamHost& host_;
    net::Endpoint peer_;
    std::shared_ptr<ListenerCounters> stats_;
    std::uint16_t port_;
    std::unique_ptr<net::FrameChannel> stream_;
    Session::Clock::time_point accepted_{};
    std::optional<SourceKey> source_;
    SessionPtr session_;  // null while pending
    Mode mode_ = Mode::pending;
    bool closed_ = false;
    bool touched_ = false;        // frames were handled since the session's clock was set
    std::uint8_t handovers_ = 0;  // hand_over_attach calls made for the first frame
    bool skip_attach_ = false;    // the held attach was judged by another worker
    std::uint64_t sent_bytes_ = 0;  // records queued to the client (ServerOptions::tcp_rotate_bytes)
    std::size_t batch_ = 0;
    std::array<net::SendItem, net::kMaxBatch> items_;
    std::array<std::size_t, net::kMaxBatch> starts_;  // where each item's frame begins in the buffer
    std::array<std::span<std::byte>, net::kMaxBatch> frames_;  // each item's whole frame
};

// Replies parked for the agent's next TCP connection (TcpConnection::enqueue), dropped when the
// agent climbed to UDP instead: kept, they would go out on whatever connection it makes next,
// minutes later and stale, and hold up to AgentLink::kMaxParkedReplies until the session ends.
// Returns how many datagrams were dropped (the caller counts them).
std::size_t drop_parked_replies(AgentLink& agent) noexcept;

}  // namespace porthop::relay
