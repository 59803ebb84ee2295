// The stream seam (DESIGN.md, "Seams"): u16-length-framed datagrams (wire/framing.hpp) over
// any Asio stream, written once for every user. The server's TCP connections
// (relay/tcp_connection) and the agent's TCP path (relay/agent_tcp) own one each; a TLS
// stream (boost::asio::ssl::stream) plugs in by being the AsyncStream, and unit tests run it
// over an in-memory stream (tests/support/memory_stream.hpp).
//
// In: reads land in a FrameReader (fixed buffer, bounded read sizes); every complete frame is
// handed to the FrameHandler in place, then on_frames_done(), then the next read starts. The
// handler applies back-pressure with hold(): the frames it is not done with stay in the buffer
// and reading pauses (so TCP's flow control slows the peer down) until resume() delivers them
// again. A frame deadline (the handler's frame_timeout(), counted from a frame's first byte, or
// from start() for the first frame) ends a connection that starts a frame and stalls.
// Out: push() copies a frame into a FrameQueue (bounded per stream and per event loop); all
// frames queued while a write is in flight go out in the next single write.
//
// Lifetime: the owner (which owns the FramedStream) is passed to start(); every operation in
// flight keeps it alive, so the buffers they use stay valid. One event loop: not thread-safe.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "porthop/net/frame_queue.hpp"
#include "porthop/net/frame_reader.hpp"

namespace porthop::net {

// Why a stream stopped delivering frames.
enum class StreamEnd : std::uint8_t {
    closed_by_peer,  // the peer ended the stream
    read_error,
    write_error,
    frame_too_large,  // the peer announced a frame longer than max_frame
    frame_too_short,  // a masked record announced less than a hop-link frame (a wrong key)
    frame_timeout,    // a frame (or the first one) did not complete in time
};
const char* to_string(StreamEnd why) noexcept;

// One complete frame in the read buffer; `begin` and `end` (header included) are offsets that
// name it for FrameChannel::hold() during the delivery that handed it out.
struct Frame {
    // In the stream's own read buffer, writable: a codec may open a frame in place.
    std::span<std::byte> payload;
    std::size_t begin;
    std::size_t end;
    bool masked = false;  // its length was masked (FrameReader's forms)
};

class FrameHandler {
public:
    // A complete frame. The payload stays valid until on_frames_done() returns (frames kept by
    // hold() are delivered again after resume(), at their new place).
    virtual void on_frame(const Frame& frame) = 0;
    // Every complete frame read so far was delivered (not called while held): flush batches here.
    virtual void on_frames_done() = 0;
    // Delivery has ended, once; never after close(). The stream stays open until closed.
    virtual void on_stream_end(StreamEnd why, const boost::system::error_code& ec) = 0;
    // The frame deadline; zero: none. Asked whenever a deadline is set, so it may change.
    virtual std::chrono::milliseconds frame_timeout() const noexcept { return {}; }

protected:
    ~FrameHandler() = default;
};

// A framed stream as its owner sees it, whatever carries it.
class FrameChannel {
public:
    virtual ~FrameChannel() = default;
    // Starts reading; `owner` owns this channel and is kept alive by every operation in flight.
    virtual void start(const std::shared_ptr<void>& owner) = 0;
    // Before start(): bytes already read from the stream by someone else (the TLS port's
    // intake read the first record to judge it), delivered as the stream's first bytes. False,
    // keeping nothing, if they do not fit the read buffer.
    virtual bool preload(std::span<const std::byte> bytes) = 0;
    // Queues a copy of one frame (`head`, `payload`, then `tail`) and starts a write unless one
    // is in flight. Anything but `queued` means nothing was queued.
    virtual FrameQueue::Push push(std::span<const std::byte> head, std::span<const std::byte> payload,
                                  std::span<const std::byte> tail = {}) = 0;
    // How record lengths are read and written from the next record on (net/frame_reader.hpp,
    // docs/PROTOCOL.md "TCP framing"); plain both ways until set. May be called from on_frame():
    // the records after that frame are split in the new form. `rule` must outlive the stream.
    virtual void read_plain() = 0;
    virtual void read_masked(const crypto::LengthMask& mask) = 0;
    virtual void read_either(const crypto::LengthMask& mask, const FrameReader::FirstRecord& rule,
                             std::size_t max_masked) = 0;
    virtual void write_masked(const crypto::LengthMask& mask) = 0;
    // From on_frame() or on_frames_done() only: the frames from offset `from` on (delivered,
    // not done with) stay in the buffer, the ones before are dropped, delivery stops and
    // reading pauses until resume(). While held, no frame deadline runs.
    virtual void hold(std::size_t from) = 0;
    // Delivers the held frames again, then reads on.
    virtual void resume() = 0;
    // Closes the stream and frees the queue (a write in flight keeps its buffer until it ends).
    // No handler method runs afterwards.
    virtual void close() = 0;
    virtual bool closed() const noexcept = 0;
    virtual bool held() const noexcept = 0;
    // The buffer capacity the write queue holds (counted against the QueueBudget).
    virtual std::size_t queue_held() const noexcept = 0;
    // Bytes the kernel holds for this stream that no read has taken yet (0 for a stream with no
    // socket under it, or on error): a peer that has sent but not been read is not silent.
    virtual std::size_t unread_bytes() const noexcept = 0;
};

namespace detail {
// Ends a stream at once: a socket (or a stream over one, such as TLS) is shut down and closed
// at its lowest layer; anything else is asked to close().
template <class AsyncStream>
void close_stream(AsyncStream& stream) {
    if constexpr (requires { stream.lowest_layer(); }) {
        boost::system::error_code ignored;
        auto& socket = stream.lowest_layer();
        socket.shutdown(boost::asio::socket_base::shutdown_both, ignored);
        socket.close(ignored);
    } else {
        stream.close();
    }
}
}  // namespace detail

template <class AsyncStream>
class FramedStream final : public FrameChannel {
public:
    struct Options {
        FrameReader::Limits limits;
        // The first frame has a deadline from start(), even before its first byte (a server
        // connection that sends nothing must not hold a slot); otherwise an idle stream has none.
        bool deadline_from_start = false;
    };

    FramedStream(AsyncStream stream, FrameHandler& handler, Options options, QueueBudget& budget)
        : stream_(std::move(stream)),
          handler_(handler),
          from_start_(options.deadline_from_start),
          reader_(options.limits),
          timer_(stream_.get_executor()),
          out_(budget) {}
    FramedStream(const FramedStream&) = delete;
    FramedStream& operator=(const FramedStream&) = delete;

    // The stream itself, for socket options (and, later, what a TLS handshake needs).
    AsyncStream& stream() noexcept { return stream_; }

    void start(const std::shared_ptr<void>& owner) override {
        owner_ = owner;
        reader_.allocate();
        frame_started_ = Clock::now();
        awaiting_ = from_start_;
        if (awaiting_) arm_deadline();
        if (out_.should_write()) write();  // frames pushed before start
        if (reader_.length() > 0)
            deliver();  // preloaded: reads on after it
        else
            read();
    }

    bool preload(std::span<const std::byte> bytes) override {
        reader_.allocate();
        return reader_.append(bytes);
    }

    FrameQueue::Push push(std::span<const std::byte> head, std::span<const std::byte> payload,
                          std::span<const std::byte> tail = {}) override {
        if (closed_) return FrameQueue::Push::closed;
        const auto pushed = out_.push(head, payload, tail);
        if (out_.should_write()) write();
        return pushed;
    }

    void read_plain() override { reader_.read_plain(); }
    void read_masked(const crypto::LengthMask& mask) override { reader_.read_masked(mask); }
    void read_either(const crypto::LengthMask& mask, const FrameReader::FirstRecord& rule,
                     std::size_t max_masked) override {
        reader_.read_either(mask, rule, max_masked);
    }
    void write_masked(const crypto::LengthMask& mask) override { out_.write_masked(mask); }

    void hold(std::size_t from) override {
        if (closed_ || ended_) return;
        hold_from_ = held_ ? std::min(hold_from_, from) : from;
        held_ = true;
    }

    void resume() override {
        if (!held_ || closed_ || ended_) return;
        if (delivering_) {  // held and resumed within one delivery: deliver again after it
            resume_after_ = true;
            return;
        }
        held_ = false;
        deliver();
    }

    void close() override {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        detail::close_stream(stream_);
        out_.close();
    }

    bool closed() const noexcept override { return closed_; }
    bool held() const noexcept override { return held_; }
    std::size_t queue_held() const noexcept override { return out_.held(); }
    std::size_t unread_bytes() const noexcept override {
        if constexpr (requires { stream_.lowest_layer().available(); }) {
            if (closed_) return 0;
            boost::system::error_code ec;
            const std::size_t n = stream_.lowest_layer().available(ec);
            return ec ? 0 : n;
        } else {
            return 0;
        }
    }

private:
    using Clock = std::chrono::steady_clock;

    void read() {
        auto self = owner_.lock();
        if (!self || closed_ || ended_ || held_) return;
        const auto target = reader_.read_target();
        stream_.async_read_some(boost::asio::buffer(target.data(), target.size()),
                                [this, self = std::move(self)](const boost::system::error_code& ec,
                                                               std::size_t n) { on_read(ec, n); });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (closed_ || ended_) return;
        if (ec) {
            end(ec == boost::asio::error::eof ? StreamEnd::closed_by_peer : StreamEnd::read_error, ec);
            return;
        }
        reader_.commit(n);
        deliver();
    }

    // Hands out every complete frame in the buffer, then reads on (unless held or ended).
    void deliver() {
        std::size_t offset = 0;  // everything before it has been delivered
        delivering_ = true;
        for (;;) {
            const auto split = reader_.split_at(offset);
            if (split.status == wire::FrameStatus::need_more) break;
            if (split.status == wire::FrameStatus::too_large || split.status == wire::FrameStatus::too_short) {
                delivering_ = false;
                end(split.status == wire::FrameStatus::too_large ? StreamEnd::frame_too_large
                                                                 : StreamEnd::frame_too_short,
                    {});
                return;
            }
            // split_frame reads a const view of the reader's buffer; the bytes are ours to change.
            const Frame frame{{const_cast<std::byte*>(split.payload.data()), split.payload.size()}, offset,
                              offset + split.consumed, split.masked};
            offset = frame.end;
            completed_any_ = true;
            handler_.on_frame(frame);
            if (closed_ || ended_ || held_) break;
        }
        if (!closed_ && !ended_ && !held_) handler_.on_frames_done();
        delivering_ = false;
        if (closed_ || ended_) return;
        if (held_) {
            reader_.consume(hold_from_);
            awaiting_ = false;  // complete frames wait for the owner: the peer is not late
            if (std::exchange(resume_after_, false)) post_resume();
            return;
        }
        reader_.consume(offset);
        // What is left is the start of a frame (or nothing). A frame that began in this read, or
        // after a hold, gets its own deadline; one that only grew keeps the one it had.
        const bool was_awaiting = awaiting_;
        awaiting_ = reader_.length() > 0 || (from_start_ && !completed_any_);
        if (reader_.length() > 0 && (offset > 0 || !was_awaiting)) frame_started_ = Clock::now();
        if (awaiting_) arm_deadline();
        read();
    }

    void post_resume() {
        auto self = owner_.lock();
        if (!self) return;
        boost::asio::post(stream_.get_executor(), [this, self = std::move(self)] {
            if (!held_ || closed_ || ended_) return;
            held_ = false;
            deliver();
        });
    }

    void write() {
        auto self = owner_.lock();
        if (!self) return;  // not started: the frames wait for start()
        const auto bytes = out_.start_write();
        boost::asio::async_write(stream_, boost::asio::buffer(bytes.data(), bytes.size()),
                                 [this, self = std::move(self)](const boost::system::error_code& ec,
                                                                std::size_t) { on_written(ec); });
    }

    void on_written(const boost::system::error_code& ec) {
        out_.finish_write();
        if (closed_) return;
        if (ec) {
            end(StreamEnd::write_error, ec);
            return;
        }
        if (out_.should_write()) write();
    }

    void arm_deadline() {
        // One timer wait per timeout at most, however many frames pass: the handler re-arms for
        // the frame incomplete then, instead of every read moving the timer.
        if (deadline_armed_) return;
        const auto timeout = handler_.frame_timeout();
        if (timeout <= std::chrono::milliseconds::zero()) return;
        auto self = owner_.lock();
        if (!self) return;
        deadline_armed_ = true;
        timer_.expires_at(frame_started_ + timeout);
        timer_.async_wait([this, self = std::move(self)](const boost::system::error_code& ec) {
            deadline_armed_ = false;
            if (!ec && !closed_ && !ended_) on_deadline();
        });
    }

    void on_deadline() {
        if (!awaiting_) return;  // re-armed when the next frame starts
        const auto timeout = handler_.frame_timeout();
        if (timeout <= std::chrono::milliseconds::zero()) return;
        if (Clock::now() < frame_started_ + timeout) {
            arm_deadline();  // a later frame than the one the timer was set for
            return;
        }
        end(StreamEnd::frame_timeout, {});
    }

    void end(StreamEnd why, const boost::system::error_code& ec) {
        if (closed_ || ended_) return;
        ended_ = true;
        timer_.cancel();
        handler_.on_stream_end(why, ec);
    }

    AsyncStream stream_;
    FrameHandler& handler_;
    std::weak_ptr<void> owner_;
    const bool from_start_;
    FrameReader reader_;
    boost::asio::steady_timer timer_;
    Clock::time_point frame_started_{};  // when the incomplete frame's first byte came
    bool awaiting_ = false;              // a frame is incomplete (or, from start, none has come)
    bool completed_any_ = false;
    bool deadline_armed_ = false;
    bool delivering_ = false;
    bool held_ = false;
    bool resume_after_ = false;
    std::size_t hold_from_ = 0;
    bool ended_ = false;
    bool closed_ = false;
    FrameQueue out_;
};

}  // namespace porthop::net
