// The agent's path manager: which path (a UDP port of the server, or its TCP port) carries the
// tunnel, when to probe, when a path has gone dark, and where to go next. A pure state machine
// with an injected clock and an injected seed (for the jitter of its probes): the relay reports
// events and carries out the actions poll() returns.
//
// Ladder: the scheduled UDP port -> other UDP ports -> TCP -> back to UDP when it heals.
//
// 1. Start (no active path): attach to port_for(epoch) and the first alternates, up to
//    candidates_per_round paths. The first UDP path that acks becomes active
//    ("start -> udp/P"). A round unanswered for attempt_timeout starts the next round with the
//    next alternates; after udp_rounds rounds, TCP (connect_tcp, then attach on it once up;
//    its ack switches: "no UDP answer -> tcp/443").
// 2. Active UDP path. Liveness rides on data: while data frames come back, no attach is sent.
//    The path is probed (an attach) only when it is quiet: after about probe_interval with
//    nothing received and nothing probed (a keepalive), or once data has gone out with nothing
//    back for fast_probe_after, or once a probe went unanswered for fast_probe_after (the path
//    is then "suspect" and probed about every suspect_probe_every until something comes back).
//    Every gap is drawn at random within +-jitter of its nominal length, so probes have no
//    fixed period an observer could match. The path is dark only on evidence: dark_probes
//    attaches in a row unanswered and nothing (ack or data) received for `silence`. One lost
//    round trip, or a few, is loss, not a blocked port: under 30 % loss each way (a round trip
//    lost 51 % of the time) eight probes in a row are lost with probability 0.5 %, while a
//    blocked port gives its verdict about 2.8 s after the last thing it let through. Its port
//    goes into backoff (port_backoff_first, doubled each time it goes dark again, up to
//    port_backoff_max; an ack from it clears the backoff) and the search starts: rounds of
//    alternates not in backoff, as in 1. The first ack switches
//    ("udp/A silent for 2.8 s -> udp/B"); after udp_rounds rounds TCP
//    ("all UDP silent -> tcp/443"). An ack from a UDP candidate that arrives late still wins
//    while TCP is being set up.
// 3. Scheduled hop: when the epoch changes and the active path is UDP, attach to the new
//    port_for(epoch) (unless it is in backoff or already active), retrying every
//    attempt_timeout up to 3 attempts. Its ack switches ("scheduled hop udp/A -> udp/B");
//    no ack: the port goes into backoff and the path stays. Data keeps flowing on the old path
//    until the switch (make-before-break).
// 4. Active TCP path: probes and dark detection as on UDP. Every udp_retry interval
//    (retry_udp_first, doubling up to retry_udp_max while UDP stays silent) attach to
//    port_for(epoch) and one alternate, backoff or not. An ack switches back
//    ("udp/P answers again -> back to udp") and close_tcp follows after tcp_linger, so data
//    the server already put on the TCP path still arrives. A TCP path that goes dark or down
//    (on_tcp_down) starts the UDP search of 2 again, with all ports, and then TCP again.
//
// Counting: hops = UDP-to-UDP switches (scheduled or forced), fallbacks = UDP-to-TCP
// switches, climbs = TCP-to-UDP switches.
//
// Details the ladder above leaves open, as implemented:
// - Order. An ack that switches changes active() at once; its switch_path (then the close_tcp
//   it implies) comes first in the next poll(), followed by, in this order: the close_tcp of a
//   lingering connection, the active path (dark verdict or probe), the scheduled hop, the UDP
//   retries from TCP, the search (attaches of a round, or close_tcp/connect_tcp/attach on
//   TCP). Within a round the attaches follow the search order. The same events and polls give
//   the same actions.
// - Darkness. An attach counts as unanswered once fast_probe_after has passed since it went
//   out with nothing back (so a probe sent a moment ago is never held against the path). The
//   verdict comes at the later of: fast_probe_after after the dark_probes-th unanswered
//   attach, and `silence` after the last thing received. The silence in a reason runs from
//   the last thing received on the path to the verdict, in seconds with one decimal
//   ("2.8 s"). Acks are not matched to attaches: any ack or data frame on the active path
//   resets the count; data or acks on any other path do not keep the active path alive. After the
//   verdict the dark path gets no probes and its data frames are not counted, but a late ack
//   from it (round trip proven) ends the search: the path stays active with no switch_path,
//   its backoff is cleared, and a TCP connection being set up is closed.
// - Search order. port_for(epoch) then alternates(epoch, all), without ports in backoff,
//   taken when the search (re)starts. Each round attaches to the next k entries of it
//   (k = candidates_per_round, at most its length), wrapping around, so with few ports the
//   later rounds retry the first ones; after a failed TCP attempt the rounds go on where the
//   last one stopped, so over several cycles every port is tried. An empty order (every port
//   in backoff) goes to TCP at once. An ack from any port attached during the search, in any
//   round, wins, also while TCP is being set up. Ports that do not answer a round are not put
//   into backoff.
// - TCP. At most one connection at a time: a lingering one is closed before a new
//   connect_tcp. The attach on TCP is sent only after on_tcp_up, then again every
//   attempt_timeout. The setup fails when on_tcp_up does not come within tcp_connect_timeout
//   of connect_tcp, when the ack does not come within tcp_connect_timeout of on_tcp_up (both:
//   close_tcp), or on on_tcp_down; the UDP search then starts again with all ports, backoff
//   or not (no tight connect loop when every port is in backoff), and keeps the reason it
//   started with. After close_tcp the relay must not report on_tcp_up/down for that
//   connection (events carry no connection id). A UDP switch during setup closes the
//   connection at once; a climb from an active TCP path closes it after tcp_linger.
// - Reasons. Start: "start -> udp/P", "no UDP answer -> tcp/443". Active UDP dark:
//   "udp/A silent for 1.5 s -> udp/B", "all UDP silent -> tcp/443". Active TCP dark:
//   "tcp/443 silent for 2.5 s -> udp/P" (or "-> tcp/443" when a new connection wins); active
//   TCP down: "tcp/443 closed -> udp/P" (or "-> tcp/443"). Hop: "scheduled hop udp/A ->
//   udp/B". Climb: "udp/P answers again -> back to udp". TCP to TCP counts nothing, nor does
//   the first switch from no path.
// - Backoff. The first dark verdict on a port (active path dark, or scheduled hop target
//   unanswered) gives port_backoff_first, each further one without an ack in between twice
//   the last, up to port_backoff_max. An ack from the port clears the backoff and the
//   doubling. status(now).dark_ports: ports whose backoff ends after `now`.
// - Acks. Ignored from a path never attached to (or not in the port set, or from a TCP
//   connection that is not up); from an attached port outside the current search/hop/retry
//   they only clear its backoff. rtt is set by the ack that switches and by acks on the
//   active path.
// - Scheduled hop. The epoch of the first poll is not a change. A new epoch while a hop is
//   under way replaces it (or cancels it, when the new target is active or in backoff).
//   Attempts at t, t+attempt_timeout, t+2*attempt_timeout; backoff at t+3*attempt_timeout.
// - UDP retries from TCP attach to port_for(epoch) and alternates(epoch, 1); an ack from any
//   port attached by them while this TCP path is active climbs.
// - Probe timing. A gap's nominal length g becomes g * (1 + jitter * u), u uniform in [-1, 1],
//   drawn when the attach before it goes out (so the events stay a few compares). The same
//   seed, events and polls give the same actions.
// - Wakeup. poll() returns no later than the earliest pending timer and never later than
//   now + probe_interval, so an epoch change is seen within probe_interval.
// - Cost. on_data_sent/on_data_received: a few compares and stores. Per-port state is one
//   small entry per port of the set, allocated once.
#pragma once

#include <array>
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
    // The dark verdict's evidence (2 above): this many attaches in a row unanswered, sent about
    // suspect_probe_every apart once the path is suspect. At least 1.
    std::size_t dark_probes = 8;
    std::chrono::milliseconds suspect_probe_every{200};
    // Each gap between probes varies by up to this fraction of its nominal length, either way
    // (0: exact periods; at most 0.9).
    double jitter = 0.25;
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

// How long the tunnel was without a path each time it lost one and found another: from the
// last thing received on the lost path (a dark verdict) or the moment it closed, to the switch.
// Cumulative, in the buckets a Prometheus histogram shows (upper bounds in seconds, then +Inf).
struct Recoveries {
    static constexpr std::array<double, 8> kBounds{0.5, 1, 2, 5, 10, 30, 60, 120};
    std::array<std::uint64_t, kBounds.size() + 1> buckets{};  // per bucket, not cumulative
    double sum_seconds = 0;
    std::uint64_t count = 0;
    void add(std::chrono::steady_clock::duration d) noexcept;
};

// What the path manager saw that looks like blocking (the agent adds what only it sees: resets,
// TLS failures, frozen connections). Counts of verdicts, not of probes.
struct Blocking {
    std::uint64_t port_silent = 0;  // a UDP port went dark (the active one, or a hop's target)
    std::uint64_t udp_silent = 0;   // no UDP port answered: the agent went to TCP
    std::uint64_t tcp_silent = 0;   // the TCP path went dark without closing
    std::uint64_t tcp_no_answer = 0;  // a TCP connection not up, or its attach unanswered, in time
};

struct PathStatus {
    Path active;
    std::uint64_t hops = 0;
    std::uint64_t fallbacks = 0;
    std::uint64_t climbs = 0;
    std::chrono::microseconds rtt{-1};      // last attach round trip on the active path; -1: none yet
    std::vector<std::uint16_t> dark_ports;  // UDP ports in backoff now, ascending
    Blocking blocking;
    Recoveries recoveries;
    // `active` went dark (or its connection closed) and the search for another is on: no path
    // carries the tunnel now, though data still goes out on `active` in case it comes back.
    bool lost = false;
};

class PathManager {
public:
    using Clock = std::chrono::steady_clock;

    // `seed` drives the probes' jitter only (the relay passes a random one).
    PathManager(const PortSchedule& schedule, std::uint16_t tcp_port, PathTimers timers = {},
                std::uint64_t seed = 0);

    // Events. Nothing is sent from here; the next poll() says what to do.
    void on_data_sent(Clock::time_point now);                 // a datagram went out on active()
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
    const Blocking& blocking() const noexcept { return blocking_; }
    bool lost() const noexcept { return active_.kind != Path::Kind::none && health_.dark; }

private:
    enum class Origin : std::uint8_t { start, udp_dark, tcp_dark, tcp_closed };
    enum class TcpRole : std::uint8_t { none, setup, active, linger };

    // The active path's health: what came back and what went unanswered since.
    struct Health {
        Clock::time_point last_rx{};           // last ack or data frame on it
        Clock::time_point last_probe{};        // last attach sent on it
        Clock::time_point verdict_probe{};     // the dark_probes-th attach since last_rx
        Clock::time_point first_unanswered{};  // first data sent since last_rx
        Clock::duration keepalive_gap{};       // jittered probe_interval, drawn at the last probe
        Clock::duration suspect_gap{};         // jittered suspect_probe_every, likewise
        std::uint32_t probes_since_rx = 0;
        bool send_pending = false;  // data went out since last_rx
        bool dark = false;
    };
    struct PortState {
        Clock::time_point backoff_until = Clock::time_point::min();
        Clock::duration backoff_next{};
        std::uint64_t campaign = 0;  // campaign_ of its last attach; 0: never attached
    };
    // The search for a new path (start, or the active path dark/down): UDP rounds, then TCP.
    struct Search {
        bool on = false;
        bool restart = false;  // (re)build the order and start round 0 at the next poll
        bool ignore_backoff = false;
        bool tcp_phase = false;
        Origin origin = Origin::start;
        std::uint16_t from_port = 0;  // the dark UDP port (udp_dark)
        std::chrono::milliseconds silence{0};
        std::vector<std::uint16_t> order;
        std::size_t round = 0;   // rounds since the (re)start
        std::size_t cursor = 0;  // next entry of `order`; kept across restarts
        Clock::time_point round_started{};
        Clock::time_point outage_began{};  // origin other than start: when the old path was lost
        bool udp_silence_counted = false;  // Blocking::udp_silent, once per search
    };
    struct Tcp {
        TcpRole role = TcpRole::none;
        bool up = false;
        bool attached = false;  // an attach went out on it (setup)
        Clock::time_point deadline{};
        Clock::time_point next_attach{};
        Clock::time_point linger_until{};
    };
    struct Hop {
        bool on = false;
        std::uint16_t port = 0;
        unsigned attempts = 0;
        Clock::time_point next_at{};
    };
    struct Retry {
        Clock::duration interval{};
        Clock::time_point next_at{};
    };

    Path tcp_path() const noexcept { return {Path::Kind::tcp, tcp_port_}; }
    PortState* port_state(std::uint16_t port) noexcept;
    bool in_backoff(std::uint16_t port, Clock::time_point now) const noexcept;
    void put_backoff(std::uint16_t port, Clock::time_point now);
    void attach_udp(std::uint16_t port, std::vector<PathAction>& out);
    void note_probe(Clock::time_point now) noexcept;
    Clock::time_point next_probe_at() const noexcept;
    Clock::duration jittered(std::chrono::milliseconds nominal) noexcept;
    void reset_health(Clock::time_point now) noexcept;
    void mark_rx(Clock::time_point now) noexcept;
    void start_search(Clock::time_point outage_began, Origin origin, bool ignore_backoff);
    void switch_to(Clock::time_point now, Path to, std::chrono::microseconds rtt, std::string reason);
    std::string search_reason(Path to) const;
    void on_tcp_ack(Clock::time_point now, std::chrono::microseconds rtt);

    void run_active(Clock::time_point now, std::vector<PathAction>& out);
    void run_hop(Clock::time_point now, std::uint64_t epoch, bool epoch_changed,
                 std::vector<PathAction>& out);
    void run_retry(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out);
    void run_search(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out);
    void begin_rounds(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out);
    void send_round(Clock::time_point now, std::vector<PathAction>& out);
    void enter_tcp_phase(Clock::time_point now, std::vector<PathAction>& out);
    Clock::time_point next_wakeup(Clock::time_point now) const noexcept;

    PortSchedule schedule_;  // a copy: the manager must not outlive a caller's temporary
    std::uint16_t tcp_port_;
    PathTimers timers_;

    Path active_;
    Health health_;
    std::vector<PortState> ports_;  // parallel to schedule_.ports()
    Search search_;
    Tcp tcp_;
    Hop hop_;
    Retry retry_;
    // Bumped when a search starts and at every switch: an ack answers the current search (or
    // the current TCP period's UDP retries) only if its port was attached in this campaign.
    std::uint64_t campaign_ = 1;
    bool seen_epoch_ = false;
    std::uint64_t epoch_ = 0;
    std::vector<PathAction> pending_;  // decided by events, handed out by the next poll
    std::uint64_t rng_;                // splitmix64 state: the probes' jitter

    std::uint64_t hops_ = 0;
    std::uint64_t fallbacks_ = 0;
    std::uint64_t climbs_ = 0;
    std::chrono::microseconds rtt_{-1};
    Blocking blocking_;
    Recoveries recoveries_;
};

}  // namespace porthop::hop
