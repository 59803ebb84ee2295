// The workers' inbox (relay/inbox.hpp): a bounded ring of datagrams between threads.
#include <catch2/catch.hpp>

#include <poll.h>

#include <thread>

#include "../../support/bytes.hpp"
#include "porthop/relay/inbox.hpp"

using porthop::relay::Inbox;
using porthop::test::pattern;

namespace {

Inbox::Header header_for(std::uint16_t port) {
    Inbox::Header h;
    h.peer = porthop::net::Endpoint::from_asio(
        boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.9"), port));
    return h;
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("inbox: datagrams come out whole and in order, across the ring's end", "[relay][handoff]") {
    Inbox inbox(4096);
    std::vector<std::byte> out(2000);
    Inbox::Header h;
    CHECK_FALSE(inbox.pop(h, out));
    // Sizes that do not divide the ring: records must skip its end, never wrap inside.
    for (unsigned round = 0; round < 50; ++round) {
        const std::size_t sizes[] = {1, 700, 1333, 0, 999};
        for (std::size_t i = 0; i < 5; ++i) REQUIRE(inbox.push(header_for(static_cast<std::uint16_t>(i + 1)), pattern(sizes[i], round)));
        for (std::size_t i = 0; i < 5; ++i) {
            REQUIRE(inbox.pop(h, out));
            CHECK(h.length == sizes[i]);
            CHECK(h.peer.port() == i + 1);
            CHECK(std::vector<std::byte>(out.begin(), out.begin() + h.length) == pattern(sizes[i], round));
        }
        CHECK_FALSE(inbox.pop(h, out));
    }
}

TEST_CASE("inbox: a full ring refuses, and takes again once read", "[relay][handoff]") {
    Inbox inbox(4096);
    std::vector<std::byte> out(2000);
    Inbox::Header h;
    std::size_t pushed = 0;
    while (inbox.push(header_for(1), pattern(1000, 1))) ++pushed;
    CHECK(pushed >= 2);
    CHECK(pushed <= 4);
    CHECK_FALSE(inbox.push(header_for(1), pattern(1000, 1)));
    REQUIRE(inbox.pop(h, out));
    CHECK(inbox.push(header_for(2), pattern(1000, 2)));
    // Larger than the ring: never fits.
    Inbox small(1024);
    CHECK_FALSE(small.push(header_for(1), pattern(2000, 1)));
}

TEST_CASE("inbox: a payload larger than the reader's buffer is dropped, not overrun", "[relay][handoff]") {
    Inbox inbox(8192);
    REQUIRE(inbox.push(header_for(1), pattern(1500, 1)));
    REQUIRE(inbox.push(header_for(2), pattern(10, 2)));
    std::vector<std::byte> out(100);
    Inbox::Header h;
    REQUIRE(inbox.pop(h, out));
    CHECK(h.length == 0);  // dropped
    REQUIRE(inbox.pop(h, out));
    CHECK(h.length == 10);
    CHECK(h.peer.port() == 2);
}

TEST_CASE("inbox: the wake descriptor is readable exactly while datagrams wait", "[relay][handoff]") {
    Inbox inbox(8192);
    CHECK_FALSE(readable(inbox.wake_fd()));
    REQUIRE(inbox.push(header_for(1), pattern(10, 1)));
    REQUIRE(inbox.push(header_for(2), pattern(10, 2)));
    CHECK(readable(inbox.wake_fd()));
    inbox.clear_wake();
    CHECK_FALSE(readable(inbox.wake_fd()));
    std::vector<std::byte> out(100);
    Inbox::Header h;
    REQUIRE(inbox.pop(h, out));
    REQUIRE(inbox.pop(h, out));
    // Empty again: the next push wakes the reader again.
    REQUIRE(inbox.push(header_for(3), pattern(10, 3)));
    CHECK(readable(inbox.wake_fd()));
}

TEST_CASE("inbox: writers on other threads lose nothing that was accepted", "[relay][handoff]") {
    Inbox inbox(1 << 16);
    constexpr unsigned kPerWriter = 20000;
    std::atomic<unsigned> accepted{0};
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < 2; ++w)
        writers.emplace_back([&, w] {
            for (unsigned i = 0; i < kPerWriter; ++i)
                while (!inbox.push(header_for(static_cast<std::uint16_t>(w + 1)), pattern(64 + i % 200, i)))
                    std::this_thread::yield();
            accepted += kPerWriter;
        });
    std::vector<std::byte> out(1000);
    Inbox::Header h;
    unsigned got[2] = {0, 0};
    bool intact = true;
    while (got[0] + got[1] < 2 * kPerWriter) {
        if (!inbox.pop(h, out)) continue;
        const unsigned w = h.peer.port() - 1u;
        const unsigned i = got[w]++;
        intact = intact && h.length == 64 + i % 200 &&
                 std::equal(out.begin(), out.begin() + h.length, pattern(h.length, i).begin());
    }
    for (auto& t : writers) t.join();
    CHECK(intact);  // each writer's datagrams in its order, unchanged
    CHECK(accepted == 2 * kPerWriter);
}
