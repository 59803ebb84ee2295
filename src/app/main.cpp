// porthop's entry point: parse the command line and run the command (app/commands.hpp).
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "porthop/app/cli.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/base/log.hpp"

#if defined(PORTHOP_IO_URING)
#include <liburing.h>
#endif

namespace {

using namespace porthop;

#if defined(PORTHOP_IO_URING)
// Asio's io_uring backend cannot start where io_uring is disabled (many container runtimes
// block it; kernel.io_uring_disabled), and it picks its backend at compile time. So this
// build checks first and, if needed (or if PORTHOP_EVENT_BACKEND=epoll asks for it), becomes
// the epoll build installed beside it. Returns only if io_uring is to be used.
void use_io_uring_or_exec_epoll(char** argv) {
    const char* forced = std::getenv("PORTHOP_EVENT_BACKEND");
    std::string why;
    if (forced && std::string_view(forced) == "epoll") {
        why = "PORTHOP_EVENT_BACKEND=epoll";
    } else {
        io_uring ring;
        const int rc = io_uring_queue_init(8, &ring, 0);
        if (rc == 0) {
            io_uring_queue_exit(&ring);
            return;
        }
        why = std::string("io_uring is not available here: ") + std::strerror(-rc);
    }
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto fallback = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "porthop-epoll";
    base::log_warn(why + "; running " + fallback.string());
    ::execv(fallback.c_str(), argv);
    base::log_error("cannot run " + fallback.string() + ": " + std::strerror(errno));
    std::exit(1);
}
#endif

}  // namespace

int main(int argc, char** argv) {
    // Writes to a TCP client that went away must fail with EPIPE, not kill the relay.
    std::signal(SIGPIPE, SIG_IGN);
    const auto cl = app::parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    switch (cl.action) {
        case app::CommandLine::Action::help:
            std::cout << app::usage_text();
            return 0;
        case app::CommandLine::Action::version:
            std::cout << "porthop " << PORTHOP_VERSION << "\n";
            return 0;
        case app::CommandLine::Action::error:
            std::cerr << "porthop: " << cl.error << "\n\n" << app::usage_text();
            return 2;
        case app::CommandLine::Action::check_config:
            return app::commands::check_config(cl.config_path);
        case app::CommandLine::Action::genkey:
            return app::commands::genkey();
        case app::CommandLine::Action::invite:
            return app::commands::invite(cl);
        case app::CommandLine::Action::import_link:
            return app::commands::import_link(cl);
        case app::CommandLine::Action::status:
            return app::commands::status(cl);
        case app::CommandLine::Action::bench:
        case app::CommandLine::Action::server:
        case app::CommandLine::Action::client:
            break;
    }
#if defined(PORTHOP_IO_URING)
    use_io_uring_or_exec_epoll(argv);
#endif
    // bench measures the event backend the server and client would use here, so it comes
    // after the io_uring check above.
    if (cl.action == app::CommandLine::Action::bench) {
        try {
            return app::commands::bench(cl);
        } catch (const std::exception& e) {
            std::cerr << "porthop bench: " << e.what() << "\n";
            return 1;
        }
    }
    try {
        if (cl.action == app::CommandLine::Action::client) return app::commands::run_client(cl.config_path, cl.link);
        return app::commands::run_server(cl.config_path);
    } catch (const std::exception& e) {
        // Only start-up can throw (allocation, asio setup); the packet path reports values.
        base::log_error(std::string("fatal: ") + e.what());
        return 1;
    }
}
