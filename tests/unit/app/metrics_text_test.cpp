// The Prometheus text: every family announced once with HELP and TYPE before its samples,
// names following the conventions, values as given, label values escaped. And the client's
// status line and /status JSON, which its counter list drives as it drives its /metrics.
#include "porthop/app/metrics_text.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "../../support/endpoints.hpp"
#include "porthop/app/agent_status_text.hpp"
#include "porthop/app/config.hpp"

using namespace porthop;

namespace {

relay::ServerSnapshot sample_snapshot() {
    relay::ServerSnapshot snap;
    snap.listeners.push_back({"udp", test::endpoint("127.0.0.1", 443), 2, 10, 1000, 9, 900});
    snap.listeners.push_back({"tcp", test::endpoint("::1", 40001), 1, 3, 30, 4, 40});
    snap.sessions = 3;
    snap.tcp_connections = 1;
    snap.max_sessions = 100;
    snap.max_tcp_connections = 10;
    return snap;
}

// An agent that has carried traffic and changed paths.
relay::AgentStatus sample_agent_status() {
    relay::AgentStatus st;
    st.path = "udp/40017";
    st.hops = 3;
    st.fallbacks = 1;
    st.climbs = 1;
    st.rtt_ms = 12.5;
    st.to_server_packets = 10;
    st.to_server_bytes = 1000;
    st.from_server_packets = 9;
    st.from_server_bytes = 900;
    st.dropped_no_path = 2;
    st.rejected_frames = 4;
    st.dark_ports = {443, 1194};
    return st;
}

// The same with every counter a different value, so a counter shown under another's name is
// caught, and with the fields only /status shows.
relay::AgentStatus distinct_agent_status() {
    auto st = sample_agent_status();
    st.climbs = 2;
    st.dropped_no_local = 5;
    st.dropped_send = 6;
    st.local_client = "127.0.0.1:5555";
    st.session_id = 0x1234abcd;
    st.mask = "full";
    st.port_silent = 7;
    st.udp_silent = 8;
    st.tcp_reset = 9;
    st.tcp_freeze = 10;
    st.tls_failed = 11;
    st.tcp_no_answer = 12;
    st.rung = "udp";
    st.path_since = 1796639200.5;
    st.last_freeze_bytes = 16384;
    st.recent_changes = {{1796639100.25, "tcp/443", "all UDP silent -> tcp/443"},
                         {1796639200.5, "udp/40017", "udp/40017 answers \"again\" -> back to udp"}};
    st.recoveries.add(std::chrono::milliseconds{700});
    st.recoveries.add(std::chrono::seconds{3});
    st.recoveries.add(std::chrono::seconds{500});
    return st;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

// Every family announced once with HELP and TYPE, before all of its samples; the names that
// were announced.
std::set<std::string> check_families(const std::string& text) {
    std::set<std::string> announced, finished;
    std::string current;
    bool histogram = false;
    const std::regex name_re("^porthop_[a-z0-9_]+$");
    for (const auto& line : lines_of(text)) {
        INFO(line);
        if (line.rfind("# HELP ", 0) == 0) {
            const auto name = line.substr(7, line.find(' ', 7) - 7);
            CHECK(std::regex_match(name, name_re));
            CHECK(announced.insert(name).second);  // never announced twice
            if (!current.empty()) finished.insert(current);
            current = name;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            const bool counter = line.find(" counter") != std::string::npos;
            histogram = line.find(" histogram") != std::string::npos;
            // Prometheus convention: counters end in _total, gauges do not.
            CHECK(counter == (line.find("_total ") != std::string::npos));
            continue;
        }
        auto name = line.substr(0, line.find_first_of("{ "));
        // A histogram's samples are its buckets, sum and count.
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (histogram && name == current + suffix) name = current;
        CHECK(name == current);  // samples only under their own family
        CHECK(finished.count(name) == 0);
    }
    return announced;
}

TEST_CASE("metrics: each family has HELP and TYPE once, before all of its samples", "[app][metrics]") {
    relay::Counters counters;
    const auto announced =
        check_families(app::render_metrics(sample_snapshot(), counters, {"1.2.3", 1000.5, 2, 1}));
    CHECK(announced.count("porthop_drops_total") == 1);
    CHECK(announced.count("porthop_listener_datagrams_total") == 1);
}

TEST_CASE("metrics: values and labels are rendered as given", "[app][metrics]") {
    relay::Counters counters;
    relay::Counters::add(counters.drop_session_limit, 7);
    relay::Counters::add(counters.to_backend_packets, 13);
    const auto text = app::render_metrics(sample_snapshot(), counters, {"1.2.3", 1000.5, 2, 1});
    const auto has = [&](const std::string& line) {
        INFO(line);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has("porthop_build_info{version=\"1.2.3\"} 1");
    has("porthop_start_time_seconds 1000.500");
    has("porthop_sessions 3");
    has("porthop_sessions_limit 100");
    has("porthop_tcp_connections 1");
    has("porthop_tcp_connections_limit 10");
    has("porthop_listener_sessions{proto=\"udp\",address=\"127.0.0.1\",port=\"443\"} 2");
    has("porthop_listener_datagrams_total{proto=\"udp\",address=\"127.0.0.1\",port=\"443\",direction=\"from_"
        "client\"} 10");
    has("porthop_listener_datagrams_total{proto=\"udp\",address=\"127.0.0.1\",port=\"443\",direction=\"to_"
        "client\"} 9");
    has("porthop_listener_payload_bytes_total{proto=\"udp\",address=\"127.0.0.1\",port=\"443\",direction="
        "\"from_client\"} 1000");
    has("porthop_listener_payload_bytes_total{proto=\"tcp\",address=\"::1\",port=\"40001\",direction=\"to_"
        "client\"} 40");
    has("porthop_drops_total{reason=\"session_limit\"} 7");
    has("porthop_drops_total{reason=\"empty\"} 0");
    has("porthop_datagrams_total{direction=\"to_backend\"} 13");
    has("porthop_reloads_total{result=\"applied\"} 2");
    has("porthop_reloads_total{result=\"rejected\"} 1");
}

TEST_CASE("client metrics: the agent's path, changes, rtt, traffic and drops", "[app][metrics]") {
    auto st = sample_agent_status();
    const auto text = app::render_client_metrics(st, {"1.2.3", 1000.5, 0, 0});
    const auto announced = check_families(text);
    CHECK(announced.count("porthop_client_path_changes_total") == 1);
    CHECK(announced.count("porthop_sessions") == 0);  // the server's families stay the server's
    const auto has = [&](const std::string& line) {
        INFO(line);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has("porthop_build_info{version=\"1.2.3\"} 1");
    has("porthop_client_path_info{path=\"udp/40017\"} 1");
    has("porthop_client_path_changes_total{kind=\"hop\"} 3");
    has("porthop_client_path_changes_total{kind=\"fallback\"} 1");
    has("porthop_client_path_changes_total{kind=\"climb\"} 1");
    has("porthop_client_rtt_seconds 0.013");  // three decimals: 12.5 ms
    has("porthop_client_dark_ports 2");
    has("porthop_client_datagrams_total{direction=\"to_server\"} 10");
    has("porthop_client_payload_bytes_total{direction=\"from_server\"} 900");
    has("porthop_client_drops_total{reason=\"no_path\"} 2");
    has("porthop_client_drops_total{reason=\"rejected_frame\"} 4");
    st.rtt_ms = -1;  // not measured yet
    CHECK(app::render_client_metrics(st, {}).find("porthop_client_rtt_seconds -1.000\n") !=
          std::string::npos);
}

TEST_CASE("client status: one JSON object and one log line", "[app][metrics]") {
    relay::AgentStatus st;
    st.path = "tcp/443";
    st.fallbacks = 1;
    st.rtt_ms = -1;
    st.dark_ports = {40017};
    st.session_id = 0xabc;
    const auto json = app::to_json(st);
    CHECK(json.find("\"path\":\"tcp/443\"") != std::string::npos);
    CHECK(json.find("\"rtt_ms\":null") != std::string::npos);
    CHECK(json.find("\"dark_ports\":[40017]") != std::string::npos);
    CHECK(json.find("\"session\":\"0000000000000abc\"") != std::string::npos);
    CHECK(json.find("\"mask\":\"light\"") != std::string::npos);  // until an ack asks for full
    CHECK(json.front() == '{');
    CHECK(json.back() == '\n');
    const auto line = app::describe(st);
    CHECK(line.find("path tcp/443, 0 hops, 1 fallbacks to tcp") == 0);
    CHECK(line.find("rtt not measured") != std::string::npos);
    CHECK(line.find("dark ports 40017") != std::string::npos);
}

// The texts as they were written by hand before the counter list drove them: scripts and
// dashboards read them, so the list must reproduce them byte for byte.
TEST_CASE("client status: the line and the JSON, exactly", "[app][metrics]") {
    const auto st = distinct_agent_status();
    CHECK(app::describe(st) ==
          "path udp/40017, 3 hops, 1 fallbacks to tcp, 2 back to udp, rtt 12.5 ms, to server 10 pkts/1000 B, "
          "from server 9 pkts/900 B, dark ports 443,1194");
    CHECK(app::to_json(st) ==
          "{\"path\":\"udp/40017\",\"hops\":3,\"fallbacks\":1,\"climbs\":2,\"tcp_rotations\":0,\"rtt_ms\":12.500,"
          "\"to_server_packets\":10,\"to_server_bytes\":1000,"
          "\"from_server_packets\":9,\"from_server_bytes\":900,"
          "\"dropped_no_path\":2,\"dropped_no_local\":5,\"dropped_send\":6,\"rejected_frames\":4,"
          "\"dark_ports\":[443,1194],\"local_client\":\"127.0.0.1:5555\","
          "\"session\":\"000000001234abcd\",\"mask\":\"full\",\"rung\":\"udp\",\"path_since\":1796639200.500,"
          "\"udp_blocked_since\":0.000,\"port_silent\":7,\"udp_silent\":8,\"tcp_reset\":9,\"tcp_freeze\":10,"
          "\"tls_failed\":11,\"tcp_no_answer\":12,\"last_freeze_bytes\":16384,\"recoveries\":3,\"recovery_seconds_sum\":503.700,"
          "\"recent_changes\":[{\"at\":1796639100.250,\"path\":\"tcp/443\",\"reason\":\"all UDP silent -> tcp/443\"},"
          "{\"at\":1796639200.500,\"path\":\"udp/40017\",\"reason\":\"udp/40017 answers \\\"again\\\" -> back to "
          "udp\"}]}\n");
    relay::AgentStatus idle;
    idle.path = "none";
    CHECK(app::describe(idle) ==
          "path none, 0 hops, 0 fallbacks to tcp, 0 back to udp, rtt not measured, to server 0 pkts/0 B, "
          "from server 0 pkts/0 B, dark ports none");
}

TEST_CASE("client metrics: the agent's families, exactly", "[app][metrics]") {
    const auto text = app::render_client_metrics(distinct_agent_status(), {"1.2.3", 1000.5, 0, 0});
    const auto agent = text.substr(text.find("# HELP porthop_client_path_info"));
    CHECK(agent ==
          "# HELP porthop_client_path_info Always 1; the path label is the path in use (none, udp/PORT, "
          "tcp/PORT).\n"
          "# TYPE porthop_client_path_info gauge\n"
          "porthop_client_path_info{path=\"udp/40017\"} 1\n"
          "# HELP porthop_client_path_changes_total Path changes: hop = UDP port to UDP port, fallback = UDP "
          "to TCP, climb = TCP back to UDP, tcp_rotation = a new TCP connection for the TCP path.\n"
          "# TYPE porthop_client_path_changes_total counter\n"
          "porthop_client_path_changes_total{kind=\"hop\"} 3\n"
          "porthop_client_path_changes_total{kind=\"fallback\"} 1\n"
          "porthop_client_path_changes_total{kind=\"climb\"} 2\n"
          "porthop_client_path_changes_total{kind=\"tcp_rotation\"} 0\n"
          "# HELP porthop_client_rtt_seconds Round trip of the last answered probe on the path in use (-1: "
          "not measured yet).\n"
          "# TYPE porthop_client_rtt_seconds gauge\n"
          "porthop_client_rtt_seconds 0.013\n"
          "# HELP porthop_client_dark_ports UDP ports that went dark and are not retried yet.\n"
          "# TYPE porthop_client_dark_ports gauge\n"
          "porthop_client_dark_ports 2\n"
          "# HELP porthop_client_rung The rung in use: 0 no path, 1 UDP, 2 TCP, 3 TLS.\n"
          "# TYPE porthop_client_rung gauge\n"
          "porthop_client_rung 1\n"
          "# HELP porthop_client_udp_blocked_since_seconds Since when no UDP port answers, in seconds since the "
          "Unix epoch (0: UDP works).\n"
          "# TYPE porthop_client_udp_blocked_since_seconds gauge\n"
          "porthop_client_udp_blocked_since_seconds 0.000\n"
          "# HELP porthop_client_blocking_events_total What looked like blocking: port_silent = a UDP port went "
          "dark, udp_silent = no UDP port answered, tcp_reset = a TCP connection refused, reset or unreachable, "
          "tcp_freeze = a TCP connection stopped bringing data, tls_failed = a TLS handshake failed, "
          "tcp_no_answer = a TCP connection not up or not answered in time.\n"
          "# TYPE porthop_client_blocking_events_total counter\n"
          "porthop_client_blocking_events_total{kind=\"port_silent\"} 7\n"
          "porthop_client_blocking_events_total{kind=\"udp_silent\"} 8\n"
          "porthop_client_blocking_events_total{kind=\"tcp_reset\"} 9\n"
          "porthop_client_blocking_events_total{kind=\"tcp_freeze\"} 10\n"
          "porthop_client_blocking_events_total{kind=\"tls_failed\"} 11\n"
          "porthop_client_blocking_events_total{kind=\"tcp_no_answer\"} 12\n"
          "# HELP porthop_client_recovery_seconds Time without a path each time the agent lost one: from the "
          "last thing the lost path brought (or its close) to the switch to the next.\n"
          "# TYPE porthop_client_recovery_seconds histogram\n"
          "porthop_client_recovery_seconds_bucket{le=\"0.5\"} 0\n"
          "porthop_client_recovery_seconds_bucket{le=\"1\"} 1\n"
          "porthop_client_recovery_seconds_bucket{le=\"2\"} 1\n"
          "porthop_client_recovery_seconds_bucket{le=\"5\"} 2\n"
          "porthop_client_recovery_seconds_bucket{le=\"10\"} 2\n"
          "porthop_client_recovery_seconds_bucket{le=\"30\"} 2\n"
          "porthop_client_recovery_seconds_bucket{le=\"60\"} 2\n"
          "porthop_client_recovery_seconds_bucket{le=\"120\"} 2\n"
          "porthop_client_recovery_seconds_bucket{le=\"+Inf\"} 3\n"
          "porthop_client_recovery_seconds_sum 503.700\n"
          "porthop_client_recovery_seconds_count 3\n"
          "# HELP porthop_client_datagrams_total Datagrams carried, by direction.\n"
          "# TYPE porthop_client_datagrams_total counter\n"
          "porthop_client_datagrams_total{direction=\"to_server\"} 10\n"
          "porthop_client_datagrams_total{direction=\"from_server\"} 9\n"
          "# HELP porthop_client_payload_bytes_total Datagram payload bytes carried, by direction.\n"
          "# TYPE porthop_client_payload_bytes_total counter\n"
          "porthop_client_payload_bytes_total{direction=\"to_server\"} 1000\n"
          "porthop_client_payload_bytes_total{direction=\"from_server\"} 900\n"
          "# HELP porthop_client_drops_total Datagrams dropped or frames refused, by reason.\n"
          "# TYPE porthop_client_drops_total counter\n"
          "porthop_client_drops_total{reason=\"no_path\"} 2\n"
          "porthop_client_drops_total{reason=\"no_local_client\"} 5\n"
          "porthop_client_drops_total{reason=\"send_failed\"} 6\n"
          "porthop_client_drops_total{reason=\"rejected_frame\"} 4\n");
}

TEST_CASE("client status: every listed counter is in the JSON and in /metrics", "[app][metrics]") {
    const auto st = distinct_agent_status();
    const auto json = app::to_json(st);
    const auto metrics = app::render_client_metrics(st, {});
    std::size_t counters = 0;
    st.for_each_counter([&](const relay::AgentStatus::Counter& c) {
        INFO(c.name);
        ++counters;
        CHECK(json.find(",\"" + std::string(c.name) + "\":" + std::to_string(c.value) + ",") !=
              std::string::npos);
        CHECK(metrics.find(std::string(c.family) + "{" + std::string(c.label) + "} " +
                           std::to_string(c.value) + "\n") != std::string::npos);
        CHECK(metrics.find("# TYPE " + std::string(c.family) + " counter\n") != std::string::npos);
    });
    CHECK(counters >= 11);  // the list as it stands; it may grow
}

TEST_CASE("metrics: label values are escaped", "[app][metrics]") {
    CHECK(app::escape_label_value("plain") == "plain");
    CHECK(app::escape_label_value("a\"b") == "a\\\"b");
    CHECK(app::escape_label_value("a\\b") == "a\\\\b");
    CHECK(app::escape_label_value("a\nb") == "a\\nb");
    relay::Counters counters;
    const auto text = app::render_metrics({}, counters, {"x\"y", 0, 0, 0});
    CHECK(text.find("porthop_build_info{version=\"x\\\"y\"} 1\n") != std::string::npos);
}

TEST_CASE("config: [metrics] listen", "[app][config][metrics]") {
    const auto parse = [](const std::string& text) { return app::parse_config(text, "m.toml"); };
    CHECK(parse("").config.metrics.enabled);
    CHECK(parse("").config.metrics.listen == app::HostPort{"127.0.0.1", 9816});
    auto off = parse("[metrics]\nlisten = \"\"\n");
    REQUIRE(off.ok());
    CHECK_FALSE(off.config.metrics.enabled);
    CHECK(app::to_toml(off.config).find("[metrics]\nlisten = \"\"\n") != std::string::npos);
    CHECK_FALSE(parse(app::to_toml(off.config)).config.metrics.enabled);  // round trip
    auto v6 = parse("[metrics]\nlisten = \"[::1]:9100\"\n");
    REQUIRE(v6.ok());
    CHECK(v6.config.metrics.listen == app::HostPort{"::1", 9100});

    const auto error_of = [&](const std::string& text) {
        const auto r = parse(text);
        REQUIRE(r.errors.size() == 1);
        return r.errors[0].to_string();
    };
    CHECK(error_of("[metrics]\nlisten = \"localhost:9816\"\n") ==
          "m.toml:2:10: metrics.listen: 'localhost' is not an IP address (\"\" disables metrics)");
    CHECK(error_of("[metrics]\nlisten = \"127.0.0.1\"\n") ==
          "m.toml:2:10: metrics.listen: '127.0.0.1' is not host:port (write IPv6 as [addr]:port)");
    CHECK(error_of("[metrics]\nlisten = 9816\n") ==
          "m.toml:2:10: metrics.listen: expected a string, got an integer");
    CHECK(error_of("[metrics]\nport = 1\n") == "m.toml:2:8: metrics.port: unknown key (known: listen)");
    CHECK(error_of("metrics = 1\n") == "m.toml:1:11: metrics: expected a [metrics] table");
}
