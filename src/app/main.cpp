// porthop's entry point: parse the command line, load the configuration, run the role.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "porthop/app/cli.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/log.hpp"
#include "porthop/app/server_setup.hpp"
#include "porthop/relay/server.hpp"

namespace {

using namespace porthop;

// Prints errors and warnings; returns false when the configuration is unusable.
bool report(const app::ConfigResult& result) {
    for (const auto& w : result.warnings) std::cerr << "warning: " << w.to_string() << "\n";
    for (const auto& e : result.errors) std::cerr << "error: " << e.to_string() << "\n";
    return result.ok();
}

app::ConfigResult load(const std::string& path) {
    if (path.empty()) return app::parse_config("", "(built-in defaults)");
    return app::load_config_file(path);
}

int run_server(const std::string& config_path) {
    const auto loaded = load(config_path);
    if (!report(loaded)) return 1;
    const auto& config = loaded.config;
    app::set_log_level(config.log_level);

    std::string error;
    auto options = app::make_server_options(config.server, error);
    if (!options) {
        app::log_error(error);
        return 1;
    }
    if (auto warning = app::ensure_file_limit(*options); !warning.empty()) app::log_warn(warning);

    boost::asio::io_context io(1);
    relay::Server server(io, *options);
    if (auto problem = server.start()) {
        app::log_error(*problem);
        return 1;
    }
    app::log_info(std::string("porthop ") + PORTHOP_VERSION + " server (" + config.source +
                  "): " + app::describe(config.server, *options) + "; " +
                  std::to_string(server.udp_endpoints().size()) + " udp and " +
                  std::to_string(server.tcp_endpoints().size()) + " tcp sockets");

    boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int signal_number) {
            if (ec) return;
            if (signal_number == SIGHUP) {
                // Live reload is not implemented yet; never let SIGHUP's default kill the relay.
                app::log_warn("SIGHUP: configuration reload is not supported yet; nothing changed");
                signals.async_wait(on_signal);
                return;
            }
            app::log_info(std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                          ", stopping: " + std::to_string(server.session_count()) + " sessions open");
            server.stop();
        };
    signals.async_wait(on_signal);
    io.run();
    // The final summary names every drop reason that occurred, so a user who saw loss can tell
    // where it happened without a metrics endpoint.
    std::string summary = "stopped";
    server.counters().for_each([&](const relay::Counters::Entry& c) {
        if (c.value != 0) summary += " " + std::string(c.name) + "=" + std::to_string(c.value);
    });
    app::log_info(summary);
    return 0;
}

int check_config(const std::string& path) {
    const auto loaded = app::load_config_file(path);
    if (!report(loaded)) return 1;
    std::cout << app::to_toml(loaded.config);
    return 0;
}

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
            return check_config(cl.config_path);
        case app::CommandLine::Action::server:
            break;
    }
    try {
        return run_server(cl.config_path);
    } catch (const std::exception& e) {
        // Only start-up can throw (allocation, asio setup); the packet path reports values.
        app::log_error(std::string("fatal: ") + e.what());
        return 1;
    }
}
