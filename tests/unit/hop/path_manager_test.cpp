// PathManager: the agent's fallback ladder (scheduled UDP port -> other UDP ports -> TCP -> back
// to UDP), driven by a fake clock and a simulated network that answers attaches on the paths
// that work.
#include "porthop/hop/path_manager.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/schedule.hpp"

using namespace std::chrono_literals;
using porthop::hop::Path;
using porthop::hop::PathAction;
using porthop::hop::PathManager;
using porthop::hop::PathTimers;
using porthop::hop::PortSchedule;

namespace Catch {
template <>
struct StringMaker<Path> {
    static std::string convert(const Path& p) { return to_string(p); }
};
}  // namespace Catch

namespace {

using Clock = PathManager::Clock;
using Kind = PathAction::Kind;
using std::chrono::milliseconds;

constexpr std::uint16_t kTcpPort = 443;
const Path kTcp{Path::Kind::tcp, kTcpPort};

Path udp(std::uint16_t port) { return {Path::Kind::udp, port}; }
std::string u(std::uint16_t port) { return to_string(udp(port)); }

porthop::crypto::HopKey test_key() {
    porthop::crypto::HopKey key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(0x40 + i);
    return key;
}

PortSchedule test_schedule() {
    return PortSchedule(test_key(), {40000, 40001, 40002, 40003, 40004, 40005, 40006, 40007});
}

// An epoch whose port differs from the next epoch's, so a scheduled hop has somewhere to go.
std::uint64_t hop_epoch(const PortSchedule& s) {
    std::uint64_t e = 1000;
    while (s.port_for(e) == s.port_for(e + 1)) ++e;
    return e;
}

std::string describe(const PathAction& a) {
    switch (a.kind) {
        case Kind::send_attach:
            return "attach " + to_string(a.path);
        case Kind::connect_tcp:
            return "connect " + to_string(a.path);
        case Kind::close_tcp:
            return "close " + to_string(a.path);
        case Kind::switch_path:
            return "switch " + to_string(a.path) + ": " + a.reason;
    }
    return "?";
}

// The default timers without jitter, so that timelines are exact (jitter has tests of its own,
// in path_manager_loss_test.cpp).
PathTimers exact() {
    PathTimers t;
    t.jitter = 0;
    return t;
}

// "1420 attach udp/40003": an action at a time in ms since the start of the test.
std::string at(long long ms, const std::string& what) { return std::to_string(ms) + " " + what; }

// The fake clock and a network around one PathManager. Attaches on a working path are acked
// after `rtt`; data sent (every `traffic_every` while `traffic` is on) is answered on the path
// it went out on, if that path worked when it went out. poll() is called after every batch of
// events and at every wakeup it asked for, never otherwise, so a wakeup that is too late shows
// up as a late action.
class Net {
public:
    enum class TcpMode { accept, refuse, hang };

    explicit Net(PathTimers config = exact(), std::uint64_t seed = 0)
        : timers(config), schedule(test_schedule()), pm(schedule, kTcpPort, config, seed) {
        epoch = hop_epoch(schedule);
        udp_open.insert(schedule.ports().begin(), schedule.ports().end());
    }

    PathTimers timers;
    PortSchedule schedule;
    PathManager pm;
    const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1000);
    Clock::time_point t = t0;
    Clock::time_point wake = t0;
    std::uint64_t epoch = 0;

    std::set<std::uint16_t> udp_open;
    TcpMode tcp_mode = TcpMode::accept;
    bool tcp_blackhole = false;  // connection up, nothing gets through
    milliseconds rtt{20};
    bool traffic = false;
    milliseconds traffic_every{100};
    std::vector<Path> chatter;  // paths that deliver a data frame at every traffic tick

    struct Entry {
        long long ms;
        PathAction action;
    };
    std::vector<Entry> log;
    Clock::time_point last_rx_on_active = t0;  // what the manager should measure silence from
    int tcp_connections = 0;
    bool tcp_up = false;

    long long now_ms() const { return std::chrono::duration_cast<milliseconds>(t - t0).count(); }
    Clock::time_point at_ms(long long ms) const { return t0 + milliseconds(ms); }

    void close_all_udp() { udp_open.clear(); }
    // The wall clock enters another epoch; the caller polls on that.
    void set_epoch(std::uint64_t e) {
        epoch = e;
        poll();
    }
    void open_all_udp() { udp_open.insert(schedule.ports().begin(), schedule.ports().end()); }

    // The peer (or a middlebox) ends the TCP connection.
    void drop_tcp() {
        REQUIRE(tcp_connections == 1);
        tcp_connections = 0;
        tcp_up = false;
        ++conn_id_;
        pm.on_tcp_down(t);
    }

    void poll() {
        std::vector<PathAction> out;
        wake = pm.poll(t, epoch, out);
        // No busy loop, and an epoch change is seen within probe_interval.
        REQUIRE(wake > t);
        REQUIRE(wake <= t + timers.probe_interval);
        for (PathAction& a : out) {
            handle(a);
            log.push_back({now_ms(), std::move(a)});
        }
    }

    void run_until_ms(long long end_ms) { run_until(at_ms(end_ms)); }
    void run_for(Clock::duration d) { run_until(t + d); }

    void run_until(Clock::time_point end) {
        if (!polled_) {
            polled_ = true;
            poll();
        }
        if (traffic && next_traffic_ < t) next_traffic_ = t;
        for (int guard = 0; guard < 10'000'000; ++guard) {
            Clock::time_point next = wake;
            if (traffic) next = std::min(next, next_traffic_);
            for (const Delivery& d : inflight_) next = std::min(next, d.at);
            if (next > end) {
                t = end;
                return;
            }
            t = next;
            deliver_due();
            if (traffic && next_traffic_ <= t) {
                send_data();
                next_traffic_ += traffic_every;
            }
            poll();
        }
        FAIL("simulation did not reach its end time");
    }

    // The log as lines, from `from_ms` on (inclusive), up to `to_ms` (exclusive).
    std::vector<std::string> lines(long long from_ms, long long to_ms = 1LL << 60) const {
        std::vector<std::string> r;
        for (const Entry& e : log)
            if (e.ms >= from_ms && e.ms < to_ms) r.push_back(at(e.ms, describe(e.action)));
        return r;
    }
    std::vector<Entry> entries(Kind kind, long long from_ms = 0) const {
        std::vector<Entry> r;
        for (const Entry& e : log)
            if (e.action.kind == kind && e.ms >= from_ms) r.push_back(e);
        return r;
    }

private:
    struct Delivery {
        Clock::time_point at;
        enum What { ack, data, up, down } what;
        Path path;
        std::uint64_t conn;  // TCP deliveries of a closed connection are dropped
    };

    bool works(Path p) const {
        if (p.kind == Path::Kind::udp) return udp_open.count(p.port) != 0;
        if (p.kind == Path::Kind::tcp) return tcp_up && !tcp_blackhole;
        return false;
    }

    void handle(const PathAction& a) {
        switch (a.kind) {
            case Kind::send_attach:
                if (a.path.kind == Path::Kind::tcp) REQUIRE(tcp_up);  // attach on TCP only once it is up
                if (works(a.path)) inflight_.push_back({t + rtt, Delivery::ack, a.path, conn_id_});
                break;
            case Kind::connect_tcp:
                REQUIRE(a.path == kTcp);
                REQUIRE(tcp_connections == 0);  // one TCP connection at a time
                tcp_connections = 1;
                ++conn_id_;
                if (tcp_mode == TcpMode::accept) inflight_.push_back({t + rtt, Delivery::up, kTcp, conn_id_});
                if (tcp_mode == TcpMode::refuse)
                    inflight_.push_back({t + rtt, Delivery::down, kTcp, conn_id_});
                break;
            case Kind::close_tcp:
                REQUIRE(tcp_connections == 1);
                tcp_connections = 0;
                tcp_up = false;
                ++conn_id_;
                break;
            case Kind::switch_path:
                last_rx_on_active = t;  // the ack that switched
                break;
        }
    }

    void deliver_due() {
        // In the order sent; deliveries made now (none: rtt > 0 or appended after) wait.
        std::vector<Delivery> due;
        std::vector<Delivery> rest;
        for (const Delivery& d : inflight_) (d.at <= t ? due : rest).push_back(d);
        inflight_ = std::move(rest);
        for (const Delivery& d : due) {
            if (d.path.kind == Path::Kind::tcp && d.conn != conn_id_) continue;
            switch (d.what) {
                case Delivery::ack:
                    if (d.path == pm.active()) last_rx_on_active = t;
                    pm.on_ack(t, d.path, std::chrono::duration_cast<std::chrono::microseconds>(rtt));
                    break;
                case Delivery::data:
                    if (d.path == pm.active()) last_rx_on_active = t;
                    pm.on_data_received(t, d.path);
                    break;
                case Delivery::up:
                    tcp_up = true;
                    pm.on_tcp_up(t);
                    break;
                case Delivery::down:
                    tcp_connections = 0;
                    tcp_up = false;
                    ++conn_id_;
                    pm.on_tcp_down(t);
                    break;
            }
        }
    }

    void send_data() {
        const Path p = pm.active();
        if (p.kind == Path::Kind::none) return;
        pm.on_data_sent(t);
        if (works(p)) inflight_.push_back({t + rtt, Delivery::data, p, conn_id_});
        for (const Path& c : chatter) pm.on_data_received(t, c);
    }

    std::vector<Delivery> inflight_;
    std::uint64_t conn_id_ = 0;
    Clock::time_point next_traffic_ = t0;
    bool polled_ = false;
};

// The silence a reason should report: from the last thing received to the dark verdict.
std::string silence(Clock::duration d) {
    const auto tenths = (std::chrono::duration_cast<milliseconds>(d).count() + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

// Net with traffic, started on the scheduled port P (all ports answer at the start) and run
// to 10 s. Everything the tests below break starts at B = 10 s.
constexpr long long kB = 10'000;

struct Started {
    Net net;
    std::uint16_t p;                 // port_for(epoch)
    std::vector<std::uint16_t> alt;  // alternates(epoch, all)
    explicit Started(PathTimers t = exact()) : net(t) {
        p = net.schedule.port_for(net.epoch);
        alt = net.schedule.alternates(net.epoch, net.schedule.ports().size());
        REQUIRE(alt.size() == 7);
        net.traffic = true;
        net.run_until_ms(kB);
        REQUIRE(net.pm.active() == udp(p));
    }
};

// From Started: all UDP goes dark at B and the agent falls back to TCP at B+4540 (the timeline
// is worked out in the tests "UDP port dark" and "all UDP dark").
constexpr long long kOnTcp = kB + 4540;
struct OnTcp : Started {
    OnTcp() {
        net.close_all_udp();
        net.run_until_ms(kOnTcp);
        REQUIRE(net.pm.active() == kTcp);
    }
};

}  // namespace

TEST_CASE("to_string(Path)", "[hop][path_manager]") {
    CHECK(to_string(Path{}) == "none");
    CHECK(to_string(udp(40017)) == "udp/40017");
    CHECK(to_string(kTcp) == "tcp/443");
}

// ---------------------------------------------------------------------------------------------
// 1. Start

TEST_CASE("start: the scheduled port and the first alternates; the first ack wins", "[hop][path_manager]") {
    Net net;
    const std::uint16_t p = net.schedule.port_for(net.epoch);
    const auto alt = net.schedule.alternates(net.epoch, 2);
    net.run_until_ms(20);
    CHECK(net.lines(0) == std::vector<std::string>{at(0, "attach " + u(p)), at(0, "attach " + u(alt[0])),
                                                   at(0, "attach " + u(alt[1])),
                                                   at(20, "switch " + u(p) + ": start -> " + u(p))});
    CHECK(net.pm.active() == udp(p));
    const auto st = net.pm.status(net.t);
    CHECK(st.active == udp(p));
    CHECK(st.hops == 0);
    CHECK(st.fallbacks == 0);
    CHECK(st.climbs == 0);
    CHECK(st.rtt == 20ms);
    CHECK(st.dark_ports.empty());
    // The other candidates' acks came too, and changed nothing.
    net.run_until_ms(900);
    CHECK(net.entries(Kind::switch_path).size() == 1);
}

TEST_CASE("start: the scheduled port is dark, an alternate wins", "[hop][path_manager]") {
    Net net;
    const std::uint16_t p = net.schedule.port_for(net.epoch);
    const auto alt = net.schedule.alternates(net.epoch, 2);
    net.udp_open.erase(p);
    net.udp_open.erase(alt[0]);
    net.run_until_ms(20);
    CHECK(net.lines(20) ==
          std::vector<std::string>{at(20, "switch " + u(alt[1]) + ": start -> " + u(alt[1]))});
    CHECK(net.pm.active() == udp(alt[1]));
    // A port that does not answer at the start is not in backoff.
    CHECK(net.pm.status(net.t).dark_ports.empty());
}

TEST_CASE("start: later rounds take the next alternates", "[hop][path_manager]") {
    Net net;
    const std::uint16_t p = net.schedule.port_for(net.epoch);
    const auto alt = net.schedule.alternates(net.epoch, 7);
    net.close_all_udp();
    net.udp_open.insert(alt[3]);
    net.run_until_ms(1020);
    CHECK(net.lines(0) ==
          std::vector<std::string>{at(0, "attach " + u(p)), at(0, "attach " + u(alt[0])),
                                   at(0, "attach " + u(alt[1])), at(1000, "attach " + u(alt[2])),
                                   at(1000, "attach " + u(alt[3])), at(1000, "attach " + u(alt[4])),
                                   at(1020, "switch " + u(alt[3]) + ": start -> " + u(alt[3]))});
}

TEST_CASE("start: no UDP answer -> TCP, attach only once it is up", "[hop][path_manager]") {
    Net net;
    net.close_all_udp();
    net.run_until_ms(2060);
    CHECK(net.lines(2000) == std::vector<std::string>{at(2000, "connect tcp/443"), at(2020, "attach tcp/443"),
                                                      at(2040, "switch tcp/443: no UDP answer -> tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.active == kTcp);
    CHECK(st.fallbacks == 0);  // from no path: not a UDP-to-TCP switch
    CHECK(st.climbs == 0);
    CHECK(st.rtt == 20ms);
}

TEST_CASE("start: a single configured port is retried every round", "[hop][path_manager]") {
    const PortSchedule one(test_key(), {51820});
    PathManager pm(one, kTcpPort);
    std::vector<PathAction> out;
    const Clock::time_point t0 = Clock::time_point{} + 5h;
    pm.poll(t0, 7, out);
    pm.poll(t0 + 1s, 7, out);
    pm.poll(t0 + 2s, 7, out);
    std::vector<std::string> got;
    for (const auto& a : out) got.push_back(describe(a));
    CHECK(got == std::vector<std::string>{"attach udp/51820", "attach udp/51820", "connect tcp/443"});
}

// ---------------------------------------------------------------------------------------------
// 2. Active UDP path: keepalive, fast probe, dark, search

TEST_CASE("healthy path: idle, a keepalive every probe_interval of quiet; no switch", "[hop][path_manager]") {
    Net net;
    net.run_until_ms(120'000);
    REQUIRE(net.entries(Kind::switch_path).size() == 1);
    const auto attaches = net.entries(Kind::send_attach, 1);
    // Quiet since the ack of the last one (20 ms after it): 1020, 2040, ..., 119340.
    REQUIRE(attaches.size() == 117);
    for (std::size_t i = 0; i < attaches.size(); ++i) {
        INFO("attach " << i);
        CHECK(attaches[i].action.path == net.pm.active());
        CHECK(attaches[i].ms == 1020 * static_cast<long long>(i + 1));
    }
    CHECK(net.log.size() == 3 + 1 + 117);  // start round, switch, keepalives
    CHECK(net.pm.status(net.t).dark_ports.empty());
}

TEST_CASE("healthy path with data coming back: no attach at all", "[hop][path_manager]") {
    // Liveness rides on data: a path that answers every datagram is never probed, so there is
    // no periodic attach for an observer to match.
    Net net;
    net.traffic = true;
    net.run_until_ms(120'000);
    REQUIRE(net.entries(Kind::switch_path).size() == 1);
    CHECK(net.entries(Kind::send_attach, 1).empty());
    // Data at only one datagram a second still keeps the path alive without probes... until
    // a datagram goes unanswered for fast_probe_after, which is never here.
    Net slow;
    slow.traffic = true;
    slow.traffic_every = 900ms;
    slow.run_until_ms(60'000);
    CHECK(slow.entries(Kind::send_attach, 1).empty());
}

TEST_CASE("fast probe: data out with nothing back", "[hop][path_manager]") {
    Net net;
    net.run_until_ms(20);
    const Path p = net.pm.active();
    std::vector<PathAction> out;
    // Data at 100 ms, nothing back: probe at 100 + fast_probe_after, not at the keepalive.
    net.t = net.at_ms(100);
    net.pm.on_data_sent(net.t);
    CHECK(net.pm.poll(net.t, net.epoch, out) == net.at_ms(600));
    CHECK(out.empty());
    CHECK(net.pm.poll(net.at_ms(600), net.epoch, out) > net.at_ms(600));
    REQUIRE(out.size() == 1);
    CHECK(describe(out[0]) == "attach " + to_string(p));
    out.clear();
    // Unanswered: the path is suspect, probed every suspect_probe_every, data or not.
    CHECK(net.pm.poll(net.at_ms(650), net.epoch, out) == net.at_ms(800));
    CHECK(out.empty());
    net.pm.poll(net.at_ms(800), net.epoch, out);
    REQUIRE(out.size() == 1);
    out.clear();
    // An answer resets it: the next keepalive is due probe_interval after it...
    net.pm.on_ack(net.at_ms(820), p, 20ms);
    CHECK(net.pm.poll(net.at_ms(820), net.epoch, out) == net.at_ms(1820));
    // ... unless data goes out again with nothing back.
    net.pm.on_data_sent(net.at_ms(900));
    CHECK(net.pm.poll(net.at_ms(900), net.epoch, out) == net.at_ms(1400));
    // Data coming back counts as an answer too, and restarts the quiet period.
    net.pm.on_data_received(net.at_ms(950), p);
    CHECK(net.pm.poll(net.at_ms(950), net.epoch, out) == net.at_ms(1950));
    CHECK(out.empty());
}

TEST_CASE("UDP port dark -> the next alternate, detection plus one attempt under 5 s",
          "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.udp_open.erase(s.p);
    net.run_until_ms(kB + 3000);
    // The data sent at B still got through (B is the end of Started's run); its reply at B+20
    // is the last answer. Nothing is probed while data comes back. The data sent at B+100 goes
    // unanswered: probes at B+600, then every 200 ms; the 8th (B+2000) has had
    // fast_probe_after at B+2500: dark, 2.48 s after the last answer.
    std::vector<std::string> want;
    for (long long ms = 600; ms <= 2400; ms += 200) want.push_back(at(kB + ms, "attach " + u(s.p)));
    for (int i = 0; i < 3; ++i) want.push_back(at(kB + 2500, "attach " + u(s.alt[i])));
    want.push_back(
        at(kB + 2520, "switch " + u(s.alt[0]) + ": " + u(s.p) + " silent for 2.5 s -> " + u(s.alt[0])));
    CHECK(net.lines(kB, kB + 2600) == want);
    const auto sw = net.entries(Kind::switch_path, kB);
    REQUIRE(sw.size() == 1);
    CHECK(sw[0].ms - kB < 5000);
    const auto st = net.pm.status(net.t);
    CHECK(st.active == udp(s.alt[0]));
    CHECK(st.hops == 1);
    CHECK(st.fallbacks == 0);
    CHECK(st.dark_ports == std::vector<std::uint16_t>{s.p});
}

TEST_CASE("UDP port dark while idle: the silence in the reason is measured", "[hop][path_manager]") {
    Net net;
    const std::uint16_t p = net.schedule.port_for(net.epoch);
    const auto alt = net.schedule.alternates(net.epoch, 1);
    net.run_until_ms(kB);
    REQUIRE(net.pm.active() == udp(p));
    net.udp_open.erase(p);
    net.run_until_ms(kB + 5000);
    const auto sw = net.entries(Kind::switch_path, kB);
    REQUIRE(sw.size() == 1);
    // Keepalives every 1020 ms (probe_interval of quiet after each ack); the last answer is
    // the ack at 9200 of the keepalive at 9180. The keepalive at 10200 goes unanswered, then
    // probes every 200 ms; the 8th (11600) has had fast_probe_after at 12100: dark, 2.9 s
    // after the last answer.
    std::vector<std::string> want;
    for (long long ms = 200; ms <= 2000; ms += 200) want.push_back(at(kB + ms, "attach " + u(p)));
    CHECK(net.lines(kB, kB + 2100) == want);
    CHECK(sw[0].ms == 12'120);
    CHECK(sw[0].action.reason == u(p) + " silent for " + silence(2900ms) + " -> " + u(alt[0]));
    CHECK(sw[0].action.reason == u(p) + " silent for 2.9 s -> " + u(alt[0]));
    CHECK(sw[0].ms - kB < 5000);
}

TEST_CASE("several ports dark -> a later round", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    for (std::uint16_t q : {s.p, s.alt[0], s.alt[1], s.alt[2]}) net.udp_open.erase(q);
    net.run_until_ms(kB + 4520);
    // Dark at B+2500 as in "UDP port dark"; the first round goes unanswered, the second wins.
    // The new path answers the data, so it gets no probes.
    CHECK(
        net.lines(kB + 2500) ==
        std::vector<std::string>{
            at(kB + 2500, "attach " + u(s.alt[0])), at(kB + 2500, "attach " + u(s.alt[1])),
            at(kB + 2500, "attach " + u(s.alt[2])), at(kB + 3500, "attach " + u(s.alt[3])),
            at(kB + 3500, "attach " + u(s.alt[4])), at(kB + 3500, "attach " + u(s.alt[5])),
            at(kB + 3520, "switch " + u(s.alt[3]) + ": " + u(s.p) + " silent for 2.5 s -> " + u(s.alt[3]))});
    // Only the dark active port is in backoff; unanswered candidates are not.
    CHECK(net.pm.status(net.t).dark_ports == std::vector<std::uint16_t>{s.p});
    CHECK(net.pm.status(net.t).hops == 1);
}

TEST_CASE("a port in backoff is left out of the next search", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.udp_open.erase(s.p);
    net.run_until_ms(kB + 2600);
    REQUIRE(net.pm.active() == udp(s.alt[0]));
    // alt[0] goes dark too while p is still in backoff: the rounds skip p.
    net.udp_open.erase(s.alt[0]);
    net.run_until_ms(kB + 10'000);
    const auto attaches = net.entries(Kind::send_attach, kB + 2510);
    std::set<std::uint16_t> tried;
    for (const auto& e : attaches)
        if (e.action.path != udp(s.alt[0])) tried.insert(e.action.path.port);
    CHECK(tried.count(s.p) == 0);
    CHECK(net.pm.active() == udp(s.alt[1]));
    auto dark = net.pm.status(net.t).dark_ports;
    CHECK(dark == std::vector<std::uint16_t>{std::min(s.p, s.alt[0]), std::max(s.p, s.alt[0])});
}

TEST_CASE("all UDP dark -> TCP within 10 s of the blackout", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.run_until_ms(kB + 5000);
    CHECK(net.lines(kB + 2500) ==
          std::vector<std::string>{
              at(kB + 2500, "attach " + u(s.alt[0])), at(kB + 2500, "attach " + u(s.alt[1])),
              at(kB + 2500, "attach " + u(s.alt[2])), at(kB + 3500, "attach " + u(s.alt[3])),
              at(kB + 3500, "attach " + u(s.alt[4])), at(kB + 3500, "attach " + u(s.alt[5])),
              at(kB + 4500, "connect tcp/443"), at(kB + 4520, "attach tcp/443"),
              at(kB + 4540, "switch tcp/443: all UDP silent -> tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.active == kTcp);
    CHECK(st.fallbacks == 1);
    CHECK(st.hops == 0);
    CHECK(st.climbs == 0);
    REQUIRE_FALSE(net.entries(Kind::switch_path, kB).empty());
    CHECK(net.entries(Kind::switch_path, kB)[0].ms - kB < 10'000);
}

TEST_CASE("every other port in backoff: straight to TCP", "[hop][path_manager]") {
    const PortSchedule one(test_key(), {51820});
    PathManager pm(one, kTcpPort, exact());
    std::vector<PathAction> out;
    Clock::time_point t = Clock::time_point{} + 5h;
    pm.poll(t, 7, out);
    pm.on_ack(t, udp(51820), 1ms);
    pm.poll(t, 7, out);
    REQUIRE(pm.active() == udp(51820));
    // Silent from here: a keepalive at +1 s, unanswered, then probes every 200 ms until the
    // verdict; the 8th (+2.4 s) has had fast_probe_after at +2.9 s: dark. No other port: TCP
    // in the same poll.
    std::vector<std::string> got;
    for (int i = 1; i <= 30; ++i) {
        out.clear();
        pm.poll(t + i * 100ms, 7, out);
        for (const auto& a : out) got.push_back(at(i * 100, describe(a)));
    }
    std::vector<std::string> want;
    for (long long ms = 1000; ms <= 2800; ms += 200) want.push_back(at(ms, "attach udp/51820"));
    want.push_back(at(2900, "connect tcp/443"));
    CHECK(got == want);
    CHECK(pm.status(t + 2900ms).dark_ports == std::vector<std::uint16_t>{51820});
}

TEST_CASE("the dark path answers late: the search stops, no switch", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    // Dark at B+2500 (as in "UDP port dark"), first round at once; the second would be at B+3500.
    net.run_until_ms(kB + 2600);
    REQUIRE(net.pm.status(net.t).dark_ports == std::vector<std::uint16_t>{s.p});
    net.open_all_udp();
    net.pm.on_ack(net.t, udp(s.p), 900ms);
    // Idle from here, so that p's health shows: data coming back would keep it from probes.
    net.traffic = false;
    net.run_until_ms(kB + 6000);
    // No second round, no TCP, no switch; keepalives on p again, a probe_interval of quiet
    // after the late ack (B+2600) and then after each keepalive's ack.
    CHECK(net.entries(Kind::switch_path, kB).empty());
    CHECK(net.entries(Kind::connect_tcp).empty());
    for (const auto& e : net.entries(Kind::send_attach, kB + 2600)) CHECK(e.action.path == udp(s.p));
    CHECK_FALSE(net.entries(Kind::send_attach, kB + 2600).empty());
    CHECK(net.lines(kB + 2600) == std::vector<std::string>{at(kB + 3600, "attach " + u(s.p)),
                                                           at(kB + 4620, "attach " + u(s.p)),
                                                           at(kB + 5640, "attach " + u(s.p))});
    const auto st = net.pm.status(net.t);
    CHECK(st.active == udp(s.p));
    CHECK(st.dark_ports.empty());
    CHECK(st.hops == 0);
}

TEST_CASE("late UDP ack while TCP is connecting wins", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.tcp_mode = Net::TcpMode::hang;
    net.run_until_ms(kB + 4600);
    // Rounds at B+2500 and B+3500 (as in "all UDP dark"), then TCP.
    REQUIRE(net.lines(kB + 4500) == std::vector<std::string>{at(kB + 4500, "connect tcp/443")});
    // alt[6] was never attached: ignored. alt[0] was, in the first round (B+2500).
    net.pm.on_ack(net.t, udp(s.alt[6]), 2s);
    net.poll();
    CHECK(net.lines(kB + 4600).empty());
    net.pm.on_ack(net.t, udp(s.alt[0]), 2100ms);
    net.poll();
    CHECK(net.lines(kB + 4600) ==
          std::vector<std::string>{
              at(kB + 4600, "switch " + u(s.alt[0]) + ": " + u(s.p) + " silent for 2.5 s -> " + u(s.alt[0])),
              at(kB + 4600, "close tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.hops == 1);
    CHECK(st.fallbacks == 0);
    CHECK(st.rtt == 2100ms);
    CHECK(net.tcp_connections == 0);
}

TEST_CASE("a lingering TCP connection is closed before a new one", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    // Climb at the first retry (5 s after the fallback) ...
    net.open_all_udp();
    net.run_until_ms(kOnTcp + 5020);
    REQUIRE(net.pm.active() == udp(s.p));
    // ... and UDP dark again at once: the data sent at +5060 goes unanswered, probes from
    // +5560, dark at +7460, rounds at +7460 and +8460, and the new TCP attempt at +9460 comes
    // before the linger ends (+10'020).
    net.close_all_udp();
    net.run_until_ms(kOnTcp + 10'000);
    const auto connects = net.entries(Kind::connect_tcp, kOnTcp);
    REQUIRE(connects.size() == 1);
    const auto closes = net.entries(Kind::close_tcp, kOnTcp);
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].ms == connects[0].ms);
    CHECK(connects[0].ms == kOnTcp + 9460);
    CHECK(connects[0].ms < kOnTcp + 5020 + 5000);
    // The Net REQUIREs one connection at a time; the close came first in the same poll.
    CHECK(net.pm.active() == kTcp);
}

// ---------------------------------------------------------------------------------------------
// 4. Active TCP path

TEST_CASE("on TCP: UDP retries at 5, 10, 20, 30, 30 s", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 100'000);
    std::vector<std::string> retries;
    for (const auto& e : net.entries(Kind::send_attach, kOnTcp + 1))
        if (e.action.path.kind == Path::Kind::udp) retries.push_back(at(e.ms - kOnTcp, describe(e.action)));
    // Backoff or not: p is still in backoff at the first retries.
    CHECK(retries ==
          std::vector<std::string>{at(5000, "attach " + u(s.p)), at(5000, "attach " + u(s.alt[0])),
                                   at(15000, "attach " + u(s.p)), at(15000, "attach " + u(s.alt[0])),
                                   at(35000, "attach " + u(s.p)), at(35000, "attach " + u(s.alt[0])),
                                   at(65000, "attach " + u(s.p)), at(65000, "attach " + u(s.alt[0])),
                                   at(95000, "attach " + u(s.p)), at(95000, "attach " + u(s.alt[0]))});
    // Meanwhile the data comes back on TCP, so no probe goes out on it, and nothing else.
    CHECK(net.entries(Kind::send_attach, kOnTcp + 1).size() == 10);
    CHECK(net.entries(Kind::switch_path, kOnTcp + 1).empty());
}

TEST_CASE("on TCP: UDP answers again -> back to UDP, close_tcp after tcp_linger", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 100'000);
    net.open_all_udp();
    net.run_until_ms(kOnTcp + 140'000);
    // Next retry at +125 s; the ack from port_for(epoch) comes first. The data comes back on
    // TCP before the climb and on p after it: no probes on either.
    CHECK(net.lines(kOnTcp + 125'000, kOnTcp + 131'000) ==
          std::vector<std::string>{
              at(kOnTcp + 125'000, "attach " + u(s.p)), at(kOnTcp + 125'000, "attach " + u(s.alt[0])),
              at(kOnTcp + 125'020, "switch " + u(s.p) + ": " + u(s.p) + " answers again -> back to udp"),
              at(kOnTcp + 130'020, "close tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.active == udp(s.p));
    CHECK(st.climbs == 1);
    CHECK(st.fallbacks == 1);
    CHECK(st.hops == 0);
    CHECK(st.dark_ports.empty());
}

TEST_CASE("on TCP: the retry interval starts over at the next fallback", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 40'000);  // retries at 5, 15, 35: interval now 30
    net.open_all_udp();
    net.run_until_ms(kOnTcp + 66'000);  // climb at 65
    REQUIRE(net.pm.active() == udp(s.p));
    net.close_all_udp();
    net.run_until_ms(kOnTcp + 80'000);
    REQUIRE(net.pm.active() == kTcp);
    const long long back = net.entries(Kind::switch_path).back().ms;
    net.run_until_ms(back + 16'000);
    std::vector<long long> times;
    for (const auto& e : net.entries(Kind::send_attach, back + 1))
        if (e.action.path.kind == Path::Kind::udp) times.push_back(e.ms - back);
    CHECK(times == std::vector<long long>{5000, 5000, 15000, 15000});
}

TEST_CASE("TCP connect refused -> back to the UDP search, all ports", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.tcp_mode = Net::TcpMode::refuse;
    net.run_until_ms(kB + 6539);
    // Dark at B+2500, rounds at B+2500 and B+3500, TCP at B+4500 (as in "all UDP dark"),
    // refused one rtt later. The search goes on where it stopped, now with p (in backoff) too:
    // order p, alt[0..6].
    CHECK(net.lines(kB + 4500) ==
          std::vector<std::string>{at(kB + 4500, "connect tcp/443"), at(kB + 4520, "attach " + u(s.alt[5])),
                                   at(kB + 4520, "attach " + u(s.alt[6])), at(kB + 4520, "attach " + u(s.p)),
                                   at(kB + 5520, "attach " + u(s.alt[0])),
                                   at(kB + 5520, "attach " + u(s.alt[1])),
                                   at(kB + 5520, "attach " + u(s.alt[2])), at(kB + 6520, "connect tcp/443")});
    // Then UDP comes back: the reason still names the port that went dark.
    net.open_all_udp();
    net.run_until_ms(kB + 6600);
    CHECK(
        net.lines(kB + 6539) ==
        std::vector<std::string>{
            at(kB + 6540, "attach " + u(s.alt[3])), at(kB + 6540, "attach " + u(s.alt[4])),
            at(kB + 6540, "attach " + u(s.alt[5])),
            at(kB + 6560, "switch " + u(s.alt[3]) + ": " + u(s.p) + " silent for 2.5 s -> " + u(s.alt[3]))});
    CHECK(net.pm.status(net.t).hops == 1);
}

TEST_CASE("TCP connect timeout -> close_tcp and back to the UDP search", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.tcp_mode = Net::TcpMode::hang;
    net.run_until_ms(kB + 7580);
    // TCP at B+4500 (as in "all UDP dark"), given up tcp_connect_timeout later.
    CHECK(net.lines(kB + 4500) == std::vector<std::string>{at(kB + 4500, "connect tcp/443"),
                                                           at(kB + 7500, "close tcp/443"),
                                                           at(kB + 7500, "attach " + u(s.alt[5])),
                                                           at(kB + 7500, "attach " + u(s.alt[6])),
                                                           at(kB + 7500, "attach " + u(s.p))});
}

TEST_CASE("TCP up but its attach unanswered -> close_tcp and back to UDP", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.tcp_blackhole = true;
    net.run_until_ms(kB + 7580);
    // TCP at B+4500 (as in "all UDP dark"), up one rtt later; no ack within tcp_connect_timeout
    // of that.
    CHECK(net.lines(kB + 4500) ==
          std::vector<std::string>{at(kB + 4500, "connect tcp/443"), at(kB + 4520, "attach tcp/443"),
                                   at(kB + 5520, "attach tcp/443"), at(kB + 6520, "attach tcp/443"),
                                   at(kB + 7520, "close tcp/443"), at(kB + 7520, "attach " + u(s.alt[5])),
                                   at(kB + 7520, "attach " + u(s.alt[6])),
                                   at(kB + 7520, "attach " + u(s.p))});
}

TEST_CASE("TCP dark while active -> close it, search UDP with all ports", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    // The blackhole starts early enough for the verdict to come before the first UDP retry
    // (+5000), which would otherwise climb first (UDP works again).
    net.run_until_ms(kOnTcp + 2000);
    net.open_all_udp();
    net.tcp_blackhole = true;
    while (net.entries(Kind::close_tcp, kOnTcp).empty() && net.now_ms() < kOnTcp + 10'000) net.run_for(10ms);
    const auto closes = net.entries(Kind::close_tcp, kOnTcp);
    REQUIRE(closes.size() == 1);
    const long long dark = closes[0].ms;
    const Clock::time_point last_rx = net.last_rx_on_active;  // not yet moved by a switch
    net.run_until_ms(kOnTcp + 8000);
    CHECK(dark - (kOnTcp + 2000) < 3000);
    // p is still in backoff but a dark TCP path searches all ports: p first.
    const auto sw = net.entries(Kind::switch_path, kOnTcp + 1);
    REQUIRE(sw.size() == 1);
    CHECK(net.lines(dark, dark + 21) ==
          std::vector<std::string>{at(dark, "close tcp/443"), at(dark, "attach " + u(s.p)),
                                   at(dark, "attach " + u(s.alt[0])), at(dark, "attach " + u(s.alt[1])),
                                   at(dark + 20, "switch " + u(s.p) + ": " + sw[0].action.reason)});
    // Silence from the last thing received on TCP (the reply at +1980 to the data sent at +1960)
    // to the verdict: the data sent at +2060 goes unanswered, probes from +2560 every 200 ms,
    // the 8th (+3960) has had fast_probe_after at +4460.
    CHECK(last_rx == net.at_ms(kOnTcp + 1980));
    CHECK(dark == kOnTcp + 4460);
    CHECK(sw[0].action.reason ==
          "tcp/443 silent for " + silence(net.at_ms(dark) - last_rx) + " -> " + u(s.p));
    CHECK(sw[0].action.reason == "tcp/443 silent for 2.5 s -> " + u(s.p));
    const auto st = net.pm.status(net.t);
    CHECK(st.active == udp(s.p));
    CHECK(st.climbs == 1);
    CHECK(st.dark_ports.empty());  // p's ack cleared its backoff
}

TEST_CASE("TCP dark while active and UDP still dark -> a new TCP connection", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 3000);
    net.tcp_blackhole = true;
    // The data sent at +3060 goes unanswered: probes from +3560 every 200 ms, the 8th (+4960)
    // has had fast_probe_after at +5460: dark (the UDP retry at +5000 went unanswered). UDP
    // rounds at +5460 and +6460.
    net.run_until_ms(kOnTcp + 6000);
    net.tcp_blackhole = false;  // the new connection works
    net.run_until_ms(kOnTcp + 10'000);
    // TCP again at +7460; the data comes back on the new connection: no probes on it.
    CHECK(net.lines(kOnTcp + 7460) ==
          std::vector<std::string>{at(kOnTcp + 7460, "connect tcp/443"), at(kOnTcp + 7480, "attach tcp/443"),
                                   at(kOnTcp + 7500, "switch tcp/443: tcp/443 silent for 2.5 s -> tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.fallbacks == 1);  // TCP to TCP counts nothing
    CHECK(st.climbs == 0);
    CHECK(st.hops == 0);
}

TEST_CASE("TCP down while active -> UDP", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 3000);
    net.open_all_udp();
    net.drop_tcp();
    net.poll();
    net.run_until_ms(kOnTcp + 3100);
    // The data comes back on TCP until the drop: no probe on it, only the search.
    CHECK(net.lines(kOnTcp + 3000) ==
          std::vector<std::string>{at(kOnTcp + 3000, "attach " + u(s.p)),
                                   at(kOnTcp + 3000, "attach " + u(s.alt[0])),
                                   at(kOnTcp + 3000, "attach " + u(s.alt[1])),
                                   at(kOnTcp + 3020, "switch " + u(s.p) + ": tcp/443 closed -> " + u(s.p))});
    CHECK(net.pm.status(net.t).climbs == 1);
}

// ---------------------------------------------------------------------------------------------
// 3. Scheduled hop

TEST_CASE("scheduled hop: make-before-break", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    const std::uint16_t q = net.schedule.port_for(net.epoch + 1);
    REQUIRE(q != s.p);
    net.rtt = 500ms;               // time to see that nothing switches before the ack
    net.set_epoch(net.epoch + 1);  // the caller polls when the epoch changes
    net.run_until_ms(kB + 499);
    std::vector<long long> to_q;
    for (const auto& e : net.entries(Kind::send_attach, kB))
        if (e.action.path == udp(q)) to_q.push_back(e.ms);
    CHECK(to_q == std::vector<long long>{kB});
    CHECK(net.entries(Kind::switch_path, kB).empty());
    CHECK(net.pm.active() == udp(s.p));  // data still on the old path
    net.run_until_ms(kB + 500);
    const auto sw = net.entries(Kind::switch_path, kB);
    REQUIRE(sw.size() == 1);
    CHECK(at(sw[0].ms, describe(sw[0].action)) ==
          at(kB + 500, "switch " + u(q) + ": scheduled hop " + u(s.p) + " -> " + u(q)));
    const auto st = net.pm.status(net.t);
    CHECK(st.active == udp(q));
    CHECK(st.hops == 1);
    CHECK(st.rtt == 500ms);
}

TEST_CASE("scheduled hop: target dark -> three attempts, backoff, stays", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    const std::uint16_t q = net.schedule.port_for(net.epoch + 1);
    net.udp_open.erase(q);
    net.set_epoch(net.epoch + 1);
    net.run_until_ms(kB + 3600);
    std::vector<std::string> to_q;
    for (const auto& e : net.entries(Kind::send_attach, kB))
        if (e.action.path == udp(q)) to_q.push_back(at(e.ms, describe(e.action)));
    CHECK(to_q == std::vector<std::string>{at(kB, "attach " + u(q)), at(kB + 1000, "attach " + u(q)),
                                           at(kB + 2000, "attach " + u(q))});
    CHECK(net.entries(Kind::switch_path, kB).empty());
    CHECK(net.pm.status(net.at_ms(kB + 3000)).dark_ports == std::vector<std::uint16_t>{q});
    CHECK(net.pm.status(net.at_ms(kB + 32'999)).dark_ports == std::vector<std::uint16_t>{q});
    CHECK(net.pm.status(net.at_ms(kB + 33'000)).dark_ports.empty());
    CHECK(net.pm.active() == udp(s.p));
    CHECK(net.pm.status(net.t).hops == 0);
    // A late ack from it after the give-up clears the backoff but switches nothing.
    net.pm.on_ack(net.t, udp(q), 3s);
    net.poll();
    CHECK(net.entries(Kind::switch_path, kB).empty());
    CHECK(net.pm.status(net.t).dark_ports.empty());
}

TEST_CASE("scheduled hop: backoff doubles up to the cap, expires, an ack resets it", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.traffic = false;
    const std::uint64_t e0 = net.epoch;
    const std::uint16_t q = net.schedule.port_for(e0 + 1);
    net.udp_open.erase(q);
    long long c = kB;
    for (const long long backoff_s : {30, 60, 120, 240, 300, 300}) {
        INFO("backoff " << backoff_s << " s");
        net.set_epoch(e0 + 1);
        net.run_until_ms(c + 3000);
        CHECK(net.pm.status(net.t).dark_ports == std::vector<std::uint16_t>{q});
        const long long until = c + 3000 + backoff_s * 1000;
        CHECK(net.pm.status(net.at_ms(until - 1)).dark_ports == std::vector<std::uint16_t>{q});
        CHECK(net.pm.status(net.at_ms(until)).dark_ports.empty());
        // While q is in backoff the epoch changes back and forth: no attempt at q.
        net.set_epoch(e0);
        net.run_until_ms(c + 4000);
        net.set_epoch(e0 + 1);
        const auto before = net.entries(Kind::send_attach).size();
        net.run_until_ms(until - 10);
        std::size_t to_q = 0;
        const auto all = net.entries(Kind::send_attach);
        for (std::size_t i = before; i < all.size(); ++i) to_q += all[i].action.path == udp(q) ? 1 : 0;
        CHECK(to_q == 0);
        net.set_epoch(e0);
        net.run_until_ms(until);
        c = until;
    }
    CHECK(net.pm.active() == udp(s.p));
    // q answers at the next hop: the switch clears its backoff ...
    net.udp_open.insert(q);
    net.set_epoch(e0 + 1);
    net.run_until_ms(c + 100);
    REQUIRE(net.pm.active() == udp(q));
    CHECK(net.pm.status(net.t).hops == 1);
    // ... and the doubling: when it goes dark as the active path, 30 s again.
    net.udp_open.erase(q);
    net.run_until_ms(c + 10'000);
    REQUIRE(net.pm.active() != udp(q));
    const auto dark_at = net.entries(Kind::switch_path).back().ms - 20;  // the verdict, one rtt before
    CHECK(net.pm.status(net.at_ms(dark_at + 29'999)).dark_ports == std::vector<std::uint16_t>{q});
    CHECK(net.pm.status(net.at_ms(dark_at + 30'000)).dark_ports.empty());
}

TEST_CASE("scheduled hop: nothing to do when the new port is the active one or TCP is active",
          "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    // Find a later epoch whose port is the active one.
    std::uint64_t same = net.epoch + 2;
    while (net.schedule.port_for(same) != s.p) ++same;
    net.set_epoch(same);
    net.run_until_ms(kB + 3000);
    for (const auto& e : net.entries(Kind::send_attach, kB)) CHECK(e.action.path == udp(s.p));

    OnTcp t;
    t.net.set_epoch(t.net.epoch + 1);
    t.net.run_until_ms(kOnTcp + 4000);
    for (const auto& e : t.net.entries(Kind::send_attach, kOnTcp + 1)) CHECK(e.action.path == kTcp);
}

// ---------------------------------------------------------------------------------------------
// Negative paths

TEST_CASE("acks from paths never attached are ignored", "[hop][path_manager]") {
    Net net;
    const auto alt = net.schedule.alternates(net.epoch, 7);
    net.close_all_udp();
    net.run_until_ms(10);
    REQUIRE(net.log.size() == 3);
    net.pm.on_ack(net.t, udp(alt[5]), 1ms);  // in the set, not attached
    net.pm.on_ack(net.t, udp(12345), 1ms);   // not in the set
    net.pm.on_ack(net.t, kTcp, 1ms);         // no TCP connection
    net.pm.on_ack(net.t, Path{Path::Kind::tcp, 80}, 1ms);
    net.pm.on_ack(net.t, Path{}, 1ms);
    net.pm.on_data_received(net.t, udp(alt[0]));
    net.poll();
    CHECK(net.log.size() == 3);
    CHECK(net.pm.active() == Path{});
    CHECK(net.pm.status(net.t).rtt == std::chrono::microseconds(-1));
    // On TCP, an ack on the TCP path of a connection not yet up is ignored as well.
    Net tcp;
    tcp.close_all_udp();
    tcp.tcp_mode = Net::TcpMode::hang;
    tcp.run_until_ms(2100);
    REQUIRE(tcp.entries(Kind::connect_tcp).size() == 1);
    tcp.pm.on_ack(tcp.t, kTcp, 1ms);
    tcp.poll();
    CHECK(tcp.pm.active() == Path{});
    CHECK(tcp.entries(Kind::switch_path).empty());
}

TEST_CASE("data and acks on other paths do not keep the active path alive", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.chatter = {udp(s.alt[0]), udp(s.alt[5]), kTcp};
    net.udp_open.erase(s.p);
    for (long long ms = kB; ms < kB + 2500; ms += 100) {
        net.run_until_ms(ms);
        net.pm.on_ack(net.t, udp(s.alt[6]), 1ms);  // never attached
    }
    net.run_until_ms(kB + 2600);
    // The same verdict at the same time as without the chatter (B+2500, as in "UDP port dark").
    const auto sw = net.entries(Kind::switch_path, kB);
    REQUIRE(sw.size() == 1);
    CHECK(sw[0].ms == kB + 2520);
    CHECK(sw[0].action.reason == u(s.p) + " silent for 2.5 s -> " + u(s.alt[0]));
}

TEST_CASE("rtt: from the switching ack, then from acks on the active path only", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    CHECK(net.pm.status(net.t).rtt == 20ms);
    net.rtt = 35ms;
    // Idle from B, so that the path gets a probe (data coming back would keep it from probes):
    // the last reply at 10020 (to the data sent at B), keepalive at 11020, acked at 11055.
    net.traffic = false;
    net.run_until_ms(kB + 1100);
    CHECK(net.pm.status(net.t).rtt == 35ms);
    net.pm.on_ack(net.t, udp(s.alt[0]), 900ms);  // attached at the start, not active
    net.poll();
    CHECK(net.pm.status(net.t).rtt == 35ms);
    CHECK(net.pm.active() == udp(s.p));
}

TEST_CASE("events and polls are deterministic", "[hop][path_manager]") {
    auto run = [] {
        OnTcp s;
        s.net.open_all_udp();
        s.net.run_until_ms(kOnTcp + 30'000);
        return s.net.lines(0);
    };
    CHECK(run() == run());
}

// ---------------------------------------------------------------------------------------------
// Blocking seen, and recoveries (what the agent exports for censorship diagnosis)

TEST_CASE("blocking: a healthy start counts nothing", "[hop][path_manager][blocking]") {
    Started s;
    const auto st = s.net.pm.status(s.net.t);
    CHECK(st.blocking.port_silent == 0);
    CHECK(st.blocking.udp_silent == 0);
    CHECK(st.blocking.tcp_silent == 0);
    CHECK(st.recoveries.count == 0);  // the first path found is no recovery
}

TEST_CASE("blocking: all UDP dark is a silent port, then silent UDP; the recovery is timed",
          "[hop][path_manager][blocking]") {
    OnTcp s;
    const auto st = s.net.pm.status(s.net.t);
    CHECK(st.blocking.port_silent == 1);  // the active port's verdict; unanswered rounds are not
    CHECK(st.blocking.udp_silent == 1);
    CHECK(st.blocking.tcp_silent == 0);
    REQUIRE(st.recoveries.count == 1);
    // From the last reply on the lost port (the data sent at B came back at B+20) to the switch.
    CHECK(st.recoveries.sum_seconds == Approx((kOnTcp - (kB + 20)) / 1000.0));
    CHECK(st.recoveries.buckets[3] == 1);  // (2 s, 5 s]
}

TEST_CASE("blocking: TCP dark with UDP still dark counts TCP, not UDP again",
          "[hop][path_manager][blocking]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 3000);
    net.tcp_blackhole = true;
    net.run_until_ms(kOnTcp + 6000);
    net.tcp_blackhole = false;
    net.run_until_ms(kOnTcp + 10'000);
    REQUIRE(net.pm.active() == kTcp);
    const auto st = net.pm.status(net.t);
    CHECK(st.blocking.tcp_silent == 1);
    CHECK(st.blocking.udp_silent == 1);
    CHECK(st.recoveries.count == 2);
}

TEST_CASE("blocking: a closed TCP connection's recovery runs from the close",
          "[hop][path_manager][blocking]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 3000);
    net.open_all_udp();
    net.drop_tcp();
    net.poll();
    net.run_until_ms(kOnTcp + 3100);
    const auto st = net.pm.status(net.t);
    REQUIRE(st.recoveries.count == 2);
    CHECK(st.recoveries.buckets[0] == 1);  // 20 ms: the first UDP ack
    CHECK(st.blocking.tcp_silent == 0);    // closed is not silent
}

TEST_CASE("recoveries: the buckets' bounds are upper bounds, inclusive", "[hop][path_manager][blocking]") {
    porthop::hop::Recoveries r;
    r.add(std::chrono::milliseconds{500});
    r.add(std::chrono::milliseconds{501});
    r.add(std::chrono::seconds{121});
    CHECK(r.buckets[0] == 1);
    CHECK(r.buckets[1] == 1);
    CHECK(r.buckets[8] == 1);  // +Inf
    CHECK(r.count == 3);
    CHECK(r.sum_seconds == Approx(122.001));
}
