#include "porthop/app/cli.hpp"

#include "porthop/app/share_link.hpp"

#include <initializer_list>
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
  porthop invite [--config FILE] [--name HOST] [--label TEXT] [--output FILE [--force]] [--no-qr]
                                   print a share link (porthop://...) for this server's
                                   agents and draw it as a QR code: the server's name, key,
                                   ports, hop interval, TLS pin or CA check, rotation and mask
                                   mode in one line. --name: how clients reach the server
                                   (default: its one listen address); --label: a name for
                                   the link, after its '#' and in the first line of the
                                   client file made from it (UTF-8, at most 64 bytes);
                                   --output FILE: also write a complete client configuration
                                   (0600; --force replaces an existing FILE, keeping its
                                   owner and group).
                                   The link holds the key: share it only with your own devices
  porthop import LINK [--output FILE [--force]]
                                   write the client configuration a share link stands for
                                   (to stdout, or to FILE, 0600; --force as for invite, e.g.
                                   over the packaged /etc/porthop/client.toml)
  porthop status [--config FILE] [--server | --client] [--watch] [--interval SECONDS]
                                   show what the local server and/or client are doing: the
                                   path in use and since when, round-trip time, traffic, path
                                   changes and blocking seen, sessions and drops. Reads their
                                   status endpoints ([metrics], [client_metrics] listen);
                                   --watch refreshes every --interval seconds (default 2)
  porthop --help, -h, help         this text
  porthop --version                the version

Options:
  --link LINK                      (client) run from a share link: the link's settings
                                   replace [client]'s server, key, udp, tcp, hop_interval and
                                   TLS settings; a --config file adds the rest (listen, ...)
  -c, --config FILE                configuration file (TOML). Without it, built-in defaults:
                                   server: udp 443, 1194, 40000-40099 and tcp 443 on 0.0.0.0
                                   and ::, backend 127.0.0.1:51820 (a local WireGuard);
                                   client: listen 127.0.0.1:51820, the same ports; server and
                                   key have no default, so the client needs a file or a link

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

// One option of a command: its long name (and short alias), whether it takes a value (then
// "--name VALUE" and "--name=VALUE"; the last one given wins), and what it sets. `set` returns
// an error message, or "" when the value is good.
struct Option {
    std::string_view name;
    std::string_view alias;
    std::string_view value;  // what the value is ("a file name"); empty: the option takes none
    std::string (*set)(CommandLine& cl, const std::string& value);
};

// The option parser every command but bench shares, so --config and --help cannot drift apart
// between them. `positional`: where a bare argument goes (null: none is taken); it too
// returns an error or "".
CommandLine parse_options(const std::vector<std::string>& args, CommandLine::Action action,
                          std::initializer_list<Option> options,
                          std::string (*positional)(CommandLine&, const std::string&) = nullptr) {
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
        const auto eq = a.rfind("--", 0) == 0 ? a.find('=') : std::string::npos;
        const std::string name = a.substr(0, eq);
        const Option* option = nullptr;
        for (const auto& o : options)
            if (name == o.name || (!o.alias.empty() && eq == std::string::npos && name == o.alias)) option = &o;
        std::string problem;
        if (option == nullptr) {
            // A share link holds the key: never echoed, not even in a usage error.
            if (positional == nullptr && a.rfind("porthop://", 0) == 0)
                return fail("a share link is not an argument of " + args[0] +
                            (args[0] == "client" ? " by itself: give it as --link LINK" : "") + " (not shown: it holds the key)");
            if (positional == nullptr || a.rfind("-", 0) == 0) return fail("unknown argument '" + a + "' for " + args[0]);
            problem = positional(cl, a);
        } else if (!!option->value.empty()) {
            if (eq != std::string::npos) return fail(name + " takes no value");
            problem = option->set(cl, "");
        } else if (eq != std::string::npos) {
            problem = option->set(cl, a.substr(eq + 1));
        } else if (i + 1 >= args.size()) {
            return fail(a + " needs " + std::string(option->value));
        } else {
            problem = option->set(cl, args[++i]);
        }
        if (!problem.empty()) return fail(problem);
    }
    return cl;
}

constexpr Option kConfig{"--config", "-c", "a file name", [](CommandLine& cl, const std::string& v) -> std::string {
                             cl.config_path = v;
                             return v.empty() ? "--config needs a file name" : "";
                         }};
constexpr Option kOutput{"--output", "-o", "a file name", [](CommandLine& cl, const std::string& v) -> std::string {
                             cl.output_path = v;
                             return v.empty() ? "--output needs a file name" : "";
                         }};
constexpr Option kForce{"--force", "", "", [](CommandLine& cl, const std::string&) -> std::string {
                            cl.force = true;
                            return "";
                        }};

std::string set_link(CommandLine& cl, const std::string& v) {
    if (!cl.link.empty()) return "give one link";
    cl.link = v;
    return v.empty() ? "the link is empty" : "";
}

CommandLine parse_client_options(const std::vector<std::string>& args) {
    return parse_options(args, CommandLine::Action::client, {kConfig, {"--link", "", "a link (porthop://...)", set_link}});
}

CommandLine parse_invite_options(const std::vector<std::string>& args) {
    return parse_options(args, CommandLine::Action::invite,
                         {kConfig, kOutput, kForce,
                          {"--name", "", "the server's host name or address",
                           [](CommandLine& cl, const std::string& v) -> std::string {
                               cl.name = v;
                               return v.empty() ? "--name needs the server's host name or address" : "";
                           }},
                          {"--label", "", "a text (the link's name)", [](CommandLine& cl, const std::string& v) -> std::string {
                               cl.label = v;
                               if (v.empty()) return "--label needs a text (the link's name)";
                               const auto problem = label_problem(v);
                               return problem ? "--label " + *problem : "";
                           }},
                          {"--no-qr", "", "", [](CommandLine& cl, const std::string&) -> std::string {
                               cl.qr = false;
                               return "";
                           }}});
}

CommandLine parse_import_options(const std::vector<std::string>& args) {
    auto cl = parse_options(args, CommandLine::Action::import_link, {kOutput, kForce}, set_link);
    if (cl.action == CommandLine::Action::import_link && cl.link.empty()) {
        cl.action = CommandLine::Action::error;
        cl.error = "import needs a LINK (the porthop://... line `porthop invite` printed)";
    }
    return cl;
}

std::string set_role(CommandLine& cl, CommandLine::Role role) {
    if (cl.status_role != CommandLine::Role::any && cl.status_role != role) return "give --server or --client, not both";
    cl.status_role = role;
    return "";
}

CommandLine parse_status_options(const std::vector<std::string>& args) {
    return parse_options(
        args, CommandLine::Action::status,
        {kConfig,
         {"--server", "", "",
          [](CommandLine& cl, const std::string&) { return set_role(cl, CommandLine::Role::server); }},
         {"--client", "", "",
          [](CommandLine& cl, const std::string&) { return set_role(cl, CommandLine::Role::client); }},
         {"--watch", "-w", "",
          [](CommandLine& cl, const std::string&) -> std::string {
              cl.watch = true;
              return "";
          }},
         {"--interval", "", "a number of seconds", [](CommandLine& cl, const std::string& v) -> std::string {
              const bool digits = !v.empty() && v.size() <= 4 && v.find_first_not_of("0123456789") == std::string::npos;
              const unsigned n = digits ? static_cast<unsigned>(std::stoul(v)) : 0;
              if (n < 1 || n > CommandLine::kMaxInterval)
                  return "--interval takes whole seconds from 1 to " + std::to_string(CommandLine::kMaxInterval) +
                         ", not '" + v + "'";
              cl.interval_seconds = n;
              return "";
          }}});
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
    if (command == "server") return parse_options(args, CommandLine::Action::server, {kConfig});
    if (command == "client") return parse_client_options(args);
    if (command == "invite") return parse_invite_options(args);
    if (command == "import") return parse_import_options(args);
    if (command == "status") return parse_status_options(args);
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
