// parse_config / to_toml / load_config_file / ConfigError::to_string.
#include "porthop/app/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace porthop::app;
using namespace std::chrono_literals;

namespace {

const char* const kFile = "test.toml";

ConfigResult parse(const std::string& text) { return parse_config(text, kFile); }

// Every field except `source` (which names where the values came from).
void check_same_values(const Config& a, const Config& b) {
    CHECK(a.server.listen == b.server.listen);
    CHECK(a.server.udp == b.server.udp);
    CHECK(a.server.tcp == b.server.tcp);
    CHECK(a.server.backend == b.server.backend);
    CHECK(a.server.idle_timeout == b.server.idle_timeout);
    CHECK(a.server.max_sessions == b.server.max_sessions);
    CHECK(a.server.max_tcp_connections == b.server.max_tcp_connections);
    CHECK(a.server.max_datagram == b.server.max_datagram);
    CHECK(a.log_level == b.log_level);
}

std::string dump(const std::vector<ConfigError>& errors) {
    std::string out;
    for (const auto& e : errors) out += e.to_string() + "\n";
    return out;
}

// The single error of `text`, which must have exactly one.
ConfigError only_error(const std::string& text) {
    const auto result = parse(text);
    INFO(text);
    INFO(dump(result.errors));
    REQUIRE(result.errors.size() == 1);
    return result.errors[0];
}

void check_error(const ConfigError& e, std::uint32_t line, std::uint32_t column, const std::string& key,
                 const std::string& message) {
    CHECK(e.file == kFile);
    CHECK(e.line == line);
    CHECK(e.column == column);
    CHECK(e.key == key);
    CHECK(e.message == message);
}

}  // namespace

TEST_CASE("config: empty text gives the built-in defaults", "[app][config]") {
    for (const std::string text : {"", "\n\n", "# only a comment\n", "[server]\n", "[server]\n[log]\n"}) {
        INFO("'" << text << "'");
        const auto result = parse(text);
        REQUIRE(result.ok());
        CHECK(result.warnings.empty());
        CHECK(result.config.source == kFile);
        check_same_values(result.config, Config{});
    }
}

TEST_CASE("config: the documented defaults", "[app][config]") {
    const Config c;
    CHECK(c.source == "(built-in defaults)");
    CHECK(c.server.listen == std::vector<std::string>{"0.0.0.0", "::"});
    CHECK(c.server.udp == std::vector<PortRange>{{443, 443}, {1194, 1194}, {40000, 40099}});
    CHECK(c.server.tcp == std::vector<PortRange>{{443, 443}});
    CHECK(c.server.backend == HostPort{"127.0.0.1", 51820});
    CHECK(c.server.idle_timeout == 3min);
    CHECK(c.server.max_sessions == 16384);
    CHECK(c.server.max_tcp_connections == 1024);
    CHECK(c.server.max_datagram == 65535);
    CHECK(c.log_level == LogLevel::info);
}

TEST_CASE("config: a file with every key", "[app][config]") {
    const auto result = parse(R"(# every key, none at its default
[server]
listen = ["192.0.2.1", "2001:db8::1"]
udp = ["51820", "60000-60009", 53]
tcp = ["8443", "9000-9001"]
backend = "[2001:db8::2]:1194"
idle_timeout = "2m30s"
max_sessions = 100
max_tcp_connections = 50
max_datagram = 1500

[log]
level = "debug"
)");
    INFO(dump(result.errors));
    REQUIRE(result.ok());
    CHECK(result.warnings.empty());
    const auto& s = result.config.server;
    CHECK(s.listen == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    CHECK(s.udp == std::vector<PortRange>{{51820, 51820}, {60000, 60009}, {53, 53}});
    CHECK(s.tcp == std::vector<PortRange>{{8443, 8443}, {9000, 9001}});
    CHECK(s.backend == HostPort{"2001:db8::2", 1194});
    CHECK(s.idle_timeout == 150s);
    CHECK(s.max_sessions == 100);
    CHECK(s.max_tcp_connections == 50);
    CHECK(s.max_datagram == 1500);
    CHECK(result.config.log_level == LogLevel::debug);
}

TEST_CASE("config: TOML syntax errors name line and column", "[app][config]") {
    struct Row {
        const char* text;
        std::uint32_t line, column;
    };
    const Row rows[] = {
        {"[server]\nmax_sessions = = 3\n", 2, 16},
        {"[server]\nudp = []\nudp = []\n", 3, 7},  // a key defined twice
        {"[server\n", 1, 8},
    };
    for (const auto& row : rows) {
        const auto e = only_error(row.text);
        CHECK(e.file == kFile);
        CHECK(e.line == row.line);
        CHECK(e.column == row.column);
        CHECK(e.key.empty());
        CHECK(e.message.rfind("TOML syntax: ", 0) == 0);
        CHECK(e.message.size() > std::string("TOML syntax: ").size());
    }
}

TEST_CASE("config: unknown sections and misplaced tables", "[app][config]") {
    check_error(only_error("[client]\nserver = \"x\"\n"), 1, 1, "client",
                "unknown section (known: [server], [metrics], [log])");
    check_error(only_error("\nfoo = 1\n"), 2, 7, "foo",
                "unknown section (known: [server], [metrics], [log])");
    check_error(only_error("server = 5\n"), 1, 10, "server", "expected a [server] table");
    check_error(only_error("log = \"debug\"\n"), 1, 7, "log", "expected a [log] table");
}

TEST_CASE("config: unknown keys in [server] and [log]", "[app][config]") {
    check_error(only_error("[server]\nport = 443\n"), 2, 8, "server.port",
                "unknown key (known: listen, udp, tcp, backend, idle_timeout, max_sessions, "
                "max_tcp_connections, max_datagram)");
    // A sub-table is an unknown key too.
    check_error(only_error("[server.extra]\na = 1\n"), 1, 1, "server.extra",
                "unknown key (known: listen, udp, tcp, backend, idle_timeout, max_sessions, "
                "max_tcp_connections, max_datagram)");
    check_error(only_error("[log]\nlevel = \"info\"\nformat = \"json\"\n"), 3, 10, "log.format",
                "unknown key (known: level)");
}

TEST_CASE("config: wrong value types", "[app][config]") {
    struct Row {
        const char* line;  // the second line of "[server]\n<line>\n"
        std::uint32_t column;
        const char* key;
        const char* message;
    };
    const Row rows[] = {
        {"listen = 5", 10, "server.listen", "expected a list of strings, got an integer"},
        {"listen = true", 10, "server.listen", "expected a list of strings, got a boolean"},
        {"listen = [true]", 11, "server.listen[0]", "expected a string, got a boolean"},
        {"listen = [\"::\", 1.5]", 17, "server.listen[1]", "expected a string, got a number"},
        {"udp = 443", 7, "server.udp", "expected a list of strings, got an integer"},
        {"udp = 4.5", 7, "server.udp", "expected a list of strings, got a number"},
        {"udp = [[443]]", 8, "server.udp[0]", "expected a string, got a list"},
        {"udp = [\"443\", {p = 1}]", 15, "server.udp[1]", "expected a string, got a table"},
        {"tcp = {a = 1}", 7, "server.tcp", "expected a list of strings, got a table"},
        {"tcp = 1979-05-27", 7, "server.tcp", "expected a list of strings, got a date/time"},
        {"backend = 51820", 11, "server.backend", "expected a string, got an integer"},
        {"backend = [\"1.2.3.4:5\"]", 11, "server.backend", "expected a string, got a list"},
        {"idle_timeout = 180", 16, "server.idle_timeout", "expected a string, got an integer"},
        {"idle_timeout = 1979-05-27", 16, "server.idle_timeout", "expected a string, got a date/time"},
        {"idle_timeout = false", 16, "server.idle_timeout", "expected a string, got a boolean"},
        {"max_sessions = \"10\"", 16, "server.max_sessions", "expected an integer, got a string"},
        {"max_sessions = 10.0", 16, "server.max_sessions", "expected an integer, got a number"},
        {"max_tcp_connections = true", 23, "server.max_tcp_connections",
         "expected an integer, got a boolean"},
        {"max_datagram = [1500]", 16, "server.max_datagram", "expected an integer, got a list"},
    };
    for (const auto& row : rows) {
        check_error(only_error(std::string("[server]\n") + row.line + "\n"), 2, row.column, row.key,
                    row.message);
    }
    check_error(only_error("[log]\nlevel = 1\n"), 2, 9, "log.level", "expected a string, got an integer");
    check_error(only_error("[log]\nlevel = [\"info\"]\n"), 2, 9, "log.level",
                "expected a string, got a list");
}

TEST_CASE("config: a wrong-typed value keeps the default", "[app][config]") {
    const auto result = parse("[server]\nmax_sessions = \"10\"\n");
    REQUIRE(result.errors.size() == 1);
    CHECK(result.config.server.max_sessions == ServerConfig{}.max_sessions);
}

TEST_CASE("config: listen", "[app][config]") {
    SECTION("a single string where a list is expected") {
        const auto result = parse("[server]\nlisten = \"::\"\n");
        REQUIRE(result.ok());
        CHECK(result.config.server.listen == std::vector<std::string>{"::"});
    }
    SECTION("one list entry") {
        const auto result = parse("[server]\nlisten = [\"127.0.0.1\"]\n");
        REQUIRE(result.ok());
        CHECK(result.config.server.listen == std::vector<std::string>{"127.0.0.1"});
    }
    SECTION("bad addresses are named by index") {
        const auto result = parse("[server]\nlisten = [\"0.0.0.0\", \"not-an-ip\", \"::\", \"1.2.3\"]\n");
        INFO(dump(result.errors));
        REQUIRE(result.errors.size() == 2);
        check_error(result.errors[0], 2, 22, "server.listen[1]",
                    "'not-an-ip' is not an IP address (use 0.0.0.0 or :: for all)");
        check_error(result.errors[1], 2, 41, "server.listen[3]",
                    "'1.2.3' is not an IP address (use 0.0.0.0 or :: for all)");
    }
    SECTION("an integer is no address") {
        check_error(only_error("[server]\nlisten = [5]\n"), 2, 11, "server.listen[0]",
                    "'5' is not an IP address (use 0.0.0.0 or :: for all)");
    }
    SECTION("a single bad string") {
        check_error(only_error("[server]\nlisten = \"localhost\"\n"), 2, 10, "server.listen[0]",
                    "'localhost' is not an IP address (use 0.0.0.0 or :: for all)");
    }
    SECTION("an empty list") {
        check_error(only_error("[server]\nlisten = []\n"), 2, 10, "server.listen",
                    "must name at least one address");
    }
}

TEST_CASE("config: the same listen address twice", "[app][config]") {
    // BUG: listen = ["127.0.0.1", "127.0.0.1"] passes check-config, but `porthop server` then
    // fails to bind the second socket and reports "Address already in use (another program, or
    // another porthop, uses it)" about itself. Either reject the duplicate or drop it.
    const auto result = parse("[server]\nlisten = [\"127.0.0.1\", \"127.0.0.1\"]\n");
    if (result.ok()) {
        CHECK(result.config.server.listen == std::vector<std::string>{"127.0.0.1"});
    } else {
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].key == "server.listen[1]");
    }
}

TEST_CASE("config: udp and tcp port lists", "[app][config]") {
    SECTION("integer entries") {
        const auto result = parse("[server]\nudp = [443, 1194]\ntcp = [8443]\n");
        REQUIRE(result.ok());
        CHECK(result.config.server.udp == std::vector<PortRange>{{443, 443}, {1194, 1194}});
        CHECK(result.config.server.tcp == std::vector<PortRange>{{8443, 8443}});
    }
    SECTION("a single string") {
        const auto result = parse("[server]\nudp = \"40000-40099\"\n");
        REQUIRE(result.ok());
        CHECK(result.config.server.udp == std::vector<PortRange>{{40000, 40099}});
    }
    SECTION("one empty list is fine") {
        const auto udp_only = parse("[server]\ntcp = []\n");
        REQUIRE(udp_only.ok());
        CHECK(udp_only.config.server.tcp.empty());
        CHECK(udp_only.config.server.udp == ServerConfig{}.udp);
        const auto tcp_only = parse("[server]\nudp = []\n");
        REQUIRE(tcp_only.ok());
        CHECK(tcp_only.config.server.udp.empty());
    }
    SECTION("bad entries are named by index, each one") {
        const auto result = parse(
            "[server]\nudp = [\"443\", \"0\", \"1-\", \"40000-40099\", 70000]\n"
            "tcp = [\"x\"]\n");
        INFO(dump(result.errors));
        REQUIRE(result.errors.size() == 4);
        check_error(result.errors[0], 3, 8, "server.tcp[0]", "'x' is not a port number");
        check_error(result.errors[1], 2, 15, "server.udp[1]", "port 0 is out of range (1-65535)");
        check_error(result.errors[2], 2, 20, "server.udp[2]", "'' is not a port number");
        check_error(result.errors[3], 2, 41, "server.udp[4]", "port 70000 is out of range (1-65535)");
    }
    SECTION("backwards range") {
        check_error(only_error("[server]\ntcp = [\"500-400\"]\n"), 2, 8, "server.tcp[0]",
                    "range '500-400' runs backwards");
    }
    SECTION("a negative integer entry is an error") {
        const auto e = only_error("[server]\nudp = [-1]\n");
        CHECK(e.key == "server.udp[0]");
        CHECK(e.line == 2);
        CHECK(e.column == 8);
        CHECK_FALSE(e.message.empty());
    }
}

TEST_CASE("config: udp and tcp both empty", "[app][config]") {
    const auto e = only_error("[server]\nudp = []\ntcp = []\n");
    CHECK(e.file == kFile);
    CHECK(e.line == 0);
    CHECK(e.column == 0);
    CHECK(e.key == "server");
    CHECK(e.message == "udp and tcp are both empty: nothing to listen on");
    CHECK(e.to_string() == "test.toml: server: udp and tcp are both empty: nothing to listen on");

    // When the lists are empty because their entries were wrong, only those entries are reported.
    check_error(only_error("[server]\nudp = [\"0\"]\ntcp = []\n"), 2, 8, "server.udp[0]",
                "port 0 is out of range (1-65535)");
}

TEST_CASE("config: backend", "[app][config]") {
    SECTION("accepted forms") {
        struct Row {
            const char* text;
            const char* host;
            std::uint16_t port;
        };
        const Row rows[] = {
            {"10.0.0.1:51820", "10.0.0.1", 51820},           {"[::1]:1195", "::1", 1195},
            {"[2001:db8::7]:65535", "2001:db8::7", 65535},   {"wireguard:1", "wireguard", 1},
            {"vpn.example.net:443", "vpn.example.net", 443}, {"[fe80::1%eth0]:5", "fe80::1%eth0", 5},
        };
        for (const auto& row : rows) {
            INFO(row.text);
            const auto result = parse(std::string("[server]\nbackend = \"") + row.text + "\"\n");
            INFO(dump(result.errors));
            REQUIRE(result.ok());
            CHECK(result.config.server.backend == HostPort{row.host, row.port});
        }
    }
    SECTION("rejected forms") {
        struct Row {
            const char* text;
            const char* message;
        };
        const Row rows[] = {
            {"1.2.3.4", "'1.2.3.4' is not host:port (write IPv6 as [addr]:port)"},
            {"", "'' is not host:port (write IPv6 as [addr]:port)"},
            {"::1:80", "'::1:80' is not host:port (write IPv6 as [addr]:port)"},
            {"1.2.3.4:0", "port 0 is out of range (1-65535)"},
            {"1.2.3.4:65536", "port 65536 is out of range (1-65535)"},
            {"host:", "'' is not a port number"},
            {"host:x", "'x' is not a port number"},
            {"host: 80", "' 80' is not a port number"},
            {"host:1-2", "'1-2' is not a single port"},
            {":80", "':80' has no host"},
            {"[::1", "'[::1' is not [ipv6]:port"},
            {"[::1]", "'[::1]' is not [ipv6]:port"},
            {"[::1]80", "'[::1]80' is not [ipv6]:port"},
            {"[::1]:", "'' is not a port number"},
            {"[]:80", "'[]:80' has no host"},
        };
        for (const auto& row : rows) {
            INFO(row.text);
            check_error(only_error(std::string("[server]\nbackend = \"") + row.text + "\"\n"), 2, 11,
                        "server.backend", row.message);
        }
    }
}

TEST_CASE("config: idle_timeout range and warnings", "[app][config]") {
    struct Row {
        const char* text;
        bool ok;
        std::chrono::milliseconds value;  // when ok
        bool warns;
    };
    const Row rows[] = {
        {"1s", true, 1s, true},      {"25s", true, 25s, true},  {"25s1ms", true, 25001ms, false},
        {"26s", true, 26s, false},   {"3m", true, 3min, false}, {"24h", true, 24h, false},
        {"999ms", false, {}, false}, {"0s", false, {}, false},  {"24h1ms", false, {}, false},
        {"25h", false, {}, false},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        const auto result = parse(std::string("[server]\nidle_timeout = \"") + row.text + "\"\n");
        if (row.ok) {
            INFO(dump(result.errors));
            REQUIRE(result.ok());
            CHECK(result.config.server.idle_timeout == row.value);
            if (row.warns) {
                REQUIRE(result.warnings.size() == 1);
                check_error(result.warnings[0], 2, 16, "server.idle_timeout",
                            "shorter than WireGuard's 25 s keepalive: quiet tunnels will lose their session "
                            "and the backend sees a new port");
            } else {
                CHECK(result.warnings.empty());
            }
        } else {
            REQUIRE(result.errors.size() == 1);
            check_error(result.errors[0], 2, 16, "server.idle_timeout", "must be between 1s and 24h");
            CHECK(result.warnings.empty());
        }
    }
}

TEST_CASE("config: idle_timeout that is not a duration", "[app][config]") {
    for (const std::string text : {"", "3", "3 m", "three minutes", "-3m", "1.5m"}) {
        INFO("'" << text << "'");
        const auto e = only_error("[server]\nidle_timeout = \"" + text + "\"\n");
        CHECK(e.line == 2);
        CHECK(e.column == 16);
        CHECK(e.key == "server.idle_timeout");
        CHECK(e.message.rfind("'" + text + "' is not a duration (", 0) == 0);
    }
}

TEST_CASE("config: integer limits at their bounds", "[app][config]") {
    struct Row {
        const char* key;
        std::int64_t min, max;
        std::uint32_t ServerConfig::*field;
    };
    const Row rows[] = {
        {"max_sessions", 1, 1'000'000, &ServerConfig::max_sessions},
        {"max_tcp_connections", 1, 100'000, &ServerConfig::max_tcp_connections},
        {"max_datagram", 576, 65535, &ServerConfig::max_datagram},
    };
    for (const auto& row : rows) {
        const std::string range =
            " is out of range (" + std::to_string(row.min) + "-" + std::to_string(row.max) + ")";
        const auto text = [&](std::int64_t v) {
            return "[server]\n" + std::string(row.key) + " = " + std::to_string(v) + "\n";
        };
        const std::uint32_t column = static_cast<std::uint32_t>(std::string(row.key).size()) + 4;
        for (std::int64_t good : {row.min, row.max}) {
            INFO(row.key << " = " << good);
            const auto result = parse(text(good));
            REQUIRE(result.ok());
            CHECK(result.config.server.*row.field == good);
        }
        for (std::int64_t bad : {row.min - 1, row.max + 1, std::int64_t{-1}, std::int64_t{5'000'000'000}}) {
            INFO(row.key << " = " << bad);
            check_error(only_error(text(bad)), 2, column, std::string("server.") + row.key,
                        std::to_string(bad) + range);
        }
    }
}

TEST_CASE("config: log level", "[app][config]") {
    struct Row {
        const char* text;
        LogLevel level;
    };
    const Row rows[] = {{"debug", LogLevel::debug},
                        {"info", LogLevel::info},
                        {"warn", LogLevel::warn},
                        {"error", LogLevel::error}};
    for (const auto& row : rows) {
        const auto result = parse(std::string("[log]\nlevel = \"") + row.text + "\"\n");
        REQUIRE(result.ok());
        CHECK(result.config.log_level == row.level);
    }
    for (const std::string bad : {"verbose", "INFO", "warning", ""}) {
        check_error(only_error("[log]\nlevel = \"" + bad + "\"\n"), 2, 9, "log.level",
                    "'" + bad + "' is not one of debug, info, warn, error");
    }
}

TEST_CASE("config: every error is reported, not just the first", "[app][config]") {
    const auto result = parse(R"([server]
listen = ["nope"]
udp = ["0", "443"]
backend = "1.2.3.4"
idle_timeout = "soon"
max_sessions = 0
colour = "blue"
[log]
level = "loud"
[extra]
)");
    // The tables are walked in key order; every problem is there with its place.
    std::vector<std::string> got;
    for (const auto& e : result.errors) got.push_back(e.to_string());
    const std::vector<std::string> expected{
        "test.toml:4:11: server.backend: '1.2.3.4' is not host:port (write IPv6 as [addr]:port)",
        "test.toml:7:10: server.colour: unknown key (known: listen, udp, tcp, backend, idle_timeout, "
        "max_sessions, max_tcp_connections, max_datagram)",
        "test.toml:5:16: server.idle_timeout: 'soon' is not a duration (expected a number; use e.g. \"90s\", "
        "\"3m\", \"250ms\", \"1h30m\")",
        "test.toml:2:11: server.listen[0]: 'nope' is not an IP address (use 0.0.0.0 or :: for all)",
        "test.toml:6:16: server.max_sessions: 0 is out of range (1-1000000)",
        "test.toml:3:8: server.udp[0]: port 0 is out of range (1-65535)",
        "test.toml:9:9: log.level: 'loud' is not one of debug, info, warn, error",
        "test.toml:10:1: extra: unknown section (known: [server], [metrics], [log])",
    };
    std::sort(got.begin(), got.end());
    auto sorted = expected;
    std::sort(sorted.begin(), sorted.end());
    CHECK(got == sorted);
    CHECK_FALSE(result.ok());
}

TEST_CASE("ConfigError::to_string", "[app][config]") {
    CHECK(ConfigError{"conf/server.toml", 12, 7, "server.udp[2]", "bad port"}.to_string() ==
          "conf/server.toml:12:7: server.udp[2]: bad port");
    CHECK(ConfigError{"f.toml", 0, 0, "server", "no ports"}.to_string() == "f.toml: server: no ports");
    CHECK(ConfigError{"f.toml", 3, 1, "", "TOML syntax: x"}.to_string() == "f.toml:3:1: TOML syntax: x");
    CHECK(ConfigError{"f.toml", 0, 0, "", "cannot open: x"}.to_string() == "f.toml: cannot open: x");
    // From a real parse.
    CHECK(only_error("[server]\nudp = [\"443\", \"x\"]\n").to_string() ==
          "test.toml:2:15: server.udp[1]: 'x' is not a port number");
}

TEST_CASE("to_toml: the defaults, exactly", "[app][config]") {
    CHECK(to_toml(Config{}) ==
          "# effective configuration, from (built-in defaults)\n"
          "[server]\n"
          "listen = [\"0.0.0.0\", \"::\"]\n"
          "udp = [\"443\", \"1194\", \"40000-40099\"]\n"
          "tcp = [\"443\"]\n"
          "backend = \"127.0.0.1:51820\"\n"
          "idle_timeout = \"3m\"\n"
          "max_sessions = 16384\n"
          "max_tcp_connections = 1024\n"
          "max_datagram = 65535\n"
          "\n[metrics]\n"
          "listen = \"127.0.0.1:9816\"\n"
          "\n[log]\n"
          "level = \"info\"\n");
}

TEST_CASE("to_toml: parse_config reads it back to the same values", "[app][config]") {
    SECTION("defaults") {
        const Config original;
        const auto back = parse(to_toml(original));
        INFO(dump(back.errors));
        REQUIRE(back.ok());
        CHECK(back.warnings.empty());
        check_same_values(back.config, original);
    }
    SECTION("non-default, IPv6 backend, empty tcp") {
        Config original;
        original.source = "somewhere.toml";
        original.server.listen = {"::1"};
        original.server.udp = {{1, 1}, {60000, 65535}, {443, 443}};
        original.server.tcp = {};
        original.server.backend = {"2001:db8::1", 51821};
        original.server.idle_timeout = 1h + 30min + 500ms;
        original.server.max_sessions = 1;
        original.server.max_tcp_connections = 100'000;
        original.server.max_datagram = 576;
        original.log_level = LogLevel::error;
        const auto text = to_toml(original);
        CHECK(text.find("backend = \"[2001:db8::1]:51821\"\n") != std::string::npos);
        CHECK(text.find("tcp = []\n") != std::string::npos);
        CHECK(text.find("idle_timeout = \"1h30m500ms\"\n") != std::string::npos);
        CHECK(text.rfind("# effective configuration, from somewhere.toml\n", 0) == 0);
        const auto back = parse(text);
        INFO(text);
        INFO(dump(back.errors));
        REQUIRE(back.ok());
        check_same_values(back.config, original);
    }
    SECTION("a parsed file with a name as backend, round-tripped twice") {
        const auto first = parse(
            "[server]\nbackend = \"wg.internal:51820\"\nudp = [\"5-6\"]\nlisten = \"0.0.0.0\"\n"
            "idle_timeout = \"25s\"\n[log]\nlevel = \"warn\"\n");
        REQUIRE(first.ok());
        const auto second = parse(to_toml(first.config));
        REQUIRE(second.ok());
        check_same_values(second.config, first.config);
        CHECK(to_toml(second.config) == to_toml(first.config));
    }
}

TEST_CASE("to_toml: a backend host with a quote still round-trips", "[app][config]") {
    // BUG: parse_config accepts any characters in a backend host name ('a"b:80' here, written as a
    // TOML literal string), and to_toml writes the host unescaped inside "...", so the "effective
    // configuration" that check-config prints is not valid TOML. Either the host must be validated
    // or to_toml must escape it.
    const auto first = parse("[server]\nbackend = 'a\"b:80'\n");
    const bool accepted = first.ok();
    if (accepted) {
        const auto back = parse(to_toml(first.config));
        INFO(to_toml(first.config));
        INFO(dump(back.errors));
        REQUIRE(back.ok());
        check_same_values(back.config, first.config);
    }
}

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char templ[] = "/tmp/porthop-config-test-XXXXXX";
        REQUIRE(mkdtemp(templ) != nullptr);
        path = templ;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("load_config_file: a missing file is an error naming it", "[app][config]") {
    const TempDir dir;
    const std::string path = dir.path + "/missing.toml";
    const auto result = load_config_file(path);
    REQUIRE(result.errors.size() == 1);
    const auto& e = result.errors[0];
    CHECK(e.file == path);
    CHECK(e.line == 0);
    CHECK(e.key.empty());
    CHECK(e.message == "cannot open: No such file or directory");
    CHECK(e.to_string() == path + ": cannot open: No such file or directory");
}

TEST_CASE("load_config_file: reads a file and names it in errors", "[app][config]") {
    const TempDir dir;
    const std::string path = dir.path + "/server.toml";
    {
        std::ofstream out(path);
        out << "[server]\nmax_sessions = 7\nudp = [\"0\"]\n";
    }
    const auto result = load_config_file(path);
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].to_string() == path + ":3:8: server.udp[0]: port 0 is out of range (1-65535)");
    CHECK(result.config.source == path);
    CHECK(result.config.server.max_sessions == 7);
}

TEST_CASE("load_config_file: a directory is not a configuration", "[app][config]") {
    // BUG: std::ifstream opens a directory without error; reading it fails, the failure is not
    // checked, and the empty text parses as the built-in defaults. `porthop check-config /etc`
    // exits 0 and `porthop server -c /etc` runs with defaults.
    const TempDir dir;
    const auto result = load_config_file(dir.path);
    INFO(to_toml(result.config));
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].file == dir.path);
    CHECK(result.errors[0].line == 0);
}
