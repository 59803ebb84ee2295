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

    explicit Net(PathTimers config = {})
        : timers(config), schedule(test_schedule()), pm(schedule, kTcpPort, config) {
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
    explicit Started(PathTimers t = {}) : net(t) {
        p = net.schedule.port_for(net.epoch);
        alt = net.schedule.alternates(net.epoch, net.schedule.ports().size());
        REQUIRE(alt.size() == 7);
        net.traffic = true;
        net.run_until_ms(kB);
        REQUIRE(net.pm.active() == udp(p));
    }
};

// From Started: all UDP goes dark at B and the agent falls back to TCP at B+3560 (the timeline
// is worked out in the tests "UDP port dark" and "all UDP dark").
constexpr long long kOnTcp = kB + 3560;
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

TEST_CASE("healthy path: an attach every probe_interval, no switch", "[hop][path_manager]") {
    for (const bool traffic : {false, true}) {
        INFO("traffic " << traffic);
        Net net;
        net.traffic = traffic;
        net.run_until_ms(120'000);
        const auto switches = net.entries(Kind::switch_path);
        REQUIRE(switches.size() == 1);
        const auto attaches = net.entries(Kind::send_attach, 1);
        REQUIRE(attaches.size() == 119);  // 1020, 2020, ..., 119020
        for (std::size_t i = 0; i < attaches.size(); ++i) {
            INFO("attach " << i);
            CHECK(attaches[i].action.path == net.pm.active());
            CHECK(attaches[i].ms == 20 + 1000 * static_cast<long long>(i + 1));
        }
        CHECK(net.log.size() == 3 + 1 + 119);  // start round, switch, keepalives
        CHECK(net.pm.status(net.t).dark_ports.empty());
    }
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
    // Still nothing back: the next one no sooner than fast_probe_after after that probe.
    net.pm.on_data_sent(net.at_ms(650));
    CHECK(net.pm.poll(net.at_ms(650), net.epoch, out) == net.at_ms(1100));
    CHECK(out.empty());
    net.pm.poll(net.at_ms(1100), net.epoch, out);
    REQUIRE(out.size() == 1);
    out.clear();
    // An answer resets it: the keepalive is due probe_interval after the last probe...
    net.pm.on_ack(net.at_ms(1120), p, 20ms);
    CHECK(net.pm.poll(net.at_ms(1120), net.epoch, out) == net.at_ms(2100));
    // ... unless data goes out again with nothing back.
    net.pm.on_data_sent(net.at_ms(1200));
    CHECK(net.pm.poll(net.at_ms(1200), net.epoch, out) == net.at_ms(1700));
    // Data coming back counts as an answer too.
    net.pm.on_data_received(net.at_ms(1250), p);
    CHECK(net.pm.poll(net.at_ms(1250), net.epoch, out) == net.at_ms(2100));
    CHECK(out.empty());
}

TEST_CASE("UDP port dark -> the next alternate, detection plus one attempt under 5 s",
          "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.udp_open.erase(s.p);
    net.run_until_ms(kB + 2000);
    // The data sent at B still got through (B is the end of Started's run); its reply at B+20
    // is the last answer. Keepalive at B+20, fast probes at B+600 (500 ms after the data sent
    // at B+100) and B+1100 go unanswered; 1.5 s of silence at B+1520.
    CHECK(
        net.lines(kB, kB + 1600) ==
        std::vector<std::string>{
            at(kB + 20, "attach " + u(s.p)), at(kB + 600, "attach " + u(s.p)),
            at(kB + 1100, "attach " + u(s.p)), at(kB + 1520, "attach " + u(s.alt[0])),
            at(kB + 1520, "attach " + u(s.alt[1])), at(kB + 1520, "attach " + u(s.alt[2])),
            at(kB + 1540, "switch " + u(s.alt[0]) + ": " + u(s.p) + " silent for 1.5 s -> " + u(s.alt[0]))});
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
    // Last answer: the keepalive ack at 9040; keepalives at 10020 and 11020 unanswered; dark
    // when the second one has had fast_probe_after: 11520, after 2.48 s.
    CHECK(net.lines(kB, kB + 1500) ==
          std::vector<std::string>{at(kB + 20, "attach " + u(p)), at(kB + 1020, "attach " + u(p))});
    CHECK(sw[0].ms == 11'540);
    CHECK(sw[0].action.reason == u(p) + " silent for " + silence(2480ms) + " -> " + u(alt[0]));
    CHECK(sw[0].action.reason == u(p) + " silent for 2.5 s -> " + u(alt[0]));
    CHECK(sw[0].ms - kB < 5000);
}

TEST_CASE("several ports dark -> a later round", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    for (std::uint16_t q : {s.p, s.alt[0], s.alt[1], s.alt[2]}) net.udp_open.erase(q);
    net.run_until_ms(kB + 3540);
    CHECK(net.lines(kB + 1520) ==
          std::vector<std::string>{
              at(kB + 1520, "attach " + u(s.alt[0])), at(kB + 1520, "attach " + u(s.alt[1])),
              at(kB + 1520, "attach " + u(s.alt[2])), at(kB + 2520, "attach " + u(s.alt[3])),
              at(kB + 2520, "attach " + u(s.alt[4])), at(kB + 2520, "attach " + u(s.alt[5])),
              at(kB + 2540, "switch " + u(s.alt[3]) + ": " + u(s.p) + " silent for 1.5 s -> " + u(s.alt[3])),
              at(kB + 3540, "attach " + u(s.alt[3]))});
    // Only the dark active port is in backoff; unanswered candidates are not.
    CHECK(net.pm.status(net.t).dark_ports == std::vector<std::uint16_t>{s.p});
    CHECK(net.pm.status(net.t).hops == 1);
}

TEST_CASE("a port in backoff is left out of the next search", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.udp_open.erase(s.p);
    net.run_until_ms(kB + 1600);
    REQUIRE(net.pm.active() == udp(s.alt[0]));
    // alt[0] goes dark too while p is still in backoff: the rounds skip p.
    net.udp_open.erase(s.alt[0]);
    net.run_until_ms(kB + 10'000);
    const auto attaches = net.entries(Kind::send_attach, kB + 1500);
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
    net.run_until_ms(kB + 4000);
    CHECK(net.lines(kB + 1520) ==
          std::vector<std::string>{
              at(kB + 1520, "attach " + u(s.alt[0])), at(kB + 1520, "attach " + u(s.alt[1])),
              at(kB + 1520, "attach " + u(s.alt[2])), at(kB + 2520, "attach " + u(s.alt[3])),
              at(kB + 2520, "attach " + u(s.alt[4])), at(kB + 2520, "attach " + u(s.alt[5])),
              at(kB + 3520, "connect tcp/443"), at(kB + 3540, "attach tcp/443"),
              at(kB + 3560, "switch tcp/443: all UDP silent -> tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.active == kTcp);
    CHECK(st.fallbacks == 1);
    CHECK(st.hops == 0);
    CHECK(st.climbs == 0);
    CHECK(net.entries(Kind::switch_path, kB)[0].ms - kB < 10'000);
}

TEST_CASE("every other port in backoff: straight to TCP", "[hop][path_manager]") {
    const PortSchedule one(test_key(), {51820});
    PathManager pm(one, kTcpPort);
    std::vector<PathAction> out;
    Clock::time_point t = Clock::time_point{} + 5h;
    pm.poll(t, 7, out);
    pm.on_ack(t, udp(51820), 1ms);
    pm.poll(t, 7, out);
    REQUIRE(pm.active() == udp(51820));
    out.clear();
    // Silent from here: keepalives at +1 s and +2 s, dark at +2.5 s; no other port: TCP.
    for (int i = 1; i <= 25; ++i) pm.poll(t + i * 100ms, 7, out);
    std::vector<std::string> got;
    for (const auto& a : out) got.push_back(describe(a));
    CHECK(got == std::vector<std::string>{"attach udp/51820", "attach udp/51820", "connect tcp/443"});
    CHECK(pm.status(t + 2500ms).dark_ports == std::vector<std::uint16_t>{51820});
}

TEST_CASE("the dark path answers late: the search stops, no switch", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.run_until_ms(kB + 1600);
    REQUIRE(net.pm.status(net.t).dark_ports == std::vector<std::uint16_t>{s.p});
    net.open_all_udp();
    net.pm.on_ack(net.t, udp(s.p), 900ms);
    net.run_until_ms(kB + 6000);
    // No second round, no TCP, no switch; keepalives on p again.
    CHECK(net.entries(Kind::switch_path, kB).empty());
    CHECK(net.entries(Kind::connect_tcp).empty());
    for (const auto& e : net.entries(Kind::send_attach, kB + 1600)) CHECK(e.action.path == udp(s.p));
    CHECK_FALSE(net.entries(Kind::send_attach, kB + 1600).empty());
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
    net.run_until_ms(kB + 3600);
    REQUIRE(net.lines(kB + 3520) == std::vector<std::string>{at(kB + 3520, "connect tcp/443")});
    // alt[6] was never attached: ignored. alt[0] was, in the first round.
    net.pm.on_ack(net.t, udp(s.alt[6]), 2s);
    net.poll();
    CHECK(net.lines(kB + 3600).empty());
    net.pm.on_ack(net.t, udp(s.alt[0]), 2080ms);
    net.poll();
    CHECK(net.lines(kB + 3600) ==
          std::vector<std::string>{
              at(kB + 3600, "switch " + u(s.alt[0]) + ": " + u(s.p) + " silent for 1.5 s -> " + u(s.alt[0])),
              at(kB + 3600, "close tcp/443")});
    const auto st = net.pm.status(net.t);
    CHECK(st.hops == 1);
    CHECK(st.fallbacks == 0);
    CHECK(st.rtt == 2080ms);
    CHECK(net.tcp_connections == 0);
}

TEST_CASE("a lingering TCP connection is closed before a new one", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    // Climb at the first retry (5 s after the fallback) ...
    net.open_all_udp();
    net.run_until_ms(kOnTcp + 5020);
    REQUIRE(net.pm.active() == udp(s.p));
    // ... and UDP dark again at once: the new TCP attempt comes before the linger ends.
    net.close_all_udp();
    net.run_until_ms(kOnTcp + 9000);
    const auto connects = net.entries(Kind::connect_tcp, kOnTcp);
    REQUIRE(connects.size() == 1);
    const auto closes = net.entries(Kind::close_tcp, kOnTcp);
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].ms == connects[0].ms);
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
    // TCP keepalives meanwhile, and nothing else.
    CHECK(net.entries(Kind::send_attach, kOnTcp + 1).size() == 10 + 100);
    CHECK(net.entries(Kind::switch_path, kOnTcp + 1).empty());
}

TEST_CASE("on TCP: UDP answers again -> back to UDP, close_tcp after tcp_linger", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 100'000);
    net.open_all_udp();
    net.run_until_ms(kOnTcp + 140'000);
    // Next retry at +125 s; the ack from port_for(epoch) comes first.
    CHECK(net.lines(kOnTcp + 125'000, kOnTcp + 131'000) ==
          std::vector<std::string>{
              at(kOnTcp + 125'000, "attach tcp/443"), at(kOnTcp + 125'000, "attach " + u(s.p)),
              at(kOnTcp + 125'000, "attach " + u(s.alt[0])),
              at(kOnTcp + 125'020, "switch " + u(s.p) + ": " + u(s.p) + " answers again -> back to udp"),
              at(kOnTcp + 126'020, "attach " + u(s.p)), at(kOnTcp + 127'020, "attach " + u(s.p)),
              at(kOnTcp + 128'020, "attach " + u(s.p)), at(kOnTcp + 129'020, "attach " + u(s.p)),
              at(kOnTcp + 130'020, "close tcp/443"), at(kOnTcp + 130'020, "attach " + u(s.p))});
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
    net.run_until_ms(kB + 5559);
    // The search goes on where it stopped, now with p (in backoff) too: order p, alt[0..6].
    CHECK(net.lines(kB + 3520) ==
          std::vector<std::string>{at(kB + 3520, "connect tcp/443"), at(kB + 3540, "attach " + u(s.alt[5])),
                                   at(kB + 3540, "attach " + u(s.alt[6])), at(kB + 3540, "attach " + u(s.p)),
                                   at(kB + 4540, "attach " + u(s.alt[0])),
                                   at(kB + 4540, "attach " + u(s.alt[1])),
                                   at(kB + 4540, "attach " + u(s.alt[2])), at(kB + 5540, "connect tcp/443")});
    // Then UDP comes back: the reason still names the port that went dark.
    net.open_all_udp();
    net.run_until_ms(kB + 5600);
    CHECK(
        net.lines(kB + 5559) ==
        std::vector<std::string>{
            at(kB + 5560, "attach " + u(s.alt[3])), at(kB + 5560, "attach " + u(s.alt[4])),
            at(kB + 5560, "attach " + u(s.alt[5])),
            at(kB + 5580, "switch " + u(s.alt[3]) + ": " + u(s.p) + " silent for 1.5 s -> " + u(s.alt[3]))});
    CHECK(net.pm.status(net.t).hops == 1);
}

TEST_CASE("TCP connect timeout -> close_tcp and back to the UDP search", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.tcp_mode = Net::TcpMode::hang;
    net.run_until_ms(kB + 6600);
    CHECK(net.lines(kB + 3520) == std::vector<std::string>{at(kB + 3520, "connect tcp/443"),
                                                           at(kB + 6520, "close tcp/443"),
                                                           at(kB + 6520, "attach " + u(s.alt[5])),
                                                           at(kB + 6520, "attach " + u(s.alt[6])),
                                                           at(kB + 6520, "attach " + u(s.p))});
}

TEST_CASE("TCP up but its attach unanswered -> close_tcp and back to UDP", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    net.close_all_udp();
    net.tcp_blackhole = true;
    net.run_until_ms(kB + 6600);
    CHECK(net.lines(kB + 3520) ==
          std::vector<std::string>{at(kB + 3520, "connect tcp/443"), at(kB + 3540, "attach tcp/443"),
                                   at(kB + 4540, "attach tcp/443"), at(kB + 5540, "attach tcp/443"),
                                   at(kB + 6540, "close tcp/443"), at(kB + 6540, "attach " + u(s.alt[5])),
                                   at(kB + 6540, "attach " + u(s.alt[6])),
                                   at(kB + 6540, "attach " + u(s.p))});
}

TEST_CASE("TCP dark while active -> close it, search UDP with all ports", "[hop][path_manager]") {
    OnTcp s;
    Net& net = s.net;
    net.run_until_ms(kOnTcp + 3000);
    net.open_all_udp();
    net.tcp_blackhole = true;
    while (net.entries(Kind::close_tcp, kOnTcp).empty() && net.now_ms() < kOnTcp + 10'000) net.run_for(10ms);
    const auto closes = net.entries(Kind::close_tcp, kOnTcp);
    REQUIRE(closes.size() == 1);
    const long long dark = closes[0].ms;
    const Clock::time_point last_rx = net.last_rx_on_active;  // not yet moved by a switch
    net.run_until_ms(kOnTcp + 8000);
    CHECK(dark - (kOnTcp + 3000) < 3000);
    // p is still in backoff but a dark TCP path searches all ports: p first.
    const auto sw = net.entries(Kind::switch_path, kOnTcp + 1);
    REQUIRE(sw.size() == 1);
    CHECK(net.lines(dark, dark + 21) ==
          std::vector<std::string>{at(dark, "close tcp/443"), at(dark, "attach " + u(s.p)),
                                   at(dark, "attach " + u(s.alt[0])), at(dark, "attach " + u(s.alt[1])),
                                   at(dark + 20, "switch " + u(s.p) + ": " + sw[0].action.reason)});
    // Silence from the last thing received on TCP (the keepalive ack at +3020) to the verdict.
    CHECK(last_rx == net.at_ms(kOnTcp + 3020));
    CHECK(sw[0].action.reason ==
          "tcp/443 silent for " + silence(net.at_ms(dark) - last_rx) + " -> " + u(s.p));
    CHECK(sw[0].action.reason == "tcp/443 silent for 1.5 s -> " + u(s.p));
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
    net.run_until_ms(kOnTcp + 5000);  // dark at +4540, then UDP rounds
    net.tcp_blackhole = false;        // the new connection works
    net.run_until_ms(kOnTcp + 10'000);
    CHECK(net.lines(kOnTcp + 6540) ==
          std::vector<std::string>{at(kOnTcp + 6540, "connect tcp/443"), at(kOnTcp + 6560, "attach tcp/443"),
                                   at(kOnTcp + 6580, "switch tcp/443: tcp/443 silent for 1.5 s -> tcp/443"),
                                   at(kOnTcp + 7580, "attach tcp/443"), at(kOnTcp + 8580, "attach tcp/443"),
                                   at(kOnTcp + 9580, "attach tcp/443")});
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
    CHECK(net.lines(kOnTcp + 3000) ==
          std::vector<std::string>{at(kOnTcp + 3000, "attach tcp/443"), at(kOnTcp + 3000, "attach " + u(s.p)),
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
    for (long long ms = kB; ms < kB + 1520; ms += 100) {
        net.run_until_ms(ms);
        net.pm.on_ack(net.t, udp(s.alt[6]), 1ms);  // never attached
    }
    net.run_until_ms(kB + 1600);
    // The same verdict at the same time as without the chatter.
    const auto sw = net.entries(Kind::switch_path, kB);
    REQUIRE(sw.size() == 1);
    CHECK(sw[0].ms == kB + 1540);
    CHECK(sw[0].action.reason == u(s.p) + " silent for 1.5 s -> " + u(s.alt[0]));
}

TEST_CASE("rtt: from the switching ack, then from acks on the active path only", "[hop][path_manager]") {
    Started s;
    Net& net = s.net;
    CHECK(net.pm.status(net.t).rtt == 20ms);
    net.rtt = 35ms;
    net.run_until_ms(kB + 1100);  // keepalive at 10020, acked at 10055
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
