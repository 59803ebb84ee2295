// The load of `porthop bench` (app/bench.hpp): a UDP sink that plays the VPN server behind the
// relay, and a generator that plays the VPN client, over UDP or over a TCP connection speaking
// the u16-length framing. Loopback only, bounded in time and in count.
//
// The generator is closed-loop: it keeps at most `window` datagrams between itself and the
// sink, so it never overruns the relay's socket buffers (on a one-core router an open-loop
// generator would also take the CPU the relay needs). A datagram that is lost anyway (a full
// socket buffer) is written off after a short stall, so the loop cannot hang.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "porthop/net/endpoint.hpp"

namespace porthop::app {

// One UDP socket on 127.0.0.1 (ephemeral port) read by a thread of its own with recvmmsg.
class BenchSink {
public:
    BenchSink();  // error() says whether it could bind
    ~BenchSink();
    BenchSink(const BenchSink&) = delete;
    BenchSink& operator=(const BenchSink&) = delete;

    const std::optional<std::string>& error() const noexcept { return error_; }
    net::Endpoint endpoint() const noexcept { return endpoint_; }
    std::uint64_t datagrams() const noexcept { return datagrams_.load(std::memory_order_acquire); }
    std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

private:
    void run();
    int fd_ = -1;
    net::Endpoint endpoint_;
    std::optional<std::string> error_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> datagrams_{0}, bytes_{0};
    std::thread thread_;
};

struct LoadSpec {
    std::size_t size = 64;                      // datagram (payload) bytes
    std::chrono::milliseconds duration{1000};  // time bound
    std::uint64_t max_datagrams = 0;           // count bound
    std::size_t window = 0;                    // 0: chosen from size (window_for)
};

struct LoadResult {
    std::uint64_t sent = 0;
    std::uint64_t written_off = 0;  // in flight when the sink stalled: counted lost
    std::uint64_t preamble = 0;     // delivered before the run (a handshake), not in `sent`
    std::optional<std::string> error;
};

// Datagrams in flight at most: about 160 KiB of socket buffer (the kernel's default receive
// buffer is 208 KiB of skb memory, which is more than the payload), at most 256.
std::size_t window_for(std::size_t size) noexcept;

// Sends datagrams of spec.size to `target` (a loopback UDP address) from a new socket, as
// fast as the sink takes them, until the time or count bound. Runs on the calling thread.
LoadResult send_udp(const net::Endpoint& target, const LoadSpec& spec, const BenchSink& sink);
// The same as u16-length frames on a new TCP connection to `target`, after a WireGuard
// initiation (the first frame a native tcp-client sends; a keyed relay insists on one).
LoadResult send_tcp(const net::Endpoint& target, const LoadSpec& spec, const BenchSink& sink);

}  // namespace porthop::app
