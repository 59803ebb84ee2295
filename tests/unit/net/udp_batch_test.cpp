// UdpBatch over a fake Syscalls (errors, short counts, truncation, pktinfo, GSO and GRO support
// and refusal), then over real loopback sockets (GSO, GRO, and a real kernel refusing GSO).
#include "porthop/net/udp_batch.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../../support/endpoints.hpp"
#include "porthop/net/offload.hpp"

using namespace porthop::net;
using porthop::test::endpoint_of;
using porthop::test::sockaddr_v4;
using porthop::test::sockaddr_v6;

namespace {

// ---- the fake -------------------------------------------------------------------------------

struct FakeDatagram {
    std::vector<std::byte> bytes;
    sockaddr_storage peer{};
    socklen_t peer_len = 0;
    std::optional<in_pktinfo> pktinfo4;
    std::optional<in6_pktinfo> pktinfo6;
    std::optional<int> gro_size;  // a UDP_GRO control message: the datagram is coalesced
};

struct SendStep {
    int result;  // what sendmmsg returns; -1 sets errno
    int error = 0;
};

struct SentMessage {
    std::vector<std::byte> bytes;     // all iovecs, gathered
    const void* data;                 // the first iovec
    std::vector<const void*> pieces;  // every iovec
    bool has_name;
    sockaddr_storage name{};
    socklen_t name_len;
    std::vector<std::byte> control;
    int gso_size = 0;  // the UDP_SEGMENT control message, 0 without one
    bool has_pktinfo = false;
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
    // A message with UDP_SEGMENT fails with this errno (0: GSO works): -1 when it is the first
    // of the call, otherwise the call stops before it, as sendmmsg does.
    int gso_errno = 0;
    // offload options
    int getsockopt_errno = 0;  // 0: UDP_SEGMENT is known
    int setsockopt_errno = 0;  // 0: UDP_GRO accepted
    int getsockopt_calls = 0;
    struct Option {
        int fd, level, name, value;
    };
    std::vector<Option> setsockopt_calls;
};

FakeState g;

// The fakes run inside noexcept functions: a failed expectation must not throw.
#define FAKE_EXPECT(cond)   \
    do {                    \
        CHECK(cond);        \
        if (!(cond)) {      \
            errno = EINVAL; \
            return -1;      \
        }                   \
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
            c = reinterpret_cast<cmsghdr*>(static_cast<char*>(m.msg_control) + used);
        }
        if (d.gro_size) {
            FAKE_EXPECT(m.msg_controllen >= used + CMSG_SPACE(sizeof(int)));
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_GRO;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(c), &*d.gro_size, sizeof(int));
            used += CMSG_SPACE(sizeof(int));
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
        msghdr m = msgs[i].msg_hdr;
        SentMessage s{};
        FAKE_EXPECT(m.msg_iovlen >= 1);
        s.data = m.msg_iov[0].iov_base;
        for (std::size_t k = 0; k < m.msg_iovlen; ++k) {
            const auto* p = static_cast<const std::byte*>(m.msg_iov[k].iov_base);
            s.pieces.push_back(p);
            s.bytes.insert(s.bytes.end(), p, p + m.msg_iov[k].iov_len);
        }
        s.has_name = m.msg_name != nullptr;
        s.name_len = m.msg_namelen;
        if (m.msg_name) std::memcpy(&s.name, m.msg_name, m.msg_namelen);
        if (m.msg_control) {
            const auto* cp = static_cast<const std::byte*>(m.msg_control);
            s.control.assign(cp, cp + m.msg_controllen);
            for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT) {
                    FAKE_EXPECT(c->cmsg_len == CMSG_LEN(sizeof(std::uint16_t)));
                    std::uint16_t size;
                    std::memcpy(&size, CMSG_DATA(c), sizeof size);
                    s.gso_size = size;
                } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) ||
                           (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)) {
                    s.has_pktinfo = true;
                }
            }
        } else {
            CHECK(m.msg_controllen == 0);
        }
        call.push_back(std::move(s));
    }
    g.send_calls.push_back(std::move(call));
    if (g.gso_errno != 0) {
        const auto& sent = g.send_calls.back();
        for (unsigned i = 0; i < count; ++i) {
            if (sent[i].gso_size == 0) continue;
            if (i > 0) return static_cast<int>(i);
            errno = g.gso_errno;
            return -1;
        }
    }
    const std::size_t step = g.send_counts.size() - 1;
    if (step < g.steps.size()) {
        if (g.steps[step].result < 0) errno = g.steps[step].error;
        return g.steps[step].result;
    }
    return static_cast<int>(count);
}

int fake_getsockopt(int, int level, int name, void* value, socklen_t* length) {
    ++g.getsockopt_calls;
    FAKE_EXPECT((level == SOL_UDP && name == UDP_SEGMENT && *length == sizeof(int)));
    if (g.getsockopt_errno != 0) {
        errno = g.getsockopt_errno;
        return -1;
    }
    std::memset(value, 0, sizeof(int));
    return 0;
}

int fake_setsockopt(int fd, int level, int name, const void* value, socklen_t length) {
    FAKE_EXPECT(length == sizeof(int));
    int v;
    std::memcpy(&v, value, sizeof v);
    g.setsockopt_calls.push_back({fd, level, name, v});
    if (g.setsockopt_errno != 0) {
        errno = g.setsockopt_errno;
        return -1;
    }
    return 0;
}

// Without the option calls: a seam with no offload at all (as the relay's older fakes are).
const Syscalls kFake{&fake_recvmmsg, &fake_sendmmsg};
// With them: a kernel that offers GSO and GRO unless FakeState says otherwise.
const Syscalls kFakeOffload{&fake_recvmmsg, &fake_sendmmsg, &fake_getsockopt, &fake_setsockopt};

struct FakeFixture {
    FakeFixture() { g = FakeState{}; }
    UdpBatch batch{kFake};
};

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
    Endpoint peer = endpoint_of(sockaddr_v4("192.0.2.1", 4000));
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
    const Row rows[] = {
        {EAGAIN, 0}, {EWOULDBLOCK, 0}, {ECONNREFUSED, ECONNREFUSED}, {ENOMEM, ENOMEM}, {EBADF, EBADF}};
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
    const auto peer4 = sockaddr_v4("198.51.100.7", 51820);
    const auto peer6 = sockaddr_v6("2001:db8::5", 1194);
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
    CHECK(slots[0].peer == endpoint_of(peer4));
    CHECK(buffers[0][4] == std::byte{0x11});
    CHECK(buffers[0][5] == std::byte{0});

    CHECK(slots[1].length == 8);
    CHECK(slots[1].truncated);  // 9 bytes into 8
    CHECK(slots[1].peer == endpoint_of(peer6));
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

    const auto peer = sockaddr_v4("192.0.2.1", 1);
    for (int i = 0; i < 100; ++i) g.datagrams.push_back(datagram(1, static_cast<std::uint8_t>(i), peer));
    const auto full = batch.receive(3, slots);
    CHECK(full.count == kMaxBatch);
    CHECK(g.recv_count == kMaxBatch);
    CHECK(storage[4 * 63] == std::byte{63});
    CHECK(storage[4 * 64] == std::byte{0});  // slot 64 untouched
}

TEST_CASE_METHOD(FakeFixture, "UdpBatch::receive: pktinfo gives the local address", "[net][udp_batch]") {
    auto d4 = datagram(3, 1, sockaddr_v4("192.0.2.1", 1000));
    in_pktinfo info4{};
    info4.ipi_ifindex = 7;
    REQUIRE(inet_pton(AF_INET, "203.0.113.9", &info4.ipi_addr) == 1);
    REQUIRE(inet_pton(AF_INET, "203.0.113.250", &info4.ipi_spec_dst) == 1);
    d4.pktinfo4 = info4;

    auto d6 = datagram(3, 2, sockaddr_v6("2001:db8::1", 1000));
    in6_pktinfo info6{};
    info6.ipi6_ifindex = 9;
    REQUIRE(inet_pton(AF_INET6, "2001:db8::99", &info6.ipi6_addr) == 1);
    d6.pktinfo6 = info6;

    g.datagrams = {d4, d6, datagram(3, 3, sockaddr_v4("192.0.2.1", 1000))};
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

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: other errors skip one datagram and continue",
                 "[net][udp_batch]") {
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

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: the error stays reported after later successes",
                 "[net][udp_batch]") {
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

TEST_CASE_METHOD(FakeFixture, "UdpBatch::send: more than kMaxBatch items take several calls",
                 "[net][udp_batch]") {
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
    const Endpoint peer6 = endpoint_of(sockaddr_v6("2001:db8::1", 9));

    const SendItem items[] = {
        {payload, 4, nullptr, nullptr},  // connected socket: no name, kernel picks the source
        {payload, 4, &peer6, &unspec},  {payload, 4, &peer6, &local4},
        {payload, 4, &peer6, &global6}, {payload, 4, &peer6, &link6},
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
    Socket(int family) : fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
        REQUIRE(fd >= 0);
    }
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
    sender.bind_to(sockaddr_v4("127.0.0.1", 0));
    receiver.bind_to(sockaddr_v4("127.0.0.1", 0));
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
    sender.bind_to(sockaddr_v4("127.0.0.1", 0));
    receiver.bind_to(sockaddr_v4("127.0.0.1", 0));
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
    listener.bind_to(sockaddr_v4("0.0.0.0", 0));
    REQUIRE(enable_pktinfo(listener.fd, false) == 0);
    client.bind_to(sockaddr_v4("127.0.0.1", 0));
    const Endpoint listener_on_lo = endpoint_of(sockaddr_v4("127.0.0.1", listener.local().port()));
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
    const auto any6 = sockaddr_v6("::", 0);
    if (::bind(probe.fd, reinterpret_cast<const sockaddr*>(&any6), sizeof any6) != 0) {
        WARN("no IPv6 here: skipped");
        return;
    }
    REQUIRE(enable_pktinfo(probe.fd, true) == 0);
    Socket client(AF_INET6);
    const auto lo6 = sockaddr_v6("::1", 0);
    if (::bind(client.fd, reinterpret_cast<const sockaddr*>(&lo6), sizeof lo6) != 0) {
        WARN("no ::1 here: skipped");
        return;
    }
    const Endpoint to = endpoint_of(sockaddr_v6("::1", probe.local().port()));
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

// ---- GSO and GRO over the fake -----------------------------------------------------------------

namespace {

struct Sink {
    std::atomic<std::uint64_t> gso_datagrams{0}, gso_messages{0}, gro_datagrams{0}, gro_messages{0},
        gso_fallbacks{0}, gro_fallbacks{0};
    OffloadCounters counters() {
        return {&gso_datagrams, &gso_messages, &gro_datagrams, &gro_messages, &gso_fallbacks, &gro_fallbacks};
    }
};

struct OffloadFixture {
    OffloadFixture() {
        g = FakeState{};
        batch.set_offload_counters(sink.counters());
    }
    Sink sink;
    UdpBatch batch{kFakeOffload};
};

// Items of chosen sizes and destinations, each payload filled with its own index.
struct Burst {
    std::vector<std::vector<std::byte>> payloads;
    std::vector<SendItem> items;
    Endpoint a = endpoint_of(sockaddr_v4("192.0.2.1", 4000));
    Endpoint b = endpoint_of(sockaddr_v4("192.0.2.2", 4000));
    Burst& add(std::size_t count, std::size_t size) {
        for (std::size_t i = 0; i < count; ++i)
            payloads.emplace_back(size, static_cast<std::byte>(payloads.size()));
        return *this;
    }
    // Builds the items once all payloads exist (their addresses are then stable).
    std::span<const SendItem> build(std::initializer_list<const Endpoint*> peers_per_group,
                                    std::initializer_list<std::size_t> group_sizes) {
        items.clear();
        auto peer = peers_per_group.begin();
        std::size_t next = 0;
        for (std::size_t n : group_sizes) {
            for (std::size_t i = 0; i < n; ++i, ++next)
                items.push_back(SendItem{payloads[next].data(), payloads[next].size(), *peer, nullptr});
            ++peer;
        }
        REQUIRE(next == payloads.size());
        return items;
    }
    std::vector<std::byte> bytes(std::size_t from, std::size_t to) const {  // payloads [from, to), joined
        std::vector<std::byte> out;
        for (std::size_t i = from; i < to; ++i) out.insert(out.end(), payloads[i].begin(), payloads[i].end());
        return out;
    }
};

// Every payload, in order, exactly once, across the messages of the last call.
void check_last_call_carries(const Burst& burst, std::size_t from) {
    std::vector<std::byte> carried;
    for (const auto& m : g.send_calls.back()) carried.insert(carried.end(), m.bytes.begin(), m.bytes.end());
    CHECK(carried == burst.bytes(from, burst.payloads.size()));
}

}  // namespace

TEST_CASE_METHOD(OffloadFixture, "GSO: a run of equal-size datagrams to one peer is one message",
                 "[net][udp_batch][gso]") {
    Burst burst;
    burst.add(5, 100);
    const auto items = burst.build({&burst.a}, {5});
    const auto r = batch.send(5, items);
    CHECK(r.sent == 5);
    CHECK(r.sent_bytes == 500);
    CHECK(r.failed == 0);
    CHECK(r.gso_datagrams == 5);
    CHECK(r.gso_turned_off == 0);
    REQUIRE(g.send_counts == std::vector<unsigned>{1});
    const auto& m = g.send_calls[0][0];
    CHECK(m.gso_size == 100);
    CHECK_FALSE(m.has_pktinfo);
    REQUIRE(m.pieces.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(m.pieces[i] == burst.payloads[i].data());  // no copy
    CHECK(m.bytes == burst.bytes(0, 5));
    REQUIRE(m.has_name);
    CHECK(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&m.name), m.name_len) == burst.a);
    CHECK(g.getsockopt_calls == 1);  // probed once...
    CHECK(sink.gso_datagrams.load() == 5);
    CHECK(sink.gso_messages.load() == 1);
    CHECK(sink.gso_fallbacks.load() == 0);

    REQUIRE(batch.send(5, items).gso_datagrams == 5);
    CHECK(g.getsockopt_calls == 1);  // ...and not again
    CHECK(sink.gso_datagrams.load() == 10);
    CHECK(sink.gso_messages.load() == 2);
    CHECK(batch.gso_enabled());
}

TEST_CASE_METHOD(OffloadFixture, "GSO: runs end at a size change, a new destination and the limits",
                 "[net][udp_batch][gso]") {
    SECTION("sizes and destinations") {
        Burst burst;
        burst.add(3, 100).add(1, 50).add(2, 100).add(2, 7).add(1, 7);
        const auto items = burst.build({&burst.a, &burst.b}, {8, 1});
        const auto r = batch.send(5, items);
        CHECK(r.sent == 9);
        CHECK(r.failed == 0);
        REQUIRE(g.send_counts == std::vector<unsigned>{4});
        const auto& call = g.send_calls[0];
        CHECK(call[0].gso_size == 100);  // 100 100 100 50
        CHECK(call[0].pieces.size() == 4);
        CHECK(call[1].gso_size == 100);  // 100 100 7
        CHECK(call[1].pieces.size() == 3);
        CHECK(call[2].gso_size == 0);  // 7 to a, alone
        CHECK(call[2].bytes.size() == 7);
        CHECK(call[3].gso_size == 0);  // 7 to b
        CHECK(r.gso_datagrams == 7);
        CHECK(sink.gso_messages.load() == 2);
        check_last_call_carries(burst, 0);
    }
    SECTION("65507 bytes: 46 WireGuard-size datagrams per message") {
        Burst burst;
        burst.add(70, 1400);
        const auto r = batch.send(5, burst.build({&burst.a}, {70}));
        CHECK(r.sent == 70);
        REQUIRE(g.send_counts == std::vector<unsigned>{2});
        CHECK(g.send_calls[0][0].pieces.size() == 46);
        CHECK(g.send_calls[0][1].pieces.size() == 24);
        check_last_call_carries(burst, 0);
    }
    SECTION("64 segments per message, 256 items per call") {
        Burst burst;
        burst.add(300, 10);
        const auto r = batch.send(5, burst.build({&burst.a}, {300}));
        CHECK(r.sent == 300);
        CHECK(r.sent_bytes == 3000);
        CHECK(r.gso_datagrams == 300);
        REQUIRE(g.send_counts == std::vector<unsigned>{4, 1});
        for (const auto& m : g.send_calls[0]) CHECK(m.pieces.size() == 64);
        CHECK(g.send_calls[1][0].pieces.size() == 44);
        CHECK(sink.gso_messages.load() == 5);
    }
}

TEST_CASE_METHOD(OffloadFixture, "GSO: source address and connected sockets", "[net][udp_batch][gso]") {
    std::byte payload[4][30] = {};
    LocalAddress local4;
    local4.family = AF_INET;
    REQUIRE(inet_pton(AF_INET, "203.0.113.9", &local4.v4) == 1);
    const Endpoint peer = endpoint_of(sockaddr_v4("198.51.100.1", 1));
    const SendItem items[] = {{payload[0], 30, &peer, &local4},
                              {payload[1], 30, &peer, &local4},
                              {payload[2], 30, nullptr, nullptr},
                              {payload[3], 30, nullptr, nullptr}};
    REQUIRE(batch.send(5, items).sent == 4);
    REQUIRE(g.send_counts == std::vector<unsigned>{2});
    const auto& call = g.send_calls[0];
    CHECK(call[0].has_pktinfo);  // both control messages in one buffer
    CHECK(call[0].gso_size == 30);
    CHECK(call[0].control.size() == CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(std::uint16_t)));
    CHECK_FALSE(call[1].has_name);
    CHECK_FALSE(call[1].has_pktinfo);
    CHECK(call[1].gso_size == 30);
    CHECK(call[1].control.size() == CMSG_SPACE(sizeof(std::uint16_t)));
}

TEST_CASE_METHOD(OffloadFixture, "GSO: a head goes out as its own iovec, in every segment",
                 "[net][udp_batch][gso]") {
    const std::byte head[1] = {std::byte{4}};
    Burst burst;
    burst.add(3, 100);
    burst.build({&burst.a}, {3});
    for (auto& item : burst.items) {
        item.head[0] = head[0];
        item.head_length = 1;
    }
    const auto r = batch.send(5, burst.items);
    CHECK(r.sent == 3);
    CHECK(r.sent_bytes == 303);  // the head counts
    CHECK(r.head_bytes == 3);
    REQUIRE(g.send_counts == std::vector<unsigned>{1});
    const auto& m = g.send_calls[0][0];
    CHECK(m.gso_size == 101);
    REQUIRE(m.pieces.size() == 6);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(m.pieces[2 * i] == burst.items[i].head.data());  // each item's own head
        CHECK(m.pieces[2 * i + 1] == burst.payloads[i].data());
        CHECK(m.bytes[101 * i] == std::byte{4});
        CHECK(m.bytes[101 * i + 1] == static_cast<std::byte>(i));
    }
}

TEST_CASE_METHOD(OffloadFixture, "a tail goes out after the data, as its own iovec, GSO or not",
                 "[net][udp_batch][gso]") {
    const std::byte tails[3][2] = {{std::byte{0xa0}, std::byte{0xa1}},
                                   {std::byte{0xb0}, std::byte{0xb1}},
                                   {std::byte{0xc0}, std::byte{0xc1}}};
    Burst burst;
    burst.add(3, 100);
    burst.build({&burst.a}, {3});
    for (std::size_t i = 0; i < 3; ++i) {
        burst.items[i].head[0] = std::byte{4};
        burst.items[i].head_length = 1;
        burst.items[i].tail = tails[i];
        burst.items[i].tail_length = 2;
    }
    const auto r = batch.send(5, burst.items);
    CHECK(r.sent == 3);
    CHECK(r.sent_bytes == 309);  // head and tail count
    CHECK(r.head_bytes == 9);    // and are not payload
    REQUIRE(g.send_counts == std::vector<unsigned>{1});
    const auto& m = g.send_calls[0][0];
    CHECK(m.gso_size == 103);
    REQUIRE(m.pieces.size() == 9);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(m.pieces[3 * i] == burst.items[i].head.data());
        CHECK(m.pieces[3 * i + 1] == burst.payloads[i].data());
        CHECK(m.pieces[3 * i + 2] == tails[i]);
        CHECK(m.bytes[103 * i] == std::byte{4});
        CHECK(m.bytes[103 * i + 101] == tails[i][0]);
        CHECK(m.bytes[103 * i + 102] == tails[i][1]);
    }
    // A tail that makes one item longer than the others ends the GSO run there.
    g.send_calls.clear();
    g.send_counts.clear();
    burst.items[1].tail_length = 1;  // 102 after 103: a shorter last segment
    burst.items[2].tail_length = 2;  // 103 again: its own message
    const auto r2 = batch.send(5, burst.items);
    CHECK(r2.sent == 3);
    REQUIRE(g.send_counts == std::vector<unsigned>{2});
    CHECK(g.send_calls[0][0].pieces.size() == 6);
    CHECK(g.send_calls[0][1].pieces.size() == 3);
}

TEST_CASE_METHOD(OffloadFixture, "GSO: a kernel without UDP_SEGMENT is asked once, and counted",
                 "[net][udp_batch][gso]") {
    g.getsockopt_errno = ENOPROTOOPT;
    Burst burst;
    burst.add(4, 100);
    const auto items = burst.build({&burst.a}, {4});
    auto r = batch.send(5, items);
    CHECK(r.sent == 4);
    CHECK(r.gso_datagrams == 0);
    REQUIRE(g.send_counts == std::vector<unsigned>{4});
    for (const auto& m : g.send_calls[0]) CHECK(m.gso_size == 0);
    CHECK_FALSE(batch.gso_enabled());
    CHECK(sink.gso_fallbacks.load() == 1);
    r = batch.send(5, items);
    CHECK(r.sent == 4);
    CHECK(g.getsockopt_calls == 1);
    CHECK(sink.gso_fallbacks.load() == 1);
}

TEST_CASE_METHOD(FakeFixture, "GSO: a seam without the option calls has no offload, and no fallback",
                 "[net][udp_batch][gso]") {
    Sink sink;
    batch.set_offload_counters(sink.counters());
    std::byte payload[3][20] = {};
    const SendItem items[] = {{payload[0], 20}, {payload[1], 20}, {payload[2], 20}};
    CHECK(batch.send(5, items).sent == 3);
    CHECK(g.send_counts == std::vector<unsigned>{3});
    CHECK_FALSE(batch.gso_enabled());
    CHECK(sink.gso_fallbacks.load() == 0);
    CHECK_FALSE(batch.enable_gro(5, kGroBufferSize));
    CHECK(sink.gro_fallbacks.load() == 0);
}

TEST_CASE_METHOD(OffloadFixture, "GSO: refused by the kernel -> off for good, counted, the batch sent again",
                 "[net][udp_batch][gso]") {
    for (int refusal : {EIO, EINVAL, ENOPROTOOPT, EOPNOTSUPP}) {
        INFO("errno " << refusal);
        g = FakeState{};
        Sink fresh;
        UdpBatch b(kFakeOffload);
        b.set_offload_counters(fresh.counters());
        g.gso_errno = refusal;
        Burst burst;
        burst.add(5, 100).add(2, 60);
        const auto items = burst.build({&burst.a, &burst.b}, {5, 2});
        auto r = b.send(5, items);
        CHECK(r.sent == 7);  // nothing lost
        CHECK(r.failed == 0);
        CHECK(r.error == 0);
        CHECK(r.gso_turned_off == refusal);
        CHECK(r.gso_datagrams == 0);
        REQUIRE(g.send_counts == std::vector<unsigned>{2, 7});
        check_last_call_carries(burst, 0);
        for (const auto& m : g.send_calls[1]) CHECK(m.gso_size == 0);
        CHECK_FALSE(b.gso_enabled());
        CHECK(fresh.gso_fallbacks.load() == 1);
        CHECK(fresh.gso_messages.load() == 0);

        // For good: no GSO, no new probe, no second count.
        r = b.send(5, items);
        CHECK(r.sent == 7);
        CHECK(r.gso_turned_off == 0);
        CHECK(g.send_counts == std::vector<unsigned>{2, 7, 7});
        CHECK(g.getsockopt_calls == 1);
        CHECK(fresh.gso_fallbacks.load() == 1);
    }
}

TEST_CASE_METHOD(OffloadFixture, "GSO: refused on a later message of a call", "[net][udp_batch][gso]") {
    g.gso_errno = EIO;
    Burst burst;
    burst.add(1, 7).add(3, 50).add(1, 20);
    const auto r = batch.send(5, burst.build({&burst.a, &burst.b, &burst.a}, {1, 3, 1}));
    CHECK(r.sent == 5);
    CHECK(r.sent_bytes == 177);
    CHECK(r.failed == 0);
    CHECK(r.gso_turned_off == EIO);
    // 7 went out; the GSO message was refused at the front of the next call; then plain.
    REQUIRE(g.send_counts == std::vector<unsigned>{3, 2, 4});
    check_last_call_carries(burst, 1);
    CHECK(sink.gso_fallbacks.load() == 1);
}

TEST_CASE_METHOD(OffloadFixture, "GSO: other errors send that message's datagrams one by one, GSO stays on",
                 "[net][udp_batch][gso]") {
    SECTION("EMSGSIZE (a path MTU below the segment size): each datagram on its own") {
        Burst burst;
        burst.add(4, 100).add(3, 80);
        g.steps = {{-1, EMSGSIZE}};
        const auto r = batch.send(5, burst.build({&burst.a, &burst.b}, {4, 3}));
        CHECK(r.sent == 7);
        CHECK(r.failed == 0);
        CHECK(r.error == 0);
        CHECK(r.gso_turned_off == 0);
        // Only the failed message goes plain: the run to b is still one GSO message.
        REQUIRE(g.send_counts == std::vector<unsigned>{2, 5});
        for (std::size_t i = 0; i < 4; ++i) CHECK(g.send_calls[1][i].gso_size == 0);
        CHECK(g.send_calls[1][4].gso_size == 80);
        CHECK(r.gso_datagrams == 3);
        CHECK(batch.gso_enabled());
        CHECK(sink.gso_fallbacks.load() == 0);
    }
    SECTION("ECONNREFUSED: one datagram fails, as it would without GSO") {
        Burst burst;
        burst.add(4, 100);
        const auto items = burst.build({&burst.a}, {4});
        g.steps = {{-1, ECONNREFUSED}, {-1, ECONNREFUSED}};
        auto r = batch.send(5, items);
        CHECK(r.sent == 3);
        CHECK(r.failed == 1);
        CHECK(r.error == ECONNREFUSED);
        REQUIRE(g.send_counts == std::vector<unsigned>{1, 4, 3});
        CHECK(g.send_calls[2][0].data == burst.payloads[1].data());
        // The next batch uses GSO again.
        r = batch.send(5, items);
        CHECK(r.gso_datagrams == 4);
        CHECK(g.send_counts.back() == 1);
    }
}

TEST_CASE_METHOD(OffloadFixture, "GSO: EAGAIN and short counts count whole messages",
                 "[net][udp_batch][gso]") {
    SECTION("EAGAIN on a GSO message") {
        Burst burst;
        burst.add(1, 7).add(3, 100).add(1, 9);
        g.steps = {{1}, {-1, EAGAIN}};
        const auto r = batch.send(5, burst.build({&burst.a, &burst.b, &burst.a}, {1, 3, 1}));
        CHECK(r.sent == 1);
        CHECK(r.failed == 4);
        CHECK(r.full);
        CHECK(r.stopped_at == 1);  // the first datagram of the refused message
        CHECK(r.error == EAGAIN);
        CHECK(batch.gso_enabled());
        CHECK(g.send_counts == std::vector<unsigned>{3, 2});
    }
    SECTION("a short count") {
        Burst burst;
        burst.add(3, 100).add(2, 100).add(1, 5);
        g.steps = {{2}};
        const auto r = batch.send(5, burst.build({&burst.a, &burst.b, &burst.a}, {3, 2, 1}));
        CHECK(r.sent == 6);
        CHECK(r.sent_bytes == 505);
        CHECK(r.gso_datagrams == 5);
        REQUIRE(g.send_counts == std::vector<unsigned>{3, 1});
        CHECK(g.send_calls[1][0].data == burst.payloads[5].data());
    }
}

TEST_CASE_METHOD(OffloadFixture, "GRO: a coalesced buffer reports its segment size",
                 "[net][udp_batch][gro]") {
    const auto peer = sockaddr_v4("198.51.100.7", 51820);
    auto coalesced = datagram(250, 0x11, peer);
    coalesced.gro_size = 100;
    auto single = datagram(80, 0x22, peer);
    single.gro_size = 80;  // one segment: just a datagram
    auto plain = datagram(64, 0x33, peer);
    auto with_pktinfo = datagram(30, 0x44, sockaddr_v6("2001:db8::5", 1194));
    with_pktinfo.gro_size = 10;
    in6_pktinfo info6{};
    info6.ipi6_ifindex = 9;
    REQUIRE(inet_pton(AF_INET6, "2001:db8::99", &info6.ipi6_addr) == 1);
    with_pktinfo.pktinfo6 = info6;  // both control messages fit
    g.datagrams = {coalesced, single, plain, with_pktinfo};

    std::vector<std::byte> storage(4 * 1000);
    ReceiveSlot slots[4];
    for (int i = 0; i < 4; ++i) {
        slots[i] = slot_at(storage.data() + 1000 * i, 1000);
        slots[i].segment_size = 77;  // stale values must be reset
    }
    const auto r = batch.receive(3, slots);
    REQUIRE(r.count == 4);
    CHECK(r.gro_datagrams == 6);
    CHECK(slots[0].segment_size == 100);
    CHECK(slots[0].length == 250);
    CHECK(slots[1].segment_size == 0);
    CHECK(slots[2].segment_size == 0);
    CHECK(slots[3].segment_size == 10);
    CHECK(slots[3].local.family == AF_INET6);
    CHECK(text(slots[3].local.v6) == "2001:db8::99");
    CHECK(sink.gro_datagrams.load() == 6);
    CHECK(sink.gro_messages.load() == 2);

    std::vector<std::size_t> lengths;
    for (const ReceiveSlot& d : datagrams({slots, r.count})) lengths.push_back(d.length);
    CHECK(lengths == std::vector<std::size_t>{100, 100, 50, 80, 64, 10, 10, 10});
}

TEST_CASE_METHOD(OffloadFixture, "GRO: enable_gro sets UDP_GRO, or turns GRO off for good",
                 "[net][udp_batch][gro]") {
    SECTION("buffers too small for a coalesced datagram: not asked") {
        CHECK_FALSE(batch.enable_gro(7, 2048));
        CHECK(g.setsockopt_calls.empty());
        CHECK(batch.gro_enabled());  // another caller with big buffers may still use it
    }
    SECTION("accepted") {
        CHECK(batch.enable_gro(7, kGroBufferSize));
        REQUIRE(g.setsockopt_calls.size() == 1);
        CHECK(g.setsockopt_calls[0].fd == 7);
        CHECK(g.setsockopt_calls[0].level == SOL_UDP);
        CHECK(g.setsockopt_calls[0].name == UDP_GRO);
        CHECK(g.setsockopt_calls[0].value == 1);
        CHECK(batch.enable_gro(8, kGroBufferSize));
        CHECK(g.setsockopt_calls.size() == 2);
        CHECK(sink.gro_fallbacks.load() == 0);
    }
    SECTION("refused: off, counted once, not asked again") {
        g.setsockopt_errno = ENOPROTOOPT;
        CHECK_FALSE(batch.enable_gro(7, kGroBufferSize));
        CHECK_FALSE(batch.gro_enabled());
        CHECK(sink.gro_fallbacks.load() == 1);
        CHECK_FALSE(batch.enable_gro(8, kGroBufferSize));
        CHECK(g.setsockopt_calls.size() == 1);
        CHECK(sink.gro_fallbacks.load() == 1);
    }
}

// ---- GSO and GRO on real loopback sockets --------------------------------------------------------

namespace {

struct Family {
    int family;
    const char* loopback;
};

// A socket bound to the loopback address of `family`; nullopt when the host has no such family.
std::unique_ptr<Socket> loopback_socket(const Family& f) {
    auto s = std::make_unique<Socket>(f.family);
    sockaddr_storage ss{};
    socklen_t len;
    if (f.family == AF_INET) {
        auto sa = sockaddr_v4(f.loopback, 0);
        std::memcpy(&ss, &sa, sizeof sa);
        len = sizeof sa;
    } else {
        auto sa = sockaddr_v6(f.loopback, 0);
        std::memcpy(&ss, &sa, sizeof sa);
        len = sizeof sa;
    }
    if (::bind(s->fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) return nullptr;
    return s;
}

// Receives every datagram (splitting coalesced buffers) until `want` are in; counts buffers
// that came coalesced.
struct Received {
    std::vector<std::vector<std::byte>> datagrams;
    std::vector<Endpoint> peers;
    std::size_t coalesced_buffers = 0;
};
Received receive_datagrams(UdpBatch& batch, int fd, std::size_t want) {
    Received out;
    std::vector<std::byte> storage(8 * kGroBufferSize);
    ReceiveSlot slots[8];
    while (out.datagrams.size() < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) break;
        for (int i = 0; i < 8; ++i) slots[i] = slot_at(storage.data() + kGroBufferSize * i, kGroBufferSize);
        const auto r = batch.receive(fd, slots);
        REQUIRE(r.error == 0);
        for (std::size_t i = 0; i < r.count; ++i)
            if (slots[i].segment_size != 0) ++out.coalesced_buffers;
        for (const ReceiveSlot& d : datagrams({slots, r.count})) {
            CHECK_FALSE(d.truncated);
            out.datagrams.emplace_back(d.data, d.data + d.length);
            out.peers.push_back(d.peer);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("GSO and GRO over real loopback sockets", "[net][udp_batch][socket][gso][gro]") {
    for (const Family f : {Family{AF_INET, "127.0.0.1"}, Family{AF_INET6, "::1"}}) {
        for (const bool gro : {false, true}) {
            INFO((f.family == AF_INET ? "IPv4" : "IPv6")
                 << (gro ? ", receiver with GRO" : ", receiver without GRO"));
            auto sender = loopback_socket(f), receiver = loopback_socket(f);
            if (!sender || !receiver) {
                WARN("no " << f.loopback << " here: skipped");
                continue;
            }
            UdpBatch tx, rx;
            Sink tx_sink, rx_sink;
            tx.set_offload_counters(tx_sink.counters());
            rx.set_offload_counters(rx_sink.counters());
            const bool gro_on = gro && rx.enable_gro(receiver->fd, kGroBufferSize);
            if (gro && !gro_on) WARN("this kernel refuses UDP_GRO");

            // 20 WireGuard-size datagrams and a shorter last one, to one peer.
            const Endpoint to = receiver->local();
            Burst burst;
            burst.add(20, 1420).add(1, 300);
            const auto items = burst.build({&to}, {21});
            const auto sent = tx.send(sender->fd, items);
            REQUIRE(sent.sent == 21);
            CHECK(sent.failed == 0);
            if (!tx.gso_enabled())
                WARN("this kernel refuses UDP GSO: sent one by one");
            else {
                CHECK(sent.gso_datagrams == 21);
                CHECK(tx_sink.gso_messages.load() == 1);
            }

            const auto got = receive_datagrams(rx, receiver->fd, 21);
            REQUIRE(got.datagrams.size() == 21);
            for (std::size_t i = 0; i < 21; ++i) {
                INFO("datagram " << i);
                CHECK(got.datagrams[i] == burst.payloads[i]);
                CHECK(got.peers[i] == sender->local());
            }
            if (gro_on && tx.gso_enabled()) {
                // Loopback hands the GSO packet whole to a socket that takes coalesced ones.
                CHECK(got.coalesced_buffers >= 1);
                CHECK(rx_sink.gro_datagrams.load() == 21);
            } else {
                CHECK(got.coalesced_buffers == 0);
            }
        }
    }
}

TEST_CASE("GSO from a wildcard socket keeps the chosen source address", "[net][udp_batch][socket][gso]") {
    Socket listener(AF_INET), client(AF_INET);
    listener.bind_to(sockaddr_v4("0.0.0.0", 0));
    REQUIRE(enable_pktinfo(listener.fd, false) == 0);
    client.bind_to(sockaddr_v4("127.0.0.1", 0));
    const Endpoint to = client.local();
    LocalAddress source;
    source.family = AF_INET;
    REQUIRE(inet_pton(AF_INET, "127.0.0.2", &source.v4) == 1);
    Burst burst;
    burst.add(5, 500);
    burst.build({&to}, {5});
    for (auto& item : burst.items) item.local = &source;
    UdpBatch batch;
    const auto sent = batch.send(listener.fd, burst.items);
    REQUIRE(sent.sent == 5);
    if (batch.gso_enabled()) CHECK(sent.gso_datagrams == 5);
    const auto got = receive_datagrams(batch, client.fd, 5);
    REQUIRE(got.datagrams.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(got.datagrams[i] == burst.payloads[i]);
        CHECK(got.peers[i].to_string() == "127.0.0.2:" + std::to_string(listener.local().port()));
    }
}

TEST_CASE("GSO refused by a real kernel: fallback, counted, nothing lost", "[net][udp_batch][socket][gso]") {
    // UDP checksums off (SO_NO_CHECK) make the kernel refuse UDP_SEGMENT with EINVAL, the way a
    // device without checksum offload refuses it with EIO.
    Socket sender(AF_INET), receiver(AF_INET);
    sender.bind_to(sockaddr_v4("127.0.0.1", 0));
    receiver.bind_to(sockaddr_v4("127.0.0.1", 0));
    const int on = 1;
    REQUIRE(::setsockopt(sender.fd, SOL_SOCKET, SO_NO_CHECK, &on, sizeof on) == 0);
    UdpBatch batch;
    Sink sink;
    batch.set_offload_counters(sink.counters());
    const Endpoint to = receiver.local();
    Burst burst;
    burst.add(10, 1000);
    const auto items = burst.build({&to}, {10});
    const auto sent = batch.send(sender.fd, items);
    CHECK(sent.sent == 10);
    CHECK(sent.failed == 0);
    CHECK(sent.gso_datagrams == 0);
    CHECK_FALSE(batch.gso_enabled());
    CHECK(sink.gso_fallbacks.load() == 1);
    if (sent.gso_turned_off != 0) CHECK(sent.gso_turned_off == EINVAL);  // 0: no GSO to refuse at all
    const auto got = receive_datagrams(batch, receiver.fd, 10);
    REQUIRE(got.datagrams.size() == 10);
    for (std::size_t i = 0; i < 10; ++i) CHECK(got.datagrams[i] == burst.payloads[i]);
}
