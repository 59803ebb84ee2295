#include "porthop/app/bench.hpp"

#include <pthread.h>
#include <time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <future>
#include <thread>

#include "porthop/app/bench_load.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/server_setup.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/relay/agent.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::app {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double cpu_seconds(clockid_t clock) {
    timespec ts{};
    if (::clock_gettime(clock, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// An event loop on a thread of its own whose CPU time can be read while it runs.
class LoopThread {
public:
    void start() {
        thread_ = std::thread([this, done = std::move(done_)]() mutable {
            io_.run();
            done.set_value();
        });
        if (::pthread_getcpuclockid(thread_.native_handle(), &clock_) != 0) clock_ = -1;
    }
    // Runs `f` on the loop and waits for its result.
    template <typename F>
    auto call(F&& f) {
        std::packaged_task<decltype(f())()> task(std::forward<F>(f));
        auto result = task.get_future();
        asio::post(io_, [&task] { task(); });
        return result.get();
    }
    double cpu() const { return clock_ == -1 ? 0 : cpu_seconds(clock_); }
    // After the relay on it has stopped: the loop ends once its cancelled operations are done,
    // or after 3 s (as `porthop server` does at exit: on io_uring a cancelled TCP operation has
    // been seen to stay pending).
    void stop() {
        guard_.reset();
        if (!thread_.joinable()) return;
        if (finished_.wait_for(3s) != std::future_status::ready) io_.stop();
        thread_.join();
    }
    ~LoopThread() { stop(); }
    asio::io_context& io() { return io_; }

private:
    asio::io_context io_{1};
    // Keeps run() going between calls, until stop().
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{io_.get_executor()};
    std::promise<void> done_;
    std::future<void> finished_ = done_.get_future();
    std::thread thread_;
    clockid_t clock_ = -1;
};

// The relay as `porthop server` runs it with the built-in defaults, except: one worker, and
// one UDP and one TCP listener on 127.0.0.1 with ephemeral ports, keyed for the hop link.
std::optional<relay::ServerOptions> server_options(const net::Endpoint& backend, const crypto::HopKey& key,
                                                   std::string& error) {
    const auto defaults = parse_config("", "(built-in defaults)");
    auto options = make_server_options(defaults.config.server, error);
    if (!options) return std::nullopt;
    options->listen = {asio::ip::make_address("127.0.0.1")};
    options->udp_ports = {0};
    options->tcp_ports = {0};
    options->backend = backend;
    options->workers = 1;
    options->hop_keys = crypto::derive_hop_keys(key);
    // Every case comes from 127.0.0.1: the per-source session cap is not what is measured.
    options->source_limits.sessions_per_source = 0;
    return options;
}

struct Case {
    const char* path;
    std::size_t size;
};
constexpr Case kCases[] = {{"native-udp", 64},  {"native-udp", 1400},  {"hoplink-udp", 64},
                           {"hoplink-udp", 1400}, {"native-tcp", 64}, {"native-tcp", 1400}};

// Waits until the sink has stopped receiving for a moment (what was in flight has arrived).
void drain(const BenchSink& sink) {
    const auto deadline = Clock::now() + 500ms;
    auto last = sink.datagrams();
    while (Clock::now() < deadline) {
        std::this_thread::sleep_for(30ms);
        const auto now = sink.datagrams();
        if (now == last) return;
        last = now;
    }
}

}  // namespace

std::optional<std::string> run_bench(const BenchOptions& options, std::vector<BenchResult>& results,
                                     const std::function<void(const std::string&)>& progress) {
    results.clear();
    if (!crypto::init_sodium()) return "libsodium cannot initialise (no randomness source?)";
    BenchSink sink;
    if (sink.error()) return *sink.error();
    const auto key = crypto::generate_hop_key();

    std::string error;
    auto server_opts = server_options(sink.endpoint(), key, error);
    if (!server_opts) return error;
    LoopThread server_loop;
    relay::Server server(server_loop.io(), *server_opts);
    if (auto problem = server.start()) return "relay: " + *problem;
    server_loop.start();
    const auto udp = server.udp_endpoints().at(0);
    const auto tcp = server.tcp_endpoints().at(0);

    // The agent, for the hop-link cases: the server's one UDP port is its whole port set, so
    // it never hops away from it during a run.
    relay::AgentOptions agent_opts;
    agent_opts.listen = net::Endpoint::from_asio(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    agent_opts.server = asio::ip::make_address("127.0.0.1");
    agent_opts.udp_ports = {udp.port()};
    agent_opts.tcp_port = tcp.port();
    agent_opts.key = key;
    agent_opts.hop_interval = server_opts->hop_interval;
    LoopThread agent_loop;
    relay::Agent agent(agent_loop.io(), agent_opts);
    if (auto problem = agent.start()) {
        server_loop.call([&] { server.stop(); });
        server_loop.stop();
        return "agent: " + *problem;
    }
    agent_loop.start();

    const auto stop_all = [&] {
        agent_loop.call([&] { agent.stop(); });
        server_loop.call([&] { server.stop(); });
        agent_loop.stop();
        server_loop.stop();
    };

    for (const auto& c : kCases) {
        const std::string path = c.path;
        const bool hop = path == "hoplink-udp";
        if (progress) progress(path + " " + std::to_string(c.size) + " bytes, " +
                               std::to_string(options.per_case.count()) + " s");
        if (hop) {
            // The agent carries nothing until it has attached over the UDP path.
            const auto deadline = Clock::now() + 5s;
            while (agent_loop.call([&] { return agent.status().path; }).rfind("udp/", 0) != 0) {
                if (Clock::now() > deadline) {
                    stop_all();
                    return "hoplink-udp: the agent found no path to the relay within 5 s";
                }
                std::this_thread::sleep_for(10ms);
            }
        }
        LoadSpec spec;
        spec.size = c.size;
        spec.duration = options.per_case;
        // The count bound: far above what loopback can carry (10 M datagrams/s).
        spec.max_datagrams = static_cast<std::uint64_t>(options.per_case.count()) * 10'000'000u;

        const auto relay_cpu = [&] { return server_loop.cpu() + (hop ? agent_loop.cpu() : 0.0); };
        const auto delivered0 = sink.datagrams();
        const double cpu0 = relay_cpu(), process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
        const auto t0 = Clock::now();
        const auto load = path == "native-tcp" ? send_tcp(tcp, spec, sink)
                                               : send_udp(hop ? agent.local_endpoint() : udp, spec, sink);
        drain(sink);
        // The figures are the hop link's over UDP only if the agent stayed there throughout
        // (its path manager may fall back to TCP if the device is too busy to answer probes).
        if (hop && progress) {
            const auto path_now = agent_loop.call([&] { return agent.status().path; });
            if (path_now.rfind("udp/", 0) != 0)
                progress("warning: the agent left the UDP path during this case (now " + path_now + ")");
        }
        const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        const double cpu = relay_cpu() - cpu0, process = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0;
        const auto delivered = sink.datagrams() - delivered0 - load.preamble;
        if (load.error) {
            stop_all();
            return path + " " + std::to_string(c.size) + ": " + *load.error;
        }
        if (delivered == 0) {
            stop_all();
            return path + " " + std::to_string(c.size) + ": nothing reached the sink (" +
                   std::to_string(load.sent) + " datagrams sent)";
        }
        BenchResult r;
        r.path = path;
        r.size = c.size;
        r.sent = load.sent;
        r.delivered = delivered;
        r.seconds = seconds;
        r.pps = static_cast<double>(delivered) / seconds;
        r.mbps = r.pps * static_cast<double>(c.size) * 8 / 1e6;
        r.cpu_us_per_packet = cpu * 1e6 / static_cast<double>(delivered);
        r.process_cpu_us_per_packet = process * 1e6 / static_cast<double>(delivered);
        results.push_back(r);
    }
    stop_all();
    return std::nullopt;
}

std::string bench_table(const std::vector<BenchResult>& results) {
    std::string out =
        "path         size   datagrams/s    Mbit/s   CPU us/datagram   lost\n"
        "                                            relay  process\n";
    char line[160];
    for (const auto& r : results) {
        const double lost = r.sent ? 100.0 * static_cast<double>(r.sent - std::min(r.sent, r.delivered)) /
                                         static_cast<double>(r.sent)
                                   : 0;
        std::snprintf(line, sizeof line, "%-11s %5zu %13.0f %9.1f %8.2f %8.2f %5.1f%%\n", r.path.c_str(), r.size,
                      r.pps, r.mbps, r.cpu_us_per_packet, r.process_cpu_us_per_packet, lost);
        out += line;
    }
    out +=
        "Mbit/s counts the datagrams' payload only. CPU: relay = the relay's own threads (the agent's too\n"
        "on the hop link), user + system time per datagram delivered; process = the whole process,\n"
        "generator and sink included. lost = sent but not delivered (should be 0).\n";
    return out;
}

std::string bench_json(const std::vector<BenchResult>& results) {
    std::string out = "[";
    char item[400];
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        std::snprintf(item, sizeof item,
                      "%s\n  {\"path\": \"%s\", \"size\": %zu, \"pps\": %.1f, \"mbps\": %.3f, "
                      "\"cpu_us_per_packet\": %.4f, \"process_cpu_us_per_packet\": %.4f, \"sent\": %llu, "
                      "\"delivered\": %llu, \"seconds\": %.3f}",
                      i ? "," : "", r.path.c_str(), r.size, r.pps, r.mbps, r.cpu_us_per_packet,
                      r.process_cpu_us_per_packet, static_cast<unsigned long long>(r.sent),
                      static_cast<unsigned long long>(r.delivered), r.seconds);
        out += item;
    }
    out += "\n]\n";
    return out;
}

}  // namespace porthop::app
