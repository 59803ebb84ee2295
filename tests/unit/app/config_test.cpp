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
using porthop::base::LogLevel;
using namespace std::chrono_literals;

namespace {

const char* const kFile = "test.toml";

// A valid key: bytes seed, seed+1, ..., seed+31.
porthop::crypto::HopKey test_key(int seed) {
    porthop::crypto::HopKey key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(seed + static_cast<int>(i));
    return key;
}

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
    CHECK(a.server.workers == b.server.workers);
    CHECK(a.server.key == b.server.key);
    CHECK(a.server.hop_interval == b.server.hop_interval);
    CHECK(a.server.moving_target == b.server.moving_target);
    CHECK(a.server.mask == b.server.mask);
    CHECK(a.server == b.server);  // and any field added later
    CHECK(a.client == b.client);
    CHECK(a.metrics == b.metrics);
    CHECK(a.client_metrics == b.client_metrics);
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

// A valid WireGuard key in `wg pubkey` form.
const std::string kWgPublicKey = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

const std::string kKnownServerKeys =
    "unknown key (known: listen, udp, tcp, backend, idle_timeout, max_sessions, max_tcp_connections, "
    "max_datagram, workers, key, hop_interval, moving_target, mask, protocol, wireguard_public_key, handshake_rate, "
    "handshake_burst, sessions_per_source, tcp_connections_per_source, state_file, tls, tls_cert, tls_key, "
    "native_tcp, decoy, tcp_rotate_bytes)";

}  // namespace

TEST_CASE("config: empty text gives the built-in defaults", "[app][config]") {
    // parse_config is also how porthop gets its defaults without --config; a *file* that sets
    // nothing is refused by load_config_file (below).
    for (const std::string text : {"", "\n\n", "# only a comment\n", "[server]\n", "[server]\n[log]\n"}) {
        INFO("'" << text << "'");
        const auto result = parse(text);
        REQUIRE(result.ok());
        CHECK(result.warnings.empty());
        CHECK(result.config.source == kFile);
        check_same_values(result.config, Config{});
        CHECK(result.config.server_keys == 0);
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
    CHECK(c.server.max_datagram == 65507);
    CHECK(c.server.tcp_connections_per_source == 32);
    CHECK_FALSE(c.server.key);
    CHECK(c.server.hop_interval == 5min);
    CHECK_FALSE(c.server.moving_target);
    CHECK(c.server.mask == porthop::hop::v2::Mode::light);
    CHECK(c.client.listen == HostPort{"127.0.0.1", 51820});
    CHECK(c.client.server.empty());
    CHECK(c.client.udp == c.server.udp);  // the client's ports are the server's by default
    CHECK(c.client.tcp == c.server.tcp);
    CHECK_FALSE(c.client.key);
    CHECK(c.client.hop_interval == c.server.hop_interval);
    CHECK(c.client.max_datagram == 65507);
    CHECK(c.metrics == MetricsConfig{true, {"127.0.0.1", 9816}});
    // Its own port, so that a server and a client on one host do not collide.
    CHECK(c.client_metrics == MetricsConfig{true, {"127.0.0.1", 9817}});
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
    const std::string known =
        "unknown section (known: [server], [client], [metrics], [client_metrics], [log])";
    check_error(only_error("[relay]\nserver = \"x\"\n"), 1, 1, "relay", known);
    check_error(only_error("\nfoo = 1\n"), 2, 7, "foo", known);
    check_error(only_error("[clients]\n"), 1, 1, "clients", known);
    check_error(only_error("server = 5\n"), 1, 10, "server", "expected a [server] table");
    check_error(only_error("log = \"debug\"\n"), 1, 7, "log", "expected a [log] table");
    check_error(only_error("client = \"vpn.example.net\"\n"), 1, 10, "client", "expected a [client] table");
    check_error(only_error("metrics = \"127.0.0.1:1\"\n"), 1, 11, "metrics", "expected a [metrics] table");
    check_error(only_error("client_metrics = []\n"), 1, 18, "client_metrics",
                "expected a [client_metrics] table");
}

TEST_CASE("config: unknown keys in [server] and [log]", "[app][config]") {
    check_error(only_error("[server]\nport = 443\n"), 2, 8, "server.port",
                kKnownServerKeys);
    // A sub-table is an unknown key too.
    check_error(only_error("[server.extra]\na = 1\n"), 1, 1, "server.extra",
                kKnownServerKeys);
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
        {"workers", 0, 256, &ServerConfig::workers},
        {"tcp_connections_per_source", 0, 100'000, &ServerConfig::tcp_connections_per_source},
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

TEST_CASE("config: server.max_datagram stops at what UDP over IPv4 carries", "[app][config]") {
    const auto text = [](std::int64_t v) { return "[server]\nmax_datagram = " + std::to_string(v) + "\n"; };
    for (std::int64_t good : {576, 1500, 65507}) {
        INFO(good);
        const auto result = parse(text(good));
        REQUIRE(result.ok());
        CHECK(result.config.server.max_datagram == good);
    }
    // 65508-65535 fit a TCP frame's u16 length but no IPv4 UDP datagram: refused, with why.
    for (std::int64_t bad : {std::int64_t{65508}, std::int64_t{65535}, std::int64_t{65536}, std::int64_t{5'000'000'000}}) {
        INFO(bad);
        check_error(only_error(text(bad)), 2, 16, "server.max_datagram",
                    std::to_string(bad) +
                        " is more than UDP over IPv4 can carry: at most 65507 bytes (65535 - 20 IP header - 8 UDP "
                        "header)");
    }
    for (std::int64_t bad : {575, 0, -1})
        check_error(only_error(text(bad)), 2, 16, "server.max_datagram",
                    std::to_string(bad) + " is out of range (576-65507)");
    check_error(only_error("[server]\nmax_datagram = \"65507\"\n"), 2, 16, "server.max_datagram",
                "expected an integer, got a string");
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
        "test.toml:7:10: server.colour: " + kKnownServerKeys,
        "test.toml:5:16: server.idle_timeout: 'soon' is not a duration (expected a number; use e.g. \"90s\", "
        "\"3m\", \"250ms\", \"1h30m\")",
        "test.toml:2:11: server.listen[0]: 'nope' is not an IP address (use 0.0.0.0 or :: for all)",
        "test.toml:6:16: server.max_sessions: 0 is out of range (1-1000000)",
        "test.toml:3:8: server.udp[0]: port 0 is out of range (1-65535)",
        "test.toml:9:9: log.level: 'loud' is not one of debug, info, warn, error",
        "test.toml:10:1: extra: unknown section (known: [server], [client], [metrics], [client_metrics], "
        "[log])",
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
          "max_datagram = 65507\n"
          "workers = 0\n"
          "hop_interval = \"5m\"\n"
          "moving_target = false\n"
          "mask = \"light\"\n"
          "protocol = \"any\"\n"
          "handshake_rate = 20\n"
          "handshake_burst = 5\n"
          "sessions_per_source = 64\n"
          "tcp_connections_per_source = 32\n"
          "state_file = \"\"\n"
          "tls = true\n"
          "native_tcp = true\n"
          "decoy = \"\"\n"
          "tcp_rotate_bytes = 0\n"
          "\n[metrics]\n"
          "listen = \"127.0.0.1:9816\"\n"
          "\n[client]\n"
          "listen = \"127.0.0.1:51820\"\n"
          "udp = [\"443\", \"1194\", \"40000-40099\"]\n"
          "tcp = [\"443\"]\n"
          "hop_interval = \"5m\"\n"
          "max_datagram = 65507\n"
          "tls = true\n"
          "sni = \"\"\n"
          "tls_ca = \"\"\n"
          "tls_pin = []\n"
          "tcp_rotate_bytes = 0\n"
          "\n[client_metrics]\n"
          "listen = \"127.0.0.1:9817\"\n"
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
        original.server.tcp_connections_per_source = 0;
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
    SECTION("hop link keys, client and client metrics, none at their defaults") {
        std::string why;
        Config original;
        original.server.key = test_key(1);
        original.server.hop_interval = 24h;
        original.server.moving_target = true;
        original.server.mask = porthop::hop::v2::Mode::full;
        original.server.protocol = porthop::wire::Protocol::wireguard;
        original.server.wireguard_public_key = *porthop::crypto::parse_wg_key(kWgPublicKey, why);
        original.server.handshake_rate = 0;
        original.server.handshake_burst = 1;
        original.server.sessions_per_source = 1000000;
        original.client.listen = {"::1", 5000};
        original.client.server = "2001:db8::9";
        original.client.udp = {{5, 5}, {1000, 2000}};
        original.client.tcp = {{8443, 8443}, {443, 443}};
        original.client.key = test_key(2);
        original.client.hop_interval = 10s;
        original.client.max_datagram = 576;
        original.metrics.enabled = false;
        original.client_metrics.listen = {"0.0.0.0", 1};
        const auto text = to_toml(original);
        INFO(text);
        CHECK(text.find("hop_interval = \"24h\"\n") != std::string::npos);
        CHECK(text.find("hop_interval = \"10s\"\n") != std::string::npos);
        CHECK(text.find("moving_target = true\n") != std::string::npos);
        CHECK(text.find("mask = \"full\"\n") != std::string::npos);
        CHECK(text.find("protocol = \"wireguard\"\n") != std::string::npos);
        CHECK(text.find("wireguard_public_key = \"" + kWgPublicKey + "\"\n") != std::string::npos);
        CHECK(text.find("server = \"2001:db8::9\"\n") != std::string::npos);
        CHECK(text.find("\n[client_metrics]\nlisten = \"0.0.0.0:1\"\n") != std::string::npos);
        const auto back = parse(text);
        INFO(dump(back.errors));
        REQUIRE(back.ok());
        check_same_values(back.config, original);
    }
    SECTION("a client metrics endpoint that is off") {
        Config original;
        original.client_metrics.enabled = false;
        const auto back = parse(to_toml(original));
        REQUIRE(back.ok());
        CHECK_FALSE(back.config.client_metrics.enabled);
        CHECK(back.config.metrics.enabled);
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

namespace {

ConfigResult load_text(const TempDir& dir, const std::string& text) {
    const std::string path = dir.path + "/server.toml";
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
    }
    return load_config_file(path);
}

}  // namespace

TEST_CASE("load_config_file: an empty file is refused, not taken for the defaults", "[app][config]") {
    // A write cut short before its first key leaves this; running it would open the default
    // ports towards the default backend (issue 12, item 5).
    const TempDir dir;
    const std::string path = dir.path + "/server.toml";
    for (const std::string text : {"", " ", "\n\n\t\n", "# porthop server configuration\n#\n\n",
                                   "# cut in a comment", "[server]\n", "[server]\n# listen = []\n[log]\n",
                                   "[server]\n[metrics]\n"}) {
        INFO("'" << text << "'");
        const auto result = load_text(dir, text);
        REQUIRE(result.errors.size() == 1);
        CHECK(result.errors[0].to_string() ==
              path + ": the file is empty (no settings); porthop runs on built-in defaults only without --config");
    }
    // One setting anywhere is not empty (check_server_ready judges what `porthop server` needs).
    for (const std::string text : {"[log]\nlevel = \"info\"\n", "[server]\nmax_sessions = 7\n"}) {
        INFO("'" << text << "'");
        const auto result = load_text(dir, text);
        CHECK(result.ok());
    }
}

TEST_CASE("load_config_file: a file cut in a key, a value or a table header is a syntax error", "[app][config]") {
    const TempDir dir;
    const std::string full =
        "[server]\nudp = [\"40000-40099\"]\nbackend = \"10.0.0.2:51820\"\n[metrics]\nlisten = \"\"\n";
    REQUIRE(load_text(dir, full).ok());
    for (const std::string cut : {"[ser", "[server]\nud", "[server]\nudp =", "[server]\nudp = [\"400",
                                  "[server]\nudp = [\"40000-40099\"", "[server]\nudp = [\"40000-40099\"]\nbackend = \"10.",
                                  "[server]\nudp = [\"40000-40099\"]\nbackend = \"10.0.0.2:51820\"\n[metr"}) {
        INFO("'" << cut << "'");
        REQUIRE(full.rfind(cut, 0) == 0);  // a prefix of the file
        const auto result = load_text(dir, cut);
        REQUIRE_FALSE(result.ok());
        CHECK(result.errors[0].message.rfind("TOML syntax: ", 0) == 0);
    }
}

TEST_CASE("load_config_file: a file not ending with a newline gets a warning", "[app][config]") {
    // A cut inside a value can still parse ("max_sessions = 163" of 16384); the missing final
    // newline is the trace it usually leaves.
    const TempDir dir;
    const std::string path = dir.path + "/server.toml";
    const auto cut = load_text(dir, "[server]\nmax_sessions = 163");
    REQUIRE(cut.ok());
    REQUIRE(cut.warnings.size() == 1);
    CHECK(cut.warnings[0].to_string() ==
          path + ": does not end with a newline: if it was written while being read, its last line may be cut short");
    CHECK(load_text(dir, "[server]\nmax_sessions = 16384\n").warnings.empty());
}

TEST_CASE("check_server_ready: porthop server --config needs [server] settings", "[app][config]") {
    const auto ready = [](const std::string& text) {
        const auto result = parse(text);
        REQUIRE(result.ok());
        return check_server_ready(result.config);
    };
    CHECK(ready("[server]\nbackend = \"10.0.0.2:51820\"\n").empty());
    CHECK(ready("[server]\nlisten = [\"0.0.0.0\"]\n[log]\nlevel = \"debug\"\n").empty());
    // A file cut before its [server] keys, or one written for the client role, or [server] empty.
    for (const std::string text : {"[log]\nlevel = \"debug\"\n", "[metrics]\nlisten = \"\"\n",
                                   "[client]\nserver = \"vpn.example.net\"\n", "[server]\n[log]\nlevel = \"warn\"\n"}) {
        INFO(text);
        const auto errors = ready(text);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].to_string() ==
              "test.toml: server: no [server] settings: porthop server --config needs at least one (a file cut "
              "short before them looks like this, and would run the default ports and backend); run without "
              "--config for the built-in defaults");
    }
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

// ---- the hop link: keys, hop_interval, moving_target ------------------------------------------

namespace {

// base64 of the bytes 0..31 (test_key(0)).
const std::string kKeyText = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// True when no 8 consecutive characters of `secret` appear in `text`.
bool does_not_quote(const std::string& text, const std::string& secret) {
    for (std::size_t i = 0; i + 8 <= secret.size(); ++i)
        if (text.find(secret.substr(i, 8)) != std::string::npos) return false;
    return secret.size() >= 8 || secret.empty() || text.find(secret) == std::string::npos;
}

}  // namespace

TEST_CASE("config: key in [server] and [client]", "[app][config][hop_settings]") {
    for (const std::string section : {"server", "client"}) {
        INFO(section);
        const auto result = parse("[" + section + "]\nkey = \"" + kKeyText + "\"\n");
        INFO(dump(result.errors));
        REQUIRE(result.ok());
        CHECK(result.warnings.empty());
        const auto& key = section == "server" ? result.config.server.key : result.config.client.key;
        REQUIRE(key);
        CHECK(*key == test_key(0));
        // Only the section that names it has a key.
        const auto& other = section == "server" ? result.config.client.key : result.config.server.key;
        CHECK_FALSE(other);
    }
}

TEST_CASE("config: a bad key is an error that never quotes the key", "[app][config][hop_settings]") {
    std::string urlsafe = kKeyText;
    urlsafe[3] = '-';
    std::string padded_early = kKeyText;
    padded_early[20] = '=';
    const std::string rows[] = {
        "",                             // empty
        kKeyText.substr(0, 43),         // the '=' lost
        kKeyText + "=",                 // one too many
        " " + kKeyText,                 // pasted with a space
        kKeyText.substr(0, 42) + "9=",  // non-canonical: stray low bits in the last character
        urlsafe,                        // URL-safe base64
        padded_early,                   // '=' in the middle
        "(set)",                        // not a key at all
        kKeyText + kKeyText,            // two keys
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMA==",  // 50 bytes
    };
    for (const std::string& section : {std::string("server"), std::string("client")}) {
        for (const auto& text : rows) {
            INFO(section << ": '" << text << "'");
            const auto e = only_error("[" + section + "]\nkey = \"" + text + "\"\n");
            CHECK(e.line == 2);
            CHECK(e.column == 7);
            CHECK(e.key == section + ".key");
            CHECK(e.message.rfind("not a hop-link key: ", 0) == 0);
            CHECK(e.message.size() > std::string("not a hop-link key: ").size());
            CHECK(does_not_quote(e.to_string(), text));
        }
    }
    check_error(only_error("[server]\nkey = 5\n"), 2, 7, "server.key", "expected a string, got an integer");
    check_error(only_error("[client]\nkey = [\"" + kKeyText + "\"]\n"), 2, 7, "client.key",
                "expected a string, got a list");
}

TEST_CASE("config: a bad key keeps no key", "[app][config][hop_settings]") {
    const auto result = parse("[server]\nkey = \"" + kKeyText.substr(1) + "\"\n");
    REQUIRE(result.errors.size() == 1);
    CHECK_FALSE(result.config.server.key);
}

TEST_CASE("config: hop_interval", "[app][config][hop_settings]") {
    struct Row {
        const char* text;
        std::chrono::seconds value;  // 0: rejected with `message`
        const char* message;
    };
    const Row rows[] = {
        {"10s", 10s, ""},
        {"60s", 60s, ""},
        {"1m", 60s, ""},
        {"1m30s", 90s, ""},
        {"24h", 24h, ""},
        {"9s", 0s, "must be between 10s and 24h"},
        {"0s", 0s, "must be between 10s and 24h"},
        {"24h1s", 0s, "must be between 10s and 24h"},
        {"25h", 0s, "must be between 10s and 24h"},
        {"10s500ms", 0s, "must be whole seconds (both ends count epochs in seconds)"},
        {"90000ms", 90s, ""},
        {"999ms", 0s, "must be whole seconds (both ends count epochs in seconds)"},
    };
    for (const std::string section : {"server", "client"}) {
        for (const auto& row : rows) {
            INFO(section << ": " << row.text);
            const auto text = "[" + section + "]\nhop_interval = \"" + row.text + "\"\n";
            if (row.value != 0s) {
                const auto result = parse(text);
                INFO(dump(result.errors));
                REQUIRE(result.ok());
                CHECK(result.warnings.empty());
                CHECK((section == "server" ? result.config.server.hop_interval
                                           : result.config.client.hop_interval) == row.value);
            } else {
                const auto result = parse(text);
                REQUIRE(result.errors.size() == 1);
                check_error(result.errors[0], 2, 16, section + ".hop_interval", row.message);
                // The default stays.
                CHECK(result.config.server.hop_interval == 5min);
                CHECK(result.config.client.hop_interval == 5min);
            }
        }
        for (const std::string bad : {"", "60", "1 m", "-60s", "1.5m"}) {
            INFO(section << ": '" << bad << "'");
            const auto e = only_error("[" + section + "]\nhop_interval = \"" + bad + "\"\n");
            CHECK(e.key == section + ".hop_interval");
            CHECK(e.column == 16);
            CHECK(e.message.rfind("'" + bad + "' is not a duration (", 0) == 0);
        }
        check_error(only_error("[" + section + "]\nhop_interval = 60\n"), 2, 16, section + ".hop_interval",
                    "expected a string, got an integer");
    }
}

TEST_CASE("config: moving_target", "[app][config][hop_settings]") {
    const std::string key_line = "key = \"" + kKeyText + "\"\n";
    SECTION("with a key") {
        const auto result = parse("[server]\n" + key_line + "moving_target = true\n");
        INFO(dump(result.errors));
        REQUIRE(result.ok());
        CHECK(result.config.server.moving_target);
    }
    SECTION("false needs nothing") {
        const auto result = parse("[server]\nmoving_target = false\n");
        REQUIRE(result.ok());
        CHECK_FALSE(result.config.server.moving_target);
    }
    SECTION("true without a key") {
        check_error(only_error("[server]\nmoving_target = true\n"), 2, 17, "server.moving_target",
                    "needs a hop-link key ([server] key): the ports follow its schedule");
        // A key in [client] is not the server's.
        check_error(only_error("[server]\nmoving_target = true\n[client]\n" + key_line), 2, 17,
                    "server.moving_target",
                    "needs a hop-link key ([server] key): the ports follow its schedule");
    }
    SECTION("true with a bad key: only the key is reported") {
        const auto e = only_error("[server]\nkey = \"nope\"\nmoving_target = true\n");
        CHECK(e.key == "server.key");
    }
    SECTION("true with no UDP ports to move between") {
        check_error(only_error("[server]\n" + key_line + "udp = []\nmoving_target = true\n"), 4, 17,
                    "server.moving_target", "needs UDP ports to move between ([server] udp is empty)");
    }
    SECTION("not a boolean") {
        for (const char* bad : {"\"true\"", "1", "\"yes\""}) {
            INFO(bad);
            const auto e = only_error("[server]\n" + key_line + "moving_target = " + bad + "\n");
            CHECK(e.key == "server.moving_target");
            CHECK(e.line == 3);
            CHECK(e.column == 17);
            CHECK(e.message.rfind("expected a boolean, got ", 0) == 0);
        }
    }
}

TEST_CASE("config: mask", "[app][config][hop_settings]") {
    const std::string key_line = "key = \"" + kKeyText + "\"\n";
    SECTION("light or full, with a key") {
        for (const auto& [text, expected] : {std::pair{"light", porthop::hop::v2::Mode::light},
                                             std::pair{"full", porthop::hop::v2::Mode::full}}) {
            INFO(text);
            const auto result = parse("[server]\n" + key_line + "mask = \"" + text + "\"\n");
            INFO(dump(result.errors));
            REQUIRE(result.ok());
            CHECK(result.config.server.mask == expected);
        }
    }
    SECTION("light needs nothing") {
        const auto result = parse("[server]\nmask = \"light\"\n");
        REQUIRE(result.ok());
        CHECK(result.config.server.mask == porthop::hop::v2::Mode::light);
    }
    SECTION("full without a key") {
        check_error(only_error("[server]\nmask = \"full\"\n"), 2, 8, "server.mask",
                    "\"full\" needs a hop-link key ([server] key): it masks the hop link");
        check_error(only_error("[server]\nmask = \"full\"\n[client]\n" + key_line), 2, 8, "server.mask",
                    "\"full\" needs a hop-link key ([server] key): it masks the hop link");
    }
    SECTION("anything else, named with its file, line and key") {
        for (const char* bad : {"Full", "LIGHT", "", "none", "full "}) {
            INFO("'" << bad << "'");
            check_error(only_error("[server]\n" + key_line + "mask = \"" + bad + "\"\n"), 3, 8, "server.mask",
                        "'" + std::string(bad) + "' is not a mask mode (light or full)");
        }
        check_error(only_error("[server]\n" + key_line + "mask = true\n"), 3, 8, "server.mask",
                    "expected a string, got a boolean");
    }
    SECTION("a [client] has no mask: it follows the server's") {
        const auto e = only_error("[client]\nmask = \"full\"\n");
        CHECK(e.key == "client.mask");
        CHECK(e.message.rfind("unknown key (known: ", 0) == 0);
    }
}

// ---- [client] ----------------------------------------------------------------------------------

TEST_CASE("config: a [client] with every key", "[app][config][client]") {
    const auto result = parse(R"([client]
listen = "[::1]:51821"
server = "vpn.example.net"
udp = ["443", "50000-50009", 53]
tcp = "8443"
key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
hop_interval = "2m"
max_datagram = 1500
)");
    INFO(dump(result.errors));
    REQUIRE(result.ok());
    CHECK(result.warnings.empty());
    const auto& c = result.config.client;
    CHECK(c.listen == HostPort{"::1", 51821});
    CHECK(c.server == "vpn.example.net");
    CHECK(c.udp == std::vector<PortRange>{{443, 443}, {50000, 50009}, {53, 53}});
    CHECK(c.tcp == std::vector<PortRange>{{8443, 8443}});
    CHECK(c.key == test_key(0));
    CHECK(c.hop_interval == 2min);
    CHECK(c.max_datagram == 1500);
    // [client] leaves the server's values alone.
    CHECK(result.config.server == ServerConfig{});
}

TEST_CASE("config: client.server", "[app][config][client]") {
    SECTION("host names and IP literals") {
        struct Row {
            const char* text;
            const char* stored;
        };
        const Row rows[] = {
            {"vpn.example.net", "vpn.example.net"},
            {"localhost", "localhost"},
            {"relay-1_b", "relay-1_b"},
            {"192.0.2.7", "192.0.2.7"},
            {"2001:db8::7", "2001:db8::7"},
            {"[2001:db8::7]", "2001:db8::7"},  // brackets as elsewhere, stored without
            {"fe80::1%eth0", "fe80::1%eth0"},
        };
        for (const auto& row : rows) {
            INFO(row.text);
            const auto result = parse(std::string("[client]\nserver = \"") + row.text + "\"\n");
            INFO(dump(result.errors));
            REQUIRE(result.ok());
            CHECK(result.config.client.server == row.stored);
        }
    }
    SECTION("rejected") {
        struct Row {
            const char* text;
            const char* message;
        };
        const Row rows[] = {
            {"", "is empty: name the porthop server (host name or IP address)"},
            {"vpn.example.net:443",
             "'vpn.example.net:443' is not a host name or IP address (no port: the ports are client.udp and "
             "client.tcp)"},
            {"[2001:db8::7]:443",
             "'[2001:db8::7]:443' is not a host name or IP address (no port: the ports are client.udp and "
             "client.tcp)"},
            {"vpn host", "'vpn host' is neither an IP address nor a host name"},
            {"[vpn.example.net]", "'[vpn.example.net]' is neither an IP address nor a host name"},
            {"https://vpn.example.net",
             "'https://vpn.example.net' is not a host name or IP address (no port: the ports are client.udp "
             "and "
             "client.tcp)"},
        };
        for (const auto& row : rows) {
            INFO(row.text);
            check_error(only_error(std::string("[client]\nserver = \"") + row.text + "\"\n"), 2, 10,
                        "client.server", row.message);
        }
        check_error(only_error("[client]\nserver = [\"a\", \"b\"]\n"), 2, 10, "client.server",
                    "expected a string, got a list");
    }
    SECTION("absent is fine for parse_config (the server reads the same format)") {
        const auto result = parse("[client]\nudp = [\"443\"]\n");
        REQUIRE(result.ok());
        CHECK(result.config.client.server.empty());
    }
}

TEST_CASE("config: client.listen", "[app][config][client]") {
    struct Row {
        const char* text;
        const char* message;  // empty: accepted
    };
    const Row rows[] = {
        {"127.0.0.1:51820", ""},
        {"0.0.0.0:1", ""},
        {"[::1]:65535", ""},
        {"localhost:51820", "'localhost' is not an IP address (the local VPN client sends to it)"},
        {"127.0.0.1", "'127.0.0.1' is not host:port (write IPv6 as [addr]:port)"},
        {"::1:51820", "'::1:51820' is not host:port (write IPv6 as [addr]:port)"},
        {"127.0.0.1:0", "port 0 is out of range (1-65535)"},
        {"127.0.0.1:1-2", "'1-2' is not a single port"},
        {"", "'' is not host:port (write IPv6 as [addr]:port)"},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        const auto text = std::string("[client]\nlisten = \"") + row.text + "\"\n";
        if (*row.message == '\0') {
            const auto result = parse(text);
            INFO(dump(result.errors));
            REQUIRE(result.ok());
            CHECK(result.config.client.listen.port != 0);
        } else {
            check_error(only_error(text), 2, 10, "client.listen", row.message);
        }
    }
    check_error(only_error("[client]\nlisten = 51820\n"), 2, 10, "client.listen",
                "expected a string, got an integer");
}

TEST_CASE("config: client.udp and client.tcp", "[app][config][client]") {
    SECTION("each must name a port: the client hops over udp and falls back to tcp") {
        check_error(only_error("[client]\nudp = []\n"), 2, 7, "client.udp", "must name at least one port");
        check_error(only_error("[client]\ntcp = []\n"), 2, 7, "client.tcp", "must name at least one port");
    }
    SECTION("bad entries are named by index") {
        const auto result = parse("[client]\nudp = [\"443\", \"0\"]\ntcp = [\"x\", \"400-300\"]\n");
        INFO(dump(result.errors));
        REQUIRE(result.errors.size() == 3);
        check_error(result.errors[0], 3, 8, "client.tcp[0]", "'x' is not a port number");
        check_error(result.errors[1], 3, 13, "client.tcp[1]", "range '400-300' runs backwards");
        check_error(result.errors[2], 2, 15, "client.udp[1]", "port 0 is out of range (1-65535)");
    }
    SECTION("wrong types") {
        check_error(only_error("[client]\nudp = 443.5\n"), 2, 7, "client.udp",
                    "expected a list of strings, got a number");
        check_error(only_error("[client]\ntcp = [true]\n"), 2, 8, "client.tcp[0]",
                    "expected a string, got a boolean");
    }
    SECTION("independent of [server]") {
        const auto result = parse("[server]\nudp = [\"1\"]\n[client]\nudp = [\"2\"]\n");
        REQUIRE(result.ok());
        CHECK(result.config.server.udp == std::vector<PortRange>{{1, 1}});
        CHECK(result.config.client.udp == std::vector<PortRange>{{2, 2}});
    }
}

TEST_CASE("config: client.max_datagram and unknown client keys", "[app][config][client]") {
    const auto text = [](std::int64_t v) { return "[client]\nmax_datagram = " + std::to_string(v) + "\n"; };
    for (std::int64_t good : {576, 65507}) {
        const auto result = parse(text(good));
        REQUIRE(result.ok());
        CHECK(result.config.client.max_datagram == good);
    }
    for (std::int64_t bad : {575, -1}) {
        check_error(only_error(text(bad)), 2, 16, "client.max_datagram",
                    std::to_string(bad) + " is out of range (576-65507)");
    }
    for (std::int64_t bad : {65508, 65535, 65536}) {
        check_error(only_error(text(bad)), 2, 16, "client.max_datagram",
                    std::to_string(bad) +
                        " is more than UDP over IPv4 can carry: at most 65507 bytes (65535 - 20 IP header - 8 UDP "
                        "header)");
    }
    const std::string known =
        "unknown key (known: listen, server, udp, tcp, key, hop_interval, max_datagram, tls, sni, tls_ca, tls_pin, "
        "tcp_rotate_bytes)";
    check_error(only_error("[client]\nbackend = \"1.2.3.4:5\"\n"), 2, 11, "client.backend", known);
    check_error(only_error("[client]\nmoving_target = true\n"), 2, 17, "client.moving_target", known);
    check_error(only_error("[client.extra]\n"), 1, 1, "client.extra", known);
}

TEST_CASE("config: [client_metrics]", "[app][config][client]") {
    SECTION("an address") {
        const auto result = parse("[client_metrics]\nlisten = \"[::1]:9900\"\n");
        REQUIRE(result.ok());
        CHECK(result.config.client_metrics == MetricsConfig{true, {"::1", 9900}});
        CHECK(result.config.metrics == MetricsConfig{});  // the server's is another endpoint
    }
    SECTION("off") {
        const auto result = parse("[client_metrics]\nlisten = \"\"\n");
        REQUIRE(result.ok());
        CHECK_FALSE(result.config.client_metrics.enabled);
        CHECK(result.config.metrics.enabled);
    }
    SECTION("the server's [metrics] leaves the client's alone") {
        const auto result = parse("[metrics]\nlisten = \"\"\n");
        REQUIRE(result.ok());
        CHECK_FALSE(result.config.metrics.enabled);
        CHECK(result.config.client_metrics == Config{}.client_metrics);
    }
    SECTION("errors, as in [metrics]") {
        for (const std::string section : {"metrics", "client_metrics"}) {
            INFO(section);
            check_error(only_error("[" + section + "]\nlisten = \"localhost:9817\"\n"), 2, 10,
                        section + ".listen", "'localhost' is not an IP address (\"\" disables metrics)");
            check_error(only_error("[" + section + "]\nlisten = \"9817\"\n"), 2, 10, section + ".listen",
                        "'9817' is not host:port (write IPv6 as [addr]:port)");
            check_error(only_error("[" + section + "]\nlisten = 9817\n"), 2, 10, section + ".listen",
                        "expected a string, got an integer");
            check_error(only_error("[" + section + "]\nport = 9817\n"), 2, 8, section + ".port",
                        "unknown key (known: listen)");
        }
    }
}

// ---- check_client_ready ------------------------------------------------------------------------

TEST_CASE("check_client_ready: server and key are required to run the client", "[app][config][client]") {
    const std::string server_error =
        "c.toml: client.server: missing: the host name or IP address of the porthop server "
        "(server = \"vpn.example.net\" in [client])";
    const std::string key_error =
        "c.toml: client.key: missing: the hop-link key, the same as the server's [server] key "
        "(make one with `porthop genkey`)";
    const auto errors_of = [](const std::string& text) {
        const auto result = parse_config(text, "c.toml");
        INFO(dump(result.errors));
        REQUIRE(result.ok());
        std::vector<std::string> out;
        for (const auto& e : check_client_ready(result.config)) {
            CHECK(e.file == "c.toml");
            CHECK(e.line == 0);
            out.push_back(e.to_string());
        }
        return out;
    };
    const std::string key_line = "key = \"" + kKeyText + "\"\n";
    CHECK(errors_of("") == std::vector<std::string>{server_error, key_error});
    CHECK(errors_of("[client]\nserver = \"vpn.example.net\"\n") == std::vector<std::string>{key_error});
    CHECK(errors_of("[client]\n" + key_line) == std::vector<std::string>{server_error});
    CHECK(errors_of("[client]\nserver = \"192.0.2.1\"\n" + key_line).empty());
    // The server's key is not the client's.
    CHECK(errors_of("[server]\n" + key_line + "[client]\nserver = \"h\"\n") ==
          std::vector<std::string>{key_error});
    // Built-in defaults name no server and no key.
    CHECK(check_client_ready(Config{}).size() == 2);
    CHECK(check_client_ready(Config{})[0].to_string().rfind("(built-in defaults): client.server: ", 0) == 0);
}

TEST_CASE("to_toml: keys are printed for check-config, absent ones not at all", "[app][config][hop_settings]") {
    Config c;
    auto text = to_toml(c);
    CHECK(text.find("key =") == std::string::npos);
    CHECK(text.find("server =") == std::string::npos);
    c.server.key = test_key(0);
    c.client.server = "vpn.example.net";
    text = to_toml(c);
    // The user's own file, echoed to their terminal (as `wg showconf` does); never logged.
    CHECK(text.find("\nmax_datagram = 65507\nworkers = 0\nkey = \"" + kKeyText + "\"\nhop_interval = \"5m\"\n") !=
          std::string::npos);
    CHECK(text.find("\n[client]\nlisten = \"127.0.0.1:51820\"\nserver = \"vpn.example.net\"\nudp = ") !=
          std::string::npos);
    const auto back = parse(text);
    REQUIRE(back.ok());
    CHECK(back.config.server.key == test_key(0));
    CHECK_FALSE(back.config.client.key);
}

// ---- native clients: protocol, mac1 key, per-source limits -------------------------------------

TEST_CASE("config: protocol", "[app][config][native]") {
    CHECK(parse("").config.server.protocol == porthop::wire::Protocol::any);
    for (const auto& [text, expected] :
         {std::pair{"any", porthop::wire::Protocol::any}, std::pair{"wireguard", porthop::wire::Protocol::wireguard},
          std::pair{"openvpn", porthop::wire::Protocol::openvpn}}) {
        const auto result = parse(std::string("[server]\nprotocol = \"") + text + "\"\n");
        INFO(text);
        REQUIRE(result.ok());
        CHECK(result.config.server.protocol == expected);
    }
    check_error(only_error("[server]\nprotocol = \"WireGuard\"\n"), 2, 12, "server.protocol",
                "'WireGuard' is not a protocol (any, wireguard or openvpn)");
    check_error(only_error("[server]\nprotocol = \"\"\n"), 2, 12, "server.protocol",
                "'' is not a protocol (any, wireguard or openvpn)");
    check_error(only_error("[server]\nprotocol = 1\n"), 2, 12, "server.protocol",
                "expected a string, got an integer");
}

TEST_CASE("config: wireguard_public_key", "[app][config][native]") {
    SECTION("a valid key, with protocol any or wireguard") {
        for (const char* protocol : {"", "protocol = \"wireguard\"\n"}) {
            const auto result =
                parse(std::string("[server]\n") + protocol + "wireguard_public_key = \"" + kWgPublicKey + "\"\n");
            INFO(dump(result.errors));
            REQUIRE(result.ok());
            REQUIRE(result.config.server.wireguard_public_key);
            CHECK(porthop::crypto::format_wg_key(*result.config.server.wireguard_public_key) == kWgPublicKey);
        }
        CHECK_FALSE(parse("").config.server.wireguard_public_key);
    }
    SECTION("not a key") {
        for (const std::string& bad : {std::string("nope"), kWgPublicKey.substr(1), kWgPublicKey + "=", std::string()}) {
            INFO(bad);
            const auto e = only_error("[server]\nwireguard_public_key = \"" + bad + "\"\n");
            CHECK(e.key == "server.wireguard_public_key");
            CHECK(e.line == 2);
            CHECK(e.message.rfind("not a WireGuard public key (the output of `wg pubkey`): ", 0) == 0);
        }
        check_error(only_error("[server]\nwireguard_public_key = 5\n"), 2, 24, "server.wireguard_public_key",
                    "expected a string, got an integer");
    }
    SECTION("refused with protocol openvpn") {
        check_error(only_error("[server]\nprotocol = \"openvpn\"\nwireguard_public_key = \"" + kWgPublicKey +
                               "\"\n"),
                    3, 24, "server.wireguard_public_key", "is for WireGuard backends, but protocol = \"openvpn\"");
    }
}

TEST_CASE("config: per-source limits", "[app][config][native]") {
    const auto defaults = parse("").config.server;
    CHECK(defaults.handshake_rate == 20);
    CHECK(defaults.handshake_burst == 5);
    CHECK(defaults.sessions_per_source == 64);
    const auto off = parse("[server]\nhandshake_rate = 0\nsessions_per_source = 0\nhandshake_burst = 1\n");
    REQUIRE(off.ok());
    CHECK(off.config.server.handshake_rate == 0);
    CHECK(off.config.server.sessions_per_source == 0);
    CHECK(off.config.server.handshake_burst == 1);
    check_error(only_error("[server]\nhandshake_burst = 0\n"), 2, 19, "server.handshake_burst",
                "0 is out of range (1-1000000)");
    check_error(only_error("[server]\nhandshake_rate = -1\n"), 2, 18, "server.handshake_rate",
                "-1 is out of range (0-1000000)");
    check_error(only_error("[server]\nsessions_per_source = 1000001\n"), 2, 23, "server.sessions_per_source",
                "1000001 is out of range (0-1000000)");
    check_error(only_error("[server]\nhandshake_rate = \"20\"\n"), 2, 18, "server.handshake_rate",
                "expected an integer, got a string");
}

TEST_CASE("config: state_file", "[app][config]") {
    CHECK(parse("").config.server.state_file.empty());
    const auto set = parse("[server]\nstate_file = \"/var/lib/porthop/sessions\"\n");
    REQUIRE(set.ok());
    CHECK(set.config.server.state_file == "/var/lib/porthop/sessions");
    CHECK(parse(to_toml(set.config)).config.server.state_file == "/var/lib/porthop/sessions");
    check_error(only_error("[server]\nstate_file = \"sessions\"\n"), 2, 14, "server.state_file",
                "must be an absolute path (or \"\" for none)");
    check_error(only_error("[server]\nstate_file = 1\n"), 2, 14, "server.state_file", "expected a string, got an integer");
}

TEST_CASE("config: TLS keys, and what each refuses", "[app][config]") {
    SECTION("server") {
        const auto ok = parse(
            "[server]\ntls_cert = \"/etc/c.pem\"\ntls_key = \"/etc/k.pem\"\nnative_tcp = false\ndecoy = \"web:8080\"\n");
        REQUIRE(ok.ok());
        CHECK(ok.config.server.tls_cert == "/etc/c.pem");
        CHECK(ok.config.server.tls_key == "/etc/k.pem");
        CHECK_FALSE(ok.config.server.native_tcp);
        REQUIRE(ok.config.server.decoy);
        CHECK(ok.config.server.decoy->host == "web");
        CHECK(ok.config.server.decoy->port == 8080);
        CHECK(only_error("[server]\ntls_cert = \"c.pem\"\ntls_key = \"/k.pem\"\n").to_string() ==
              "test.toml:2:12: server.tls_cert: must be an absolute path to a PEM file");
        CHECK(only_error("[server]\ntls_cert = \"/c.pem\"\n").to_string() ==
              "test.toml:2:12: server.tls_cert: needs tls_key (the certificate's private key)");
        CHECK(only_error("[server]\ntls_key = \"/k.pem\"\n").to_string() ==
              "test.toml:2:11: server.tls_key: needs tls_cert (the certificate chain it belongs to)");
        CHECK(only_error("[server]\ndecoy = \"web\"\n").to_string().starts_with("test.toml:2:9: server.decoy: "));
        CHECK(only_error("[server]\ntls = \"yes\"\n").to_string().starts_with("test.toml:2:7: server.tls: "));
    }
    SECTION("client") {
        const auto ok = parse(
            "[client]\ntls = true\nsni = \"cdn.example.com\"\ntls_pin = [\"sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"]\n");
        REQUIRE(ok.ok());
        CHECK(ok.config.client.sni == "cdn.example.com");
        CHECK(ok.config.client.tls_pin.size() == 1);
        CHECK(only_error("[client]\nsni = \"a b\"\n").to_string().starts_with("test.toml:2:7: client.sni: 'a b' is not a host name"));
        CHECK(only_error("[client]\ntls_ca = \"ca.pem\"\n").to_string() ==
              "test.toml:2:10: client.tls_ca: must be an absolute path to a PEM file of CA certificates (or \"\" for "
              "the system's)");
        CHECK(only_error("[client]\ntls_pin = \"sha256/short\"\n").to_string().starts_with("test.toml:2:11: client.tls_pin[0]: "));
        CHECK(only_error("[client]\ntls_pin = [\"sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"]\n")
                  .to_string()
                  .ends_with("(the server logs its pin at start)"));
    }
}
