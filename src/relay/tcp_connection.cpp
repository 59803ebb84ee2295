#include "tcp_connection.hpp"

#include <boost/asio/write.hpp>
#include <cstring>

#include "porthop/wire/framing.hpp"
#include "porthop/wire/hoplink.hpp"
#include "porthop/wire/protocol.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
namespace hopw = wire::hop;


TcpConnection::TcpConnection(Server::Impl& server, asio::ip::tcp::socket socket, net::Endpoint peer,
                             std::shared_ptr<ListenerCounters> stats, std::uint16_t port)
    : server_(server),
      socket_(std::move(socket)),
      peer_(peer),
      stats_(std::move(stats)),
      port_(port),
      frame_timer_(server.io_),
      in_capacity_(wire::kFrameHeaderSize + server.opt_.max_datagram + kReadSlack),
      out_(socket_, server.tcp_budget_, [this](const boost::system::error_code&) { end(CloseReason::tcp_error); }) {
}

void TcpConnection::start(std::span<const std::byte> already, bool adopted, std::optional<SourceKey> source) {
    adopted_ = adopted;
    source_ = source;
    if (source_) server_.enter_tcp_source(*source_);
    server_.track_pending(shared_from_this());
    in_ = std::make_unique_for_overwrite<std::byte[]>(in_capacity_);  // untouched pages stay free
    // Slowloris guard: a connection that never completes a frame must not hold a slot forever.
    frame_started_ = Session::Clock::now();
    arm_deadline();
    if (!already.empty() && already.size() <= in_capacity_) {
        std::memcpy(in_.get(), already.data(), already.size());
        in_length_ = already.size();
        forward_frames();  // reads on when done
        return;
    }
    read();
}

void TcpConnection::arm_deadline() {
    if (deadline_armed_) return;
    // One timer wait per frame_timeout at most, however many frames pass: the handler re-arms
    // for the frame incomplete then, instead of every read moving the timer.
    deadline_armed_ = true;
    frame_timer_.expires_at(frame_started_ + server_.opt_.first_frame_timeout);
    frame_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        self->deadline_armed_ = false;
        if (!ec && !self->closed_) self->on_deadline();
    });
}

void TcpConnection::on_deadline() {
    if (!awaiting_frame_) return;  // re-armed when the next frame starts
    if (Session::Clock::now() < frame_started_ + server_.opt_.first_frame_timeout) {
        arm_deadline();  // a later frame than the one the timer was set for
        return;
    }
    Counters::add(server_.counters_.tcp_timeouts);
    server_.warn_limited(server_.warn_input_, [&] {
        return "closing TCP connection from " + peer_.to_string() + ": no complete frame within " +
               std::to_string(server_.opt_.first_frame_timeout.count()) + " ms";
    });
    if (mode_ == Mode::pending)
        close();
    else
        end(CloseReason::tcp_timeout);
}

void TcpConnection::read() {
    // At most kReadChunk at a time, or what the frame being assembled at the front still needs.
    std::size_t want = kReadChunk;
    if (in_length_ >= wire::kFrameHeaderSize) {
        const auto announced = (std::to_integer<std::size_t>(in_[0]) << 8) | std::to_integer<std::size_t>(in_[1]);
        want = std::max(want, wire::kFrameHeaderSize + announced);
    }
    want = std::min(want, in_capacity_);
    socket_.async_read_some(asio::buffer(in_.get() + in_length_, want - in_length_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                self->on_read(ec, n);
                            });
}

void TcpConnection::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
        end(ec == asio::error::eof ? CloseReason::tcp_closed : CloseReason::tcp_error);
        return;
    }
    in_length_ += n;
    forward_frames();
}

void TcpConnection::end(CloseReason reason) {
    if (mode_ == Mode::native && session_) {
        server_.close_session(*session_, reason);  // closes this connection too
        return;
    }
    if (mode_ == Mode::agent && session_) server_.detach_tcp(*session_, *this);
    close();
}

bool TcpConnection::decide(std::span<const std::byte> first_frame) {
    if (server_.opt_.hop_keys && hopw::classify(first_frame) == hopw::Kind::control) {
        // A porthop client whose address changed may connect to another worker than the one
        // holding its session: the connection moves there, before anything is answered.
        if (!adopted_ && server_.multi_worker())
            if (auto to = server_.attach_owner(first_frame)) {
                hand_over(*to);
                return false;
            }
        session_ = server_.attach_tcp(*this, first_frame);
        if (!session_) {
            reject("hop-link attach refused");
            return false;
        }
        mode_ = Mode::agent;
    } else {
        // A native client's first datagram is its VPN's handshake: an OpenVPN client's hard
        // reset (a tcp-client OpenVPN), or a WireGuard initiation (udp-over-tcp tools in front
        // of WireGuard). Anything else is refused where the port is not a blind relay: with a
        // hop-link key (the port must not answer probes) or a protocol set.
        const auto native = wire::classify_native(first_frame, server_.opt_.protocol);
        const bool strict = server_.opt_.hop_keys || server_.opt_.protocol != wire::Protocol::any;
        if (strict && !(wire::is_handshake(native) && wire::carries(server_.opt_.protocol, native))) {
            reject(server_.opt_.hop_keys ? "first frame is neither a hop-link attach nor a VPN handshake"
                                         : "first frame is not a handshake of the listener's protocol");
            return false;
        }
        if (!server_.passes_filters(native, first_frame)) {
            close();  // counted (bad mac1)
            return false;
        }
        session_ = server_.open_tcp_session(*this);
        if (!session_) {
            close();
            return false;
        }
        mode_ = Mode::native;
    }
    return true;
}

void TcpConnection::hand_over(std::uint32_t to) {
    boost::system::error_code ec;
    const int fd = socket_.release(ec);
    if (ec) {
        close();
        return;
    }
    // Done here without close(): the connection lives on (and stays counted) at worker `to`.
    closed_ = true;
    frame_timer_.cancel();
    leave_source();
    out_.close();
    server_.hand_over_tcp(to, fd, peer_, port_, std::vector<std::byte>(in_.get(), in_.get() + in_length_));
}

void TcpConnection::reject(const char* why) {
    // Not a byte back: to a prober this port behaves like a server that dropped a bad request.
    Counters::add(server_.counters_.drop_tcp_rejected);
    server_.warn_limited(server_.warn_input_, [&] {
        return std::string("closing TCP connection from " + peer_.to_string() + ": " + why);
    });
    close();
}

// Sends the complete frames in the input buffer to the backend, up to 64 per sendmmsg. When the
// backend socket is full, the rest waits in the buffer and reading pauses until the socket is
// writable again: TCP's flow control then slows the client down, instead of the relay
// dropping datagrams that the tunnel would have to retransmit.
void TcpConnection::forward_frames() {
    std::size_t offset = 0;  // everything before it has been forwarded or dropped
    for (;;) {
        std::size_t batch = 0, scan = offset;
        while (batch < items_.size()) {
            const auto split =
                wire::split_frame({in_.get() + scan, in_length_ - scan}, server_.opt_.max_datagram);
            if (split.status == wire::FrameStatus::need_more) break;
            if (split.status == wire::FrameStatus::too_large) {
                // Nothing of this frame is forwarded; what came before it is (if it fits).
                if (batch) server_.forward_to_backend(*session_, {items_.data(), batch}, false);
                Counters::add(server_.counters_.drop_frame_too_large);
                server_.warn_limited(server_.warn_input_, [&] {
                    return std::string("closing TCP client " + peer_.to_string() +
                                       ": frame longer than max_datagram (" +
                                       std::to_string(server_.opt_.max_datagram) + ")");
                });
                end(CloseReason::frame_too_large);
                return;
            }
            const std::size_t start = scan;
            scan += split.consumed;
            auto frame = split.payload;
            if (mode_ == Mode::pending) {
                if (frame.empty()) {  // not a VPN's first datagram, whatever the protocol
                    reject("empty first frame");
                    return;
                }
                if (!decide(frame)) return;
                if (mode_ == Mode::agent) continue;  // the attach itself goes nowhere
            } else if (mode_ == Mode::native) {
                if (!server_.admit_native_frame(frame, peer_, Session::Clock::now())) continue;
            } else if (mode_ == Mode::agent) {
                const auto kind = hopw::classify(frame);
                if (kind == hopw::Kind::control) {
                    server_.attach_tcp(*this, frame, session_.get());  // a keepalive; refused: dropped
                    continue;
                }
                if (kind != hopw::Kind::data) {
                    Counters::add(server_.counters_.drop_agent_frame);
                    continue;
                }
                server_.note_tcp_data(*session_, *this);
                frame = hopw::data_payload(frame);
            }
            if (frame.empty()) {
                Counters::add(server_.counters_.drop_empty);
                continue;
            }
            starts_[batch] = start;
            items_[batch++] = net::SendItem{frame.data(), frame.size(), nullptr, nullptr};
        }
        if (closed_) return;
        const std::size_t done =
            batch ? server_.forward_to_backend(*session_, {items_.data(), batch}, true) : 0;
        if (done < batch) {  // the backend socket is full: resume at the first frame not sent
            consume(starts_[done]);
            awaiting_frame_ = false;  // complete frames wait: the client is not late
            session_->upstream.async_wait(
                asio::socket_base::wait_write,
                [self = shared_from_this()](const boost::system::error_code& wait_ec) {
                    if (!wait_ec && !self->closed_) self->forward_frames();
                });
            return;
        }
        offset = scan;
        if (batch < items_.size()) break;  // no complete frame left
    }
    consume(offset);
    // What is left is the start of a frame (or nothing). A frame that began in this read, or
    // after a wait, gets its own deadline; one that only grew keeps the one it had.
    const bool was_awaiting = awaiting_frame_;
    awaiting_frame_ = in_length_ > 0 || mode_ == Mode::pending;
    if (in_length_ > 0 && (offset > 0 || !was_awaiting)) frame_started_ = Session::Clock::now();
    if (awaiting_frame_) arm_deadline();
    read();
}

void TcpConnection::consume(std::size_t bytes) {
    if (bytes == 0) return;
    if (session_) session_->last_from_client = Session::Clock::now();
    // Move the rest to the front: a partial frame (room always remains for it to complete) or
    // frames waiting for the backend socket.
    std::memmove(in_.get(), in_.get() + bytes, in_length_ - bytes);
    in_length_ -= bytes;
}

FrameQueue::Push TcpConnection::enqueue(std::span<const std::byte> datagram) {
    static constexpr std::array<std::byte, hopw::kDataOverhead> kDataType{static_cast<std::byte>(hopw::Type::data)};
    const std::span<const std::byte> head =
        mode_ == Mode::agent ? std::span<const std::byte>(kDataType) : std::span<const std::byte>();
    const auto pushed = out_.push(head, datagram, shared_from_this());
    // Counted when accepted for sending, like a datagram handed to the kernel on UDP.
    if (pushed == FrameQueue::Push::queued) server_.account_to_client(*session_, 1, datagram.size());
    return pushed;
}

FrameQueue::Push TcpConnection::enqueue_control(std::span<const std::byte> frame) {
    return out_.push({}, frame, shared_from_this());
}

void TcpConnection::leave_source() noexcept {
    if (source_) server_.leave_tcp_source(*std::exchange(source_, std::nullopt));
}

void TcpConnection::close() {
    if (closed_) return;
    closed_ = true;
    frame_timer_.cancel();
    leave_source();
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    out_.close();
    server_.shared_.tcp_connections.fetch_sub(1, std::memory_order_relaxed);
    Counters::add(server_.counters_.tcp_connections_closed);
}

}  // namespace porthop::relay
