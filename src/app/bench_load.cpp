#include "porthop/app/bench_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace porthop::app {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kBatch = 32;         // datagrams per sendmmsg / frames per TCP write
constexpr std::size_t kSinkBatch = 64;     // datagrams per recvmmsg
constexpr std::size_t kSinkSlot = 2048;    // the bench sends at most 1400 bytes
constexpr auto kStall = 20ms;              // no delivery for this long: what is in flight is lost
constexpr std::size_t kWireGuardInitiation = 148;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// A datagram shaped like a WireGuard transport message (type 4, three zero bytes, receiver
// index, counter, then ciphertext-like bytes), the traffic a relay carries most.
std::vector<std::byte> payload(std::size_t size) {
    std::vector<std::byte> out(size);
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>((i * 151 + 7) & 0xFF);
    if (size >= 16) {
        out[0] = std::byte{4};
        out[1] = out[2] = out[3] = std::byte{0};
    }
    return out;
}

// Keeps the generator at most `window` datagrams ahead of the sink.
class Window {
public:
    Window(const BenchSink& sink, std::size_t window) : sink_(sink), window_(window), base_(sink.datagrams()) {}

    // True when `n` more may be sent now; otherwise waits a little (or writes off what is in
    // flight after a stall) and returns false.
    bool admit(std::uint64_t sent, std::size_t n, Clock::time_point now) {
        const std::uint64_t delivered = sink_.datagrams() - base_;
        if (delivered != seen_) {
            seen_ = delivered;
            progress_ = now;
        }
        const std::uint64_t accounted = delivered + written_off_;
        const std::uint64_t in_flight = sent > accounted ? sent - accounted : 0;
        if (in_flight + n <= window_) return true;
        if (now - progress_ > kStall) {
            written_off_ += in_flight;
            progress_ = now;
            return true;
        }
        // Sleep rather than spin: on a one-core device the relay needs this CPU.
        timespec ts{0, 20'000};
        ::nanosleep(&ts, nullptr);
        return false;
    }
    std::uint64_t written_off() const noexcept { return written_off_; }

private:
    const BenchSink& sink_;
    std::size_t window_;
    std::uint64_t base_;
    std::uint64_t seen_ = 0;
    std::uint64_t written_off_ = 0;
    Clock::time_point progress_ = Clock::now();
};

int connected_socket(const net::Endpoint& target, int type, std::optional<std::string>& error) {
    const int fd = ::socket(target.is_v6() ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno_text("socket");
        return -1;
    }
    // A send that cannot proceed for a second ends the run instead of hanging it.
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, target.sockaddr_ptr(), target.sockaddr_len()) != 0) {
        error = errno_text(("connect to " + target.to_string()).c_str());
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

std::size_t window_for(std::size_t size) noexcept {
    // An skb costs about 640 bytes beyond its payload.
    return std::clamp<std::size_t>((160u << 10) / (size + 640), kBatch, 256);
}

BenchSink::BenchSink() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error_ = errno_text("sink socket");
        return;
    }
    // As large as an unprivileged process may ask (net.core.rmem_max): the sink must not be
    // what loses datagrams.
    const int want = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        error_ = errno_text("sink bind 127.0.0.1");
        return;
    }
    endpoint_ = net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&a), len);
    thread_ = std::thread([this] { run(); });
}

BenchSink::~BenchSink() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

void BenchSink::run() {
    std::vector<std::byte> buffers(kSinkBatch * kSinkSlot);
    std::array<iovec, kSinkBatch> iov{};
    std::array<mmsghdr, kSinkBatch> msgs{};
    for (std::size_t i = 0; i < kSinkBatch; ++i) {
        iov[i] = {buffers.data() + i * kSinkSlot, kSinkSlot};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stop_.load(std::memory_order_relaxed)) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) continue;  // wakes up to see stop_
        const int n = ::recvmmsg(fd_, msgs.data(), kSinkBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) continue;
        std::uint64_t bytes = 0;
        for (int i = 0; i < n; ++i) bytes += msgs[static_cast<std::size_t>(i)].msg_len;
        bytes_.fetch_add(bytes, std::memory_order_relaxed);
        datagrams_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_release);
    }
}

LoadResult send_udp(const net::Endpoint& target, const LoadSpec& spec, const BenchSink& sink) {
    LoadResult result;
    const int fd = connected_socket(target, SOCK_DGRAM, result.error);
    if (fd < 0) return result;
    const auto data = payload(spec.size);
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (std::size_t i = 0; i < kBatch; ++i) {
        iov[i] = {const_cast<std::byte*>(data.data()), data.size()};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    Window window(sink, spec.window ? spec.window : window_for(spec.size));
    const auto deadline = Clock::now() + spec.duration;
    while (result.sent < spec.max_datagrams) {
        const auto now = Clock::now();
        if (now >= deadline) break;
        const auto n = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, spec.max_datagrams - result.sent));
        if (!window.admit(result.sent, n, now)) continue;
        const int sent = ::sendmmsg(fd, msgs.data(), n, 0);
        if (sent < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) continue;
            result.error = errno_text(("send to " + target.to_string()).c_str());
            break;
        }
        result.sent += static_cast<std::uint64_t>(sent);
    }
    result.written_off = window.written_off();
    ::close(fd);
    return result;
}

LoadResult send_tcp(const net::Endpoint& target, const LoadSpec& spec, const BenchSink& sink) {
    LoadResult result;
    const int fd = connected_socket(target, SOCK_STREAM, result.error);
    if (fd < 0) return result;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A relay with a hop-link key (or a protocol set) closes a connection whose first frame is
    // not a VPN handshake, as a native tcp-client would send: a WireGuard initiation goes
    // first, and the run starts once it has reached the sink.
    {
        std::vector<std::byte> hello(2 + kWireGuardInitiation, std::byte{0x5a});
        hello[0] = std::byte{0};
        hello[1] = static_cast<std::byte>(kWireGuardInitiation);
        hello[2] = std::byte{1};
        hello[3] = hello[4] = hello[5] = std::byte{0};
        const auto before = sink.datagrams();
        if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size())) {
            result.error = errno_text(("send to " + target.to_string()).c_str());
            ::close(fd);
            return result;
        }
        const auto deadline = Clock::now() + 2s;
        while (sink.datagrams() == before && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
        if (sink.datagrams() == before) {
            result.error = "the relay forwarded no handshake from " + target.to_string() + " within 2 s";
            ::close(fd);
            return result;
        }
        result.preamble = 1;
    }
    // kBatch frames, each a big-endian u16 length and the datagram, written with one send.
    const auto data = payload(spec.size);
    std::vector<std::byte> frames;
    for (std::size_t i = 0; i < kBatch; ++i) {
        frames.push_back(static_cast<std::byte>(spec.size >> 8));
        frames.push_back(static_cast<std::byte>(spec.size & 0xFF));
        frames.insert(frames.end(), data.begin(), data.end());
    }
    const std::size_t frame_size = spec.size + 2;
    Window window(sink, spec.window ? spec.window : window_for(spec.size));
    const auto deadline = Clock::now() + spec.duration;
    while (result.sent < spec.max_datagrams && !result.error) {
        const auto now = Clock::now();
        if (now >= deadline) break;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, spec.max_datagrams - result.sent));
        if (!window.admit(result.sent, n, now)) continue;
        // Whole frames only: a partial write is finished before anything else is counted.
        std::size_t off = 0;
        const std::size_t total = n * frame_size;
        while (off < total) {
            const auto w = ::send(fd, frames.data() + off, total - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR) continue;
                result.error = errno_text(("send to " + target.to_string()).c_str());
                break;
            }
            off += static_cast<std::size_t>(w);
        }
        result.sent += off / frame_size;
    }
    result.written_off = window.written_off();
    ::close(fd);
    return result;
}

}  // namespace porthop::app
