#include "porthop/app/status_command.hpp"

#include "config_values.hpp"

namespace porthop::app {

StatusCommand::StatusCommand(const Config& config, CommandLine::Role role, StatusFetch fetch)
    : role_(role), fetch_(std::move(fetch)), source_(config.source) {
    if (role != CommandLine::Role::server) endpoints_.push_back({true, config.client_metrics, {}, {}, 0});
    if (role != CommandLine::Role::client) endpoints_.push_back({false, config.metrics, {}, {}, 0});
}

StatusScreen StatusCommand::refresh(double now, int utc_offset, bool colour) {
    StatusScreen screen;
    std::string absent;  // the endpoints that did not answer, for "neither answers"
    for (auto& e : endpoints_) {
        const char* who = e.client ? "client" : "server";
        const std::string target = e.client ? "/status" : "/metrics";
        const std::string url = "http://" + net_string(e.where.listen) + target;  // [v6]:port
        if (!e.where.enabled) {
            if (role_ != CommandLine::Role::any)
                screen.problems += std::string("porthop status: the ") + who + "'s status endpoint is off in " +
                                   source_ + "\n";
            absent += std::string(absent.empty() ? "" : ", ") + who + ": off";
            continue;
        }
        ViewOptions view;
        view.now = now;
        view.utc_offset = utc_offset;
        view.colour = colour;
        view.interval = e.before_at > 0 ? now - e.before_at : 0;
        std::string why;
        const auto body = fetch_(e.where.listen.host, e.where.listen.port, target, why);
        std::string text;
        if (body && e.client) {
            if (auto r = parse_client_status(*body, why)) {
                text = render_client(*r, e.client_before ? &*e.client_before : nullptr, url, view);
                e.client_before = std::move(r);
            }
        } else if (body) {
            if (auto r = parse_server_metrics(*body, why)) {
                text = render_server(*r, e.server_before ? &*e.server_before : nullptr, url, view);
                e.server_before = std::move(r);
            }
        }
        if (!text.empty()) {
            screen.view += (screen.view.empty() ? "" : "\n") + text;
            screen.any = true;
            e.before_at = now;
            continue;
        }
        // A reading that failed is no base for the next one's rates.
        e.client_before.reset();
        e.server_before.reset();
        e.before_at = 0;
        if (role_ != CommandLine::Role::any)
            screen.problems += std::string("porthop status: no porthop ") + who + " at " + url + ": " + why + "\n";
        absent += std::string(absent.empty() ? "" : ", ") + who + " " + url + ": " + why;
    }
    if (!screen.any && role_ == CommandLine::Role::any)
        screen.problems = "porthop status: no porthop client or server answers here (" + absent +
                          "); for other addresses give --config FILE with their [client_metrics] / [metrics] "
                          "listen\n";
    return screen;
}

}  // namespace porthop::app
