// `porthop server`: UDP listeners on many ports, TCP listeners carrying u16-length-framed
// datagrams, one connected upstream UDP socket per session to the backend, replies back the way
// each client came. Each worker is one event loop (an io_context run by one thread) that owns
// its sessions; worker 0 runs on the io_context the server is given, the others on threads of
// their own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/crypto/mac1.hpp"
#include "porthop/hop/frame_codec_v2.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/counters.hpp"
#include "porthop/relay/guard_tables.hpp"
#include "porthop/wire/protocol.hpp"

namespace boost::asio::ssl {
class context;
}

namespace porthop::relay {

// TLS on the TCP ports (issue 15; docs/PROTOCOL.md, "TLS transport"). Each connection is
// decided by its first bytes (relay/tcp_intake.hpp): a TLS handshake goes to this certificate,
// and then to a porthop agent's path if its first record is an attach, else to the decoy or
// the built-in site; u16-framed records (native clients, agents with tls = false) to the
// framed relay while native_tcp; anything else gets the reaction of a TLS web server.
// Immutable and shared: a reload makes a new one, connections keep the one they started with.
struct TlsFront {
    std::shared_ptr<boost::asio::ssl::context> context;  // net::make_server_context
    bool native_tcp = true;
    std::optional<net::Endpoint> decoy;  // a plain HTTP server; none: the built-in site
    std::string site_page;               // the built-in site's one page
    std::chrono::system_clock::time_point site_modified;
    // nginx's client_header_timeout (the handshake and each request head) and Debian's
    // keepalive_timeout: how long a web-like connection may stay silent.
    std::chrono::milliseconds header_timeout{std::chrono::seconds{60}};
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds{65}};
};

struct ServerOptions {
    std::vector<boost::asio::ip::address> listen;
    std::vector<std::uint16_t> udp_ports;  // 0 = an ephemeral port (tests)
    std::vector<std::uint16_t> tcp_ports;
    net::Endpoint backend;
    std::chrono::milliseconds idle_timeout{std::chrono::minutes{3}};
    // A TCP client must deliver its first complete frame within this time (slowloris guard).
    std::chrono::milliseconds first_frame_timeout{std::chrono::seconds{10}};
    std::uint32_t max_sessions = 16384;
    std::uint32_t max_tcp_connections = 1024;
    // TCP connections one source (IPv4 address, IPv6 /64) may hold at once, pending or not
    // (0: no cap), so a few sources cannot take every slot of max_tcp_connections.
    std::uint32_t tcp_per_source = 32;
    // Bytes of buffer all TCP reply queues of one worker may hold together; beyond it, replies
    // to connections queueing more than a small floor are dropped (net/frame_queue.hpp).
    std::size_t tcp_queue_budget = std::size_t{16} << 20;
    // The largest datagram UDP over IPv4 can carry (65535 - 20 - 8); config refuses more.
    std::uint32_t max_datagram = 65507;
    // Skip an IPv6 wildcard listener when the host has no IPv6 (common in containers) instead
    // of failing; explicit addresses always fail loudly.
    bool tolerate_missing_ipv6 = true;
    // Hop link (porthop clients, docs/PROTOCOL.md). Without keys only native clients are served.
    std::optional<crypto::HopKeys> hop_keys;
    std::chrono::seconds hop_interval{hop::kDefaultHopInterval};
    // Open only the UDP ports of the current and neighbouring epochs (needs hop_keys); the
    // rest of `udp_ports` stays closed until its epoch comes.
    bool moving_target = false;
    // How much of the VPN bulk data sent to agents is masked; full also asks every agent (on
    // each frame, heeded on acks) to mask its own in full (hop/frame_codec_v2.hpp).
    hop::v2::Mode mask = hop::v2::Mode::light;
    // What native clients speak (wire/protocol.hpp): on "wireguard" or "openvpn", datagrams and
    // TCP frames that cannot be that protocol are dropped and counted.
    wire::Protocol protocol = wire::Protocol::any;
    // Bytes of records the server sends on one agent TCP connection (0: no limit); past it,
    // replies to that connection are dropped until the agent moves to a new one, which it
    // starts at half the budget (hop/tcp_rotation.hpp): a censor that freezes connections
    // after a fixed amount from the server never sees a connection reach it.
    std::uint64_t tcp_rotate_bytes = 0;
    // TLS on the TCP ports; null: they carry u16-framed records only, as before TLS.
    std::shared_ptr<const TlsFront> tls;
    // The backend's WireGuard public key: every handshake initiation and response from a client
    // must carry a mac1 made for it (crypto/mac1.hpp), or it is dropped before the backend.
    std::optional<crypto::WgKey> wg_public_key;
    // Per-source handshake rate and session cap (guard/source_limiter.hpp). max_sources is
    // fixed when the server starts; the rest follows reloads.
    SourceLimiter::Limits source_limits;
    // Event loops (threads), each with its own socket on every port (SO_REUSEPORT); the kernel
    // steers each client address to one of them (net/steering.hpp) and a session is reachable
    // from any of them (relay/directory.hpp). 1: one loop, no SO_REUSEPORT.
    std::uint32_t workers = 1;
    // Set by the server for workers 1..N-1: the exact addresses worker 0 bound, which they bind
    // too (in place of listen x ports, whose port 0 means a different port per socket).
    struct Binds {
        std::vector<net::Endpoint> udp, tcp;
    };
    std::optional<Binds> binds;
    // Called first on each thread of workers 1..N-1 (tests: the allocation test counts them).
    void (*worker_thread_start)() = nullptr;
    // The wall clock behind the schedule epochs; tests shift it.
    std::chrono::system_clock::time_point (*wall_clock)() = &std::chrono::system_clock::now;
    // The batch system calls; tests replace them to inject EAGAIN and other errors.
    const net::Syscalls* syscalls = &net::system_syscalls();
};

// Point-in-time view of the server for the metrics endpoint (taken on the loop thread).
struct ListenerSnapshot {
    const char* proto;  // "udp" or "tcp"
    net::Endpoint bound;
    std::uint64_t sessions;
    std::uint64_t from_client_packets, from_client_bytes;
    std::uint64_t to_client_packets, to_client_bytes;
};

struct ServerSnapshot {
    std::vector<ListenerSnapshot> listeners;
    std::size_t sessions = 0;
    std::vector<std::size_t> worker_sessions;  // by worker, 0 first
    std::size_t tcp_connections = 0;
    std::size_t max_sessions = 0;
    std::size_t max_tcp_connections = 0;
};

class Server {
public:
    // The caller runs `io` (worker 0); the other workers' threads start here.
    Server(boost::asio::io_context& io, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens every listener and starts serving. On failure nothing is left open and the message
    // names the socket and the reason.
    std::optional<std::string> start();
    // Closes listeners and sessions; the io_context runs out of work afterwards.
    void stop();
    // How long an event loop may take to run out of work after stop() before it is stopped
    // outright. Nothing is lost then (every socket is closed, every session saved and closed),
    // but a restart waits for it: the io_uring backend has been seen to keep one operation in
    // flight for good after a session carried heavy traffic (README, "Event backends"), and a
    // tunnel's TCP backs off the longer its path is gone (3 s cost a download 8 s, not 3).
    static constexpr std::chrono::milliseconds kStopGrace{500};

    // Live reload (loop thread only). Listeners of `next` that are not open yet are opened;
    // if any fails, everything stays as it was and the message says why. Otherwise listeners
    // not in `next` close (UDP sessions that came through them close too; TCP connections
    // already accepted keep going), and limits, idle timeout and backend apply from now on (an
    // open session keeps its backend socket). max_datagram cannot change without a restart.
    // `changes` describes what changed, for the log.
    std::optional<std::string> reconfigure(ServerOptions next, std::string& changes);

    ServerSnapshot snapshot() const;  // loop thread only

    // Restarts (relay/session_state.hpp), loop thread only. save_state writes the native UDP
    // sessions to `path` (nullopt, or why not), and what keeps porthop clients' attaches from
    // being replayed after a restart (hop/replay_ledger.hpp); `until_next`: the longest time
    // until it is called again (0: the server is stopping). restore_state re-creates the native
    // sessions of a file written for the same backend less than idle_timeout ago, each on its
    // old backend-side port, and remembers the porthop clients' sessions of any such file.
    std::optional<std::string> save_state(const std::string& path,
                                          std::chrono::milliseconds until_next = std::chrono::milliseconds{0});
    struct Restored {
        std::size_t restored = 0, skipped = 0;
        std::size_t agents = 0;  // porthop clients' sessions remembered (their replays refused)
        std::string why_none;  // set when the file as a whole was not used (empty: no file)
    };
    Restored restore_state(const std::string& path);
    // Only the porthop clients' part of restore_state (Restored::agents, why_none), and callable
    // before start(): the workers must know the sessions a restart forgot before they take
    // their first attach.
    Restored remember_agents(const std::string& path);

    const Counters& counters() const noexcept;
    // Called on a worker's thread each time a porthop client's session opens (set before
    // start()). The app saves the state file then: a session the file does not have yet would
    // be new to the next process after a crash, and its captured attaches accepted again.
    void on_agent_session_opened(std::function<void()> call);
    std::size_t session_count() const noexcept;        // safe from the loop thread only
    std::vector<net::Endpoint> udp_endpoints() const;  // as bound (ephemeral ports resolved)
    std::vector<net::Endpoint> tcp_endpoints() const;

    class Impl;   // one worker's relay (src/relay/server_impl.hpp)
    struct Group;  // the workers (src/relay/workers.cpp)

private:
    std::unique_ptr<Group> group_;
};

}  // namespace porthop::relay
