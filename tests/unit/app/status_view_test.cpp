// `porthop status`'s view: the endpoints' texts parsed, the diagnosis in words, rates between
// two readings, colour only when asked, and refusals of what is not a porthop endpoint.
#include "porthop/app/status_view.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "porthop/app/agent_status_text.hpp"
#include "porthop/app/metrics_text.hpp"
#include "porthop/relay/counters.hpp"

using namespace porthop;

namespace {

constexpr double kNow = 1796639300;  // 2026-12-07 ... UTC; the view shows clock times in UTC here

relay::AgentStatus on_udp() {
    relay::AgentStatus st;
    st.path = "udp/40017";
    st.rung = "udp";
    st.path_since = kNow - 125;
    st.rtt_ms = 23.45;
    st.hops = 4;
    st.to_server_packets = 1200;
    st.to_server_bytes = 1'500'000;
    st.from_server_packets = 1100;
    st.from_server_bytes = 2'500'000;
    st.session_id = 0xabc;
    st.local_client = "127.0.0.1:5555";
    st.recent_changes = {{kNow - 300, "udp/40001", "start -> udp/40001"},
                         {kNow - 125, "udp/40017", "scheduled hop udp/40001 -> udp/40017"}};
    return st;
}

relay::AgentStatus udp_blocked() {
    auto st = on_udp();
    st.path = "tcp/443";
    st.rung = "tls";
    st.udp_blocked_since = kNow - 60;  // 12:07 in kNow's day: checked below by its text
    st.port_silent = 1;
    st.udp_silent = 1;
    st.tcp_freeze = 3;
    st.last_freeze_bytes = 16'500;
    st.dark_ports = {40017};
    st.recoveries.add(std::chrono::seconds{4});
    st.dropped_no_path = 12;
    return st;
}

app::ClientReading read(const relay::AgentStatus& st) {
    std::string why;
    auto r = app::parse_client_status(app::to_json(st), why);
    INFO(why);
    REQUIRE(r);
    return *r;
}

app::ViewOptions view(bool colour = false) {
    app::ViewOptions o;
    o.now = kNow;
    o.colour = colour;
    return o;
}

}  // namespace

TEST_CASE("status: the client's JSON is read back field by field", "[app][status_view]") {
    const auto r = read(udp_blocked());
    CHECK(r.path == "tcp/443");
    CHECK(r.rung == "tls");
    CHECK(r.udp_blocked_since == Approx(kNow - 60));
    CHECK(r.rtt_ms == Approx(23.45));
    CHECK(r.hops == 4);
    CHECK(r.to_server_bytes == 1'500'000);
    CHECK(r.from_server_packets == 1100);
    CHECK(r.blocking.at("port_silent") == 1);
    CHECK(r.blocking.at("udp_silent") == 1);
    CHECK(r.blocking.at("tcp_freeze") == 3);
    CHECK(r.blocking.at("tls_failed") == 0);
    CHECK(r.last_freeze_bytes == 16'500);
    CHECK(r.recoveries == 1);
    CHECK(r.recovery_seconds_sum == Approx(4));
    CHECK(r.drops.at("dropped_no_path") == 12);
    CHECK(r.dark_ports == std::vector<std::uint16_t>{40017});
    REQUIRE(r.recent_changes.size() == 2);
    CHECK(r.recent_changes[1].reason == "scheduled hop udp/40001 -> udp/40017");
    CHECK(r.session == "0000000000000abc");
}

TEST_CASE("status: the diagnosis in words", "[app][status_view]") {
    CHECK(app::diagnosis(read(on_udp()), view()) == "on UDP 40017; no blocking seen");
    const auto blocked = app::diagnosis(read(udp_blocked()), view());
    CHECK_THAT(blocked, Catch::StartsWith("UDP blocked on this network since "));
    CHECK_THAT(blocked, Catch::Contains("; on TLS 443"));
    CHECK_THAT(blocked, Catch::Contains("TCP connections freeze (the last after 16.5 kB)"));
    auto some_dark = on_udp();
    some_dark.dark_ports = {40001, 40002};
    CHECK(app::diagnosis(read(some_dark), view()) == "on UDP 40017; 2 UDP ports are blocked");
    auto none = on_udp();
    none.path = "none";
    none.rung = "none";
    CHECK_THAT(app::diagnosis(read(none), view()), Catch::StartsWith("no path to the server"));
    auto tls_trouble = on_udp();
    tls_trouble.tls_failed = 5;
    CHECK(app::diagnosis(read(tls_trouble), view()) == "on UDP 40017; TLS handshakes failed 5 times");
}

TEST_CASE("status: the client's view", "[app][status_view]") {
    const auto text = app::render_client(read(udp_blocked()), nullptr, "http://127.0.0.1:9817/status", view());
    INFO(text);
    CHECK_THAT(text, Catch::StartsWith("porthop client (http://127.0.0.1:9817/status)\n"));
    CHECK_THAT(text, Catch::Contains("  path        tcp/443 in TLS since "));
    CHECK_THAT(text, Catch::Contains("(2m 05s)"));
    CHECK_THAT(text, Catch::Contains("  rtt         23.4 ms\n"));
    CHECK_THAT(text, Catch::Contains("  to server   1.5 MB in 1,200 datagrams\n"));
    CHECK_THAT(text, Catch::Contains("  blocking    UDP port went silent 1, all UDP silent 1, TCP froze 3; back on a "
                                     "path after 4 s on average (1 time)\n"));
    CHECK_THAT(text, Catch::Contains("  dark ports  udp 40017"));
    CHECK_THAT(text, Catch::Contains("  drops       no path 12\n"));
    // Newest first.
    CHECK(text.find("scheduled hop udp/40001 -> udp/40017") < text.find("start -> udp/40001"));
    CHECK(text.find('\x1b') == std::string::npos);  // no colour unless asked
    CHECK(text.find("B/s") == std::string::npos);   // no rates from one reading
    const auto coloured = app::render_client(read(udp_blocked()), nullptr, "x", view(true));
    CHECK_THAT(coloured, Catch::Contains("\x1b[33mtcp/443\x1b[0m"));  // yellow: a fallback
    CHECK_THAT(app::render_client(read(on_udp()), nullptr, "x", view(true)), Catch::Contains("\x1b[32mudp/40017"));
}

TEST_CASE("status: rates between two readings", "[app][status_view]") {
    const auto before = read(on_udp());
    auto later = on_udp();
    later.to_server_bytes += 2'000'000;
    auto o = view();
    o.interval = 2;
    const auto text = app::render_client(read(later), &before, "x", o);
    CHECK_THAT(text, Catch::Contains("3.5 MB in 1,200 datagrams, 1.0 MB/s"));
    CHECK_THAT(text, Catch::Contains("2.5 MB in 1,100 datagrams, 0 B/s"));
}

TEST_CASE("status: the server's metrics", "[app][status_view]") {
    relay::Counters counters;
    relay::Counters::add(counters.to_backend_bytes, 3'000'000);
    relay::Counters::add(counters.to_backend_packets, 3000);
    relay::Counters::add(counters.drop_session_limit, 7);
    relay::Counters::add(counters.agent_attaches, 12);
    relay::Counters::add(counters.agent_reject_stale_epoch, 2);
    relay::ServerSnapshot snap;
    snap.sessions = 3;
    snap.max_sessions = 100;
    snap.max_tcp_connections = 10;
    std::string why;
    const auto r = app::parse_server_metrics(app::render_metrics(snap, counters, {"9.9.9", kNow - 3725, 0, 0}), why);
    INFO(why);
    REQUIRE(r);
    CHECK(r->version == "9.9.9");
    CHECK(r->sum("porthop_sessions") == 3);  // not porthop_sessions_limit or _opened_total
    CHECK(r->sum("porthop_payload_bytes_total", "direction=\"to_backend\"") == 3'000'000);
    const auto text = app::render_server(*r, nullptr, "http://127.0.0.1:9816/metrics", view());
    INFO(text);
    CHECK_THAT(text, Catch::StartsWith("porthop server 9.9.9 (http://127.0.0.1:9816/metrics), up 1h 02m\n"));
    CHECK_THAT(text, Catch::Contains("  sessions    3 of 100, TCP connections 0 of 10"));
    CHECK_THAT(text, Catch::Contains("  to backend  3.0 MB in 3,000 datagrams\n"));
    CHECK_THAT(text, Catch::Contains("  attaches    accepted 12, stale_epoch 2\n"));
    CHECK_THAT(text, Catch::Contains("  drops       session_limit 7\n"));
    CHECK_THAT(text, Catch::Contains("  backend     no errors\n"));
}

TEST_CASE("status: what is not a porthop endpoint is refused", "[app][status_view]") {
    std::string why;
    CHECK_FALSE(app::parse_client_status("not json", why));
    CHECK_THAT(why, Catch::Contains("not JSON"));
    CHECK_FALSE(app::parse_client_status("[1,2]", why));
    CHECK_FALSE(app::parse_client_status("{\"name\":\"nginx\"}", why));
    CHECK_THAT(why, Catch::Contains("not a porthop client"));
    CHECK_FALSE(app::parse_server_metrics("", why));
    CHECK_FALSE(app::parse_server_metrics("# HELP go_goroutines x\ngo_goroutines 7\n", why));
    CHECK_THAT(why, Catch::Contains("porthop_sessions"));
}

TEST_CASE("status: sizes and durations for people", "[app][status_view]") {
    CHECK(app::human_bytes(0) == "0 B");
    CHECK(app::human_bytes(999) == "999 B");
    CHECK(app::human_bytes(1500) == "1.5 kB");
    CHECK(app::human_bytes(2.5e9) == "2.5 GB");
    CHECK(app::human_duration(42) == "42 s");
    CHECK(app::human_duration(125) == "2m 05s");
    CHECK(app::human_duration(3725) == "1h 02m");
    CHECK(app::human_duration(90000) == "1d 01h");
    CHECK(app::human_duration(-5) == "0 s");
}
