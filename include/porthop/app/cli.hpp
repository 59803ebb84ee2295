// The command line: `porthop server [--config FILE]`, `porthop client [--config FILE]
// [--link LINK]`, `porthop check-config FILE`, `porthop genkey`, `porthop bench [--seconds N]
// [--json]`, `porthop invite [--config FILE] [--name HOST] [--label TEXT] [--output FILE [--force]]
// [--no-qr]`,
// `porthop import LINK [--output FILE [--force]]`, `porthop status [--config FILE] [--server|--client]
// [--watch] [--interval SECONDS]`, `porthop --help`, `porthop --version`.
#pragma once

#include <string>
#include <vector>

namespace porthop::app {

struct CommandLine {
    enum class Action { server, client, check_config, genkey, bench, invite, import_link, status, help, version, error };
    Action action = Action::help;
    std::string config_path;  // empty: built-in defaults
    // client --link, import: a share link (app/share_link.hpp). Never logged: it holds the key.
    std::string link;
    // invite: the server's name as its clients reach it ("": its one listen address, if any),
    // the client configuration to write, and whether to draw the QR code.
    std::string name;
    std::string label;        // invite: the link's label (after '#'), "" for none
    std::string output_path;  // invite, import: "" for none / stdout
    bool force = false;       // invite, import: replace an existing output_path
    bool qr = true;
    // status: which endpoint (both: whichever answer), refreshed every interval with --watch.
    enum class Role { any, server, client } status_role = Role::any;
    bool watch = false;
    static constexpr unsigned kMaxInterval = 3600;
    unsigned interval_seconds = 2;
    // bench: seconds per case (six cases) and JSON output.
    static constexpr unsigned kBenchMaxSeconds = 60;
    unsigned bench_seconds = 5;
    bool bench_json = false;
    std::string error;        // for Action::error: what was wrong
};

CommandLine parse_command_line(const std::vector<std::string>& args);  // args without argv[0]
const char* usage_text();

}  // namespace porthop::app
