// `porthop server`: the running relay and what surrounds it (metrics endpoint, signals, reload,
// the sessions kept across restarts).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <utility>

#include "command_support.hpp"
#include "porthop/app/backend_lookup.hpp"
#include "porthop/app/commands.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/metrics_http.hpp"
#include "porthop/app/metrics_text.hpp"
#include "porthop/app/server_setup.hpp"
#include "porthop/app/tls_setup.hpp"
#include "porthop/base/log.hpp"
#include "porthop/relay/server.hpp"
#include "porthop/relay/session_state.hpp"
#include "shutdown_watchdog.hpp"

namespace porthop::app {

namespace {

namespace asio = boost::asio;

// The TLS front of `server` into `options`; false (logged) if it cannot be served.
bool set_tls_front(const ServerConfig& server, relay::ServerOptions& options, const char* context) {
    auto tls = make_tls_front(server, state_file_of(server));
    for (const auto& note : tls.notes) base::log_info(std::string(context) + note);
    if (!tls.ok()) {
        base::log_error(std::string(context) + tls.error);
        return false;
    }
    options.tls = std::move(tls.front);
    return true;
}

// The running relay and what surrounds it: metrics endpoint, signals, reload.
class ServerProcess {
public:
    ServerProcess(std::string config_path, Config config, relay::ServerOptions options)
        : path_(std::move(config_path)),
          config_(std::move(config)),
          server_(io_, std::move(options)),
          metrics_(io_, [this] { return render(); }),
          signals_(io_, SIGINT, SIGTERM, SIGHUP),
          process_(process_info()) {}

    int run(const relay::ServerOptions& options) {
        if (auto problem = remember_agents()) {
            base::log_error(*problem);
            return 1;
        }
        // Set before the workers start: they call it from their threads. The save runs here on
        // worker 0's loop, once however many sessions opened meanwhile (restore_sessions).
        server_.on_agent_session_opened([this] {
            if (save_queued_.exchange(true)) return;
            asio::post(io_, [this] {
                save_queued_ = false;
                if (!stopping_) save_sessions(false);
            });
        });
        if (auto problem = server_.start()) {
            base::log_error(*problem);
            return 1;
        }
        if (config_.metrics.enabled) {
            if (auto problem = metrics_.start(metrics_endpoint(config_.metrics))) {
                base::log_error(*problem + " (set [metrics] listen = \"\" to run without metrics)");
                server_.stop();
                return 1;
            }
        }
        base::log_info(std::string("porthop ") + PORTHOP_VERSION + " server (" + commands::event_backend() + ", " +
                      config_.source + "): " + describe(config_.server, options) + "; " +
                      std::to_string(server_.udp_endpoints().size()) + " udp and " +
                      std::to_string(server_.tcp_endpoints().size()) + " tcp sockets" +
                      (options.workers > 1 ? " per worker" : "") + "; metrics " +
                      (config_.metrics.enabled ? "on http://" + metrics_.endpoint().to_string() + "/metrics"
                                               : std::string("off")));
        restore_sessions();
        wait_for_signal();
        io_.run();
        watchdog_.loop_done();
        // The final summary names every counter that moved, so a user who saw loss can tell
        // where it happened without a metrics endpoint.
        std::string summary = "stopped";
        server_.counters().for_each([&](const relay::Counters::Entry& c) {
            if (c.value != 0) summary += " " + std::string(c.name) + "=" + std::to_string(c.value);
        });
        base::log_info(summary);
        return 0;
    }

private:
    std::string render() { return render_metrics(server_.snapshot(), server_.counters(), process_); }

    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
            if (ec) return;
            if (signal_number == SIGHUP) {
                reload();
                wait_for_signal();
                return;
            }
            base::log_info(std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                          ", stopping: " + std::to_string(server_.session_count()) + " sessions open");
            if (lookup_.busy())
                base::log_info("the reload waiting for the backend's address is abandoned");
            lookup_.abandon();
            reload_again_ = false;
            metrics_.stop();
            stopping_ = true;
            save_sessions(true);
            state_timer_.cancel();
            server_.stop();
            watchdog_.arm(io_);
        });
    }

    // Restarts: the native sessions are kept in [server] state_file (relay/session_state.hpp),
    // written at stop and every kStateInterval (so a crash loses at most that much), restored at
    // start on their old backend-side ports.
    static constexpr std::chrono::seconds kStateInterval{10};

    // Before the workers start (they take attaches at once): the porthop clients' sessions the
    // last process knew, so that their captured attaches stay refused (hop/replay_ledger.hpp).
    // A problem that must stop the start: a state_file path that holds some other file, which
    // the first save would replace.
    std::optional<std::string> remember_agents() {
        state_file_ = state_file_of(config_.server);
        if (state_file_.empty()) {
            if (config_.server.key)
                base::log_warn("no state_file: an attach captured before a restart of this server opens a "
                               "session once after it (docs/PROTOCOL.md, \"Replay\"); set [server] state_file");
            return std::nullopt;
        }
        std::string why;
        if (const auto text = relay::read_state_file(state_file_, why); text && !relay::may_replace_with_state(*text))
            return "state_file " + state_file_ +
                   " holds something else than porthop's sessions; not starting, so as not to overwrite it "
                   "(move it away, or set another state_file)";
        const auto remembered = server_.remember_agents(state_file_);
        if (remembered.agents > 0)
            base::log_info("remembered " + std::to_string(remembered.agents) + " porthop client sessions from " +
                          state_file_ + ": their earlier attaches stay refused");
        return std::nullopt;
    }

    void restore_sessions() {
        if (state_file_.empty()) return;
        const auto restored = server_.restore_state(state_file_);
        if (restored.restored + restored.skipped > 0)
            base::log_info("restored " + std::to_string(restored.restored) + " sessions from " +
                          state_file_ +
                          (restored.skipped ? " (" + std::to_string(restored.skipped) +
                                                  " skipped: their port is not open or their backend-side port is taken)"
                                            : std::string()));
        else if (!restored.why_none.empty())
            base::log_warn("not restoring sessions from " + state_file_ + ": " + restored.why_none);
        // Saved now and whenever a porthop client's session opens (posted here from its worker,
        // once however many open meanwhile), not only every kStateInterval: after a crash, the
        // next process must know every session this one accepted attaches for.
        save_sessions(false);
        arm_state_timer();
    }

    // `last`: the server is stopping (no later save; see Server::save_state's until_next).
    void save_sessions(bool last) {
        if (state_file_.empty()) return;
        // The next save is kStateInterval after this one ends, and a save takes a moment: a
        // second more on the lease.
        auto problem = server_.save_state(state_file_, last ? std::chrono::milliseconds{0}
                                                            : std::chrono::milliseconds{kStateInterval} + std::chrono::seconds{1});
        // Said once, not every kStateInterval: the same problem tends to stay.
        if (problem && *problem != state_warning_) base::log_warn("cannot keep sessions across a restart: " + *problem);
        state_warning_ = problem.value_or("");
    }

    void arm_state_timer() {
        state_timer_.expires_after(kStateInterval);
        state_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            save_sessions(false);
            arm_state_timer();
        });
    }

    // SIGHUP: read the file again; apply it only if it is entirely valid and every new port
    // opens. Otherwise say why and keep running on the old configuration. Reading and checking
    // the file is quick and done here, on worker 0's loop; a backend host name is resolved on
    // a thread of its own (BackendLookup), so a slow DNS server does not stall this loop's
    // traffic, and the result is applied back here.
    void reload() {
        if (path_.empty()) {
            base::log_warn("SIGHUP: running on built-in defaults (no --config file): nothing to reload");
            return;
        }
        if (lookup_.busy()) {
            // One lookup at a time; the file is read again once it is done, so the newest
            // version is what ends up applied.
            reload_again_ = true;
            base::log_info("SIGHUP: the previous reload is still resolving the backend's address; " + path_ +
                          " is read again once it is done");
            return;
        }
        auto loaded = load_config_file(path_);
        for (const auto& w : loaded.warnings) base::log_warn("reload: " + w.to_string());
        if (loaded.ok()) loaded.errors = check_server_ready(loaded.config);
        if (!loaded.ok()) {
            for (const auto& e : loaded.errors) base::log_error("reload: " + e.to_string());
            reject(std::to_string(loaded.errors.size()) + " error(s) in the file");
            return;
        }
        auto options = server_options(loaded.config.server);
        // The certificate files are read again: a renewed certificate serves from here on.
        if (!set_tls_front(loaded.config.server, options, "reload: ")) {
            reject("the TLS settings cannot be served");
            return;
        }
        const auto backend = loaded.config.server.backend;
        if (!backend_needs_lookup(backend)) {
            std::string error;
            const auto address = resolve_backend(backend, error);  // an IP literal: no DNS
            finish_reload(std::move(loaded.config), std::move(options), address, error);
            return;
        }
        base::log_info("reload: resolving backend '" + backend.host +
                      "' off the event loop; the previous configuration serves meanwhile");
        lookup_.start(backend, [this, config = std::move(loaded.config), options = std::move(options)](
                                   std::optional<net::Endpoint> address, const std::string& error) mutable {
            finish_reload(std::move(config), std::move(options), address, error);
            if (std::exchange(reload_again_, false)) reload();
        });
    }

    void reject(const std::string& why) {
        ++process_.reloads_rejected;
        base::log_error("reload of " + path_ + " rejected, the previous configuration stays: " + why);
    }

    void finish_reload(Config loaded, relay::ServerOptions options, const std::optional<net::Endpoint>& backend,
                       const std::string& error) {
        if (!backend) {
            reject(error);
            return;
        }
        options.backend = *backend;
        std::string changes;
        if (auto problem = server_.reconfigure(options, changes)) {
            reject(*problem);
            return;
        }
        if (loaded.metrics.enabled != config_.metrics.enabled || !(loaded.metrics.listen == config_.metrics.listen))
            changes += "; [metrics] listen changes only after a restart";
        base::set_log_level(loaded.log_level);
        auto metrics = config_.metrics;
        config_ = std::move(loaded);
        config_.metrics = metrics;  // what is actually served
        ++process_.reloads_applied;
        base::log_info("reloaded " + path_ + ":" + changes);
    }

    std::string path_;
    Config config_;
    asio::io_context io_{1};
    relay::Server server_;
    MetricsHttpServer metrics_;
    asio::signal_set signals_;
    ProcessInfo process_;
    ShutdownWatchdog watchdog_;
    // After io_ and server_: destroyed first, so a lookup still in flight is abandoned before
    // the loop it would post to goes away.
    BackendLookup lookup_{io_};
    bool reload_again_ = false;  // a SIGHUP came while lookup_ was busy
    asio::steady_timer state_timer_{io_};
    std::string state_file_;  // [server] state_file, or one in systemd's StateDirectory
    std::string state_warning_;
    std::atomic<bool> save_queued_{false};  // a save for a new porthop client session is posted
    bool stopping_ = false;
};

}  // namespace

int commands::run_server(const std::string& config_path) {
    auto loaded = load_or_defaults(config_path);
    // A file must set something in [server]; without --config the defaults are meant.
    if (loaded.ok() && !config_path.empty()) loaded.errors = check_server_ready(loaded.config);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    base::set_log_level(loaded.config.log_level);

    std::string error;
    auto options = make_server_options(loaded.config.server, error);
    if (!options) {
        base::log_error(error);
        return 1;
    }
    if (!set_tls_front(loaded.config.server, *options, "")) return 1;
    if (auto warning = ensure_file_limit(*options); !warning.empty()) base::log_warn(warning);
    ServerProcess process(config_path, std::move(loaded.config), *options);
    return process.run(*options);
}

}  // namespace porthop::app
