// parse_command_line: every branch.
#include "porthop/app/cli.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using porthop::app::CommandLine;
using porthop::app::parse_command_line;
using Action = CommandLine::Action;

TEST_CASE("parse_command_line: accepted command lines", "[app][cli]") {
    struct Row {
        std::vector<std::string> args;
        Action action;
        const char* config_path;
    };
    const Row rows[] = {
        {{"server"}, Action::server, ""},
        {{"server", "-c", "a.toml"}, Action::server, "a.toml"},
        {{"server", "--config", "/etc/porthop/server.toml"}, Action::server, "/etc/porthop/server.toml"},
        {{"server", "--config=b.toml"}, Action::server, "b.toml"},
        {{"server", "--config=x=y.toml"}, Action::server, "x=y.toml"},
        {{"server", "-c", "first", "--config", "second"}, Action::server, "second"},  // the last one wins
        {{"server", "-c", "-h"}, Action::server, "-h"},  // a value, not an option
        {{"server", "--help"}, Action::help, ""},
        {{"server", "-h"}, Action::help, ""},
        {{"server", "-c", "a.toml", "--help"}, Action::help, "a.toml"},
        // `client` takes exactly the options of `server`.
        {{"client"}, Action::client, ""},
        {{"client", "-c", "a.toml"}, Action::client, "a.toml"},
        {{"client", "--config", "/etc/porthop/client.toml"}, Action::client, "/etc/porthop/client.toml"},
        {{"client", "--config=b.toml"}, Action::client, "b.toml"},
        {{"client", "-c", "first", "--config=second"}, Action::client, "second"},
        {{"client", "-c", "--help"}, Action::client, "--help"},
        {{"client", "--help"}, Action::help, ""},
        {{"client", "-h"}, Action::help, ""},
        {{"client", "--config", "a.toml", "-h"}, Action::help, "a.toml"},
        {{"genkey"}, Action::genkey, ""},
        {{"genkey", "--help"}, Action::help, ""},
        {{"genkey", "-h"}, Action::help, ""},
        {{"check-config", "c.toml"}, Action::check_config, "c.toml"},
        {{"check-config", "--help"}, Action::help, ""},
        {{"check-config", "-h"}, Action::help, ""},
        {{"help"}, Action::help, ""},
        {{"-h"}, Action::help, ""},
        {{"--help"}, Action::help, ""},
        {{"--help", "anything"}, Action::help, ""},
        {{"--version"}, Action::version, ""},
        {{"version"}, Action::version, ""},
    };
    for (const auto& row : rows) {
        std::string joined;
        for (const auto& a : row.args) joined += "'" + a + "' ";
        INFO(joined);
        const auto cl = parse_command_line(row.args);
        CHECK(cl.action == row.action);
        CHECK(cl.config_path == row.config_path);
        CHECK(cl.error.empty());
    }
}

TEST_CASE("parse_command_line: usage errors say what was wrong", "[app][cli]") {
    struct Row {
        std::vector<std::string> args;
        const char* error;
    };
    const Row rows[] = {
        {{}, "missing command"},
        {{"serve"}, "unknown command 'serve'"},
        {{""}, "unknown command ''"},
        {{"-c", "a.toml", "server"}, "unknown command '-c'"},
        {{"server", "--config"}, "--config needs a file name"},
        {{"server", "-c"}, "-c needs a file name"},
        {{"server", "--config="}, "--config needs a file name"},
        {{"server", "-c", ""}, "--config needs a file name"},
        {{"server", "--config", ""}, "--config needs a file name"},
        {{"server", "a.toml"}, "unknown argument 'a.toml' for server"},
        {{"server", "--verbose"}, "unknown argument '--verbose' for server"},
        {{"server", "--config", "a.toml", "extra"}, "unknown argument 'extra' for server"},
        {{"server", "--configx=a"}, "unknown argument '--configx=a' for server"},
        {{"check-config"}, "check-config takes exactly one FILE"},
        {{"check-config", "a.toml", "b.toml"}, "check-config takes exactly one FILE"},
        {{"check-config", "--help", "x"}, "check-config takes exactly one FILE"},
        {{"client", "--config"}, "--config needs a file name"},
        {{"client", "-c"}, "-c needs a file name"},
        {{"client", "--config="}, "--config needs a file name"},
        {{"client", "-c", ""}, "--config needs a file name"},
        {{"client", "a.toml"}, "unknown argument 'a.toml' for client"},
        {{"client", "--server", "vpn.example.net"}, "unknown argument '--server' for client"},
        {{"client", "-c", "a.toml", "extra"}, "unknown argument 'extra' for client"},
        {{"clients"}, "unknown command 'clients'"},
        {{"Client"}, "unknown command 'Client'"},
        {{"genkey", "key.txt"}, "genkey takes no arguments (redirect its output: porthop genkey > FILE)"},
        {{"genkey", "--config", "a.toml"},
         "genkey takes no arguments (redirect its output: porthop genkey > FILE)"},
        {{"genkey", "--help", "x"}, "genkey takes no arguments (redirect its output: porthop genkey > FILE)"},
        {{"genkey", ""}, "genkey takes no arguments (redirect its output: porthop genkey > FILE)"},
        {{"gen-key"}, "unknown command 'gen-key'"},
    };
    for (const auto& row : rows) {
        std::string joined;
        for (const auto& a : row.args) joined += "'" + a + "' ";
        INFO(joined);
        const auto cl = parse_command_line(row.args);
        CHECK(cl.action == Action::error);
        CHECK(cl.error == row.error);
    }
}

TEST_CASE("usage_text names every command and option", "[app][cli]") {
    const std::string usage = porthop::app::usage_text();
    for (const char* word :
         {"porthop server [--config FILE]", "porthop client [--config FILE]", "porthop genkey",
          "44 characters of base64", "[server] key", "[client] key", "porthop check-config FILE", "--help",
          "--version", "-c, --config FILE", "SIGUSR1", "SIGHUP", "http://127.0.0.1:9817/metrics and /status",
          "http://127.0.0.1:9816/metrics", "conf/client.toml", "Exit status"}) {
        INFO(word);
        CHECK(usage.find(word) != std::string::npos);
    }
}

TEST_CASE("parse_command_line: bench and its options", "[app][cli][bench]") {
    struct Row {
        std::vector<std::string> args;
        Action action;
        unsigned seconds;
        bool json;
    };
    const Row rows[] = {
        {{"bench"}, Action::bench, 5, false},  // the default: 6 x 5 s, under a minute
        {{"bench", "--json"}, Action::bench, 5, true},
        {{"bench", "--seconds", "1"}, Action::bench, 1, false},
        {{"bench", "--seconds=60"}, Action::bench, 60, false},
        {{"bench", "--seconds", "2", "--json"}, Action::bench, 2, true},
        {{"bench", "--json", "--seconds", "007"}, Action::bench, 7, true},
        {{"bench", "--seconds", "3", "--seconds", "4"}, Action::bench, 4, false},  // the last one wins
        {{"bench", "--help"}, Action::help, 5, false},
        {{"bench", "--json", "-h"}, Action::help, 5, true},
    };
    for (const auto& row : rows) {
        std::string joined;
        for (const auto& a : row.args) joined += "'" + a + "' ";
        INFO(joined);
        const auto cl = parse_command_line(row.args);
        CHECK(cl.action == row.action);
        CHECK(cl.bench_seconds == row.seconds);
        CHECK(cl.bench_json == row.json);
        CHECK(cl.error.empty());
    }
}

TEST_CASE("parse_command_line: bench usage errors", "[app][cli][bench]") {
    const std::string range = "--seconds takes a whole number of seconds per case from 1 to 60, not ";
    struct Row {
        std::vector<std::string> args;
        std::string error;
    };
    const Row rows[] = {
        {{"bench", "--seconds"}, "--seconds needs a number of seconds"},
        {{"bench", "--json", "--seconds"}, "--seconds needs a number of seconds"},
        {{"bench", "--seconds", "0"}, range + "'0'"},
        {{"bench", "--seconds", "61"}, range + "'61'"},
        {{"bench", "--seconds", "-1"}, range + "'-1'"},
        {{"bench", "--seconds", "1.5"}, range + "'1.5'"},
        {{"bench", "--seconds", "5s"}, range + "'5s'"},
        {{"bench", "--seconds", "abc"}, range + "'abc'"},
        {{"bench", "--seconds", ""}, range + "''"},
        {{"bench", "--seconds="}, range + "''"},
        {{"bench", "--seconds", "99999999999999999999"}, range + "'99999999999999999999'"},
        {{"bench", "--seconds", " 5"}, range + "' 5'"},
        {{"bench", "--verbose"}, "unknown argument '--verbose' for bench"},
        {{"bench", "5"}, "unknown argument '5' for bench"},
        {{"bench", "--json=yes"}, "unknown argument '--json=yes' for bench"},
        {{"bench", "--config", "a.toml"}, "unknown argument '--config' for bench"},
        {{"benchmark"}, "unknown command 'benchmark'"},
    };
    for (const auto& row : rows) {
        std::string joined;
        for (const auto& a : row.args) joined += "'" + a + "' ";
        INFO(joined);
        const auto cl = parse_command_line(row.args);
        CHECK(cl.action == Action::error);
        CHECK(cl.error == row.error);
    }
}

TEST_CASE("usage_text describes bench", "[app][cli][bench]") {
    const std::string usage = porthop::app::usage_text();
    for (const char* word : {"porthop bench [--seconds N] [--json]", "each of the six cases runs N seconds",
                             "default 5", "64 and 1400 bytes", "no root"}) {
        INFO(word);
        CHECK(usage.find(word) != std::string::npos);
    }
}

TEST_CASE("parse_command_line: invite, import, client --link, status", "[app][cli]") {
    auto cl = parse_command_line({"invite", "--config", "s.toml", "--name", "vpn.example.org", "-o", "c.toml", "--no-qr"});
    CHECK(cl.action == Action::invite);
    CHECK(cl.config_path == "s.toml");
    CHECK(cl.name == "vpn.example.org");
    CHECK(cl.output_path == "c.toml");
    CHECK_FALSE(cl.qr);
    CHECK(cl.label.empty());
    CHECK(parse_command_line({"invite", "--label", "home \xc3\xa4"}).label == "home \xc3\xa4");
    CHECK(parse_command_line({"invite", "--label=" + std::string(64, 'x')}).label.size() == 64);
    cl = parse_command_line({"invite"});
    CHECK(cl.action == Action::invite);
    CHECK(cl.qr);
    CHECK(cl.name.empty());
    cl = parse_command_line({"import", "porthop://x/1?key=y", "--output=c.toml"});
    CHECK(cl.action == Action::import_link);
    CHECK(cl.link == "porthop://x/1?key=y");
    CHECK(cl.output_path == "c.toml");
    cl = parse_command_line({"client", "--link", "porthop://x", "-c", "a.toml"});
    CHECK(cl.action == Action::client);
    CHECK(cl.link == "porthop://x");
    CHECK(cl.config_path == "a.toml");
    cl = parse_command_line({"status"});
    CHECK(cl.action == Action::status);
    CHECK(cl.status_role == CommandLine::Role::any);
    CHECK_FALSE(cl.watch);
    CHECK(cl.interval_seconds == 2);
    cl = parse_command_line({"status", "--client", "-w", "--interval", "5", "--config=c.toml"});
    CHECK(cl.status_role == CommandLine::Role::client);
    CHECK(cl.watch);
    CHECK(cl.interval_seconds == 5);
    CHECK(cl.config_path == "c.toml");
    CHECK(parse_command_line({"status", "--server"}).status_role == CommandLine::Role::server);
    CHECK(parse_command_line({"import", "--help"}).action == Action::help);
    CHECK(parse_command_line({"import", "porthop://x", "-o", "c.toml", "--force"}).force);
    CHECK(parse_command_line({"invite", "--output", "c.toml", "--force"}).force);
    CHECK_FALSE(parse_command_line({"invite", "--output", "c.toml"}).force);
}

TEST_CASE("parse_command_line: invite, import, client --link, status refusals", "[app][cli]") {
    struct Row {
        std::vector<std::string> args;
        const char* error;
    };
    const Row rows[] = {
        {{"invite", "--name"}, "--name needs the server's host name or address"},
        {{"invite", "--name="}, "--name needs the server's host name or address"},
        {{"invite", "--output"}, "--output needs a file name"},
        {{"invite", "--no-qr=yes"}, "--no-qr takes no value"},
        {{"invite", "vpn.example.org"}, "unknown argument 'vpn.example.org' for invite"},
        {{"import"}, "import needs a LINK (the porthop://... line `porthop invite` printed)"},
        {{"import", "a", "b"}, "give one link"},
        {{"import", "--bogus"}, "unknown argument '--bogus' for import"},
        {{"client", "--link"}, "--link needs a link (porthop://...)"},
        {{"client", "--link", ""}, "the link is empty"},
        {{"client", "--link", "a", "--link", "b"}, "give one link"},
        {{"status", "--server", "--client"}, "give --server or --client, not both"},
        {{"status", "--interval", "0"}, "--interval takes whole seconds from 1 to 3600, not '0'"},
        {{"status", "--interval", "2s"}, "--interval takes whole seconds from 1 to 3600, not '2s'"},
        {{"status", "--interval", "3601"}, "--interval takes whole seconds from 1 to 3600, not '3601'"},
        {{"status", "--interval"}, "--interval needs a number of seconds"},
        {{"status", "extra"}, "unknown argument 'extra' for status"},
        // A link holds the key: a usage error never shows it.
        {{"client", "porthop://h/1?key=secret"}, "a share link is not an argument of client by itself: give it as --link "
                                                 "LINK (not shown: it holds the key)"},
        {{"server", "porthop://h/1?key=secret"}, "a share link is not an argument of server (not shown: it holds the key)"},
        {{"invite", "--force=1"}, "--force takes no value"},
        // The link decoder's rule for labels, said before a link is made.
        {{"invite", "--label"}, "--label needs a text (the link's name)"},
        {{"invite", "--label="}, "--label needs a text (the link's name)"},
        {{"invite", "--label", std::string(65, 'x')}, "--label is longer than 64 bytes"},
        {{"invite", "--label", "a\tb"}, "--label holds control characters"},
        {{"invite", "--label", "\xff"}, "--label is not UTF-8 text"},
    };
    for (const auto& row : rows) {
        std::string joined;
        for (const auto& a : row.args) joined += "'" + a + "' ";
        INFO(joined);
        const auto cl = parse_command_line(row.args);
        CHECK(cl.action == Action::error);
        CHECK(cl.error == row.error);
    }
}
