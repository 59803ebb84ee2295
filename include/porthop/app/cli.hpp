// The command line: `porthop server [--config FILE]`, `porthop client [--config FILE]`,
// `porthop check-config FILE`, `porthop genkey`, `porthop bench [--seconds N] [--json]`,
// `porthop --help`, `porthop --version`.
#pragma once

#include <string>
#include <vector>

namespace porthop::app {

struct CommandLine {
    enum class Action { server, client, check_config, genkey, bench, help, version, error } action = Action::help;
    std::string config_path;  // empty: built-in defaults
    // bench: seconds per case (six cases) and JSON output.
    static constexpr unsigned kBenchMaxSeconds = 60;
    unsigned bench_seconds = 5;
    bool bench_json = false;
    std::string error;        // for Action::error: what was wrong
};

CommandLine parse_command_line(const std::vector<std::string>& args);  // args without argv[0]
const char* usage_text();

}  // namespace porthop::app
