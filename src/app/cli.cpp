#include "porthop/app/cli.hpp"

#include <string>

namespace porthop::app {

const char* usage_text() {
    return R"(porthop - keeps WireGuard and OpenVPN reachable on networks that filter VPN traffic

Usage:
  porthop server [--config FILE]   run the relay in front of a WireGuard or OpenVPN server:
                                   UDP on many ports and TCP (u16-length-framed datagrams,
                                   OpenVPN's TCP framing) forwarded to the backend's UDP port
  porthop client [--config FILE]   run the agent beside a WireGuard or OpenVPN client: the VPN
                                   client sends to [client] listen, the agent carries that to
                                   the porthop server over the hop link (UDP on a port that
                                   changes every hop_interval, TCP when UDP is blocked).
                                   Needs [client] server and key
  porthop genkey                   print a new hop-link key (44 characters of base64). The
                                   same key goes into the server's [server] key and into every
                                   client's [client] key
  porthop check-config FILE        validate FILE, print the effective configuration, exit 0;
                                   print every error (file:line:column: key: reason), exit 1
  porthop bench [--seconds N] [--json]
                                   measure how fast this device relays: datagrams/s, Mbit/s
                                   and CPU microseconds per datagram through the relay, on
                                   loopback (no root, ephemeral ports, beside a running
                                   porthop), for native UDP, the hop link over UDP (client
                                   agent -> server) and TCP framing, at 64 and 1400 bytes.
                                   --seconds N: each of the six cases runs N seconds (1-60,
                                   default 5: about 35 s in all); --json: a JSON array
  porthop --help, -h, help         this text
  porthop --version                the version

Options:
  -c, --config FILE                configuration file (TOML). Without it, built-in defaults:
                                   server: udp 443, 1194, 40000-40099 and tcp 443 on 0.0.0.0
                                   and ::, backend 127.0.0.1:51820 (a local WireGuard);
                                   client: listen 127.0.0.1:51820, the same ports; server and
                                   key have no default, so the client needs a file

Signals: SIGINT and SIGTERM stop the server or the client cleanly. SIGHUP makes the server
re-read its --config file and apply it (ports added open, ports removed close, limits change);
a bad file is reported and the running configuration stays. SIGUSR1 makes the client log
one status line: the path in use (udp/PORT or tcp/PORT), hops so far, bytes each way and the
round-trip time.
Status: the server serves Prometheus metrics on GET http://127.0.0.1:9816/metrics ([metrics]
listen); the client serves GET http://127.0.0.1:9817/metrics and /status (JSON: its path,
hops, bytes, round-trip time; [client_metrics] listen).
Exit status: 0 on success, 1 on a configuration or start-up error, 2 on a usage error.
Documentation: README.md, conf/server.toml and conf/client.toml (every key, with its default).
)";
}

namespace {

// `server` and `client` take the same options: [--config FILE] (or -c FILE, --config=FILE; the
// last one wins) and --help. One parser, so the two cannot drift apart.
CommandLine parse_run_options(const std::vector<std::string>& args, CommandLine::Action action) {
    CommandLine cl;
    cl.action = action;
    const auto fail = [&](std::string why) {
        cl.action = CommandLine::Action::error;
        cl.error = std::move(why);
        return cl;
    };
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            cl.action = CommandLine::Action::help;
            return cl;
        }
        if (a == "--config" || a == "-c") {
            if (i + 1 >= args.size()) return fail(a + " needs a file name");
            cl.config_path = args[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            cl.config_path = a.substr(9);
        } else {
            return fail("unknown argument '" + a + "' for " + args[0]);
        }
        if (cl.config_path.empty()) return fail("--config needs a file name");
    }
    return cl;
}

// `bench [--seconds N | --seconds=N] [--json]`.
CommandLine parse_bench_options(const std::vector<std::string>& args) {
    CommandLine cl;
    cl.action = CommandLine::Action::bench;
    const auto fail = [&](std::string why) {
        cl.action = CommandLine::Action::error;
        cl.error = std::move(why);
        return cl;
    };
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string seconds;
        if (a == "--help" || a == "-h") {
            cl.action = CommandLine::Action::help;
            return cl;
        }
        if (a == "--json") {
            cl.bench_json = true;
            continue;
        }
        if (a == "--seconds") {
            if (i + 1 >= args.size()) return fail("--seconds needs a number of seconds");
            seconds = args[++i];
        } else if (a.rfind("--seconds=", 0) == 0) {
            seconds = a.substr(10);
        } else {
            return fail("unknown argument '" + a + "' for bench");
        }
        // Digits only: "5s", "-1", "1.5" and "" are mistakes, not something to round.
        const bool digits = !seconds.empty() && seconds.size() <= 3 &&
                            seconds.find_first_not_of("0123456789") == std::string::npos;
        const unsigned n = digits ? static_cast<unsigned>(std::stoul(seconds)) : 0;
        if (n < 1 || n > CommandLine::kBenchMaxSeconds)
            return fail("--seconds takes a whole number of seconds per case from 1 to " +
                        std::to_string(CommandLine::kBenchMaxSeconds) + ", not '" + seconds + "'");
        cl.bench_seconds = n;
    }
    return cl;
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& args) {
    CommandLine cl;
    const auto fail = [&](std::string why) {
        cl.action = CommandLine::Action::error;
        cl.error = std::move(why);
        return cl;
    };
    const auto help = [&] {
        cl.action = CommandLine::Action::help;
        return cl;
    };
    if (args.empty()) return fail("missing command");
    const std::string& command = args[0];
    if (command == "--help" || command == "-h" || command == "help") return help();
    if (command == "--version" || command == "version") {
        cl.action = CommandLine::Action::version;
        return cl;
    }
    if (command == "server") return parse_run_options(args, CommandLine::Action::server);
    if (command == "client") return parse_run_options(args, CommandLine::Action::client);
    if (command == "bench") return parse_bench_options(args);
    if (command == "check-config") {
        if (args.size() == 2 && (args[1] == "--help" || args[1] == "-h")) return help();
        if (args.size() != 2) return fail("check-config takes exactly one FILE");
        cl.action = CommandLine::Action::check_config;
        cl.config_path = args[1];
        return cl;
    }
    if (command == "genkey") {
        if (args.size() == 2 && (args[1] == "--help" || args[1] == "-h")) return help();
        // Nothing to configure: the key is 32 random bytes. An argument is more likely a
        // mistake (`genkey > file` typed as `genkey file`) than something to ignore.
        if (args.size() != 1)
            return fail("genkey takes no arguments (redirect its output: porthop genkey > FILE)");
        cl.action = CommandLine::Action::genkey;
        return cl;
    }
    return fail("unknown command '" + command + "'");
}

}  // namespace porthop::app
