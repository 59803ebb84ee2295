#include "frame_queue.hpp"

#include <boost/asio/write.hpp>
#include <cstring>

#include "porthop/wire/framing.hpp"

namespace porthop::relay {

namespace asio = boost::asio;

FrameQueue::FrameQueue(asio::ip::tcp::socket& socket, net::PacketPool& pool,
                       std::function<void(const boost::system::error_code&)> on_error)
    : socket_(socket), pool_(pool), on_error_(std::move(on_error)) {}

bool FrameQueue::push(std::unique_ptr<net::PacketBuffer>& buffer, std::size_t header,
                      const std::shared_ptr<void>& owner) {
    const std::size_t frame = header + buffer->length;
    if (closed_ || count_ == kFrames || bytes_ + frame > kBytes ||
        frame - wire::kFrameHeaderSize > wire::kMaxFrameLength)
        return false;
    auto bytes = buffer->with_header(header);
    wire::write_frame_header(bytes.first<wire::kFrameHeaderSize>(),
                             static_cast<std::uint16_t>(frame - wire::kFrameHeaderSize));
    const std::size_t at = (head_ + count_) % kFrames;
    queue_[at] = std::move(buffer);
    headers_[at] = static_cast<std::uint8_t>(header);
    ++count_;
    bytes_ += frame;
    if (!writing_) write(owner);
    return true;
}

bool FrameQueue::push_copy(std::span<const std::byte> frame, const std::shared_ptr<void>& owner) {
    auto buffer = pool_.get();
    if (!buffer || frame.size() > buffer->payload_capacity()) {
        pool_.put(std::move(buffer));
        return false;
    }
    std::memcpy(buffer->payload(), frame.data(), frame.size());
    buffer->length = frame.size();
    if (push(buffer, wire::kFrameHeaderSize, owner)) return true;
    pool_.put(std::move(buffer));
    return false;
}

void FrameQueue::write(const std::shared_ptr<void>& owner) {
    in_flight_ = std::min(count_, out_.size());
    for (std::size_t i = 0; i < in_flight_; ++i) {
        const std::size_t at = (head_ + i) % kFrames;
        auto frame = queue_[at]->with_header(headers_[at]);
        out_[i] = asio::buffer(frame.data(), frame.size());
    }
    writing_ = true;
    asio::async_write(
        socket_, std::span<const asio::const_buffer>(out_.data(), in_flight_),
        [this, owner](const boost::system::error_code& ec, std::size_t) { on_written(ec, owner); });
}

void FrameQueue::on_written(const boost::system::error_code& ec, const std::shared_ptr<void>& owner) {
    writing_ = false;
    if (closed_) {
        release();  // the buffers could not be reused while the write was in flight; now they can
        return;
    }
    if (ec) {
        on_error_(ec);
        return;
    }
    for (std::size_t i = 0; i < in_flight_; ++i) {
        bytes_ -= headers_[head_] + queue_[head_]->length;
        pool_.put(std::move(queue_[head_]));
        head_ = (head_ + 1) % kFrames;
        --count_;
    }
    in_flight_ = 0;
    if (count_ > 0) write(owner);
}

void FrameQueue::close() {
    if (closed_) return;
    closed_ = true;
    if (!writing_) release();
}

void FrameQueue::release() {
    for (; count_ > 0; --count_) {
        pool_.put(std::move(queue_[head_]));
        head_ = (head_ + 1) % kFrames;
    }
    bytes_ = 0;
}

}  // namespace porthop::relay
