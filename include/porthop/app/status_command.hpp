// `porthop status`: which endpoints to read (the client's /status, the server's /metrics, as a
// configuration names them), one refresh of the view, and what to say when nothing answers.
// The fetching is injected (app/status_fetch.hpp's http_get in the program, a fake in tests);
// the loop, the terminal and the clock are app/status_loop.cpp's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "porthop/app/cli.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/status_view.hpp"

namespace porthop::app {

// GET http://host:port/target: the body of a 200, or nullopt with the reason.
using StatusFetch = std::function<std::optional<std::string>(const std::string& host, std::uint16_t port,
                                                              const std::string& target, std::string& why)>;

struct StatusScreen {
    std::string view;      // the views of the endpoints that answered, in order
    std::string problems;  // one line per endpoint asked for that did not, or why none did
    bool any = false;      // some endpoint answered
};

class StatusCommand {
public:
    // `role`: both endpoints (the client's first; one that does not answer is just not running
    // here, unless neither does), or only one of them, which must answer.
    StatusCommand(const Config& config, CommandLine::Role role, StatusFetch fetch);

    // One refresh at `now` (Unix seconds): rates against the previous refresh's readings, over
    // the time that really passed between them.
    StatusScreen refresh(double now, int utc_offset, bool colour);

private:
    struct Endpoint {
        bool client;
        MetricsConfig where;
        std::optional<ClientReading> client_before;
        std::optional<ServerReading> server_before;
        double before_at = 0;
    };
    std::vector<Endpoint> endpoints_;
    CommandLine::Role role_;
    StatusFetch fetch_;
    std::string source_;
};

}  // namespace porthop::app
