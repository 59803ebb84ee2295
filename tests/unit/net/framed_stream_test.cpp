// The stream seam (net/framed_stream.hpp) over the in-memory stream: how frames are cut out of
// reads, back-pressure, the frame deadline, gathered writes and their bounds, and the ends of
// a stream. tls_stream_test.cpp runs it over TCP and TLS on loopback.
#include "porthop/net/framed_stream.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "../../support/memory_stream.hpp"
#include "../../support/bytes.hpp"

using namespace std::chrono_literals;
using porthop::net::Frame;
using porthop::net::FramedStream;
using porthop::net::FrameQueue;
using porthop::net::QueueBudget;
using porthop::net::StreamEnd;
using porthop::test::MemoryStream;
using porthop::test::Bytes;
using porthop::test::concat;
using porthop::test::pattern;
using porthop::test::stream_frame;
using Push = FrameQueue::Push;

namespace {

// The owner of a FramedStream over one end of an in-memory pair; records what it is handed.
struct Peer : porthop::net::FrameHandler {
    using Stream = FramedStream<MemoryStream>;

    std::unique_ptr<Stream> stream;
    std::vector<Bytes> frames;
    int batches = 0;  // on_frames_done calls
    std::optional<StreamEnd> ended;
    boost::system::error_code end_error;
    std::chrono::milliseconds timeout{};
    std::function<void(Peer&, const Frame&)> on_each;  // runs after a frame is recorded
    std::function<void(Peer&)> on_done;

    void on_frame(const Frame& f) override {
        frames.emplace_back(f.payload.begin(), f.payload.end());
        if (on_each) on_each(*this, f);
    }
    void on_frames_done() override {
        ++batches;
        if (on_done) on_done(*this);
    }
    void on_stream_end(StreamEnd why, const boost::system::error_code& ec) override {
        ended = why;
        end_error = ec;
    }
    std::chrono::milliseconds frame_timeout() const noexcept override { return timeout; }
};

struct Pair {
    static constexpr std::size_t kMaxFrame = 1500;

    explicit Pair(std::size_t max_frame = kMaxFrame, bool deadline_from_start = false,
                  std::chrono::milliseconds timeout = {}, std::size_t chunk = 16384,
                  std::size_t slack = 16384) {
        auto [mine, theirs] = MemoryStream::pair(io.get_executor());
        peer.emplace(std::move(theirs));
        owner = std::make_shared<Peer>();
        owner->timeout = timeout;
        owner->stream = std::make_unique<Peer::Stream>(
            std::move(mine), *owner,
            Peer::Stream::Options{{max_frame, chunk, slack}, deadline_from_start}, budget);
    }
    ~Pair() {
        owner->stream->close();
        peer->close();
        run();
    }
    void start() { owner->stream->start(owner); }
    MemoryStream& ours() { return owner->stream->stream(); }
    void run() {
        io.restart();
        io.run();
    }
    // Runs the loop until `done` or `limit` passes (deadline tests).
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < until) {
            io.restart();
            io.run_for(5ms);
        }
        return done();
    }

    boost::asio::io_context io;
    QueueBudget budget{std::size_t{4} << 20};
    std::shared_ptr<Peer> owner;
    std::optional<MemoryStream> peer;
};

}  // namespace

TEST_CASE("framed stream: a frame split over many reads is delivered once, whole", "[net][framed_stream]") {
    Pair p;
    p.ours().set_read_limit(1);  // one byte per read
    p.start();
    const auto body = pattern(300);
    p.peer->put(stream_frame(body));
    p.run();
    REQUIRE(p.owner->frames.size() == 1);
    CHECK(p.owner->frames[0] == body);
    CHECK_FALSE(p.owner->ended);

    SECTION("a partial frame is not delivered until its last byte comes") {
        const auto next = stream_frame(pattern(40, 9));
        p.peer->put({next.data(), next.size() - 1});
        p.run();
        CHECK(p.owner->frames.size() == 1);
        p.peer->put({next.data() + next.size() - 1, 1});
        p.run();
        REQUIRE(p.owner->frames.size() == 2);
        CHECK(p.owner->frames[1] == pattern(40, 9));
    }
}

TEST_CASE("framed stream: several frames in one read are delivered in order, then one on_frames_done",
          "[net][framed_stream]") {
    Pair p;
    p.start();
    p.peer->put(
        concat({stream_frame(pattern(10, 1)), stream_frame(pattern(0)), stream_frame(pattern(1400, 3)), stream_frame(pattern(5, 4))}));
    p.run();
    REQUIRE(p.owner->frames.size() == 4);
    CHECK(p.owner->frames[0] == pattern(10, 1));
    CHECK(p.owner->frames[1].empty());  // an empty frame is a frame: its owner judges it
    CHECK(p.owner->frames[2] == pattern(1400, 3));
    CHECK(p.owner->frames[3] == pattern(5, 4));
    CHECK(p.owner->batches == 1);
}

TEST_CASE("framed stream: reads are bounded by the chunk, except for a longer frame being assembled",
          "[net][framed_stream]") {
    // A 100-byte chunk and slack: a 1000-byte frame must still be assembled (the read grows
    // for it), and many small frames arrive over several reads of at most the chunk.
    Pair p(Pair::kMaxFrame, false, {}, 100, 100);
    p.start();
    Bytes many;
    for (unsigned i = 0; i < 30; ++i) many = concat({many, stream_frame(pattern(20, i))});
    p.peer->put(concat({many, stream_frame(pattern(1000, 99))}));
    p.run();
    REQUIRE(p.owner->frames.size() == 31);
    CHECK(p.owner->frames[30] == pattern(1000, 99));
    CHECK(p.owner->batches > 1);  // 660 bytes of small frames do not fit one 100-byte read
}

TEST_CASE("framed stream: a frame longer than max_frame ends the stream before its payload",
          "[net][framed_stream]") {
    Pair p(100);
    p.start();
    SECTION("one byte over the limit: nothing of it is delivered, the frames before it are") {
        p.peer->put(concat({stream_frame(pattern(100, 1)), Bytes{std::byte{0}, std::byte{101}}}));
        p.run();
        REQUIRE(p.owner->frames.size() == 1);
        CHECK(p.owner->frames[0] == pattern(100, 1));
        REQUIRE(p.owner->ended);
        CHECK(*p.owner->ended == StreamEnd::frame_too_large);
        CHECK(p.owner->batches == 0);  // the owner learns of the end, not of a finished batch
    }
    SECTION("negative: exactly max_frame is a frame") {
        p.peer->put(stream_frame(pattern(100, 2)));
        p.run();
        CHECK(p.owner->frames.size() == 1);
        CHECK_FALSE(p.owner->ended);
    }
}

TEST_CASE("framed stream: the peer's end of stream ends delivery, after the frames it sent",
          "[net][framed_stream]") {
    Pair p;
    p.start();
    p.peer->put(stream_frame(pattern(50)));
    p.peer->close();
    p.run();
    CHECK(p.owner->frames.size() == 1);
    REQUIRE(p.owner->ended);
    CHECK(*p.owner->ended == StreamEnd::closed_by_peer);

    // Negative: closed by its owner, the stream tells its handler nothing more.
    Pair q;
    q.start();
    q.owner->stream->close();
    q.peer->put(stream_frame(pattern(50)));
    q.run();
    CHECK(q.owner->frames.empty());
    CHECK_FALSE(q.owner->ended);
    CHECK(q.peer->peer_closed());
}

TEST_CASE("framed stream: hold() keeps frames and pauses reading until resume() delivers them again",
          "[net][framed_stream]") {
    Pair p;
    p.start();
    // The owner cannot take the second frame (as a full backend socket): it holds from there.
    std::size_t hold_at = 0;
    p.owner->on_each = [&](Peer& e, const Frame& f) {
        if (e.frames.size() == 2 && hold_at == 0) {
            hold_at = f.begin;
            e.stream->hold(f.begin);
        }
    };
    p.peer->put(concat({stream_frame(pattern(10, 1)), stream_frame(pattern(20, 2)), stream_frame(pattern(30, 3))}));
    p.run();
    REQUIRE(p.owner->frames.size() == 2);  // the third was not delivered: delivery stopped
    CHECK(p.owner->batches == 0);          // and no batch ended
    CHECK(p.owner->stream->held());

    // Reading is paused: what the peer sends now waits at the peer's side of the stream.
    p.peer->put(stream_frame(pattern(40, 4)));
    p.run();
    CHECK(p.owner->frames.size() == 2);
    CHECK(p.ours().unread() > 0);

    p.owner->stream->resume();
    p.run();
    REQUIRE(p.owner->frames.size() == 5);
    CHECK(p.owner->frames[2] == pattern(20, 2));  // the held frame again, then the rest
    CHECK(p.owner->frames[3] == pattern(30, 3));
    CHECK(p.owner->frames[4] == pattern(40, 4));
    CHECK_FALSE(p.owner->stream->held());
    CHECK(p.ours().unread() == 0);
}

TEST_CASE("framed stream: a hold from on_frames_done keeps the unfinished part of the batch",
          "[net][framed_stream]") {
    Pair p;
    p.start();
    std::vector<std::size_t> begins;
    bool hold_once = true;
    p.owner->on_each = [&](Peer&, const Frame& f) { begins.push_back(f.begin); };
    p.owner->on_done = [&](Peer& e) {
        if (std::exchange(hold_once, false)) e.stream->hold(begins.at(1));  // the first went out
    };
    p.peer->put(concat({stream_frame(pattern(10, 1)), stream_frame(pattern(20, 2))}));
    p.run();
    REQUIRE(p.owner->frames.size() == 2);
    CHECK(p.owner->stream->held());
    p.owner->stream->resume();
    p.run();
    REQUIRE(p.owner->frames.size() == 3);
    CHECK(p.owner->frames[2] == pattern(20, 2));
}

TEST_CASE("framed stream: while held, back-pressure reaches a peer that writes", "[net][framed_stream]") {
    Pair p;
    p.ours().set_inbox_capacity(64);  // as a socket's receive buffer
    p.start();
    p.owner->on_each = [](Peer& e, const Frame& f) { e.stream->hold(f.begin); };
    // The peer writes 10 frames of 40 bytes with async_write: its writes stall while held.
    Bytes all;
    for (unsigned i = 0; i < 10; ++i) all = concat({all, stream_frame(pattern(40, i))});
    bool written = false;
    boost::asio::async_write(*p.peer, boost::asio::buffer(all),
                             [&](const boost::system::error_code& ec, std::size_t) { written = !ec; });
    p.run();
    CHECK(p.owner->frames.size() == 1);
    CHECK_FALSE(written);
    CHECK(p.ours().peer_stalled());

    // Negative: once the owner takes frames again, the peer's write completes.
    p.owner->on_each = nullptr;
    p.owner->stream->resume();
    p.run();
    CHECK(written);
    CHECK(p.owner->frames.size() == 11);  // the held one twice, then the other nine
}

TEST_CASE("framed stream: the frame deadline", "[net][framed_stream][deadline]") {
    SECTION("with deadline_from_start, a stream that sends nothing ends at the deadline") {
        Pair p(Pair::kMaxFrame, true, 50ms);
        p.start();
        REQUIRE(p.run_until([&] { return p.owner->ended.has_value(); }));
        CHECK(*p.owner->ended == StreamEnd::frame_timeout);
    }
    SECTION("negative: without it, an idle stream has no deadline") {
        Pair p(Pair::kMaxFrame, false, 50ms);
        p.start();
        CHECK_FALSE(p.run_until([&] { return p.owner->ended.has_value(); }, 300ms));
    }
    SECTION("a frame that starts and stalls ends the stream") {
        Pair p(Pair::kMaxFrame, false, 50ms);
        p.start();
        p.peer->put(stream_frame(pattern(20)));  // a whole frame: no deadline after it
        p.run_until([] { return false; }, 150ms);
        CHECK_FALSE(p.owner->ended);
        const auto partial = stream_frame(pattern(100));
        p.peer->put({partial.data(), 10});
        REQUIRE(p.run_until([&] { return p.owner->ended.has_value(); }));
        CHECK(*p.owner->ended == StreamEnd::frame_timeout);
        CHECK(p.owner->frames.size() == 1);
    }
    SECTION("negative: frames that keep completing in time never end it") {
        Pair p(Pair::kMaxFrame, true, 100ms);
        p.start();
        for (int i = 0; i < 8; ++i) {
            p.peer->put(stream_frame(pattern(20)));
            p.run_until([] { return false; }, 40ms);
        }
        CHECK_FALSE(p.owner->ended);
        CHECK(p.owner->frames.size() == 8);
    }
    SECTION("negative: no deadline runs while the owner holds complete frames") {
        Pair p(Pair::kMaxFrame, true, 50ms);
        p.owner->on_each = [](Peer& e, const Frame& f) { e.stream->hold(f.begin); };
        p.start();
        p.peer->put(stream_frame(pattern(20)));
        CHECK_FALSE(p.run_until([&] { return p.owner->ended.has_value(); }, 300ms));
        CHECK(p.owner->stream->held());
    }
}

TEST_CASE("framed stream: frames queued while a write is in flight go out in one write",
          "[net][framed_stream]") {
    Pair p;
    p.start();
    const std::byte type{0x03};
    REQUIRE(p.owner->stream->push({&type, 1}, pattern(100, 1)) == Push::queued);  // starts a write
    REQUIRE(p.owner->stream->push({}, pattern(200, 2)) == Push::queued);          // these wait
    REQUIRE(p.owner->stream->push({}, pattern(300, 3)) == Push::queued);
    p.run();
    Bytes first{type};
    const auto p1 = pattern(100, 1);
    first.insert(first.end(), p1.begin(), p1.end());
    CHECK(p.peer->take() == concat({stream_frame(first), stream_frame(pattern(200, 2)), stream_frame(pattern(300, 3))}));
    CHECK(p.ours().write_calls() == 2);  // the first frame, then the other two together
}

TEST_CASE("framed stream: a peer that does not read meets the queue's bounds", "[net][framed_stream]") {
    Pair p;
    p.peer->set_inbox_capacity(0);  // the peer reads nothing: the first write stalls
    p.start();
    const auto big = pattern(1400);
    std::size_t queued = 0;
    Push last = Push::queued;
    while (last == Push::queued && queued < 1000)
        if ((last = p.owner->stream->push({}, big)) == Push::queued) ++queued;
    CHECK(last == Push::too_slow);
    CHECK(queued * (big.size() + 2) <= FrameQueue::kMaxBytes);
    CHECK(queued * (big.size() + 2) > FrameQueue::kMaxBytes - 2 * (big.size() + 2) - 4096);
    CHECK(p.budget.used == p.owner->stream->queue_held());

    // Negative: once the peer reads, the queue drains and takes frames again.
    p.peer->set_inbox_capacity(std::size_t{1} << 30);
    p.run();
    CHECK(p.peer->take().size() == queued * (big.size() + 2));
    CHECK(p.owner->stream->push({}, big) == Push::queued);
}

TEST_CASE("framed stream: the event loop's budget is shared by its streams", "[net][framed_stream]") {
    boost::asio::io_context io;
    QueueBudget budget{FrameQueue::kFloor};  // room for one stream's floor
    std::vector<std::shared_ptr<Peer>> owners;
    std::vector<MemoryStream> peers;
    for (int i = 0; i < 2; ++i) {
        auto [mine, theirs] = MemoryStream::pair(io.get_executor());
        theirs.set_inbox_capacity(0);
        peers.push_back(std::move(theirs));
        auto e = std::make_shared<Peer>();
        e->stream = std::make_unique<Peer::Stream>(
            std::move(mine), *e, Peer::Stream::Options{{1500, 16384, 16384}, false}, budget);
        e->stream->start(e);
        owners.push_back(e);
    }
    const auto frame_of = pattern(1000);
    // The first stream takes the budget and then some (each queue may hold up to kFloor).
    Push a = Push::queued;
    for (int i = 0; i < 200 && a == Push::queued; ++i) a = owners[0]->stream->push({}, frame_of);
    CHECK(a == Push::over_budget);
    // The second still gets its floor: a peer that never reads cannot starve the others.
    Push b = Push::queued;
    int second = 0;
    for (; second < 200 && (b = owners[1]->stream->push({}, frame_of)) == Push::queued; ++second) {
    }
    CHECK(b == Push::over_budget);
    CHECK(second >= 8);
    for (auto& o : owners) o->stream->close();
    for (auto& peer : peers) peer.close();
    io.run();
    CHECK(budget.used == 0);
}

TEST_CASE("framed stream: closed during a write, the write's buffer is freed when it ends",
          "[net][framed_stream]") {
    Pair p;
    p.peer->set_inbox_capacity(0);
    p.start();
    REQUIRE(p.owner->stream->push({}, pattern(5000)) == Push::queued);
    REQUIRE(p.owner->stream->push({}, pattern(5000)) == Push::queued);
    p.run();
    CHECK(p.budget.used > 0);
    p.owner->stream->close();
    CHECK(p.owner->stream->push({}, pattern(10)) == Push::closed);
    p.run();  // the stalled write completes (aborted) and lets go of its buffer and owner
    CHECK(p.budget.used == 0);
    CHECK_FALSE(p.owner->ended);  // a close by the owner is not reported back to it
    CHECK(p.peer->take().empty());
}

TEST_CASE("framed stream: a write that fails ends the stream", "[net][framed_stream]") {
    Pair p;
    p.owner->on_each = [](Peer& e, const Frame& f) { e.stream->hold(f.begin); };  // no read pending
    p.start();
    p.peer->put(stream_frame(pattern(10)));
    p.run();
    REQUIRE(p.owner->stream->held());
    p.peer->close();
    REQUIRE(p.owner->stream->push({}, pattern(10)) == Push::queued);
    p.run();
    REQUIRE(p.owner->ended);
    CHECK(*p.owner->ended == StreamEnd::write_error);
    CHECK(p.owner->end_error == boost::asio::error::broken_pipe);
}
