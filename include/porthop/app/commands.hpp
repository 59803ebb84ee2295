// The commands of the `porthop` program, one function each (main.cpp parses the command line
// and calls one). Each returns the process's exit status and writes its own messages.
#pragma once

#include <string>

#include "porthop/app/cli.hpp"

namespace porthop::app::commands {

// "io_uring" or "epoll": the event backend this build of the I/O layers uses.
const char* event_backend();

// The long-running roles (app/server_process.cpp, app/client_process.cpp): until SIGTERM/SIGINT.
// An empty config_path means the built-in defaults; `link_text` a share link's settings over them.
int run_server(const std::string& config_path);
int run_client(const std::string& config_path, const std::string& link_text);

int check_config(const std::string& path);  // app/config_commands.cpp
int genkey();
int invite(const CommandLine& cl);  // app/link_commands.cpp
int import_link(const CommandLine& cl);
int status(const CommandLine& cl);  // app/status_loop.cpp
int bench(const CommandLine& cl);   // app/bench_command.cpp

}  // namespace porthop::app::commands
