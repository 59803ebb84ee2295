#include "porthop/hop/path_manager.hpp"

#include <algorithm>
#include <utility>

namespace porthop::hop {

namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// A scheduled hop gives its target this many attaches before the port goes into backoff.
constexpr unsigned kHopAttempts = 3;

// "1.5": milliseconds as seconds with one decimal, rounded half up.
std::string seconds_one_decimal(milliseconds d) {
    const auto tenths = (std::max<milliseconds::rep>(d.count(), 0) + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

PathAction action(PathAction::Kind kind, Path path, std::string reason = {}) {
    return PathAction{kind, path, std::move(reason)};
}

}  // namespace

std::string to_string(Path p) {
    switch (p.kind) {
        case Path::Kind::udp:
            return "udp/" + std::to_string(p.port);
        case Path::Kind::tcp:
            return "tcp/" + std::to_string(p.port);
        case Path::Kind::none:
            break;
    }
    return "none";
}

PathManager::PathManager(const PortSchedule& schedule, std::uint16_t tcp_port, PathTimers timers,
                         std::uint64_t seed)
    : schedule_(schedule),
      tcp_port_(tcp_port),
      timers_(timers),
      ports_(schedule_.ports().size()),
      rng_(seed) {
    // Zero would make a round, a retry window or the dark evidence empty; the config layer
    // should not allow it, and one is the closest meaningful value. Jitter is kept below 1 so
    // that no gap shrinks to nothing.
    timers_.candidates_per_round = std::max<std::size_t>(timers_.candidates_per_round, 1);
    timers_.dark_probes = std::max<std::size_t>(timers_.dark_probes, 1);
    timers_.jitter = std::clamp(timers_.jitter, 0.0, 0.9);
    for (PortState& p : ports_) p.backoff_next = timers_.port_backoff_first;
    // The first poll starts the search (it brings the epoch).
    start_search({}, Origin::start, true);
}

// ---------------------------------------------------------------------------------------------
// Events

void PathManager::on_data_sent(Clock::time_point now) {
    // Per packet: only the first send after something came back matters (fast probe timer).
    if (active_.kind == Path::Kind::none || health_.send_pending) return;
    health_.send_pending = true;
    health_.first_unanswered = now;
}

void PathManager::on_data_received(Clock::time_point now, Path path) {
    // Per packet. Data on another path (a candidate, a lingering TCP connection) says nothing
    // about the active one; on a dark path only an ack (a proven round trip) counts.
    if (path != active_ || health_.dark) return;
    mark_rx(now);
}

void PathManager::on_ack(Clock::time_point now, Path path, microseconds rtt) {
    if (path.kind == Path::Kind::tcp) {
        if (path.port == tcp_port_) on_tcp_ack(now, rtt);
        return;
    }
    if (path.kind != Path::Kind::udp) return;
    PortState* ps = port_state(path.port);
    if (ps == nullptr || ps->campaign == 0) return;  // not a port of ours, or never attached

    // It answers: whatever made it dark is gone.
    ps->backoff_until = Clock::time_point::min();
    ps->backoff_next = timers_.port_backoff_first;

    if (path == active_) {
        if (health_.dark) {
            // A late answer from the path we gave up on: it works, so stop looking. The outage
            // ends here, on the old path.
            if (search_.on && search_.origin != Origin::start) recoveries_.add(now - search_.outage_began);
            search_.on = false;
            health_.dark = false;
            ++campaign_;
            if (tcp_.role == TcpRole::setup) {
                pending_.push_back(action(PathAction::Kind::close_tcp, tcp_path()));
                tcp_ = Tcp{};
            }
            reset_health(now);
        }
        mark_rx(now);
        rtt_ = rtt;
        return;
    }
    if (search_.on && ps->campaign == campaign_) {
        switch_to(now, path, rtt, search_reason(path));
        return;
    }
    if (hop_.on && hop_.attempts > 0 && path.port == hop_.port) {
        switch_to(now, path, rtt, "scheduled hop " + to_string(active_) + " -> " + to_string(path));
        return;
    }
    if (active_.kind == Path::Kind::tcp && !search_.on && ps->campaign == campaign_) {
        switch_to(now, path, rtt, to_string(path) + " answers again -> back to udp");
    }
}

void PathManager::on_tcp_ack(Clock::time_point now, microseconds rtt) {
    if (!tcp_.up) return;
    if (tcp_.role == TcpRole::setup && tcp_.attached) {
        switch_to(now, tcp_path(), rtt, search_reason(tcp_path()));
    } else if (tcp_.role == TcpRole::active && active_ == tcp_path() && !health_.dark) {
        mark_rx(now);
        rtt_ = rtt;
    }
}

void PathManager::on_tcp_up(Clock::time_point now) {
    if (tcp_.role != TcpRole::setup || tcp_.up) return;
    tcp_.up = true;
    tcp_.attached = false;
    tcp_.next_attach = now;
    tcp_.deadline = now + timers_.tcp_connect_timeout;
}

void PathManager::on_tcp_down(Clock::time_point now) {
    const TcpRole role = tcp_.role;
    if (role == TcpRole::none) return;
    tcp_ = Tcp{};
    if (role == TcpRole::setup) {
        // Back to UDP, all ports: the next poll rebuilds the order.
        search_.restart = true;
        search_.ignore_backoff = true;
    } else if (role == TcpRole::active && active_ == tcp_path() && !health_.dark) {
        health_.dark = true;
        start_search(now, Origin::tcp_closed, true);
    }
}

// ---------------------------------------------------------------------------------------------
// poll

PathManager::Clock::time_point PathManager::poll(Clock::time_point now, std::uint64_t epoch,
                                                 std::vector<PathAction>& out) {
    for (PathAction& a : pending_) out.push_back(std::move(a));
    pending_.clear();

    const bool epoch_changed = seen_epoch_ && epoch != epoch_;
    seen_epoch_ = true;
    epoch_ = epoch;

    if (tcp_.role == TcpRole::linger && now >= tcp_.linger_until) {
        out.push_back(action(PathAction::Kind::close_tcp, tcp_path()));
        tcp_ = Tcp{};
    }
    run_active(now, out);
    run_hop(now, epoch, epoch_changed, out);
    run_retry(now, epoch, out);
    run_search(now, epoch, out);
    return next_wakeup(now);
}

void PathManager::run_active(Clock::time_point now, std::vector<PathAction>& out) {
    if (active_.kind == Path::Kind::none || health_.dark) return;
    Health& h = health_;
    const bool dark = h.probes_since_rx >= timers_.dark_probes &&
                      now >= h.verdict_probe + timers_.fast_probe_after && now >= h.last_rx + timers_.silence;
    if (dark) {
        h.dark = true;
        hop_.on = false;
        search_.silence = std::chrono::duration_cast<milliseconds>(now - h.last_rx);
        if (active_.kind == Path::Kind::udp) {
            put_backoff(active_.port, now);
            search_.from_port = active_.port;
            start_search(h.last_rx, Origin::udp_dark, false);
        } else {
            // A silent connection is useless, and a new one will be needed: one at a time.
            out.push_back(action(PathAction::Kind::close_tcp, tcp_path()));
            tcp_ = Tcp{};
            ++blocking_.tcp_silent;
            start_search(h.last_rx, Origin::tcp_dark, true);
        }
        return;
    }
    if (now < next_probe_at()) return;
    if (active_.kind == Path::Kind::udp)
        attach_udp(active_.port, out);
    else
        out.push_back(action(PathAction::Kind::send_attach, active_));
    note_probe(now);
}

// When the active path wants its next attach (2 above): quiet paths only, jittered gaps.
PathManager::Clock::time_point PathManager::next_probe_at() const noexcept {
    const Health& h = health_;
    // A probe is out unanswered: the path is suspect, gather evidence.
    if (h.probes_since_rx > 0) return h.last_probe + h.suspect_gap;
    // Nothing received and nothing probed for a while: a keepalive.
    Clock::time_point t = std::max(h.last_rx, h.last_probe) + h.keepalive_gap;
    // Data went out and nothing came back: suspect once that has lasted fast_probe_after.
    if (h.send_pending)
        t = std::min(t,
                     std::max(h.first_unanswered + timers_.fast_probe_after, h.last_probe + h.suspect_gap));
    return t;
}

void PathManager::run_hop(Clock::time_point now, std::uint64_t epoch, bool epoch_changed,
                          std::vector<PathAction>& out) {
    const bool eligible = active_.kind == Path::Kind::udp && !health_.dark && !search_.on;
    if (!eligible) {
        hop_.on = false;
        return;
    }
    if (epoch_changed) {
        const std::uint16_t target = schedule_.port_for(epoch);
        if (target != active_.port && !in_backoff(target, now))
            hop_ = Hop{true, target, 0, now};
        else
            hop_.on = false;
    }
    if (!hop_.on || now < hop_.next_at) return;
    if (hop_.attempts < kHopAttempts) {
        attach_udp(hop_.port, out);
        ++hop_.attempts;
        hop_.next_at = now + timers_.attempt_timeout;
    } else {
        // Make-before-break: no ack, no switch. The old path carries on.
        put_backoff(hop_.port, now);
        hop_.on = false;
    }
}

void PathManager::run_retry(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out) {
    if (active_.kind != Path::Kind::tcp || health_.dark || search_.on || now < retry_.next_at) return;
    // Backoff or not: from TCP every UDP answer is worth a climb.
    attach_udp(schedule_.port_for(epoch), out);
    for (std::uint16_t p : schedule_.alternates(epoch, 1)) attach_udp(p, out);
    retry_.interval = std::min<Clock::duration>(
        retry_.interval * 2, std::chrono::duration_cast<Clock::duration>(timers_.retry_udp_max));
    retry_.next_at = now + retry_.interval;
}

void PathManager::run_search(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out) {
    if (!search_.on) return;
    if (search_.restart) {
        begin_rounds(now, epoch, out);
        return;
    }
    if (!search_.tcp_phase) {
        if (now < search_.round_started + timers_.attempt_timeout) return;
        ++search_.round;
        if (search_.round < timers_.udp_rounds)
            send_round(now, out);
        else
            enter_tcp_phase(now, out);
        return;
    }
    if (tcp_.role != TcpRole::setup) return;  // on_tcp_down set restart; nothing else gets here
    if (now >= tcp_.deadline) {
        // Not up, or up without an ack, in time: counts as down. UDP again, all ports.
        ++blocking_.tcp_no_answer;
        out.push_back(action(PathAction::Kind::close_tcp, tcp_path()));
        tcp_ = Tcp{};
        search_.ignore_backoff = true;
        begin_rounds(now, epoch, out);
        return;
    }
    if (tcp_.up && now >= tcp_.next_attach) {
        out.push_back(action(PathAction::Kind::send_attach, tcp_path()));
        tcp_.attached = true;
        tcp_.next_attach = now + timers_.attempt_timeout;
    }
}

void PathManager::begin_rounds(Clock::time_point now, std::uint64_t epoch, std::vector<PathAction>& out) {
    search_.restart = false;
    search_.tcp_phase = false;
    search_.round = 0;
    search_.order.clear();
    const auto eligible = [&](std::uint16_t p) { return search_.ignore_backoff || !in_backoff(p, now); };
    const std::uint16_t scheduled = schedule_.port_for(epoch);
    if (eligible(scheduled)) search_.order.push_back(scheduled);
    for (std::uint16_t p : schedule_.alternates(epoch, schedule_.ports().size()))
        if (eligible(p)) search_.order.push_back(p);
    if (search_.order.empty() || timers_.udp_rounds == 0)
        enter_tcp_phase(now, out);
    else
        send_round(now, out);
}

void PathManager::send_round(Clock::time_point now, std::vector<PathAction>& out) {
    const std::size_t n = search_.order.size();
    const std::size_t k = std::min(timers_.candidates_per_round, n);
    for (std::size_t i = 0; i < k; ++i) attach_udp(search_.order[(search_.cursor + i) % n], out);
    search_.cursor = (search_.cursor + k) % n;
    search_.round_started = now;
}

void PathManager::enter_tcp_phase(Clock::time_point now, std::vector<PathAction>& out) {
    search_.tcp_phase = true;
    // UDP found silent, at start or after the UDP path went dark (not again when TCP was lost
    // and UDP is still silent: that is the same blocking).
    if ((search_.origin == Origin::start || search_.origin == Origin::udp_dark) && !search_.udp_silence_counted) {
        search_.udp_silence_counted = true;
        ++blocking_.udp_silent;
    }
    if (tcp_.role != TcpRole::none) {
        // A connection still lingering after a climb: one connection at a time, and a fresh
        // one for a fresh attempt.
        out.push_back(action(PathAction::Kind::close_tcp, tcp_path()));
    }
    out.push_back(action(PathAction::Kind::connect_tcp, tcp_path()));
    tcp_ = Tcp{};
    tcp_.role = TcpRole::setup;
    tcp_.deadline = now + timers_.tcp_connect_timeout;
}

PathManager::Clock::time_point PathManager::next_wakeup(Clock::time_point now) const noexcept {
    Clock::time_point t = now + timers_.probe_interval;
    const auto take = [&t](Clock::time_point c) { t = std::min(t, c); };
    if (tcp_.role == TcpRole::linger) take(tcp_.linger_until);
    if (active_.kind != Path::Kind::none && !health_.dark) {
        const Health& h = health_;
        take(next_probe_at());
        if (h.probes_since_rx >= timers_.dark_probes)
            take(std::max(h.verdict_probe + timers_.fast_probe_after, h.last_rx + timers_.silence));
    }
    if (hop_.on) take(hop_.next_at);
    if (active_.kind == Path::Kind::tcp && !health_.dark && !search_.on) take(retry_.next_at);
    if (search_.on) {
        if (search_.restart)
            take(now);
        else if (!search_.tcp_phase)
            take(search_.round_started + timers_.attempt_timeout);
        else if (tcp_.role == TcpRole::setup) {
            take(tcp_.deadline);
            if (tcp_.up) take(tcp_.next_attach);
        }
    }
    return t;
}

// ---------------------------------------------------------------------------------------------
// Helpers

PathManager::PortState* PathManager::port_state(std::uint16_t port) noexcept {
    const auto& ports = schedule_.ports();  // sorted ascending, no repeats
    const auto it = std::lower_bound(ports.begin(), ports.end(), port);
    if (it == ports.end() || *it != port) return nullptr;
    return &ports_[static_cast<std::size_t>(it - ports.begin())];
}

bool PathManager::in_backoff(std::uint16_t port, Clock::time_point now) const noexcept {
    const auto& ports = schedule_.ports();
    const auto it = std::lower_bound(ports.begin(), ports.end(), port);
    if (it == ports.end() || *it != port) return false;
    return now < ports_[static_cast<std::size_t>(it - ports.begin())].backoff_until;
}

void PathManager::put_backoff(std::uint16_t port, Clock::time_point now) {
    ++blocking_.port_silent;  // every caller is a dark verdict on the port
    PortState* ps = port_state(port);
    if (ps == nullptr) return;
    ps->backoff_until = now + ps->backoff_next;
    ps->backoff_next = std::min<Clock::duration>(ps->backoff_next * 2, timers_.port_backoff_max);
}

void PathManager::attach_udp(std::uint16_t port, std::vector<PathAction>& out) {
    if (PortState* ps = port_state(port)) ps->campaign = campaign_;
    out.push_back(action(PathAction::Kind::send_attach, Path{Path::Kind::udp, port}));
}

void PathManager::note_probe(Clock::time_point now) noexcept {
    health_.last_probe = now;
    if (++health_.probes_since_rx == timers_.dark_probes) health_.verdict_probe = now;
    health_.keepalive_gap = jittered(timers_.probe_interval);
    health_.suspect_gap = jittered(timers_.suspect_probe_every);
}

void PathManager::reset_health(Clock::time_point now) noexcept {
    // The ack that made (or kept) the path active counts as a probe answered just now.
    health_ = Health{};
    health_.last_rx = now;
    health_.last_probe = now;
    health_.keepalive_gap = jittered(timers_.probe_interval);
    health_.suspect_gap = jittered(timers_.suspect_probe_every);
}

PathManager::Clock::duration PathManager::jittered(milliseconds nominal) noexcept {
    // splitmix64: a few operations, good enough to spread timings (nothing secret rides on it).
    std::uint64_t z = (rng_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    const double u = static_cast<double>(z >> 11) * 0x1.0p-53 * 2.0 - 1.0;  // [-1, 1)
    const auto d = std::chrono::duration_cast<Clock::duration>(nominal);
    return d + std::chrono::duration_cast<Clock::duration>(d * (timers_.jitter * u));
}

void PathManager::mark_rx(Clock::time_point now) noexcept {
    health_.last_rx = now;
    health_.probes_since_rx = 0;
    health_.send_pending = false;
}

void PathManager::start_search(Clock::time_point outage_began, Origin origin, bool ignore_backoff) {
    search_.on = true;
    search_.outage_began = outage_began;
    search_.udp_silence_counted = false;
    search_.restart = true;
    search_.ignore_backoff = ignore_backoff;
    search_.tcp_phase = false;
    search_.origin = origin;
    search_.cursor = 0;
    ++campaign_;
}

std::string PathManager::search_reason(Path to) const {
    const bool udp = to.kind == Path::Kind::udp;
    const std::string target = to_string(to);
    switch (search_.origin) {
        case Origin::start:
            return (udp ? "start -> " : "no UDP answer -> ") + target;
        case Origin::udp_dark:
            if (!udp) return "all UDP silent -> " + target;
            return to_string(Path{Path::Kind::udp, search_.from_port}) + " silent for " +
                   seconds_one_decimal(search_.silence) + " s -> " + target;
        case Origin::tcp_dark:
            return to_string(tcp_path()) + " silent for " + seconds_one_decimal(search_.silence) + " s -> " +
                   target;
        case Origin::tcp_closed:
            return to_string(tcp_path()) + " closed -> " + target;
    }
    return target;
}

void PathManager::switch_to(Clock::time_point now, Path to, microseconds rtt, std::string reason) {
    const Path from = active_;
    if (search_.on && search_.origin != Origin::start) recoveries_.add(now - search_.outage_began);
    pending_.push_back(action(PathAction::Kind::switch_path, to, std::move(reason)));
    const bool from_udp = from.kind == Path::Kind::udp;
    const bool from_tcp = from.kind == Path::Kind::tcp;
    if (to.kind == Path::Kind::udp) {
        if (from_udp) ++hops_;
        if (from_tcp) ++climbs_;
        if (tcp_.role == TcpRole::active) {
            // Data the server already queued on TCP still arrives while it lingers.
            tcp_.role = TcpRole::linger;
            tcp_.linger_until = now + timers_.tcp_linger;
        } else if (tcp_.role == TcpRole::setup) {
            pending_.push_back(action(PathAction::Kind::close_tcp, tcp_path()));
            tcp_ = Tcp{};
        }
    } else {
        if (from_udp) ++fallbacks_;
        tcp_.role = TcpRole::active;
        retry_.interval = timers_.retry_udp_first;
        retry_.next_at = now + timers_.retry_udp_first;
    }
    active_ = to;
    reset_health(now);
    rtt_ = rtt;
    search_.on = false;
    hop_.on = false;
    ++campaign_;
}

// ---------------------------------------------------------------------------------------------
// Queries

void Recoveries::add(std::chrono::steady_clock::duration d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++buckets[i];
    sum_seconds += seconds;
    ++count;
}

Path PathManager::active() const noexcept { return active_; }

PathStatus PathManager::status(Clock::time_point now) const {
    PathStatus s;
    s.active = active_;
    s.hops = hops_;
    s.fallbacks = fallbacks_;
    s.climbs = climbs_;
    s.rtt = rtt_;
    s.blocking = blocking_;
    s.recoveries = recoveries_;
    s.lost = active_.kind != Path::Kind::none && health_.dark;
    const auto& ports = schedule_.ports();
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (now < ports_[i].backoff_until) s.dark_ports.push_back(ports[i]);
    return s;
}

}  // namespace porthop::hop
