#include "agent_tcp.hpp"

#include <boost/asio/connect.hpp>
#include <cstring>

#include "porthop/wire/framing.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::relay {

namespace asio = boost::asio;

AgentTcpPath::AgentTcpPath(asio::io_context& io, Handler& handler, std::size_t max_frame)
    : socket_(io),
      handler_(handler),
      max_frame_(max_frame),
      in_capacity_(2 * (wire::kFrameHeaderSize + max_frame)),
      out_(socket_, budget_, [this](const boost::system::error_code& ec) { fail("write: " + ec.message()); }) {}

void AgentTcpPath::connect(const asio::ip::tcp::endpoint& server) {
    socket_.async_connect(server, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->closed_) return;
        if (ec) {
            self->fail("connect: " + ec.message());
            return;
        }
        boost::system::error_code ignored;
        // Nagle would hold small tunnelled packets back for up to hundreds of milliseconds.
        self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
        self->in_ = std::make_unique_for_overwrite<std::byte[]>(self->in_capacity_);
        self->up_ = true;
        self->handler_.on_tcp_up();
        if (!self->closed_) self->read();
    });
}

void AgentTcpPath::read() {
    socket_.async_read_some(asio::buffer(in_.get() + in_length_, in_capacity_ - in_length_),
                            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                self->on_read(ec, n);
                            });
}

void AgentTcpPath::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
        fail(ec == asio::error::eof ? std::string("the server closed the connection")
                                    : "read: " + ec.message());
        return;
    }
    in_length_ += n;
    std::size_t offset = 0;
    for (;;) {
        const auto split = wire::split_frame({in_.get() + offset, in_length_ - offset}, max_frame_);
        if (split.status == wire::FrameStatus::need_more) break;
        if (split.status == wire::FrameStatus::too_large) {
            fail("the server sent a frame longer than max_datagram");
            return;
        }
        offset += split.consumed;
        handler_.on_tcp_frame(split.payload);
        if (closed_) return;
    }
    handler_.on_tcp_frames_done();
    if (closed_) return;
    std::memmove(in_.get(), in_.get() + offset, in_length_ - offset);
    in_length_ -= offset;
    read();
}

bool AgentTcpPath::send_data(std::span<const std::byte> datagram) {
    static constexpr std::array<std::byte, wire::hop::kDataOverhead> kDataType{
        static_cast<std::byte>(wire::hop::Type::data)};
    return up() && out_.push(kDataType, datagram, shared_from_this()) == FrameQueue::Push::queued;
}

bool AgentTcpPath::send_control(std::span<const std::byte> frame) {
    return up() && out_.push({}, frame, shared_from_this()) == FrameQueue::Push::queued;
}

void AgentTcpPath::fail(const std::string& why) {
    if (closed_) return;
    close();
    handler_.on_tcp_down(why);
}

void AgentTcpPath::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    out_.close();
}

}  // namespace porthop::relay
