// `porthop client`: the running agent, its status endpoint and signals (SIGUSR1 logs the
// status line).
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <utility>

#include "command_support.hpp"
#include "porthop/app/agent_status_text.hpp"
#include "porthop/app/client_setup.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/metrics_http.hpp"
#include "porthop/app/metrics_text.hpp"
#include "porthop/app/share_link.hpp"
#include "porthop/base/log.hpp"
#include "porthop/relay/agent.hpp"
#include "shutdown_watchdog.hpp"

namespace porthop::app {

namespace {

namespace asio = boost::asio;

// The running agent: status endpoint, signals (SIGUSR1 logs the status line).
class ClientProcess {
public:
    ClientProcess(Config config, relay::AgentOptions options)
        : config_(std::move(config)),
          agent_(io_, std::move(options)),
          metrics_(
              io_, [this] { return render_client_metrics(agent_.status(), process_); },
              [this] { return to_json(agent_.status()); }),
          signals_(io_, SIGINT, SIGTERM, SIGHUP),
          process_(process_info()) {
        signals_.add(SIGUSR1);
    }

    int run(const relay::AgentOptions& options) {
        if (auto problem = agent_.start()) {
            base::log_error(*problem);
            return 1;
        }
        const auto& m = config_.client_metrics;
        if (m.enabled) {
            if (auto problem = metrics_.start(metrics_endpoint(m))) {
                base::log_error(*problem + " (set [client_metrics] listen = \"\" to run without it)");
                agent_.stop();
                return 1;
            }
        }
        base::log_info(std::string("porthop ") + PORTHOP_VERSION + " client (" + commands::event_backend() + ", " +
                      config_.source + "): " + describe(config_.client, options) + "; status " +
                      (m.enabled ? "on http://" + metrics_.endpoint().to_string() + "/status and /metrics"
                                 : std::string("with SIGUSR1")));
        wait_for_signal();
        io_.run();
        watchdog_.loop_done();
        base::log_info("stopped: " + describe(agent_.status()));
        return 0;
    }

private:
    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
            if (ec) return;
            if (signal_number == SIGUSR1 || signal_number == SIGHUP) {
                if (signal_number == SIGHUP)
                    base::log_warn(
                        "SIGHUP: the client does not reload its configuration; restart it to apply changes");
                base::log_info("status: " + describe(agent_.status()));
                wait_for_signal();
                return;
            }
            base::log_info(std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                          ", stopping");
            metrics_.stop();
            agent_.stop();
            watchdog_.arm(io_);
        });
    }

    Config config_;
    asio::io_context io_{1};
    relay::Agent agent_;
    MetricsHttpServer metrics_;
    asio::signal_set signals_;
    ProcessInfo process_;
    ShutdownWatchdog watchdog_;
};

}  // namespace

// `client --link`: the link's settings over the file's (or the defaults') [client]. The link
// is not echoed in any message: it holds the key.
int commands::run_client(const std::string& config_path, const std::string& link_text) {
    auto loaded = load_or_defaults(config_path);
    if (loaded.ok() && !link_text.empty()) {
        ShareLinkError why;
        const auto link = decode_share_link(link_text, why);
        if (!link) {
            std::cerr << "porthop: " << why.to_string() << "\n";
            return 1;
        }
        apply(*link, loaded.config.client);
        loaded.config.source = config_path.empty() ? "a share link" : config_path + " and a share link";
    }
    // A file can be a valid server file and still lack what the client needs (server, key).
    if (loaded.ok()) loaded.errors = check_client_ready(loaded.config);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    base::set_log_level(loaded.config.log_level);
    std::string error;
    auto options = make_agent_options(loaded.config.client, error);
    if (!options) {
        base::log_error(error);
        return 1;
    }
    ClientProcess process(std::move(loaded.config), *options);
    return process.run(*options);
}

}  // namespace porthop::app
