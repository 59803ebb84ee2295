// porthop's entry point: parse the command line, load the configuration, run the role.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "porthop/app/agent_status_text.hpp"
#include "porthop/app/backend_lookup.hpp"
#include "porthop/app/bench.hpp"
#include "porthop/app/cli.hpp"
#include "porthop/app/client_setup.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/invite.hpp"
#include "porthop/app/qr_text.hpp"
#include "porthop/app/secret_file.hpp"
#include "porthop/app/share_link.hpp"
#include "porthop/app/status_command.hpp"
#include "porthop/app/status_fetch.hpp"
#include "porthop/base/log.hpp"
#include "porthop/app/metrics_http.hpp"
#include "porthop/app/metrics_text.hpp"
#include "porthop/app/server_setup.hpp"
#include "porthop/app/tls_setup.hpp"
#include "porthop/relay/session_state.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/relay/agent.hpp"
#include "porthop/relay/server.hpp"

#if defined(PORTHOP_IO_URING)
#include <liburing.h>
#endif

namespace {

using namespace porthop;
namespace asio = boost::asio;

void print_report(const app::ConfigResult& result) {
    for (const auto& w : result.warnings) std::cerr << "warning: " << w.to_string() << "\n";
    for (const auto& e : result.errors) std::cerr << "error: " << e.to_string() << "\n";
}

app::ConfigResult load(const std::string& path) {
    if (path.empty()) return app::parse_config("", "(built-in defaults)");
    return app::load_config_file(path);
}

asio::ip::tcp::endpoint metrics_endpoint(const app::MetricsConfig& m) {
    return {asio::ip::make_address(m.listen.host), m.listen.port};
}

#if defined(PORTHOP_IO_URING)
constexpr const char* kEventBackend = "io_uring";

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
#else
constexpr const char* kEventBackend = "epoll";
#endif

// Stopping closes every socket, and the loop ends once their cancelled operations have
// completed. A service manager (and a restart) waits for that, so it must never take long: if
// it takes more than Server::kStopGrace (it stalls on the io_uring backend after heavy
// traffic), the loop is stopped outright. Nothing is lost then: every session is already closed.
class ShutdownWatchdog {
public:
    static constexpr auto kGrace = relay::Server::kStopGrace;

    ~ShutdownWatchdog() { loop_done(); }

    void arm(asio::io_context& io) {
        if (thread_.joinable()) return;
        thread_ = std::thread([this, &io] {
            std::unique_lock lock(mutex_);
            if (wake_.wait_for(lock, kGrace, [this] { return done_; })) return;
            base::log_debug("the event loop still had work " + std::to_string(kGrace.count()) +
                            " ms after stopping (io_uring leaves an operation pending): stopped it");
            io.stop();
        });
    }

    void loop_done() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
};

app::ProcessInfo process_info() {
    app::ProcessInfo info;
    info.version = PORTHOP_VERSION;
    info.start_time_seconds =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return info;
}

// The TLS front of `server` into `options`; false (logged) if it cannot be served.
bool set_tls_front(const app::ServerConfig& server, relay::ServerOptions& options, const char* context) {
    auto tls = app::make_tls_front(server, app::state_file_of(server));
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
    ServerProcess(std::string config_path, app::Config config, relay::ServerOptions options)
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
        base::log_info(std::string("porthop ") + PORTHOP_VERSION + " server (" + kEventBackend + ", " +
                      config_.source + "): " + app::describe(config_.server, options) + "; " +
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
    std::string render() { return app::render_metrics(server_.snapshot(), server_.counters(), process_); }

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
        state_file_ = app::state_file_of(config_.server);
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
        auto loaded = app::load_config_file(path_);
        for (const auto& w : loaded.warnings) base::log_warn("reload: " + w.to_string());
        if (loaded.ok()) loaded.errors = app::check_server_ready(loaded.config);
        if (!loaded.ok()) {
            for (const auto& e : loaded.errors) base::log_error("reload: " + e.to_string());
            reject(std::to_string(loaded.errors.size()) + " error(s) in the file");
            return;
        }
        auto options = app::server_options(loaded.config.server);
        // The certificate files are read again: a renewed certificate serves from here on.
        if (!set_tls_front(loaded.config.server, options, "reload: ")) {
            reject("the TLS settings cannot be served");
            return;
        }
        const auto backend = loaded.config.server.backend;
        if (!app::backend_needs_lookup(backend)) {
            std::string error;
            const auto address = app::resolve_backend(backend, error);  // an IP literal: no DNS
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

    void finish_reload(app::Config loaded, relay::ServerOptions options, const std::optional<net::Endpoint>& backend,
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
    app::Config config_;
    asio::io_context io_{1};
    relay::Server server_;
    app::MetricsHttpServer metrics_;
    asio::signal_set signals_;
    app::ProcessInfo process_;
    ShutdownWatchdog watchdog_;
    // After io_ and server_: destroyed first, so a lookup still in flight is abandoned before
    // the loop it would post to goes away.
    app::BackendLookup lookup_{io_};
    bool reload_again_ = false;  // a SIGHUP came while lookup_ was busy
    asio::steady_timer state_timer_{io_};
    std::string state_file_;  // [server] state_file, or one in systemd's StateDirectory
    std::string state_warning_;
    std::atomic<bool> save_queued_{false};  // a save for a new porthop client session is posted
    bool stopping_ = false;
};

int run_server(const std::string& config_path) {
    auto loaded = load(config_path);
    // A file must set something in [server]; without --config the defaults are meant.
    if (loaded.ok() && !config_path.empty()) loaded.errors = app::check_server_ready(loaded.config);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    base::set_log_level(loaded.config.log_level);

    std::string error;
    auto options = app::make_server_options(loaded.config.server, error);
    if (!options) {
        base::log_error(error);
        return 1;
    }
    if (!set_tls_front(loaded.config.server, *options, "")) return 1;
    if (auto warning = app::ensure_file_limit(*options); !warning.empty()) base::log_warn(warning);
    ServerProcess process(config_path, std::move(loaded.config), *options);
    return process.run(*options);
}

// The running agent: status endpoint, signals (SIGUSR1 logs the status line).
class ClientProcess {
public:
    ClientProcess(app::Config config, relay::AgentOptions options)
        : config_(std::move(config)),
          agent_(io_, std::move(options)),
          metrics_(
              io_, [this] { return app::render_client_metrics(agent_.status(), process_); },
              [this] { return app::to_json(agent_.status()); }),
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
        base::log_info(std::string("porthop ") + PORTHOP_VERSION + " client (" + kEventBackend + ", " +
                      config_.source + "): " + app::describe(config_.client, options) + "; status " +
                      (m.enabled ? "on http://" + metrics_.endpoint().to_string() + "/status and /metrics"
                                 : std::string("with SIGUSR1")));
        wait_for_signal();
        io_.run();
        watchdog_.loop_done();
        base::log_info("stopped: " + app::describe(agent_.status()));
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
                base::log_info("status: " + app::describe(agent_.status()));
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

    app::Config config_;
    asio::io_context io_{1};
    relay::Agent agent_;
    app::MetricsHttpServer metrics_;
    asio::signal_set signals_;
    app::ProcessInfo process_;
    ShutdownWatchdog watchdog_;
};

// `client --link`: the link's settings over the file's (or the defaults') [client]. The link
// is not echoed in any message: it holds the key.
int run_client(const std::string& config_path, const std::string& link_text) {
    auto loaded = load(config_path);
    if (loaded.ok() && !link_text.empty()) {
        app::ShareLinkError why;
        const auto link = app::decode_share_link(link_text, why);
        if (!link) {
            std::cerr << "porthop: " << why.to_string() << "\n";
            return 1;
        }
        app::apply(*link, loaded.config.client);
        loaded.config.source = config_path.empty() ? "a share link" : config_path + " and a share link";
    }
    // A file can be a valid server file and still lack what the client needs (server, key).
    if (loaded.ok()) loaded.errors = app::check_client_ready(loaded.config);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    base::set_log_level(loaded.config.log_level);
    std::string error;
    auto options = app::make_agent_options(loaded.config.client, error);
    if (!options) {
        base::log_error(error);
        return 1;
    }
    ClientProcess process(std::move(loaded.config), *options);
    return process.run(*options);
}

int check_config(const std::string& path) {
    const auto loaded = app::load_config_file(path);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    std::cout << app::to_toml(loaded.config);
    return 0;
}

// The key goes to stdout only, nothing else does: `porthop genkey > key` leaves exactly the
// key in the file, and no log line ever holds it.
int genkey() {
    if (!crypto::init_sodium()) {
        std::cerr << "porthop: libsodium cannot initialise (no randomness source?)\n";
        return 1;
    }
    std::cout << crypto::format_hop_key(crypto::generate_hop_key()) << "\n";
    return std::cout.flush() ? 0 : 1;
}

// `porthop invite`: the link on stdout (the first line, so `porthop invite | head -1` is the
// link alone), then its QR code; what the operator should know on stderr.
int invite(const app::CommandLine& cl) {
    auto loaded = load(cl.config_path);
    if (loaded.ok() && !cl.config_path.empty()) loaded.errors = app::check_server_ready(loaded.config);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    const auto made = app::make_invite(loaded.config, cl.name);
    if (!made.link) {
        std::cerr << "porthop invite: " << made.error << "\n";
        return 1;
    }
    for (const auto& note : made.notes) std::cerr << "porthop invite: " << note << "\n";
    if (!cl.output_path.empty()) {
        if (auto problem = app::write_secret_file(cl.output_path, app::client_file(*made.link, app::Config{}),
                                                  cl.force ? app::Existing::take_over : app::Existing::keep);
            !problem.empty()) {
            std::cerr << "porthop invite: " << problem << "\n";
            return 1;
        }
        std::cerr << "porthop invite: wrote the client configuration to " << cl.output_path << "\n";
    }
    const auto text = app::encode(*made.link);
    std::cout << text << "\n";
    if (cl.qr) {
        std::string why;
        if (const auto modules = app::qr_encode(text, why))
            std::cout << "\n" << app::qr_text(*modules, ::isatty(STDOUT_FILENO) == 1);
        else
            std::cerr << "porthop invite: no QR code: " << why << "\n";
    }
    std::cerr << "porthop invite: the link holds the hop-link key: share it only with your own devices\n";
    return std::cout.flush() ? 0 : 1;
}

// `porthop import LINK`: the client configuration, on stdout or into --output.
int import_link(const app::CommandLine& cl) {
    app::ShareLinkError why;
    const auto link = app::decode_share_link(cl.link, why);
    if (!link) {
        std::cerr << "porthop import: " << why.to_string() << "\n";
        return 1;
    }
    const auto text = app::client_file(*link, app::Config{});
    if (cl.output_path.empty()) {
        std::cout << text;
        return std::cout.flush() ? 0 : 1;
    }
    if (auto problem = app::write_secret_file(cl.output_path, text,
                                              cl.force ? app::Existing::take_over : app::Existing::keep);
        !problem.empty()) {
        std::cerr << "porthop import: " << problem << "\n";
        return 1;
    }
    std::cerr << "porthop import: wrote " << cl.output_path << "; run: porthop client --config "
              << cl.output_path << "\n";
    return 0;
}

// `porthop status`: the local server's and client's endpoints, read and shown once, or again
// every interval with --watch (until Ctrl-C: the loop does not end by itself). Exit 1 when
// none of the endpoints asked for answers.
int status(const app::CommandLine& cl) {
    auto loaded = load(cl.config_path);
    print_report(loaded);
    if (!loaded.ok()) return 1;
    app::StatusCommand command(loaded.config, cl.status_role,
                               [](const std::string& host, std::uint16_t port, const std::string& target,
                                  std::string& why) {
                                   return app::http_get(host, port, target, std::chrono::milliseconds{2000}, why);
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

// `porthop bench`: progress on stderr, the results on stdout (a table, or JSON only).
int bench(const app::CommandLine& cl) {
    // The relay's session lines would bury the table; warnings still show.
    base::set_log_level(base::LogLevel::warn);
    app::BenchOptions options;
    options.per_case = std::chrono::seconds{cl.bench_seconds};
    std::cerr << "porthop bench: 6 cases of " << cl.bench_seconds
                  << " s on loopback (generator -> relay -> sink, one worker, built-in defaults, "
              << kEventBackend << ")\n";
    std::vector<app::BenchResult> results;
    const auto problem = app::run_bench(options, results, [&](const std::string& step) {
        std::cerr << "  " << step << "\n";
    });
    if (problem) {
        std::cerr << "porthop bench: " << *problem << "\n";
        return 1;
    }
    std::cout << (cl.bench_json ? app::bench_json(results) : app::bench_table(results));
    return std::cout.flush() ? 0 : 1;
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
        case app::CommandLine::Action::genkey:
            return genkey();
        case app::CommandLine::Action::invite:
            return invite(cl);
        case app::CommandLine::Action::import_link:
            return import_link(cl);
        case app::CommandLine::Action::status:
            return status(cl);
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
            return bench(cl);
        } catch (const std::exception& e) {
            std::cerr << "porthop bench: " << e.what() << "\n";
            return 1;
        }
    }
    try {
        if (cl.action == app::CommandLine::Action::client) return run_client(cl.config_path, cl.link);
        return run_server(cl.config_path);
    } catch (const std::exception& e) {
        // Only start-up can throw (allocation, asio setup); the packet path reports values.
        base::log_error(std::string("fatal: ") + e.what());
        return 1;
    }
}
