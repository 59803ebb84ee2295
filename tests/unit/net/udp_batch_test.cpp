// UdpBatch over a fake Syscalls (errors, short counts, truncation, pktinfo), then over real
// loopback sockets.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "porthop/net/udp_batch.hpp"

using namespace porthop::net;

namespace {

// ---- the fake -------------------------------------------------------------------------------

struct FakeDatagram {
    std::vector<std::byte> bytes;
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
    std::optional<in_pktinfo> pktinfo4;
    std::optional<in6_pktinfo> pktinfo6;
};

struct SendStep {
    int result;      // what sendmmsg returns; -1 sets errno
    int error = 0;
};

struct SentMessage {
    std::vector<std::byte> bytes;
    const void* data;
    bool has_name;
    sockaddr_storage name{};
    socklen_t name_len;
    std::vector<std::byte> control;
};

struct FakeState {
    // receive
    int recv_result = 0;  // -1: fail with recv_errno; otherwise deliver `datagrams` (up to count)
    int recv_errno = 0;
    std::vector<FakeDatagram> datagrams;
    int recv_calls = 0;
    unsigned recv_count = 0;
    int recv_flags = 0;
    // send
    std::vector<SendStep> steps;  // one per call; when they run out: return the count (all sent)
    bool echo_when_out = true;
    std::vector<unsigned> send_counts;
    std::vector<int> send_flags;
    std::vector<std::vector<SentMessage>> send_calls;
};

FakeState g;

// The fakes run inside noexcept functions: a failed expectation must not throw.
#define FAKE_EXPECT(cond)       \
    do {                        \
        CHECK(cond);            \
        if (!(cond)) {          \
            errno = EINVAL;     \
            return -1;          \
        }                       \
    } while (false)

int fake_recvmmsg(int, mmsghdr* msgs, unsigned count, int flags, timespec*) {
    ++g.recv_calls;
    g.recv_count = count;
    g.recv_flags = flags;
    if (g.recv_result < 0) {
        errno = g.recv_errno;
        return -1;
    }
    const unsigned n = std::min<unsigned>(count, static_cast<unsigned>(g.datagrams.size()));
    for (unsigned i = 0; i < n; ++i) {
        const auto& d = g.datagrams[i];
        msghdr& m = msgs[i].msg_hdr;
        FAKE_EXPECT(m.msg_iovlen == 1);
        const std::size_t fits = std::min(d.bytes.size(), m.msg_iov[0].iov_len);
        if (fits) std::memcpy(m.msg_iov[0].iov_base, d.bytes.data(), fits);
        msgs[i].msg_len = static_cast<unsigned>(fits);
        m.msg_flags = fits < d.bytes.size() ? MSG_TRUNC : 0;
        FAKE_EXPECT(m.msg_namelen >= d.peer_len);
        std::memcpy(m.msg_name, &d.peer, d.peer_len);
        m.msg_namelen = d.peer_len;
        // Control messages, as the kernel lays them out.
        std::size_t used = 0;
        cmsghdr* c = m.msg_controllen >= sizeof(cmsghdr) ? CMSG_FIRSTHDR(&m) : nullptr;
        if (d.pktinfo4) {
            FAKE_EXPECT(c != nullptr);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
            std::memcpy(CMSG_DATA(c), &*d.pktinfo4, sizeof(in_pktinfo));
            used += CMSG_SPACE(sizeof(in_pktinfo));
            c = reinterpret_cast<cmsghdr*>(static_cast<char*>(m.msg_control) + used);
        }
        if (d.pktinfo6) {
            FAKE_EXPECT(m.msg_controllen >= used + CMSG_SPACE(sizeof(in6_pktinfo)));
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
            std::memcpy(CMSG_DATA(c), &*d.pktinfo6, sizeof(in6_pktinfo));
            used += CMSG_SPACE(sizeof(in6_pktinfo));
        }
        m.msg_controllen = used;
    }
    return static_cast<int>(n);
}

int fake_sendmmsg(int, mmsghdr* msgs, unsigned count, int flags) {
    g.send_counts.push_back(count);
    g.send_flags.push_back(flags);
    if (g.send_counts.size() > 1000) {  // a loop that does not end: stop it, the test fails on the count
        errno = EAGAIN;
        return -1;
    }
    std::vector<SentMessage> call;
    for (unsigned i = 0; i < count; ++i) {
        const msghdr& m = msgs[i].msg_hdr;
        SentMessage s{};
        FAKE_EXPECT(m.msg_iovlen == 1);
        const auto* p = static_cast<const std::byte*>(m.msg_iov[0].iov_base);
        s.data = p;
        s.bytes.assign(p, p + m.msg_iov[0].iov_len);
        s.has_name = m.msg_name != nullptr;
        s.name_len = m.msg_namelen;
        if (m.msg_name) std::memcpy(&s.name, m.msg_name, m.msg_namelen);
        if (m.msg_control) {
            const auto* cp = static_cast<const std::byte*>(m.msg_control);
            s.control.assign(cp, cp + m.msg_controllen);
        } else {
            CHECK(m.msg_controllen == 0);
        }
        call.push_back(std::move(s));
    }
    g.send_calls.push_back(std::move(call));
    const std::size_t step = g.send_counts.size() - 1;
    if (step < g.steps.size()) {
        if (g.steps[step].result < 0) errno = g.steps[step].error;
        return g.steps[step].result;
    }
    return static_cast<int>(count);
}

const Syscalls kFake{&fake_recvmmsg, &fake_sendmmsg};

struct FakeFixture {
    FakeFixture() { g = FakeState{}; }
    UdpBatch batch{kFake};
};

sockaddr_in v4(const char* address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    REQUIRE(inet_pton(AF_INET, address, &sa.sin_addr) == 1);
    return sa;
}

sockaddr_in6 v6(const char* address, std::uint16_t port) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    REQUIRE(inet_pton(AF_INET6, address, &sa.sin6_addr) == 1);
    return sa;
}

ReceiveSlot slot_at(std::byte* data, std::size_t capacity) {
    ReceiveSlot slot;
    slot.data = data;
    slot.capacity = capacity;
    return slot;
}

template <typename T>
FakeDatagram datagram(std::size_t size, std::uint8_t fill, const T& peer) {
    FakeDatagram d;
    d.bytes.assign(size, std::byte{fill});
    std::memcpy(&d.peer, &peer, sizeof peer);
    d.peer_len = sizeof peer;
    return d;
}

template <typename T>
Endpoint endpoint(const T& sa) {
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

std::string text(const in_addr& a) {
    char out[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a, out, sizeof out);
}
std::string text(const in6_addr& a) {
    char out[INET6_ADDRSTRLEN];
    return inet_ntop(AF_INET6, &a, out, sizeof out);
}

// Items of distinct lengths (1, 2, 3, ...) so sent_bytes tells which ones went out.
struct Items {
    std::vector<std::vector<std::byte>> payloads;
    std::vector<SendItem> items;
    Endpoint peer = endpoint(v4("192.0.2.1", 4000));
    explicit Items(std::size_t n) {
        payloads.reserve(n);
        for (std::size_t i = 0; i < n; ++i) payloads.emplace_back(i + 1, static_cast<std::byte>(i));
        for (const auto& p : payloads) items.push_back(SendItem{p.data(), p.size(), &peer, nullptr});
    }
    std::size_t bytes(std::size_t from, std::size_t to) const {  // items [from, to)
        std::size_t sum = 0;
        for (std::size_t i = from; i < to; ++i) sum += payloads[i].size();
        return sum;
    }
};

}  // namespace

// ---- receive --------------------------------------------------------------------------------

TEST_CASE_METHOD(FakeFixture, "UdpBatch::receive: EAGAIN is 'nothing there', other errors are reported",
                 "[net][udp_batch]") {
    std::byte buffer[16];
    ReceiveSlot slots[2] = {slot_at(buffer, 8), slot_at(buffer + 8, 8)};
    struct Row {
        int err;
        int reported;
    };
    const Row rows[] = {{EAGAIN, 0}, {EWOULDBLOCK, 0}, {ECONNREFUSED, ECONNREFUSED}, {ENOMEM, ENOMEM},
                        {EBADF, EBADF}};
    for (const auto& row : rows) {
        INFO("errno " << row.err);
        g.recv_result = -1;
        g.recv_errno = row.err;
        const auto r = batch.receive(3, slots);
        CHECK(r.count == 0);
        CHECK(r.error == row.reported);
    }
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::receive: lengths, truncation and peers", "[net][udp_batch]") {
    const auto peer4 = v4("198.51.100.7", 51820);
    const auto peer6 = v6("2001:db8::5", 1194);
    g.datagrams = {datagram(5, 0x11, peer4), datagram(9, 0x22, peer6), datagram(8, 0x33, peer4)};

    std::byte buffers[4][8] = {};
    ReceiveSlot slots[4];
    for (int i = 0; i < 4; ++i) slots[i] = slot_at(buffers[i], 8);
    slots[1].truncated = false;
    slots[0].truncated = true;  // stale values must be overwritten

    const auto r = batch.receive(3, slots);
    CHECK(r.count == 3);
    CHECK(r.error == 0);
    CHECK(g.recv_count == 4);
    CHECK(g.recv_flags == MSG_DONTWAIT);

    CHECK(slots[0].length == 5);
    CHECK_FALSE(slots[0].truncated);
    CHECK(slots[0].peer == endpoint(peer4));
    CHECK(buffers[0][4] == std::byte{0x11});
    CHECK(buffers[0][5] == std::byte{0});

    CHECK(slots[1].length == 8);
    CHECK(slots[1].truncated);  // 9 bytes into 8
    CHECK(slots[1].peer == endpoint(peer6));
    CHECK(slots[1].peer.to_string() == "[2001:db8::5]:1194");

    CHECK(slots[2].length == 8);  // exactly fits
    CHECK_FALSE(slots[2].truncated);
    CHECK(slots[2].peer.to_string() == "198.51.100.7:51820");
    CHECK(slots[2].local.family == AF_UNSPEC);
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::receive: zero datagrams, and at most kMaxBatch slots",
                 "[net][udp_batch]") {
    std::vector<std::byte> storage(100 * 4);
    std::vector<ReceiveSlot> slots(100);
    for (std::size_t i = 0; i < slots.size(); ++i) slots[i] = slot_at(storage.data() + 4 * i, 4);

    const auto none = batch.receive(3, slots);
    CHECK(none.count == 0);
    CHECK(none.error == 0);
    CHECK(g.recv_count == kMaxBatch);

    const auto peer = v4("192.0.2.1", 1);
    for (int i = 0; i < 100; ++i) g.datagrams.push_back(datagram(1, static_cast<std::uint8_t>(i), peer));
    const auto full = batch.receive(3, slots);
    CHECK(full.count == kMaxBatch);
    CHECK(g.recv_count == kMaxBatch);
    CHECK(storage[4 * 63] == std::byte{63});
    CHECK(storage[4 * 64] == std::byte{0});  // slot 64 untouched
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::receive: pktinfo gives the local address", "[net][udp_batch]") {
    auto d4 = datagram(3, 1, v4("192.0.2.1", 1000));
    in_pktinfo info4{};
    info4.ipi_ifindex = 7;
    REQUIRE(inet_pton(AF_INET, "203.0.113.9", &info4.ipi_addr) == 1);
    REQUIRE(inet_pton(AF_INET, "203.0.113.250", &info4.ipi_spec_dst) == 1);
    d4.pktinfo4 = info4;

    auto d6 = datagram(3, 2, v6("2001:db8::1", 1000));
    in6_pktinfo info6{};
    info6.ipi6_ifindex = 9;
    REQUIRE(inet_pton(AF_INET6, "2001:db8::99", &info6.ipi6_addr) == 1);
    d6.pktinfo6 = info6;

    g.datagrams = {d4, d6, datagram(3, 3, v4("192.0.2.1", 1000))};
    std::byte buffers[3][8];
    ReceiveSlot slots[3] = {slot_at(buffers[0], 8), slot_at(buffers[1], 8), slot_at(buffers[2], 8)};
    slots[2].local.family = AF_INET;  // stale: must be reset when no pktinfo came
    REQUIRE(batch.receive(3, slots).count == 3);

    CHECK(slots[0].local.family == AF_INET);
    CHECK(text(slots[0].local.v4) == "203.0.113.9");  // the header's destination, not spec_dst
    CHECK(slots[0].local.ifindex == 7);
    CHECK(slots[1].local.family == AF_INET6);
    CHECK(text(slots[1].local.v6) == "2001:db8::99");
    CHECK(slots[1].local.ifindex == 9);
    CHECK(slots[2].local.family == AF_UNSPEC);
}

// ---- send -----------------------------------------------------------------------------------

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: everything in one call", "[net][udp_batch]") {
    Items items(3);
    const auto r = batch.send(5, items.items);
    CHECK(r.sent == 3);
    CHECK(r.sent_bytes == 6);
    CHECK(r.failed == 0);
    CHECK(r.error == 0);
    REQUIRE(g.send_counts == std::vector<unsigned>{3});
    CHECK(g.send_flags[0] == MSG_DONTWAIT);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& m = g.send_calls[0][i];
        CHECK(m.data == items.payloads[i].data());  // no copy
        CHECK(m.bytes == items.payloads[i]);
        REQUIRE(m.has_name);
        CHECK(m.name_len == sizeof(sockaddr_in));
        CHECK(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&m.name), m.name_len) == items.peer);
        CHECK(m.control.empty());
    }
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: nothing to send makes no call", "[net][udp_batch]") {
    const auto r = batch.send(5, {});
    CHECK(r.sent == 0);
    CHECK(r.failed == 0);
    CHECK(g.send_counts.empty());
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: a short count continues with the rest", "[net][udp_batch]") {
    Items items(5);
    g.steps = {{2}, {1}, {2}};
    const auto r = batch.send(5, items.items);
    CHECK(r.sent == 5);
    CHECK(r.sent_bytes == 15);
    CHECK(r.failed == 0);
    CHECK(r.error == 0);
    REQUIRE(g.send_counts == std::vector<unsigned>{5, 3, 2});
    CHECK(g.send_calls[1][0].data == items.payloads[2].data());
    CHECK(g.send_calls[2][0].data == items.payloads[3].data());
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: EAGAIN fails the rest and stops", "[net][udp_batch]") {
    SECTION("after a partial send") {
        Items items(5);
        g.steps = {{2}, {-1, EAGAIN}};
        const auto r = batch.send(5, items.items);
        CHECK(r.sent == 2);
        CHECK(r.sent_bytes == items.bytes(0, 2));
        CHECK(r.failed == 3);
        CHECK(r.error == EAGAIN);
        CHECK(r.full);
        CHECK(r.stopped_at == 2);  // items 2.. were never tried: a caller may retry them
        CHECK(g.send_counts == std::vector<unsigned>{5, 3});
    }
    SECTION("on the first call") {
        Items items(70);
        g.steps = {{-1, EAGAIN}};
        const auto r = batch.send(5, items.items);
        CHECK(r.sent == 0);
        CHECK(r.sent_bytes == 0);
        CHECK(r.failed == 70);  // including the ones past the first kMaxBatch
        CHECK(r.error == EAGAIN);
        CHECK(r.full);
        CHECK(r.stopped_at == 0);
        CHECK(g.send_counts.size() == 1);
    }
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: other errors skip one datagram and continue", "[net][udp_batch]") {
    Items items(4);
    g.steps = {{-1, EMSGSIZE}, {1}, {-1, ECONNREFUSED}};  // then the rest succeeds
    const auto r = batch.send(5, items.items);
    CHECK_FALSE(r.full);  // skipped datagrams are not a full socket
    CHECK(r.sent == 2);
    CHECK(r.sent_bytes == items.bytes(1, 2) + items.bytes(3, 4));
    CHECK(r.failed == 2);
    CHECK(r.error == ECONNREFUSED);  // the last errno seen
    REQUIRE(g.send_counts == std::vector<unsigned>{4, 3, 2, 1});
    CHECK(g.send_calls[1][0].data == items.payloads[1].data());
    CHECK(g.send_calls[3][0].data == items.payloads[3].data());
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: the error stays reported after later successes", "[net][udp_batch]") {
    Items items(3);
    g.steps = {{-1, EMSGSIZE}};
    const auto r = batch.send(5, items.items);
    CHECK(r.sent == 2);
    CHECK(r.failed == 1);
    CHECK(r.error == EMSGSIZE);
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: a return of 0 does not loop forever", "[net][udp_batch]") {
    Items items(3);
    g.steps = {{0}, {0}, {0}, {0}, {0}};
    const auto r = batch.send(5, items.items);
    CHECK(r.sent == 0);
    CHECK(r.sent_bytes == 0);
    CHECK(r.failed == 3);
    CHECK(g.send_counts == std::vector<unsigned>{3, 2, 1});
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: more than kMaxBatch items take several calls", "[net][udp_batch]") {
    Items items(150);
    const auto r = batch.send(5, items.items);
    CHECK(r.sent == 150);
    CHECK(r.sent_bytes == 150 * 151 / 2);
    CHECK(r.failed == 0);
    REQUIRE(g.send_counts == std::vector<unsigned>{64, 64, 22});
    CHECK(g.send_calls[1][0].data == items.payloads[64].data());
    CHECK(g.send_calls[2][21].data == items.payloads[149].data());
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: connected sockets and source addresses", "[net][udp_batch]") {
    std::byte payload[4] = {};
    LocalAddress unspec;
    LocalAddress local4;
    local4.family = AF_INET;
    local4.ifindex = 3;
    REQUIRE(inet_pton(AF_INET, "203.0.113.9", &local4.v4) == 1);
    LocalAddress global6;
    global6.family = AF_INET6;
    global6.ifindex = 4;
    REQUIRE(inet_pton(AF_INET6, "2001:db8::9", &global6.v6) == 1);
    LocalAddress link6 = global6;
    REQUIRE(inet_pton(AF_INET6, "fe80::9", &link6.v6) == 1);
    const Endpoint peer6 = endpoint(v6("2001:db8::1", 9));

    const SendItem items[] = {
        {payload, 4, nullptr, nullptr},  // connected socket: no name, kernel picks the source
        {payload, 4, &peer6, &unspec},
        {payload, 4, &peer6, &local4},
        {payload, 4, &peer6, &global6},
        {payload, 4, &peer6, &link6},
    };
    REQUIRE(batch.send(5, items).sent == 5);
    const auto& sent = g.send_calls.at(0);

    CHECK_FALSE(sent[0].has_name);
    CHECK(sent[0].name_len == 0);
    CHECK(sent[0].control.empty());
    CHECK(sent[1].has_name);
    CHECK(sent[1].name_len == sizeof(sockaddr_in6));
    CHECK(sent[1].control.empty());

    const auto cmsg = [](const std::vector<std::byte>& control) {
        REQUIRE(control.size() >= sizeof(cmsghdr));
        cmsghdr c;
        std::memcpy(&c, control.data(), sizeof c);
        return c;
    };
    {
        REQUIRE(sent[2].control.size() == CMSG_SPACE(sizeof(in_pktinfo)));
        const auto c = cmsg(sent[2].control);
        CHECK(c.cmsg_level == IPPROTO_IP);
        CHECK(c.cmsg_type == IP_PKTINFO);
        CHECK(c.cmsg_len == CMSG_LEN(sizeof(in_pktinfo)));
        in_pktinfo info;
        std::memcpy(&info, sent[2].control.data() + CMSG_LEN(0), sizeof info);
        CHECK(text(info.ipi_spec_dst) == "203.0.113.9");
        CHECK(info.ipi_ifindex == 0);  // the interface is not pinned
        CHECK(info.ipi_addr.s_addr == 0);
    }
    for (std::size_t i : {std::size_t{3}, std::size_t{4}}) {
        INFO("item " << i);
        REQUIRE(sent[i].control.size() == CMSG_SPACE(sizeof(in6_pktinfo)));
        const auto c = cmsg(sent[i].control);
        CHECK(c.cmsg_level == IPPROTO_IPV6);
        CHECK(c.cmsg_type == IPV6_PKTINFO);
        CHECK(c.cmsg_len == CMSG_LEN(sizeof(in6_pktinfo)));
        in6_pktinfo info;
        std::memcpy(&info, sent[i].control.data() + CMSG_LEN(0), sizeof info);
        CHECK(text(info.ipi6_addr) == (i == 3 ? "2001:db8::9" : "fe80::9"));
        CHECK(info.ipi6_ifindex == (i == 3 ? 0u : 4u));  // only link-local needs the interface
    }
}

// ---- real sockets on loopback -----------------------------------------------------------------

namespace {

struct Socket {
    int fd = -1;
    Socket(int family) : fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) { REQUIRE(fd >= 0); }
    ~Socket() {
        if (fd >= 0) ::close(fd);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    template <typename T>
    void bind_to(const T& sa) {
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    }
    Endpoint local() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
        return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    }
};

// Receives until `want` datagrams are in, waiting for readability between batches.
std::size_t receive_all(UdpBatch& batch, int fd, std::span<ReceiveSlot> slots, std::size_t want) {
    std::size_t got = 0;
    while (got < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) break;  // a bound, not a timing assertion: the count is checked
        const auto r = batch.receive(fd, slots.subspan(got));
        REQUIRE(r.error == 0);
        got += r.count;
    }
    return got;
}

}  // namespace

TEST_CASE("UdpBatch: a batch over real loopback sockets", "[net][udp_batch][socket]") {
    Socket sender(AF_INET), receiver(AF_INET);
    sender.bind_to(v4("127.0.0.1", 0));
    receiver.bind_to(v4("127.0.0.1", 0));
    const Endpoint to = receiver.local();
    const Endpoint from = sender.local();

    std::vector<std::byte> a(1, std::byte{0xA1}), b(1400, std::byte{0xB2}), c(0);
    const SendItem items[] = {{a.data(), a.size(), &to, nullptr},
                              {b.data(), b.size(), &to, nullptr},
                              {c.data(), c.size(), &to, nullptr}};
    UdpBatch batch;
    const auto sent = batch.send(sender.fd, items);
    CHECK(sent.sent == 3);
    CHECK(sent.sent_bytes == 1401);
    CHECK(sent.failed == 0);
    CHECK(sent.error == 0);

    std::vector<std::byte> storage(3 * 2048);
    ReceiveSlot slots[3];
    for (int i = 0; i < 3; ++i) slots[i] = slot_at(storage.data() + 2048 * i, 2048);
    REQUIRE(receive_all(batch, receiver.fd, slots, 3) == 3);
    const std::size_t lengths[] = {1, 1400, 0};
    for (int i = 0; i < 3; ++i) {
        INFO("datagram " << i);
        CHECK(slots[i].length == lengths[i]);
        CHECK_FALSE(slots[i].truncated);
        CHECK(slots[i].peer == from);
        CHECK(slots[i].local.family == AF_UNSPEC);  // pktinfo not enabled
    }
    CHECK(storage[0] == std::byte{0xA1});
    CHECK(storage[2048] == std::byte{0xB2});
    CHECK(storage[2048 + 1399] == std::byte{0xB2});

    // Nothing left: count 0, error 0.
    const auto empty = batch.receive(receiver.fd, slots);
    CHECK(empty.count == 0);
    CHECK(empty.error == 0);
}

TEST_CASE("UdpBatch: truncation on a real socket", "[net][udp_batch][socket]") {
    Socket sender(AF_INET), receiver(AF_INET);
    sender.bind_to(v4("127.0.0.1", 0));
    receiver.bind_to(v4("127.0.0.1", 0));
    const Endpoint to = receiver.local();
    std::vector<std::byte> big(100, std::byte{7});
    const SendItem item{big.data(), big.size(), &to, nullptr};
    UdpBatch batch;
    REQUIRE(batch.send(sender.fd, std::span(&item, 1)).sent == 1);
    std::byte small[10];
    ReceiveSlot slot = slot_at(small, sizeof small);
    REQUIRE(receive_all(batch, receiver.fd, std::span(&slot, 1), 1) == 1);
    CHECK(slot.truncated);
    CHECK(slot.length == 10);
}

TEST_CASE("UdpBatch: pktinfo on a wildcard socket, and choosing the source", "[net][udp_batch][socket]") {
    Socket listener(AF_INET), client(AF_INET);
    listener.bind_to(v4("0.0.0.0", 0));
    REQUIRE(enable_pktinfo(listener.fd, false) == 0);
    client.bind_to(v4("127.0.0.1", 0));
    const Endpoint listener_on_lo = endpoint(v4("127.0.0.1", listener.local().port()));
    const Endpoint client_at = client.local();

    UdpBatch batch;
    std::byte hello[5] = {std::byte{'h'}, std::byte{'e'}, std::byte{'l'}, std::byte{'l'}, std::byte{'o'}};
    const SendItem to_listener{hello, sizeof hello, &listener_on_lo, nullptr};
    REQUIRE(batch.send(client.fd, std::span(&to_listener, 1)).sent == 1);

    std::byte buffer[64];
    ReceiveSlot slot = slot_at(buffer, sizeof buffer);
    REQUIRE(receive_all(batch, listener.fd, std::span(&slot, 1), 1) == 1);
    CHECK(slot.length == 5);
    CHECK(slot.peer == client_at);
    REQUIRE(slot.local.family == AF_INET);
    CHECK(text(slot.local.v4) == "127.0.0.1");
    CHECK(slot.local.ifindex != 0);

    // Reply from a chosen source address: 127.0.0.2 is also loopback on Linux.
    LocalAddress source;
    source.family = AF_INET;
    REQUIRE(inet_pton(AF_INET, "127.0.0.2", &source.v4) == 1);
    const SendItem reply{hello, 3, &client_at, &source};
    const auto sent = batch.send(listener.fd, std::span(&reply, 1));
    REQUIRE(sent.sent == 1);
    CHECK(sent.error == 0);
    ReceiveSlot back = slot_at(buffer, sizeof buffer);
    REQUIRE(receive_all(batch, client.fd, std::span(&back, 1), 1) == 1);
    CHECK(back.length == 3);
    CHECK(back.peer.to_string() == "127.0.0.2:" + std::to_string(listener.local().port()));
}

TEST_CASE("enable_pktinfo reports errors", "[net][udp_batch][socket]") {
    CHECK(enable_pktinfo(-1, false) == EBADF);
    CHECK(enable_pktinfo(-1, true) == EBADF);
    Socket s(AF_INET);
    CHECK(enable_pktinfo(s.fd, false) == 0);
}

TEST_CASE("UdpBatch: pktinfo over IPv6 loopback", "[net][udp_batch][socket]") {
    Socket probe(AF_INET6);
    const auto any6 = v6("::", 0);
    if (::bind(probe.fd, reinterpret_cast<const sockaddr*>(&any6), sizeof any6) != 0) {
        WARN("no IPv6 here: skipped");
        return;
    }
    REQUIRE(enable_pktinfo(probe.fd, true) == 0);
    Socket client(AF_INET6);
    const auto lo6 = v6("::1", 0);
    if (::bind(client.fd, reinterpret_cast<const sockaddr*>(&lo6), sizeof lo6) != 0) {
        WARN("no ::1 here: skipped");
        return;
    }
    const Endpoint to = endpoint(v6("::1", probe.local().port()));
    std::byte data[7] = {};
    UdpBatch batch;
    const SendItem item{data, sizeof data, &to, nullptr};
    REQUIRE(batch.send(client.fd, std::span(&item, 1)).sent == 1);
    std::byte buffer[16];
    ReceiveSlot slot = slot_at(buffer, sizeof buffer);
    REQUIRE(receive_all(batch, probe.fd, std::span(&slot, 1), 1) == 1);
    CHECK(slot.length == 7);
    CHECK(slot.peer == client.local());
    REQUIRE(slot.local.family == AF_INET6);
    CHECK(text(slot.local.v6) == "::1");
}
