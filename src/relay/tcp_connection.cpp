#include "tcp_connection.hpp"

#include <boost/asio/write.hpp>
#include <cstring>

#include "porthop/wire/framing.hpp"

namespace porthop::relay {

namespace asio = boost::asio;

TcpConnection::TcpConnection(Server::Impl& server, asio::ip::tcp::socket socket, SessionPtr session)
    : server_(server),
      socket_(std::move(socket)),
      session_(std::move(session)),
      in_capacity_(wire::kFrameHeaderSize + server.opt_.max_datagram + kReadSlack) {}

void TcpConnection::start() {
    in_ = std::make_unique_for_overwrite<std::byte[]>(in_capacity_);  // untouched pages stay free
    read();
}

void TcpConnection::read() {
    socket_.async_read_some(asio::buffer(in_.get() + in_length_, in_capacity_ - in_length_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                self->on_read(ec, n);
                            });
}

void TcpConnection::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
        server_.close_session(*session_,
                              ec == asio::error::eof ? CloseReason::tcp_closed : CloseReason::tcp_error);
        return;
    }
    in_length_ += n;
    forward_frames();
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
                    return std::string("closing TCP client " + session_->client.to_string() +
                                       ": frame longer than max_datagram (" +
                                       std::to_string(server_.opt_.max_datagram) + ")");
                });
                server_.close_session(*session_, CloseReason::frame_too_large);
                return;
            }
            const std::size_t start = scan;
            scan += split.consumed;
            if (split.payload.empty()) {
                Counters::add(server_.counters_.drop_empty);
                continue;
            }
            starts_[batch] = start;
            items_[batch++] = net::SendItem{split.payload.data(), split.payload.size(), nullptr, nullptr};
        }
        const std::size_t done =
            batch ? server_.forward_to_backend(*session_, {items_.data(), batch}, true) : 0;
        if (done < batch) {  // the backend socket is full: resume at the first frame not sent
            consume(starts_[done]);
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
    read();
}

void TcpConnection::consume(std::size_t bytes) {
    if (bytes == 0) return;
    got_first_frame_ = true;
    session_->last_from_client = Session::Clock::now();
    // Move the rest to the front: a partial frame (room always remains for it to complete) or
    // frames waiting for the backend socket.
    std::memmove(in_.get(), in_.get() + bytes, in_length_ - bytes);
    in_length_ -= bytes;
}

bool TcpConnection::enqueue(std::unique_ptr<net::PacketBuffer>& buffer) {
    const std::size_t frame = wire::kFrameHeaderSize + buffer->length;
    if (closed_ || count_ == kQueueFrames || queued_bytes_ + frame > kQueueBytes) return false;
    auto header = buffer->with_header(wire::kFrameHeaderSize).first<wire::kFrameHeaderSize>();
    wire::write_frame_header(header, static_cast<std::uint16_t>(buffer->length));
    // Counted when accepted for sending, like a datagram handed to the kernel on UDP.
    server_.account_to_client(*session_, 1, buffer->length);
    queue_[(head_ + count_) % kQueueFrames] = std::move(buffer);
    ++count_;
    queued_bytes_ += frame;
    if (!writing_) write();
    return true;
}

void TcpConnection::write() {
    in_flight_ = std::min(count_, out_.size());
    for (std::size_t i = 0; i < in_flight_; ++i) {
        auto frame = queue_[(head_ + i) % kQueueFrames]->with_header(wire::kFrameHeaderSize);
        out_[i] = asio::buffer(frame.data(), frame.size());
    }
    writing_ = true;
    asio::async_write(socket_, std::span<const asio::const_buffer>(out_.data(), in_flight_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                          self->on_written(ec);
                      });
}

void TcpConnection::on_written(const boost::system::error_code& ec) {
    writing_ = false;
    if (closed_) {
        // The buffers could not be reused while the write was in flight; now they can.
        release_queue();
        return;
    }
    if (ec) {
        server_.close_session(*session_, CloseReason::tcp_error);
        return;
    }
    for (std::size_t i = 0; i < in_flight_; ++i) {
        auto& slot = queue_[head_];
        queued_bytes_ -= wire::kFrameHeaderSize + slot->length;
        server_.pool_.put(std::move(slot));
        head_ = (head_ + 1) % kQueueFrames;
        --count_;
    }
    in_flight_ = 0;
    if (count_ > 0) write();
}

void TcpConnection::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (!writing_) release_queue();
}

void TcpConnection::release_queue() {
    for (; count_ > 0; --count_) {
        server_.pool_.put(std::move(queue_[head_]));
        head_ = (head_ + 1) % kQueueFrames;
    }
    queued_bytes_ = 0;
}

}  // namespace porthop::relay
