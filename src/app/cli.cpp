#include "porthop/app/cli.hpp"

namespace porthop::app {

const char* usage_text() {
    return R"(porthop - keeps WireGuard and OpenVPN reachable on networks that filter VPN traffic

Usage:
  porthop server [--config FILE]   run the relay in front of a WireGuard or OpenVPN server:
                                   UDP on many ports and TCP (u16-length-framed datagrams,
                                   OpenVPN's TCP framing) forwarded to the backend's UDP port
  porthop check-config FILE        validate FILE, print the effective configuration, exit 0;
                                   print every error (file:line:column: key: reason), exit 1
  porthop --help, -h, help         this text
  porthop --version                the version

Options:
  -c, --config FILE                configuration file (TOML). Without it, built-in defaults:
                                   udp 443, 1194, 40000-40099 and tcp 443 on 0.0.0.0 and ::,
                                   backend 127.0.0.1:51820 (a local WireGuard)

Signals: SIGINT and SIGTERM stop the relay cleanly; SIGHUP re-reads the --config file and
applies it (ports added open, ports removed close, limits change); a bad file is reported and
the running configuration stays.
Exit status: 0 on success, 1 on a configuration or start-up error, 2 on a usage error.
Documentation: README.md and conf/server.toml (every key, with its default).
)";
}

CommandLine parse_command_line(const std::vector<std::string>& args) {
    CommandLine cl;
    const auto fail = [&](std::string why) {
        cl.action = CommandLine::Action::error;
        cl.error = std::move(why);
        return cl;
    };
    if (args.empty()) return fail("missing command");
    const std::string& command = args[0];
    if (command == "--help" || command == "-h" || command == "help") {
        cl.action = CommandLine::Action::help;
        return cl;
    }
    if (command == "--version" || command == "version") {
        cl.action = CommandLine::Action::version;
        return cl;
    }
    if (command == "server") {
        cl.action = CommandLine::Action::server;
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
                return fail("unknown argument '" + a + "' for server");
            }
            if (cl.config_path.empty()) return fail("--config needs a file name");
        }
        return cl;
    }
    if (command == "check-config") {
        if (args.size() == 2 && (args[1] == "--help" || args[1] == "-h")) {
            cl.action = CommandLine::Action::help;
            return cl;
        }
        if (args.size() != 2) return fail("check-config takes exactly one FILE");
        cl.action = CommandLine::Action::check_config;
        cl.config_path = args[1];
        return cl;
    }
    return fail("unknown command '" + command + "'");
}

}  // namespace porthop::app
