// udpload: the traffic generator and sink of bench/throughput.sh. Standalone (no porthop code),
// so it measures every relay, and the kernel's own forwarding, with the same instrument.
//
//   udpload send     --target IP:PORT [--bind IP] [--size N] [--rate PPS] [--duration S]
//                    [--flows K] [--batch B] [--shape plain|wg]
//   udpload tcp-send --target IP:PORT [--bind IP] [...the same]
//   udpload sink     --bind IP:PORT [--timeout S]
//
// Every datagram starts with a 24-byte header: magic, flow number, per-flow sequence number
// and the send time (CLOCK_MONOTONIC, ns). Network namespaces share that clock, so the sink,
// in the backend's namespace, measures one-way latency directly: receive time minus send time.
// --shape wg puts a WireGuard transport message's 16-byte header in front of it (type 4, three
// zero bytes, receiver index = flow, counter = sequence number), so that a relay that looks at
// the protocol (porthop's agent picks its mask mode by it) takes the datagrams for WireGuard
// data; --size is then at least 40. The sink reads either layout.
//
// send:     K flows, each its own UDP socket (own source port, so a relay sees K sessions),
//           connected to the target. Each sendmmsg sends a batch of B datagrams of one flow;
//           flows take turns. --rate 0 sends as fast as possible; otherwise batches are paced
//           on an absolute schedule (clock_nanosleep), so the average rate is exact.
// tcp-send: the same datagrams over K TCP connections, each framed as a 16-bit big-endian
//           length and the datagram (porthop's and udptunnel's framing), B frames per write.
// sink:     one UDP socket with a large receive buffer, recvmmsg batches of 64. Counts
//           datagrams and payload bytes, sequence gaps per flow (loss), datagrams older than
//           one already seen (reordered or duplicated), and one-way latency percentiles from a
//           log-linear histogram (1.6 % resolution), and when (seconds after the first datagram)
//           the worst one arrived. Stops on SIGINT/SIGTERM or --timeout.
//
// Each mode prints one JSON line on stdout when it ends. Exit status: 0 done, 1 runtime
// error, 2 usage error.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::uint32_t kMagic = 0x70686231;  // "phb1"
constexpr std::size_t kHeader = 24;            // magic u32, flow u32, seq u64, send time u64
constexpr std::size_t kMaxBatch = 64;
constexpr std::size_t kMaxSize = 65507;        // largest IPv4 UDP payload
constexpr std::size_t kWgPrefix = 16;          // --shape wg: type u32, receiver u32, counter u64

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const char* message) {
    std::fprintf(stderr,
                 "udpload: %s\n"
                 "usage: udpload send|tcp-send --target IP:PORT [--bind IP] [--size N] [--rate PPS]\n"
                 "                             [--duration S] [--flows K] [--batch B] [--shape plain|wg]\n"
                 "       udpload sink --bind IP:PORT [--timeout S]\n",
                 message);
    std::exit(2);
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "udpload: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

void sleep_until_ns(std::uint64_t t) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(t / 1'000'000'000u);
    ts.tv_nsec = static_cast<long>(t % 1'000'000'000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR && !g_stop) {
    }
}

// The header is stored little-endian (both ends run on this host).
void put_header(std::byte* p, std::uint32_t flow, std::uint64_t seq, std::uint64_t sent_ns) {
    const std::uint32_t magic = kMagic;
    std::memcpy(p, &magic, 4);
    std::memcpy(p + 4, &flow, 4);
    std::memcpy(p + 8, &seq, 8);
    std::memcpy(p + 16, &sent_ns, 8);
}

// The datagram's first bytes: with `wg` a WireGuard transport header (little-endian, as
// WireGuard's), then the header above.
void put_datagram_head(std::byte* p, bool wg, std::uint32_t flow, std::uint64_t seq, std::uint64_t sent_ns) {
    if (wg) {
        const std::uint32_t type = 4;
        std::memcpy(p, &type, 4);
        std::memcpy(p + 4, &flow, 4);
        std::memcpy(p + 8, &seq, 8);
        p += kWgPrefix;
    }
    put_header(p, flow, seq, sent_ns);
}

sockaddr_in parse_v4(std::string_view text, bool need_port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    std::string host(text);
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        host = std::string(text.substr(0, colon));
        const long port = std::strtol(std::string(text.substr(colon + 1)).c_str(), nullptr, 10);
        if (port <= 0 || port > 65535) usage("bad port");
        a.sin_port = htons(static_cast<std::uint16_t>(port));
    } else if (need_port) {
        usage("an address needs :PORT here");
    }
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) usage("bad IPv4 address");
    return a;
}

struct Options {
    std::string mode;
    std::optional<sockaddr_in> target, bind;
    std::size_t size = 64;
    double rate = 0;  // datagrams per second, 0 = as fast as possible
    double duration = 5;
    std::size_t flows = 1;
    std::size_t batch = kMaxBatch;
    double timeout = 60;
    bool wg = false;  // --shape wg
};

Options parse(int argc, char** argv) {
    if (argc < 2) usage("no mode");
    Options o;
    o.mode = argv[1];
    if (o.mode != "send" && o.mode != "tcp-send" && o.mode != "sink") usage("unknown mode");
    for (int i = 2; i < argc; i += 2) {
        const std::string_view key = argv[i];
        if (i + 1 >= argc) usage("option without a value");
        const char* v = argv[i + 1];
        if (key == "--target") o.target = parse_v4(v, true);
        else if (key == "--bind") o.bind = parse_v4(v, o.mode == "sink");
        else if (key == "--size") o.size = std::strtoul(v, nullptr, 10);
        else if (key == "--rate") o.rate = std::strtod(v, nullptr);
        else if (key == "--duration") o.duration = std::strtod(v, nullptr);
        else if (key == "--flows") o.flows = std::strtoul(v, nullptr, 10);
        else if (key == "--batch") o.batch = std::strtoul(v, nullptr, 10);
        else if (key == "--timeout") o.timeout = std::strtod(v, nullptr);
        else if (key == "--shape") {
            const std::string_view shape = v;
            if (shape != "plain" && shape != "wg") usage("--shape must be plain or wg");
            o.wg = shape == "wg";
        } else usage("unknown option");
    }
    if (o.mode == "sink" && !o.bind) usage("sink needs --bind IP:PORT");
    if (o.mode != "sink" && !o.target) usage("send needs --target IP:PORT");
    if (o.size < kHeader || o.size > kMaxSize) usage("--size must be 24..65507");
    if (o.wg && o.size < kWgPrefix + kHeader) usage("--shape wg needs --size 40 or more");
    if (o.mode == "tcp-send" && o.size > 65535) usage("--size too large for 16-bit framing");
    if (o.flows < 1 || o.flows > 1'000'000) usage("--flows must be 1..1000000");
    if (o.batch < 1 || o.batch > kMaxBatch) usage("--batch must be 1..64");
    if (o.rate < 0 || o.duration <= 0 || o.timeout <= 0) usage("bad --rate, --duration or --timeout");
    return o;
}

void raise_fd_limit(std::size_t needed) {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    if (r.rlim_cur < needed + 16) {
        r.rlim_cur = std::min<rlim_t>(r.rlim_max, needed + 16);
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

int open_flow_socket(int type, const Options& o) {
    const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (o.bind) {
        sockaddr_in b = *o.bind;
        b.sin_port = 0;
        if (bind(fd, reinterpret_cast<const sockaddr*>(&b), sizeof b) != 0) die("bind");
    }
    if (type == SOCK_STREAM) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (connect(fd, reinterpret_cast<const sockaddr*>(&*o.target), sizeof *o.target) != 0) die("connect");
    return fd;
}

// Paces batches on an absolute schedule; with rate 0 it never waits.
class Pacer {
public:
    Pacer(double rate, std::size_t batch, std::uint64_t start)
        : interval_ns_(rate > 0 ? 1e9 * static_cast<double>(batch) / rate : 0), next_(static_cast<double>(start)) {}
    void wait() {
        if (interval_ns_ <= 0) return;
        const auto now = static_cast<double>(now_ns());
        // Far behind (the machine was busy): restart the schedule rather than send a burst.
        if (now - next_ > 10e6) {
            next_ = now;
            ++resets;
        }
        if (next_ > now) sleep_until_ns(static_cast<std::uint64_t>(next_));
        next_ += interval_ns_;
    }
    std::uint64_t resets = 0;

private:
    double interval_ns_;
    double next_;
};

void print_send_result(const Options& o, std::uint64_t sent, std::uint64_t start, std::uint64_t end,
                       std::uint64_t errors, int last_error, std::uint64_t resets) {
    const double seconds = static_cast<double>(end - start) / 1e9;
    std::printf(
        "{\"mode\":\"%s\",\"size\":%zu,\"flows\":%zu,\"batch\":%zu,\"rate\":%.0f,\"sent\":%llu,"
        "\"bytes\":%llu,\"seconds\":%.6f,\"pps\":%.1f,\"errors\":%llu,\"last_error\":\"%s\","
        "\"pacer_resets\":%llu}\n",
        o.mode.c_str(), o.size, o.flows, o.batch, o.rate, static_cast<unsigned long long>(sent),
        static_cast<unsigned long long>(sent * o.size), seconds,
        seconds > 0 ? static_cast<double>(sent) / seconds : 0.0, static_cast<unsigned long long>(errors),
        last_error ? std::strerror(last_error) : "", static_cast<unsigned long long>(resets));
}

int run_send(const Options& o) {
    raise_fd_limit(o.flows);
    std::vector<int> fds(o.flows);
    for (auto& fd : fds) fd = open_flow_socket(SOCK_DGRAM, o);
    std::vector<std::uint64_t> seq(o.flows, 0);

    std::vector<std::byte> storage(o.batch * o.size, std::byte{0x5a});
    std::array<iovec, kMaxBatch> iov{};
    std::array<mmsghdr, kMaxBatch> msgs{};
    for (std::size_t i = 0; i < o.batch; ++i) {
        iov[i] = iovec{storage.data() + i * o.size, o.size};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    std::uint64_t sent = 0, errors = 0;
    int last_error = 0;
    const std::uint64_t start = now_ns();
    const auto end = start + static_cast<std::uint64_t>(o.duration * 1e9);
    Pacer pacer(o.rate, o.batch, start);
    std::size_t flow = 0;
    for (;;) {
        pacer.wait();
        const std::uint64_t t = now_ns();
        if (t >= end || g_stop) break;
        const auto flow32 = static_cast<std::uint32_t>(flow);
        for (std::size_t i = 0; i < o.batch; ++i)
            put_datagram_head(storage.data() + i * o.size, o.wg, flow32, seq[flow] + i, t);
        const int n = sendmmsg(fds[flow], msgs.data(), static_cast<unsigned>(o.batch), 0);
        if (n < 0) {
            // ECONNREFUSED (an ICMP error from an earlier datagram), ENOBUFS: count and go on.
            ++errors;
            last_error = errno;
        } else {
            seq[flow] += static_cast<std::uint64_t>(n);
            sent += static_cast<std::uint64_t>(n);
        }
        if (++flow == o.flows) flow = 0;
    }
    const std::uint64_t stop = now_ns();
    print_send_result(o, sent, start, stop, errors, last_error, pacer.resets);
    for (int fd : fds) close(fd);
    return 0;
}

bool write_all(int fd, const std::byte* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR && !g_stop) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

int run_tcp_send(const Options& o) {
    raise_fd_limit(o.flows);
    std::vector<int> fds(o.flows);
    for (auto& fd : fds) fd = open_flow_socket(SOCK_STREAM, o);
    std::vector<std::uint64_t> seq(o.flows, 0);

    const std::size_t frame = 2 + o.size;
    std::vector<std::byte> storage(o.batch * frame, std::byte{0x5a});
    for (std::size_t i = 0; i < o.batch; ++i) {
        storage[i * frame] = static_cast<std::byte>(o.size >> 8);
        storage[i * frame + 1] = static_cast<std::byte>(o.size & 0xff);
    }
    std::uint64_t sent = 0, errors = 0;
    int last_error = 0;
    const std::uint64_t start = now_ns();
    const auto end = start + static_cast<std::uint64_t>(o.duration * 1e9);
    Pacer pacer(o.rate, o.batch, start);
    std::size_t flow = 0;
    for (;;) {
        pacer.wait();
        const std::uint64_t t = now_ns();
        if (t >= end || g_stop) break;
        const auto flow32 = static_cast<std::uint32_t>(flow);
        for (std::size_t i = 0; i < o.batch; ++i)
            put_datagram_head(storage.data() + i * frame + 2, o.wg, flow32, seq[flow] + i, t);
        if (!write_all(fds[flow], storage.data(), storage.size())) {
            // The relay closed the connection: nothing more can be sent on it.
            ++errors;
            last_error = errno;
            break;
        }
        seq[flow] += o.batch;
        sent += o.batch;
        if (++flow == o.flows) flow = 0;
    }
    const std::uint64_t stop = now_ns();
    print_send_result(o, sent, start, stop, errors, last_error, pacer.resets);
    for (int fd : fds) {
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return 0;
}

// Log-linear latency histogram over nanoseconds: exact below 128 ns, then 64 sub-buckets per
// power of two (at most 1/64 = 1.6 % error). Values up to ~2^40 ns (18 minutes).
class Histogram {
public:
    void add(std::uint64_t v) {
        ++counts_[index(v)];
        ++total_;
        if (v > max_) max_ = v;
        if (v < min_) min_ = v;
    }
    std::uint64_t total() const { return total_; }
    std::uint64_t max() const { return max_; }
    std::uint64_t min() const { return total_ ? min_ : 0; }
    // The value below which a fraction q of the samples lie (the bucket's midpoint).
    std::uint64_t quantile(double q) const {
        if (total_ == 0) return 0;
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(value(i), max_);
        }
        return max_;
    }

private:
    static constexpr std::size_t kBuckets = 128 + 40 * 64;
    static std::size_t index(std::uint64_t v) {
        if (v < 128) return static_cast<std::size_t>(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - 6;  // v >> shift is in [64, 127]
        const std::size_t i = 128 + static_cast<std::size_t>(shift - 1) * 64 + static_cast<std::size_t>((v >> shift) - 64);
        return std::min(i, kBuckets - 1);
    }
    static std::uint64_t value(std::size_t i) {
        if (i < 128) return i;
        const std::size_t shift = (i - 128) / 64 + 1;
        const std::uint64_t top = (i - 128) % 64 + 64;
        return (top << shift) + (std::uint64_t{1} << shift) / 2;
    }
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t total_ = 0, max_ = 0, min_ = UINT64_MAX;
};

struct Flow {
    bool seen = false;
    std::uint64_t next = 0;      // one past the highest sequence number seen
    std::uint64_t received = 0;
};

int run_sink(const Options& o) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    // A sink that drops would be blamed on the relay: ask for a large buffer (FORCE needs
    // CAP_NET_ADMIN, which the harness has; otherwise the capped SO_RCVBUF).
    const int want = 64 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const int rxq = 1;  // SO_RXQ_OVFL: the kernel tells us how many datagrams our socket dropped
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &rxq, sizeof rxq);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&*o.bind), sizeof *o.bind) != 0) die("bind");
    timeval tv{0, 100'000};  // wake up to notice a signal or the timeout
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rcvbuf = 0;
    socklen_t len = sizeof rcvbuf;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);

    constexpr std::size_t kSlot = 2048;  // the harness sends at most 1400 bytes; longer ones are truncated
    std::vector<std::byte> storage(kMaxBatch * kSlot);
    std::array<iovec, kMaxBatch> iov{};
    std::array<mmsghdr, kMaxBatch> msgs{};
    std::array<std::array<std::byte, CMSG_SPACE(sizeof(std::uint32_t))>, kMaxBatch> control{};
    for (std::size_t i = 0; i < kMaxBatch; ++i) iov[i] = iovec{storage.data() + i * kSlot, kSlot};

    std::vector<Flow> flows;
    Histogram latency;
    std::uint64_t received = 0, bytes = 0, reordered = 0, bad = 0, truncated = 0, first = 0, last = 0;
    std::uint64_t worst = 0, worst_at = 0;  // the largest latency and when it was seen
    std::uint32_t socket_drops = 0;
    const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(o.timeout * 1e9);
    while (!g_stop && now_ns() < deadline) {
        for (std::size_t i = 0; i < kMaxBatch; ++i) {
            msgs[i].msg_hdr = msghdr{};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = control[i].data();
            msgs[i].msg_hdr.msg_controllen = control[i].size();
        }
        const int n = recvmmsg(fd, msgs.data(), kMaxBatch, MSG_WAITFORONE, nullptr);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            die("recvmmsg");
        }
        const std::uint64_t t = now_ns();
        if (received == 0) first = t;
        last = t;
        for (int k = 0; k < n; ++k) {
            const auto i = static_cast<std::size_t>(k);
            msghdr& h = msgs[i].msg_hdr;
            for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
                    std::memcpy(&socket_drops, CMSG_DATA(c), sizeof socket_drops);
            const std::size_t length = msgs[i].msg_len;
            const std::byte* p = storage.data() + i * kSlot;
            if (h.msg_flags & MSG_TRUNC) ++truncated;
            std::uint32_t magic = 0, flow_id = 0;
            std::uint64_t seq = 0, sent = 0;
            // --shape wg: the header follows a WireGuard transport header (type 4 never starts a
            // plain datagram: that starts with the magic). Bytes count the whole datagram.
            const std::size_t head = length >= kWgPrefix + kHeader && p[0] == std::byte{4} &&
                                             p[1] == std::byte{0} && p[2] == std::byte{0} && p[3] == std::byte{0}
                                         ? kWgPrefix
                                         : 0;
            if (length >= head + kHeader) {
                p += head;
                std::memcpy(&magic, p, 4);
                std::memcpy(&flow_id, p + 4, 4);
                std::memcpy(&seq, p + 8, 8);
                std::memcpy(&sent, p + 16, 8);
            }
            if (magic != kMagic || flow_id >= 1'000'000) {
                ++bad;
                continue;
            }
            ++received;
            bytes += length;
            if (flow_id >= flows.size()) flows.resize(flow_id + 1);
            Flow& f = flows[flow_id];
            if (f.seen && seq < f.next) ++reordered;
            else f.next = seq + 1;
            f.seen = true;
            ++f.received;
            const std::uint64_t l = t > sent ? t - sent : 0;
            latency.add(l);
            if (l > worst) {
                worst = l;
                worst_at = t;
            }
        }
    }
    // Loss seen from sequence gaps (the harness uses the sender's count, which also covers
    // datagrams lost at the end of a flow).
    std::uint64_t expected = 0, flows_seen = 0;
    for (const auto& f : flows)
        if (f.seen) {
            expected += f.next;
            ++flows_seen;
        }
    const double seconds = received > 1 ? static_cast<double>(last - first) / 1e9 : 0.0;
    const auto us = [&](double q) { return static_cast<double>(latency.quantile(q)) / 1e3; };
    std::printf(
        "{\"mode\":\"sink\",\"received\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"pps\":%.1f,\"mbps\":%.3f,"
        "\"flows\":%llu,\"gap_lost\":%lld,\"reordered\":%llu,\"bad\":%llu,\"truncated\":%llu,"
        "\"socket_drops\":%u,\"rcvbuf\":%d,\"lat_us\":{\"min\":%.2f,\"p50\":%.2f,\"p90\":%.2f,"
        "\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f,\"max_at_s\":%.3f}}\n",
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(bytes), seconds,
        seconds > 0 ? static_cast<double>(received) / seconds : 0.0,
        seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e6 : 0.0,
        static_cast<unsigned long long>(flows_seen),
        static_cast<long long>(expected) - static_cast<long long>(received),
        static_cast<unsigned long long>(reordered), static_cast<unsigned long long>(bad),
        static_cast<unsigned long long>(truncated), socket_drops, rcvbuf,
        static_cast<double>(latency.min()) / 1e3, us(0.50), us(0.90), us(0.99), us(0.999),
        static_cast<double>(latency.max()) / 1e3,
        worst ? static_cast<double>(worst_at - first) / 1e9 : 0.0);
    close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    struct sigaction sa{};
    sa.sa_handler = on_signal;  // no SA_RESTART: a blocked call returns EINTR and we stop
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // pacing needs microsecond wake-ups
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (o.mode == "send") return run_send(o);
    if (o.mode == "tcp-send") return run_tcp_send(o);
    return run_sink(o);
}
