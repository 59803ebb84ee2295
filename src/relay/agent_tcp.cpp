#include "agent_tcp.hpp"

#include <utility>

#include "porthop/wire/framing.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::relay {

namespace asio = boost::asio;

AgentTcpPath::AgentTcpPath(asio::io_context& io, Handler& handler, std::size_t max_frame, crypto::LengthMask sent,
                           crypto::LengthMask read, std::optional<TlsClient> tls)
    : io_(io), handler_(handler), max_frame_(max_frame), sent_(sent), read_(read), tls_(std::move(tls)) {}

namespace {

// A refusal or an ICMP reject of the connect is a firewall's answer as much as a reset is.
TcpEnd connect_end(const boost::system::error_code& ec) {
    if (!ec) return TcpEnd::tls_failed;  // connect_stream: no code for a TLS failure
    if (ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
        ec == asio::error::network_unreachable)
        return TcpEnd::refused;
    if (ec == asio::error::connection_reset) return TcpEnd::reset;
    return TcpEnd::other;
}

}  // namespace

void AgentTcpPath::connect(const asio::ip::tcp::endpoint& server) {
    // Reads take whatever has arrived, up to a frame beyond the longest one.
    const std::size_t room = wire::kFrameHeaderSize + max_frame_;
    connecting_ = connect_stream(
        io_, server, static_cast<net::FrameHandler&>(*this), {max_frame_, 2 * room, room}, budget_,
        [self = shared_from_this()](const std::string& error, const boost::system::error_code& connect_error,
                                    std::unique_ptr<net::FrameChannel> stream) {
            self->connecting_.reset();
            if (self->closed_) return;
            if (!error.empty()) {
                self->fail(error, connect_end(connect_error));
                return;
            }
            self->stream_ = std::move(stream);
            self->stream_->read_masked(self->read_);
            self->stream_->write_masked(self->sent_);
            self->activity_.last_received = std::chrono::steady_clock::now();  // its start
            self->handler_.on_tcp_up(*self);
            if (!self->closed_) self->stream_->start(self);
        },
        tls_ ? &*tls_ : nullptr);
}

void AgentTcpPath::on_frame(const net::Frame& frame) {
    activity_.received_bytes += frame.payload.size();
    handler_.on_tcp_frame(*this, frame.payload);
}

void AgentTcpPath::on_frames_done() {
    activity_.last_received = std::chrono::steady_clock::now();  // once per read, not per frame
    handler_.on_tcp_frames_done(*this);
}

void AgentTcpPath::on_stream_end(net::StreamEnd why, const boost::system::error_code& ec) {
    switch (why) {
        case net::StreamEnd::closed_by_peer:
            fail("the server closed the connection", TcpEnd::closed);
            return;
        case net::StreamEnd::read_error:
            fail("read: " + ec.message(), ec == asio::error::connection_reset ? TcpEnd::reset : TcpEnd::other);
            return;
        case net::StreamEnd::write_error:
            fail("write: " + ec.message(), ec == asio::error::connection_reset ? TcpEnd::reset : TcpEnd::other);
            return;
        case net::StreamEnd::frame_too_large:
            fail("the server sent a frame longer than max_datagram", TcpEnd::other);
            return;
        case net::StreamEnd::frame_too_short:
            fail("the server's record length does not unmask (not porthop, or another key)", TcpEnd::other);
            return;
        case net::StreamEnd::frame_timeout:  // the agent sets no frame deadline
            fail("no complete frame in time", TcpEnd::other);
            return;
    }
}

bool AgentTcpPath::send_data(std::span<const std::byte> head, std::span<const std::byte> datagram,
                             std::span<const std::byte> tail) {
    return sent(up() && stream_->push(head, datagram, tail) == net::FrameQueue::Push::queued);
}

bool AgentTcpPath::send_control(std::span<const std::byte> frame) {
    return sent(up() && stream_->push({}, frame) == net::FrameQueue::Push::queued);
}

bool AgentTcpPath::sent(bool queued) noexcept {
    // The first send after a receive marks the time an answer is due from (a send before the
    // last receive is not waiting for anything); later ones would only move it forward.
    if (queued && activity_.last_sent <= activity_.last_received) activity_.last_sent = std::chrono::steady_clock::now();
    return queued;
}

void AgentTcpPath::fail(const std::string& why, TcpEnd end) {
    if (closed_) return;
    close();
    handler_.on_tcp_down(*this, why, end);
}

void AgentTcpPath::close() {
    if (closed_) return;
    closed_ = true;
    if (stream_) stream_->close();
    if (connecting_) std::exchange(connecting_, nullptr)->cancel();
}

}  // namespace porthop::relay
