// `porthop status`'s loop: the terminal, the clock and the refresh interval around
// app/status_command.hpp's StatusCommand (which tests drive with a fake fetch).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>

#include "command_support.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/app/status_command.hpp"
#include "porthop/app/status_fetch.hpp"

namespace porthop::app {

// `porthop status`: the local server's and client's endpoints, read and shown once, or again
// every interval with --watch (until Ctrl-C: the loop does not end by itself). Exit 1 when
// none of the endpoints asked for answers.
int commands::status(const CommandLine& cl) {
    auto loaded = load_or_defaults(cl.config_path);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    StatusCommand command(loaded.config, cl.status_role,
                               [](const std::string& host, std::uint16_t port, const std::string& target,
                                  std::string& why) {
                                   return http_get(host, port, target, std::chrono::milliseconds{2000}, why);
                               });
    const bool tty = ::isatty(STDOUT_FILENO) == 1;
    const char* no_colour = std::getenv("NO_COLOR");
    for (bool first = true;; first = false) {
        const auto wall = std::chrono::system_clock::now();
        const std::time_t t = std::chrono::system_clock::to_time_t(wall);
        std::tm local{};
        localtime_r(&t, &local);
        const auto screen = command.refresh(std::chrono::duration<double>(wall.time_since_epoch()).count(),
                                            static_cast<int>(local.tm_gmtoff),
                                            tty && (no_colour == nullptr || *no_colour == '\0'));
        if (cl.watch && tty)
            std::cout << "\x1b[H\x1b[2J";  // the view replaces the last one
        else if (cl.watch && !first)
            std::cout << "\n";
        std::cout << screen.view;
        (cl.watch ? std::cout : std::cerr) << screen.problems;
        std::cout.flush();
        if (!cl.watch) return screen.any ? 0 : 1;
        std::this_thread::sleep_for(std::chrono::seconds{cl.interval_seconds});
    }
}

}  // namespace porthop::app
