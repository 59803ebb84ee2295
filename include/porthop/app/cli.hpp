// The command line: `porthop server [--config FILE]`, `porthop client [--config FILE]`,
// `porthop check-config FILE`, `porthop genkey`, `porthop --help`, `porthop --version`.
#pragma once

#include <string>
#include <vector>

namespace porthop::app {

struct CommandLine {
    enum class Action { server, client, check_config, genkey, help, version, error } action = Action::help;
    std::string config_path;  // empty: built-in defaults
    std::string error;        // for Action::error: what was wrong
};

CommandLine parse_command_line(const std::vector<std::string>& args);  // args without argv[0]
const char* usage_text();

}  // namespace porthop::app
