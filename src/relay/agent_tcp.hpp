// The agent's TCP path to porthop server: one connection (plain TCP, or TLS: the TLS rung),
// hop-link frames both ways as records with masked u16 lengths (docs/PROTOCOL.md, "TCP
// framing"), made by the relay's TCP transport (tcp_transport.hpp). Once
// connected, a net::FramedStream carries it (the stream seam, as on the server's side): frames
// are handed to the owner one by one, sends are queued (bounded by the stream's own queue).
// After close() no callback runs.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "porthop/hop/tcp_rotation.hpp"
#include "porthop/net/framed_stream.hpp"
#include "tcp_transport.hpp"

namespace porthop::relay {

// How a connection ended, as far as blocking goes (the agent's diagnosis counts these).
enum class TcpEnd : std::uint8_t {
    refused,     // the connect was refused (a RST to the SYN), or the host or network unreachable
    reset,       // reset once up (or during the connect)
    tls_failed,  // the TLS handshake failed (a refused certificate, a reset or silence during it)
    closed,      // the server closed it
    other,       // a timeout, a protocol error, a local failure
};

class AgentTcpPath final : public std::enable_shared_from_this<AgentTcpPath>, private net::FrameHandler {
public:
    // Each call names the path it comes from: the agent holds a second one while it replaces
    // the first (hop/tcp_rotation.hpp).
    struct Handler {
        virtual void on_tcp_up(AgentTcpPath& path) = 0;
        // One complete frame (valid until the call returns; a data frame's payload stays
        // valid until on_tcp_frames_done).
        virtual void on_tcp_frame(AgentTcpPath& path, std::span<std::byte> frame) = 0;  // opened in place by the codec
        virtual void on_tcp_frames_done(AgentTcpPath& path) = 0;                 // after the frames of one read
        // Once; not after close().
        virtual void on_tcp_down(AgentTcpPath& path, const std::string& why, TcpEnd end) = 0;

    protected:
        ~Handler() = default;
    };

    // `sent`, `read`: the masks over the lengths of the records it sends and reads (the codec's).
    // `tls`: the connection is TLS (the records inside it as on plain TCP); null: plain TCP.
    AgentTcpPath(boost::asio::io_context& io, Handler& handler, std::size_t max_frame, crypto::LengthMask sent,
                 crypto::LengthMask read, std::optional<TlsClient> tls = std::nullopt);

    void connect(const boost::asio::ip::tcp::endpoint& server);
    // Queues a copy of a sealed hop-link data frame (FrameCodec::seal_data's head, the masked
    // datagram, its padding) as one record; false when the queue is full or the path is not up.
    bool send_data(std::span<const std::byte> head, std::span<const std::byte> datagram,
                   std::span<const std::byte> tail);
    bool send_control(std::span<const std::byte> frame);
    void close();
    bool up() const noexcept { return stream_ && !closed_; }
    // What it has carried (from when it came up): for the agent's rotation.
    const hop::TcpActivity& activity() const noexcept { return activity_; }
    // The agent sent its attach on it (a replacement connection: the server may move the
    // session to it, and close the one it replaces, from then on).
    void mark_attached() noexcept { attached_ = true; }
    bool attached() const noexcept { return attached_ && up(); }
    // True the first time only: the agent counts a connection that froze once, however many
    // signs of it it sees (a stalled rotation, then the path going dark).
    bool first_freeze() noexcept { return !std::exchange(freeze_counted_, true); }

private:
    // net::FrameHandler
    void on_frame(const net::Frame& frame) override;
    void on_frames_done() override;
    void on_stream_end(net::StreamEnd why, const boost::system::error_code& ec) override;

    void fail(const std::string& why, TcpEnd end);
    bool sent(bool queued) noexcept;

    boost::asio::io_context& io_;
    Handler& handler_;
    std::size_t max_frame_;
    crypto::LengthMask sent_;
    crypto::LengthMask read_;
    std::optional<TlsClient> tls_;
    hop::TcpActivity activity_{{}, std::chrono::steady_clock::time_point::min(), 0};
    bool closed_ = false;
    bool attached_ = false;
    bool freeze_counted_ = false;
    net::QueueBudget budget_{net::FrameQueue::kMaxBytes};  // one connection: its own queue is the bound
    std::shared_ptr<OutgoingStream> connecting_;           // until connected
    std::unique_ptr<net::FrameChannel> stream_;            // set once connected
};

}  // namespace porthop::relay
