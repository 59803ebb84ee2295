// The write queue of a framed stream (net/frame_queue.hpp): framing of what is pushed, writes
// that gather everything queued meanwhile, and the per-connection and per-loop bounds.
#include "porthop/net/frame_queue.hpp"

#include <catch2/catch.hpp>
#include <vector>

using porthop::net::FrameQueue;
using porthop::net::QueueBudget;
using Push = FrameQueue::Push;

namespace {

std::vector<std::byte> bytes(std::size_t n, unsigned seed = 1) {
    std::vector<std::byte> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 13 + seed) & 0xFF);
    return out;
}

std::vector<std::byte> framed(std::span<const std::byte> head, std::span<const std::byte> payload) {
    const std::size_t length = head.size() + payload.size();
    std::vector<std::byte> out{static_cast<std::byte>(length >> 8), static_cast<std::byte>(length & 0xFF)};
    out.insert(out.end(), head.begin(), head.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

}  // namespace

TEST_CASE("frame queue: a push is framed, and a write takes everything queued since the last",
          "[net][frame_queue]") {
    QueueBudget budget{1 << 20};
    FrameQueue q(budget);
    CHECK_FALSE(q.should_write());  // nothing queued: nothing to write
    const std::byte type{0x03};
    const auto a = bytes(10, 1), b = bytes(20, 2), c = bytes(0);
    REQUIRE(q.push({&type, 1}, a) == Push::queued);
    REQUIRE(q.should_write());
    auto first = q.start_write();
    CHECK(std::vector<std::byte>(first.begin(), first.end()) == framed({&type, 1}, a));
    // While the write is in flight, pushes queue behind it and no second write starts.
    REQUIRE(q.push({}, b) == Push::queued);
    REQUIRE(q.push({}, c) == Push::queued);  // an empty frame is a frame: its header goes out
    CHECK(q.writing());
    CHECK_FALSE(q.should_write());
    q.finish_write();
    REQUIRE(q.should_write());
    auto second = q.start_write();
    auto expected = framed({}, b);
    const auto empty = framed({}, c);
    expected.insert(expected.end(), empty.begin(), empty.end());
    CHECK(std::vector<std::byte>(second.begin(), second.end()) == expected);
    q.finish_write();
    CHECK_FALSE(q.should_write());
}

TEST_CASE("frame queue: one connection holds at most kMaxBytes (too_slow)", "[net][frame_queue]") {
    QueueBudget budget{std::size_t{64} << 20};
    FrameQueue q(budget);
    const auto big = bytes(60000);
    REQUIRE(q.push({}, big) == Push::queued);
    q.start_write();  // in flight: the peer does not read
    REQUIRE(q.push({}, big) == Push::queued);
    // A third would take the queue past kMaxBytes with the write in flight.
    CHECK(q.push({}, big) == Push::too_slow);
    CHECK(q.held() <= FrameQueue::kMaxBytes);
    // Smaller frames still fit in the room left.
    CHECK(q.push({}, bytes(100)) == Push::queued);
    // Once the write completes its buffer is free again, and the queue takes frames again.
    q.finish_write();
    CHECK(q.push({}, big) == Push::queued);
    CHECK(q.held() <= FrameQueue::kMaxBytes);
}

TEST_CASE("frame queue: the loop's budget refuses growth above kFloor (over_budget), never below",
          "[net][frame_queue]") {
    QueueBudget budget{0};  // spent: only the floor is left
    FrameQueue q(budget);
    const auto small = bytes(1000);
    std::size_t queued = 0;
    Push last = Push::queued;
    for (int i = 0; i < 100 && last == Push::queued; ++i)
        if ((last = q.push({}, small)) == Push::queued) ++queued;
    CHECK(last == Push::over_budget);
    CHECK(queued * (small.size() + 2) <= FrameQueue::kFloor);
    CHECK(queued >= 8);  // the floor held several frames whatever the budget said
    CHECK(q.held() <= FrameQueue::kFloor);

    // Negative: with room in the budget the same queue grows past the floor.
    QueueBudget roomy{std::size_t{1} << 20};
    FrameQueue r(roomy);
    std::size_t accepted = 0;
    for (int i = 0; i < 40; ++i) accepted += r.push({}, small) == Push::queued;
    CHECK(accepted == 40);
    CHECK(r.held() > FrameQueue::kFloor);
}

TEST_CASE("frame queue: what a queue holds is counted in the budget and given back", "[net][frame_queue]") {
    QueueBudget budget{std::size_t{1} << 20};
    {
        FrameQueue q(budget);
        REQUIRE(q.push({}, bytes(5000)) == Push::queued);
        CHECK(budget.used == q.held());
        CHECK(budget.used > 0);
        q.start_write();
        REQUIRE(q.push({}, bytes(300)) == Push::queued);
        CHECK(budget.used == q.held());
        q.finish_write();
        // A drained buffer above 16 KiB is freed; this one (5 KiB) is kept for the next write.
        CHECK(budget.used == q.held());
        q.start_write();
        q.finish_write();
    }
    CHECK(budget.used == 0);  // the destructor gave everything back
}

TEST_CASE("frame queue: closed during a write, it frees the write's buffer only when the write ends",
          "[net][frame_queue]") {
    QueueBudget budget{std::size_t{1} << 20};
    FrameQueue q(budget);
    REQUIRE(q.push({}, bytes(2000)) == Push::queued);
    const auto in_flight = q.start_write();
    const auto copy = std::vector<std::byte>(in_flight.begin(), in_flight.end());
    REQUIRE(q.push({}, bytes(500)) == Push::queued);
    q.close();
    CHECK(q.closed());
    CHECK(q.push({}, bytes(10)) == Push::closed);
    CHECK_FALSE(q.should_write());
    // The bytes the stream is still writing are intact and still counted.
    CHECK(std::vector<std::byte>(in_flight.begin(), in_flight.end()) == copy);
    CHECK(budget.used > 0);
    q.finish_write();
    CHECK(budget.used == 0);
    CHECK(q.held() == 0);

    // Negative: closed with no write in flight, everything is freed at once.
    FrameQueue idle(budget);
    REQUIRE(idle.push({}, bytes(100)) == Push::queued);
    idle.close();
    CHECK(budget.used == 0);
}

TEST_CASE("frame queue: a tail goes after the payload, inside the frame's length", "[net][frame_queue]") {
    QueueBudget budget{1 << 20};
    FrameQueue q(budget);
    const auto head = bytes(3, 7), payload = bytes(10, 1), tail = bytes(5, 9);
    REQUIRE(q.push(head, payload, tail) == Push::queued);
    auto out = q.start_write();
    std::vector<std::byte> want = {std::byte{0}, std::byte{18}};  // 3 + 10 + 5
    want.insert(want.end(), head.begin(), head.end());
    want.insert(want.end(), payload.begin(), payload.end());
    want.insert(want.end(), tail.begin(), tail.end());
    CHECK(std::vector<std::byte>(out.begin(), out.end()) == want);
    q.finish_write();
    // Head, payload and tail together must fit a frame: one byte too many is refused whole.
    const auto big = bytes(65535 - 3 - 5 + 1, 2);
    CHECK(q.push(head, big, tail) == Push::too_slow);
    CHECK_FALSE(q.should_write());
}
