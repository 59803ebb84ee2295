// Integration harness: the relay running on its own event-loop thread, a UDP echo backend,
// and blocking client sockets with receive timeouts. Everything on loopback, ephemeral ports.
// Used by tests/integration and tests/alloc; the byte and address builders are bytes.hpp and
// endpoints.hpp, included here.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "porthop/crypto/length_mask.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/relay/agent.hpp"
#include "porthop/relay/server.hpp"
#include "bytes.hpp"
#include "endpoints.hpp"

namespace porthop::test {

using namespace std::chrono_literals;

// A file descriptor that closes itself.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept { reset(std::exchange(o.fd_, -1)); return *this; }
    ~Fd() { reset(); }
    void reset(int fd = -1) { if (fd_ >= 0) ::close(fd_); fd_ = fd; }
    int get() const { return fd_; }
private:
    int fd_;
};

// ::1 or 127.0.0.1 at `port`, for bind/connect/sendto.
inline sockaddr_storage loopback(bool v6, std::uint16_t port, socklen_t& len) {
    sockaddr_storage ss{};
    if (v6) {
        const auto a = sockaddr_v6("::1", port);
        std::memcpy(&ss, &a, sizeof a);
        len = sizeof a;
    } else {
        const auto a = sockaddr_v4("127.0.0.1", port);
        std::memcpy(&ss, &a, sizeof a);
        len = sizeof a;
    }
    return ss;
}

// A UDP socket on loopback with a receive timeout, for playing a client.
class UdpClient {
public:
    explicit UdpClient(bool v6) : fd_(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0)), v6_(v6) {
        socklen_t len;
        auto any = loopback(v6, 0, len);
        ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&any), len);
    }
    // An IPv4 client at another loopback address (127.x.y.z, host byte order), sending to
    // 127.0.0.1: tests of what the relay does by client address.
    explicit UdpClient(std::uint32_t v4_source) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)), v6_(false) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(v4_source);
        ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    // An IPv6 client at `v6_source` (an address the test's network namespace has), sending to
    // ::1 (bound() says whether the address could be bound).
    explicit UdpClient(const in6_addr& v6_source) : fd_(::socket(AF_INET6, SOCK_DGRAM, 0)), v6_(true) {
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_addr = v6_source;
        bound_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    bool bound() const { return bound_; }
    // The port it is bound to (where a peer sends to it).
    std::uint16_t port() const {
        sockaddr_storage bound{};
        socklen_t len = sizeof bound;
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
        return net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), len).port();
    }
    void send_to(std::uint16_t port, const Bytes& data) {
        socklen_t len;
        auto to = loopback(v6_, port, len);
        ::sendto(fd_.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), len);
    }
    // The next datagram and the port it came from, or nullopt after `timeout`.
    std::optional<std::pair<Bytes, std::uint16_t>> receive(std::chrono::milliseconds timeout = 2000ms) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
        Bytes buf(70000);
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const auto n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return std::nullopt;
        buf.resize(static_cast<std::size_t>(n));
        return std::make_pair(buf, net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), len).port());
    }
private:
    Fd fd_;
    bool v6_;
    bool bound_ = true;
};

// A TCP client speaking the u16-length framing: plain (a native client), or with masked lengths
// (a porthop agent, after mask_lengths()).
class TcpClient {
public:
    // `receive_buffer` > 0 shrinks the kernel's receive buffer (set before connect so the
    // window is small from the start), to make a slow reader without waiting for megabytes.
    // `v4_source` (host byte order, IPv4 only): connect from that loopback address.
    TcpClient(bool v6, std::uint16_t port, int receive_buffer = 0, std::uint32_t v4_source = 0)
        : fd_(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)) {
        if (receive_buffer > 0)
            ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        if (v4_source != 0 && !v6) {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(v4_source);
            ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
        }
        socklen_t len;
        auto to = loopback(v6, port, len);
        connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&to), len) == 0;
        const int one = 1;
        ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    bool connected() const { return connected_; }
    void close() { fd_.reset(); }
    void write_raw(const Bytes& data) { ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL); }
    static Bytes frame(const Bytes& payload) {
        Bytes out{static_cast<std::byte>(payload.size() >> 8), static_cast<std::byte>(payload.size() & 0xFF)};
        out.insert(out.end(), payload.begin(), payload.end());
        return out;
    }
    // From now on records are an agent's: `sent` masks the lengths of what record() frames,
    // `read` unmasks what read_frame() reads (an agent codec's sent_lengths(), read_lengths()).
    void mask_lengths(const crypto::LengthMask& sent, const crypto::LengthMask& read) {
        sent_.emplace(sent);
        read_.emplace(read);
    }
    // `payload` as one record of this client's stream (a hop-link frame once masked).
    Bytes record(const Bytes& payload) const {
        Bytes out = frame(payload);
        if (sent_ && payload.size() >= crypto::kMaskSaltSize) {
            const auto mask = (*sent_)(std::span<const std::byte>(payload).first<crypto::kMaskSaltSize>());
            out[0] ^= static_cast<std::byte>(mask >> 8);
            out[1] ^= static_cast<std::byte>(mask & 0xFF);
        }
        return out;
    }
    // Reads exactly n bytes, or returns what arrived before the timeout / EOF.
    Bytes read_exact(std::size_t n, std::chrono::milliseconds timeout = 2000ms) {
        Bytes out;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (out.size() < n) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) break;
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
            std::byte buf[65536];
            const auto got = ::recv(fd_.get(), buf, std::min(sizeof buf, n - out.size()), 0);
            if (got <= 0) break;
            out.insert(out.end(), buf, buf + got);
        }
        return out;
    }
    // Reads one frame's payload.
    std::optional<Bytes> read_frame(std::chrono::milliseconds timeout = 2000ms) {
        const std::size_t prefix = read_ ? 2 + crypto::kMaskSaltSize : 2;  // a masked length needs the salt
        auto header = read_exact(prefix, timeout);
        if (header.size() != prefix) return std::nullopt;
        auto length = (std::to_integer<std::size_t>(header[0]) << 8) | std::to_integer<std::size_t>(header[1]);
        if (read_) length ^= (*read_)(std::span<const std::byte>(header).subspan<2, crypto::kMaskSaltSize>());
        if (length < prefix - 2) return std::nullopt;
        Bytes payload(header.begin() + 2, header.end());
        const auto rest = read_exact(length - payload.size(), timeout);
        payload.insert(payload.end(), rest.begin(), rest.end());
        if (payload.size() != length) return std::nullopt;
        return payload;
    }
    // True when the relay closed the connection (EOF or reset) within the timeout.
    bool closed_by_peer(std::chrono::milliseconds timeout = 2000ms) {
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
        std::byte b;
        return ::recv(fd_.get(), &b, 1, MSG_DONTWAIT) <= 0;
    }
private:
    Fd fd_;
    bool connected_ = false;
    std::optional<crypto::LengthMask> sent_;
    std::optional<crypto::LengthMask> read_;
};

// UDP echo backend on 127.0.0.1 that remembers every source address it heard from.
class EchoBackend {
public:
    // What a scripted backend sends back for one datagram (in order).
    using Script = std::function<std::vector<Bytes>(const Bytes&)>;
    // `reply` = false makes it a sink; pause() stops it reading. With a `script`, its answers
    // replace the echo (a VPN server's replies, in tests of the protocol-aware checks).
    explicit EchoBackend(bool reply = true, Script script = {})
        : fd_(::socket(AF_INET, SOCK_DGRAM, 0)), reply_(reply), script_(std::move(script)) {
        socklen_t len;
        auto any = loopback(false, 0, len);
        ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&any), len);
        sockaddr_storage bound{};
        socklen_t blen = sizeof bound;
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
        endpoint_ = net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), blen);
        thread_ = std::thread([this] { run(); });
    }
    ~EchoBackend() {
        stop_ = true;
        thread_.join();
    }
    net::Endpoint endpoint() const { return endpoint_; }
    std::vector<net::Endpoint> sources() {
        std::lock_guard lock(mutex_);
        return sources_;
    }
    std::size_t datagrams() { std::lock_guard lock(mutex_); return datagrams_; }
    void pause(bool paused) { paused_ = paused; }

    std::vector<Bytes> received() { std::lock_guard lock(mutex_); return received_; }
    // Sends from the backend's socket, unasked (as a VPN server pushing data does).
    void send_to(const net::Endpoint& to, const Bytes& data) {
        ::sendto(fd_.get(), data.data(), data.size(), 0, to.sockaddr_ptr(), to.sockaddr_len());
    }
private:
    void run() {
        Bytes buf(70000);
        while (!stop_) {
            if (paused_) {
                std::this_thread::sleep_for(5ms);
                continue;
            }
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, 1, 20) != 1) continue;
            sockaddr_storage from{};
            socklen_t len = sizeof from;
            const auto n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) continue;
            {
                std::lock_guard lock(mutex_);
                const auto src = net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&from), len);
                if (std::find(sources_.begin(), sources_.end(), src) == sources_.end()) sources_.push_back(src);
                ++datagrams_;
                received_.emplace_back(buf.begin(), buf.begin() + n);
            }
            if (reply_ && script_) {
                for (const auto& answer : script_(Bytes(buf.begin(), buf.begin() + n)))
                    ::sendto(fd_.get(), answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
            } else if (reply_) {
                ::sendto(fd_.get(), buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
            }
        }
    }
    Fd fd_;
    bool reply_;
    Script script_;
    std::atomic<bool> paused_{false};
    net::Endpoint endpoint_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<net::Endpoint> sources_;
    std::size_t datagrams_ = 0;
    std::vector<Bytes> received_;
    std::thread thread_;
};

// The relay on its own thread, torn down (stop + join) on destruction.
class RunningRelay {
public:
    explicit RunningRelay(relay::ServerOptions options) : server_(io_, std::move(options)) {
        error_ = server_.start();
        if (!error_) thread_ = std::thread([this] { io_.run(); });
    }
    ~RunningRelay() {
        if (thread_.joinable()) {
            boost::asio::post(io_, [this] { server_.stop(); });
            thread_.join();
        }
    }
    const std::optional<std::string>& error() const { return error_; }
    // Stops the relay without waiting for its loop to finish (the destructor joins it).
    void stop_soon() { boost::asio::post(io_, [this] { server_.stop(); }); }
    relay::Server& server() { return server_; }
    std::uint16_t udp_port(std::size_t i) const { return server_.udp_endpoints().at(i).port(); }
    std::uint16_t tcp_port(std::size_t i) const { return server_.tcp_endpoints().at(i).port(); }
    // Asked on the loop thread, where the session table lives.
    std::size_t sessions() {
        std::promise<std::size_t> p;
        boost::asio::post(io_, [&] { p.set_value(server_.session_count()); });
        return p.get_future().get();
    }
    // Live reload on the loop thread; returns the error, or nullopt and the change summary.
    std::optional<std::string> reconfigure(relay::ServerOptions next, std::string* changes = nullptr) {
        std::promise<std::optional<std::string>> p;
        boost::asio::post(io_, [&] {
            std::string summary;
            auto result = server_.reconfigure(std::move(next), summary);
            if (changes) *changes = summary;
            p.set_value(result);
        });
        return p.get_future().get();
    }
    // Runs f(server) on the loop thread and returns its result.
    template <typename F>
    auto on_loop(F&& f) {
        std::promise<std::invoke_result_t<F&, relay::Server&>> p;
        boost::asio::post(io_, [&] { p.set_value(f(server_)); });
        return p.get_future().get();
    }
    // Holds the loop thread in a task until the returned handle is dropped, so that what arrives
    // meanwhile waits in the kernel, as it does behind a burst of work on a busy loop.
    [[nodiscard]] std::shared_ptr<void> pause() {
        auto release = std::make_shared<std::promise<void>>();
        std::promise<void> holding;
        boost::asio::post(io_, [gate = release->get_future().share(), &holding] {
            holding.set_value();
            gate.wait();
        });
        holding.get_future().wait();
        return std::shared_ptr<void>(nullptr, [release](void*) { release->set_value(); });
    }
    relay::ServerSnapshot snapshot() {
        std::promise<relay::ServerSnapshot> p;
        boost::asio::post(io_, [&] { p.set_value(server_.snapshot()); });
        return p.get_future().get();
    }
    // Bound ports as the loop thread sees them now (they change on reload).
    std::vector<std::uint16_t> udp_ports() {
        std::vector<std::uint16_t> out;
        for (const auto& l : snapshot().listeners)
            if (std::string(l.proto) == "udp") out.push_back(l.bound.port());
        return out;
    }
    std::uint64_t counter(std::atomic<std::uint64_t> relay::Counters::*c) const {
        return (server_.counters().*c).load();
    }
private:
    boost::asio::io_context io_{1};
    relay::Server server_;
    std::optional<std::string> error_;
    std::thread thread_;
};

// Loopback relay options: `udp` ephemeral UDP ports and `tcp` TCP ports on the family chosen.
inline relay::ServerOptions options_for(const EchoBackend& backend, bool v6, std::size_t udp, std::size_t tcp) {
    relay::ServerOptions o;
    o.listen = {v6 ? boost::asio::ip::make_address("::1") : boost::asio::ip::make_address("127.0.0.1")};
    o.udp_ports.assign(udp, 0);
    o.tcp_ports.assign(tcp, 0);
    o.backend = backend.endpoint();
    o.tolerate_missing_ipv6 = false;
    // Every test client is 127.0.0.1 or ::1, one source: the per-source limits would meter
    // tests that are about something else. native_guard_test.cpp turns them on.
    o.source_limits.handshakes_per_second = 0;
    o.source_limits.sessions_per_source = 0;
    return o;
}

// Polls `condition` until true or the timeout; for effects that happen on another thread.
template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

// A porthop client agent on its own thread, torn down (stop + join) on destruction.
class RunningAgent {
public:
    explicit RunningAgent(relay::AgentOptions options) : agent_(io_, std::move(options)) {
        error_ = agent_.start();
        if (error_) return;
        local_ = agent_.local_endpoint();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~RunningAgent() {
        if (thread_.joinable()) {
            boost::asio::post(io_, [this] { agent_.stop(); });
            thread_.join();
        }
    }
    const std::optional<std::string>& error() const { return error_; }
    // Where the local VPN client sends.
    std::uint16_t port() const { return local_.port(); }
    // Asked on the loop thread, where the agent's state lives.
    relay::AgentStatus status() {
        std::promise<relay::AgentStatus> p;
        boost::asio::post(io_, [&] { p.set_value(agent_.status()); });
        return p.get_future().get();
    }

private:
    boost::asio::io_context io_{1};
    relay::Agent agent_;
    std::optional<std::string> error_;
    net::Endpoint local_;
    std::thread thread_;
};

// A wall clock the tests move: the system clock plus an offset. Server and agent both take
// FakeWallClock::now as their wall_clock, so a test can step into the next schedule epoch.
// One offset for the whole process: each test that uses it starts with reset().
struct FakeWallClock {
    static inline std::atomic<std::chrono::system_clock::rep> offset{0};

    static std::chrono::system_clock::time_point now() {
        return std::chrono::system_clock::now() + std::chrono::system_clock::duration{offset.load()};
    }
    static void reset() { offset = 0; }
    static void advance(std::chrono::system_clock::duration d) { offset += d.count(); }
    // Moves now() forward (by less than one interval) to `into` past an epoch boundary.
    static void place(std::chrono::seconds interval, std::chrono::system_clock::duration into) {
        const std::chrono::system_clock::duration period = interval;
        const auto at = now().time_since_epoch() % period;
        advance(((into - at) % period + period) % period);
    }
    static std::uint64_t epoch(std::chrono::seconds interval) { return hop::epoch_at(now(), interval); }
};

// `n` distinct ports that were free a moment ago on the loopback address of the family (bound
// to port 0 together, read back, closed), for tests that must name their ports: agent and
// server agree on the set, and a reload closes and reopens them.
inline std::vector<std::uint16_t> free_ports(bool v6, int type, std::size_t n) {
    std::vector<Fd> held;
    std::vector<std::uint16_t> ports;
    for (std::size_t i = 0; i < n; ++i) {
        Fd fd(::socket(v6 ? AF_INET6 : AF_INET, type, 0));
        socklen_t len;
        auto any = loopback(v6, 0, len);
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), len) != 0) return {};
        sockaddr_storage bound{};
        socklen_t blen = sizeof bound;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
        ports.push_back(net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), blen).port());
        held.push_back(std::move(fd));
    }
    return ports;
}

}  // namespace porthop::test
