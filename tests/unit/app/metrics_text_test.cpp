// The Prometheus text: every family announced once with HELP and TYPE before its samples,
// names following the conventions, values as given, label values escaped.
#include "porthop/app/metrics_text.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "../../support/endpoints.hpp"
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
            // Prometheus convention: counters end in _total, gauges do not.
            CHECK(counter == (line.find("_total ") != std::string::npos));
            continue;
        }
        const auto name = line.substr(0, line.find_first_of("{ "));
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
    const auto json = relay::to_json(st);
    CHECK(json.find("\"path\":\"tcp/443\"") != std::string::npos);
    CHECK(json.find("\"rtt_ms\":null") != std::string::npos);
    CHECK(json.find("\"dark_ports\":[40017]") != std::string::npos);
    CHECK(json.find("\"session\":\"0000000000000abc\"") != std::string::npos);
    CHECK(json.front() == '{');
    CHECK(json.back() == '\n');
    const auto line = relay::describe(st);
    CHECK(line.find("path tcp/443, 0 hops, 1 fallbacks to tcp") == 0);
    CHECK(line.find("rtt not measured") != std::string::npos);
    CHECK(line.find("dark ports 40017") != std::string::npos);
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
