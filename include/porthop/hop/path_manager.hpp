// The agent's path manager: which path (a UDP port of the server, or its TCP port) carries the
// tunnel, when to probe, when a path has gone dark, and where to go next. A pure state machine
// with an injected clock: the relay reports events and carries out the actions poll() returns.
//
// Ladder: the scheduled UDP port -> other UDP ports -> TCP -> back to UDP when it heals.
//
// 1. Start (no active path): attach to port_for(epoch) and the first alternates, up to
//    candidates_per_round paths. The first UDP path that acks becomes active
//    ("start -> udp/P"). A round unanswered for attempt_timeout starts the next round with the
//    next alternates; after udp_rounds rounds, TCP (connect_tcp, then attach on it once up;
//    its ack switches: "no UDP answer -> tcp/443").
// 2. Active UDP path: an attach every probe_interval (keepalive); also one as soon as data has
//    gone out with nothing back for fast_probe_after (then at most that often). The path is dark
//    when nothing (ack or data) came back on it for `silence` and at least two attaches went
//    unanswered. Its port goes into backoff (port_backoff_first, doubled each time it goes dark
//    again, up to port_backoff_max; an ack from it clears the backoff) and the search starts:
//    rounds of alternates not in backoff, as in 1. The first ack switches
//    ("udp/A silent for 1.5 s -> udp/B"); after udp_rounds rounds TCP
//    ("all UDP silent -> tcp/443"). An ack from a UDP candidate that arrives late still wins
//    while TCP is being set up.
// 3. Scheduled hop: when the epoch changes and the active path is UDP, attach to the new
//    port_for(epoch) (unless it is in backoff or already active), retrying every
//    attempt_timeout up to 3 attempts. Its ack switches ("scheduled hop udp/A -> udp/B");
//    no ack: the port goes into backoff and the path stays. Data keeps flowing on the old path
//    until the switch (make-before-break).
// 4. Active TCP path: keepalive and dark detection as on UDP. Every udp_retry interval
//    (retry_udp_first, doubling up to retry_udp_max while UDP stays silent) attach to
//    port_for(epoch) and one alternate, backoff or not. An ack switches back
//    ("udp/P answers again -> back to udp") and close_tcp follows after tcp_linger, so data
//    the server already put on the TCP path still arrives. A TCP path that goes dark or down
//    (on_tcp_down) starts the UDP search of 2 again, with all ports, and then TCP again.
//
// Counting: hops = UDP-to-UDP switches (scheduled or forced), fallbacks = UDP-to-TCP
// switches, climbs = TCP-to-UDP switches.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "porthop/hop/schedule.hpp"

namespace porthop::hop {

struct Path {
    enum class Kind : std::uint8_t { none, udp, tcp };
    Kind kind = Kind::none;
    std::uint16_t port = 0;
    friend bool operator==(const Path&, const Path&) = default;
};
std::string to_string(Path p);  // "udp/40017", "tcp/443", "none"

struct PathTimers {
    std::chrono::milliseconds probe_interval{1000};
    std::chrono::milliseconds fast_probe_after{500};
    std::chrono::milliseconds silence{1500};
    std::chrono::milliseconds attempt_timeout{1000};
    std::size_t candidates_per_round = 3;
    std::size_t udp_rounds = 2;
    std::chrono::milliseconds tcp_connect_timeout{3000};
    std::chrono::milliseconds retry_udp_first{5000};
    std::chrono::milliseconds retry_udp_max{30000};
    std::chrono::milliseconds port_backoff_first{30000};
    std::chrono::milliseconds port_backoff_max{300000};
    std::chrono::milliseconds tcp_linger{5000};
};

struct PathAction {
    enum class Kind : std::uint8_t {
        send_attach,  // send an attach on `path` (TCP: on the connection, which is up)
        connect_tcp,  // open a TCP connection to the server's `path.port`; report on_tcp_up/down
        close_tcp,    // close the TCP connection
        switch_path,  // send data on `path` from now on; `reason` is the log line
    };
    Kind kind;
    Path path;
    std::string reason;
};

struct PathStatus {
    Path active;
    std::uint64_t hops = 0;
    std::uint64_t fallbacks = 0;
    std::uint64_t climbs = 0;
    std::chrono::microseconds rtt{-1};  // last attach round trip on the active path; -1: none yet
    std::vector<std::uint16_t> dark_ports;  // UDP ports in backoff now, ascending
};

class PathManager {
public:
    using Clock = std::chrono::steady_clock;

    PathManager(const PortSchedule& schedule, std::uint16_t tcp_port, PathTimers timers = {});

    // Events. Nothing is sent from here; the next poll() says what to do.
    void on_data_sent(Clock::time_point now);                // a datagram went out on active()
    void on_data_received(Clock::time_point now, Path path);  // a data frame arrived on `path`
    void on_ack(Clock::time_point now, Path path, std::chrono::microseconds rtt);
    void on_tcp_up(Clock::time_point now);
    void on_tcp_down(Clock::time_point now);  // connect failed or timed out, or the connection ended

    // Runs the timers for `now` (`epoch`: the schedule epoch of the wall clock now). Appends
    // the actions to carry out, in order, to `out` and returns when it wants to be called again
    // at the latest (events may make it want to be called sooner: call it after each batch).
    Clock::time_point poll(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out);

    Path active() const noexcept;
    PathStatus status(Clock::time_point now) const;

private:
    struct State;
    // (the helper implementing this fills in the private members)
};

}  // namespace porthop::hop
