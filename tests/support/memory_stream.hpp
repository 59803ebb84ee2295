// An in-memory duplex byte stream for unit tests: two ends on one executor, each an Asio
// AsyncReadStream and AsyncWriteStream (async_read_some, async_write_some, get_executor,
// close), so a net::FramedStream runs over it exactly as over a TCP socket, with no socket,
// port or timing of the kernel's involved.
//
// What a test controls, on the end it drives:
//   - read_limit: at most this many bytes per read of this end (frames split across reads);
//   - inbox_capacity: at most this many unread bytes wait at this end; the peer's writes stall
//     beyond (a peer that does not read), and go on when take() makes room;
//   - put() appends bytes for this end's peer at once (what a client sends), take() returns what
//     this end was sent, close() ends it (the peer reads end-of-stream, its writes fail).
// Completions are posted to the executor, never run inside the call that starts an operation.
// One thread only. Close both ends (or run the executor dry) before destroying a test's
// objects: a pending operation holds its handler, and with it whatever the handler keeps alive.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace porthop::test {

class MemoryStream {
public:
    using executor_type = boost::asio::any_io_executor;
    using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

    // Two connected ends.
    static std::pair<MemoryStream, MemoryStream> pair(executor_type executor) {
        auto state = std::make_shared<State>(std::move(executor));
        return {MemoryStream(state, 0), MemoryStream(state, 1)};
    }

    MemoryStream(MemoryStream&&) noexcept = default;
    MemoryStream& operator=(MemoryStream&&) noexcept = default;

    executor_type get_executor() const noexcept { return state_->executor; }

    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& b) {
                std::vector<boost::asio::mutable_buffer> list(boost::asio::buffer_sequence_begin(b),
                                                              boost::asio::buffer_sequence_end(b));
                start_read(std::move(list), Handler(std::move(handler)));
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class Token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b) {
                std::vector<boost::asio::const_buffer> list(boost::asio::buffer_sequence_begin(b),
                                                            boost::asio::buffer_sequence_end(b));
                start_write(std::move(list), Handler(std::move(handler)));
            },
            token, buffers);
    }

    // Ends this side: its pending operations complete with operation_aborted, the peer reads
    // end-of-stream once it has read what was sent, and the peer's writes fail (broken_pipe).
    void close() {
        End& me = mine();
        if (me.closed) return;
        me.closed = true;
        if (me.read) {
            complete(std::move(me.read->handler), boost::asio::error::operation_aborted, 0);
            me.read.reset();
        }
        if (me.write) {
            complete(std::move(me.write->handler), boost::asio::error::operation_aborted, 0);
            me.write.reset();
        }
        serve_read(peer_index());
        serve_write(peer_index());
    }
    bool is_open() const noexcept { return !state_->ends[side_].closed; }

    // ---- controls for the test ----
    void set_read_limit(std::size_t bytes) noexcept { mine().read_limit = bytes; }
    void set_inbox_capacity(std::size_t bytes) {
        mine().capacity = bytes;
        serve_write(peer_index());
    }
    // Appends `bytes` to what the peer reads (no capacity applies), as if written by this end.
    void put(std::span<const std::byte> bytes) {
        End& peer = theirs();
        peer.inbox.insert(peer.inbox.end(), bytes.begin(), bytes.end());
        serve_read(peer_index());
    }
    // Everything sent to this end and not yet read; makes room for the peer's stalled writes.
    std::vector<std::byte> take() {
        std::vector<std::byte> out = std::exchange(mine().inbox, {});
        serve_write(peer_index());
        return out;
    }
    std::size_t unread() const noexcept { return state_->ends[side_].inbox.size(); }
    bool peer_closed() const noexcept { return state_->ends[1 - side_].closed; }
    // How many writes (async_write_some calls) this end started.
    std::size_t write_calls() const noexcept { return state_->ends[side_].write_calls; }
    // A write of the peer is waiting for room at this end.
    bool peer_stalled() const noexcept { return state_->ends[1 - side_].write.has_value(); }

private:
    struct PendingRead {
        std::vector<boost::asio::mutable_buffer> buffers;
        Handler handler;
    };
    struct PendingWrite {
        std::vector<boost::asio::const_buffer> buffers;
        Handler handler;
    };
    struct End {
        std::vector<std::byte> inbox;  // bytes sent to this end, not yet read
        std::size_t capacity = std::numeric_limits<std::size_t>::max();
        std::size_t read_limit = std::numeric_limits<std::size_t>::max();
        bool closed = false;
        std::size_t write_calls = 0;
        std::optional<PendingRead> read;
        std::optional<PendingWrite> write;
    };
    struct State {
        explicit State(executor_type e) : executor(std::move(e)) {}
        executor_type executor;
        End ends[2];
    };

    MemoryStream(std::shared_ptr<State> state, int side) : state_(std::move(state)), side_(side) {}

    End& mine() noexcept { return state_->ends[side_]; }
    End& theirs() noexcept { return state_->ends[1 - side_]; }
    int peer_index() const noexcept { return 1 - side_; }

    void complete(Handler handler, boost::system::error_code ec, std::size_t n) {
        boost::asio::post(state_->executor,
                          [h = std::move(handler), ec, n]() mutable { std::move(h)(ec, n); });
    }

    void start_read(std::vector<boost::asio::mutable_buffer> buffers, Handler handler) {
        End& me = mine();
        if (me.closed) {
            complete(std::move(handler), boost::asio::error::operation_aborted, 0);
            return;
        }
        me.read.emplace(PendingRead{std::move(buffers), std::move(handler)});
        serve_read(side_);
    }

    void start_write(std::vector<boost::asio::const_buffer> buffers, Handler handler) {
        End& me = mine();
        if (me.closed) {
            complete(std::move(handler), boost::asio::error::operation_aborted, 0);
            return;
        }
        ++me.write_calls;
        me.write.emplace(PendingWrite{std::move(buffers), std::move(handler)});
        serve_write(side_);
    }

    // Completes end `side`'s pending read if it can: with bytes, or end-of-stream.
    void serve_read(int side) {
        End& end = state_->ends[side];
        End& writer = state_->ends[1 - side];
        if (!end.read) return;
        const std::size_t want = boost::asio::buffer_size(end.read->buffers);
        if (end.inbox.empty() && want > 0) {
            if (!writer.closed) return;  // waits for bytes
            complete(std::move(end.read->handler), boost::asio::error::eof, 0);
            end.read.reset();
            return;
        }
        const std::size_t n = std::min({want, end.inbox.size(), end.read_limit});
        boost::asio::buffer_copy(end.read->buffers, boost::asio::buffer(end.inbox.data(), n));
        end.inbox.erase(end.inbox.begin(), end.inbox.begin() + static_cast<std::ptrdiff_t>(n));
        complete(std::move(end.read->handler), {}, n);
        end.read.reset();
        serve_write(1 - side);  // room was made
    }

    // Completes end `side`'s pending write if the peer has room for some of it.
    void serve_write(int side) {
        End& end = state_->ends[side];
        End& reader = state_->ends[1 - side];
        if (!end.write) return;
        if (reader.closed) {
            complete(std::move(end.write->handler), boost::asio::error::broken_pipe, 0);
            end.write.reset();
            return;
        }
        const std::size_t have = boost::asio::buffer_size(end.write->buffers);
        const std::size_t room = reader.capacity - std::min(reader.capacity, reader.inbox.size());
        if (room == 0 && have > 0) return;  // stalls until the reader makes room
        const std::size_t n = std::min(have, room);
        const std::size_t at = reader.inbox.size();
        reader.inbox.resize(at + n);
        boost::asio::buffer_copy(boost::asio::buffer(reader.inbox.data() + at, n), end.write->buffers);
        complete(std::move(end.write->handler), {}, n);
        end.write.reset();
        serve_read(1 - side);
    }

    std::shared_ptr<State> state_;
    int side_;
};

}  // namespace porthop::test
