// The relay's steady state does not allocate ("no heap allocation per packet", DESIGN.md).
//
// Each case runs the relay (and the client agent, for the hop-link cases) on loopback with a
// UDP echo backend, each on its own event-loop thread, marked for counting (alloc_counter.hpp:
// every form of operator new and malloc is counted on marked threads while the window is open).
// The test's own thread plays the client and is not counted, nor is the echo backend's.
// Warm-up first: kWarmup datagrams through and back (the session exists, Asio's handler memory
// is warm), then deeper bursts (the packet pool holds as many buffers as the measured traffic
// can have in flight). Then the window opens, on the same session, for at least kMeasured
// datagrams and at least kMinWindow, so that it also covers what runs periodically in steady
// state: the server's idle sweep, the agent's keepalive attaches and the server's acks, the
// agent's path-manager timer. Datagrams go in bursts of kBurst, of varying sizes, so the relay
// sees batches, not only single datagrams; each reply is checked byte for byte.
//
// Each case prints its counts, and the call stacks that allocated, most frequent first (ctest
// shows them with --output-on-failure or -V).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>

#include "alloc_counter.hpp"
#include "../support/harness.hpp"
#include "porthop/crypto/hop_auth.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "../support/hop_vectors.hpp"
#include "porthop/net/steering.hpp"
#include "porthop/relay/agent.hpp"
#include "porthop/relay/server.hpp"

using namespace porthop;
using namespace porthop::test;
namespace asio = boost::asio;

namespace {

constexpr std::size_t kWarmup = 1000;
constexpr std::size_t kMeasured = 10000;
constexpr std::size_t kBurst = 16;
constexpr std::size_t kDeepWarmup = 20 * net::kMaxBatch;
// Long enough for the periodic work of steady state to run in the window at least twice: the
// server's idle sweep and the agent's keepalive attach (both every second by default).
constexpr auto kMinWindow = std::chrono::milliseconds{2500};

// An io_context run by its own thread, which counts allocations. Objects using the io_context
// are stopped through join(stop) before the thread ends.
class Loop {
public:
    Loop() = default;
    // Normally joined through join(stop) first; on an early failure the loop is stopped with
    // its handlers abandoned.
    ~Loop() {
        if (thread_.joinable()) {
            io.stop();
            thread_.join();
        }
    }

    void start() {
        thread_ = std::thread([this] {
            alloc::count_this_thread();
            io.run();
            ended_.set_value();
        });
    }
    // Runs `f` on the loop thread and returns its result.
    template <typename F>
    auto call(F f) -> decltype(f()) {
        std::promise<decltype(f())> p;
        asio::post(io, [&] {
            if constexpr (std::is_void_v<decltype(f())>) {
                f();
                p.set_value();
            } else {
                p.set_value(f());
            }
        });
        return p.get_future().get();
    }
    // `stop` runs on the loop and should leave the io_context without work, so that run()
    // returns. On the io_uring build it sometimes does not after agent traffic (one operation
    // counted as outstanding with every socket closed and no timer pending; compare Asio issue
    // 1327): this is not what these tests are about, so after the grace porthop itself gives a
    // stopping loop (relay::Server::kStopGrace) the loop is stopped, and the test says so.
    void join(std::function<void()> stop = {}) {
        if (!thread_.joinable()) return;
        if (stop) asio::post(io, std::move(stop));
        work_.reset();
        if (ended_.get_future().wait_for(relay::Server::kStopGrace) != std::future_status::ready) {
            std::printf("alloc: note: the event loop still had work %lld ms after stop(); stopped it\n",
                        static_cast<long long>(relay::Server::kStopGrace.count()));
            std::fflush(stdout);
            io.stop();
        }
        thread_.join();
    }

    asio::io_context io{1};

private:
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io);
    std::promise<void> ended_;
    std::thread thread_;
};

// The relay server on its own counted thread.
struct ServerLoop {
    explicit ServerLoop(relay::ServerOptions options) : server(loop.io, std::move(options)) {
        const auto error = server.start();
        if (error) FAIL("server start: " << *error);
        loop.start();
    }
    ~ServerLoop() {
        loop.join([this] { server.stop(); });
    }
    Loop loop;
    relay::Server server;
};

// The test's side of one session: send one datagram, receive one (nullopt on timeout).
struct Client {
    std::function<void(const std::vector<Bytes>&)> send;
    std::function<std::optional<Bytes>()> receive;
};

Bytes payload(std::size_t n) {
    static constexpr std::size_t kSizes[] = {64, 1400, 200, 33, 512, 1280, 96, 900};
    auto out = pattern(kSizes[n % std::size(kSizes)], static_cast<unsigned>(n));
    for (std::size_t i = 0; i < sizeof n && i < out.size(); ++i)
        out[i] = static_cast<std::byte>(n >> (8 * i));
    return out;
}

// Sends `count` datagrams in bursts and checks every echo; returns how many came back intact.
std::size_t exchange(Client& client, std::size_t first, std::size_t count, std::size_t burst_size = kBurst) {
    std::size_t ok = 0;
    std::vector<Bytes> burst;
    for (std::size_t sent = 0; sent < count;) {
        burst.clear();
        for (std::size_t i = 0; i < burst_size && sent < count; ++i) burst.push_back(payload(first + sent++));
        client.send(burst);
        for (const auto& expected : burst) {
            auto got = client.receive();
            if (!got) return ok;  // lost or stuck: the caller reports the shortfall
            if (*got == expected) ++ok;
        }
    }
    return ok;
}

struct Window {
    std::size_t exchanged = 0;  // datagrams that came back intact
    bool all_back = true;
    alloc::Counts counts;
    std::vector<std::string> samples;
};

std::string report(const Window& w) {
    std::string text = std::to_string(w.counts.allocations) + " allocations (" +
                       std::to_string(w.counts.bytes) + " bytes) on the relay's threads while " +
                       std::to_string(w.exchanged) + " datagrams went through and back";
    if (!w.samples.empty()) text += "; where the first ones came from is printed above";
    return text;
}

// The bound for the TCP paths, where Asio's handler memory is allocated once in a while (see
// their cases): a few, plus one per 4000 datagrams. An allocation per burst would be 250 per
// 4000 datagrams, one per datagram 4000.
std::uint64_t rare(const Window& w) { return 4 + w.exchanged / 4000; }

// Warm up, then count while datagrams go through the same session (kMeasured, kMinWindow).
Window measure(const char* name, Client& client) {
    REQUIRE(exchange(client, 0, kWarmup) == kWarmup);
    // Then deeper bursts: the packet pool grows to the most buffers ever in flight at once
    // (a full receive batch plus the replies queued on a TCP connection), and a burst of
    // kBurst must not find a new peak in the window.
    REQUIRE(exchange(client, kWarmup, kDeepWarmup, net::kMaxBatch) == kDeepWarmup);
    std::this_thread::sleep_for(20ms);  // let the last replies' handlers finish before counting
    Window w;
    const auto start = std::chrono::steady_clock::now();
    alloc::open_window();
    // At least kMeasured datagrams and at least kMinWindow, in chunks; stops at the first loss.
    while (w.exchanged < kMeasured || std::chrono::steady_clock::now() - start < kMinWindow) {
        const auto got = exchange(client, kWarmup + kDeepWarmup + w.exchanged, 1000);
        w.exchanged += got;
        if (got < 1000) {
            w.all_back = false;
            break;
        }
    }
    std::this_thread::sleep_for(20ms);
    alloc::close_window();
    w.counts = alloc::counts();
    w.samples = alloc::samples();
    std::printf("alloc: %-24s %llu allocations, %llu bytes, %zu datagrams through and back in %.1f s\n", name,
                static_cast<unsigned long long>(w.counts.allocations),
                static_cast<unsigned long long>(w.counts.bytes), w.exchanged,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    // Unwrapped (Catch would wrap them at 80 columns), for reading and for addr2line.
    for (const auto& sample : w.samples) std::printf("  %s\n", sample.c_str());
    std::fflush(stdout);
    return w;
}

Client udp_client(UdpClient& socket, std::uint16_t port) {
    return Client{[&socket, port](const std::vector<Bytes>& burst) {
                      for (const auto& d : burst) socket.send_to(port, d);
                  },
                  [&socket]() -> std::optional<Bytes> {
                      auto got = socket.receive();
                      if (!got) return std::nullopt;
                      return std::move(got->first);
                  }};
}

Client tcp_client(TcpClient& socket) {
    return Client{[&socket](const std::vector<Bytes>& burst) {
                      Bytes frames;  // one write: the relay reads many frames at once
                      for (const auto& d : burst) {
                          const auto f = TcpClient::frame(d);
                          frames.insert(frames.end(), f.begin(), f.end());
                      }
                      socket.write_raw(frames);
                  },
                  [&socket] { return socket.read_frame(); }};
}

// Ports free on 127.0.0.1 right now (held until all are chosen, so they differ).
std::vector<std::uint16_t> free_ports(int type, std::size_t n) {
    std::vector<Fd> held;
    std::vector<std::uint16_t> ports;
    for (std::size_t i = 0; i < n; ++i) {
        Fd fd(::socket(AF_INET, type, 0));
        socklen_t len;
        auto any = loopback(false, 0, len);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&any), len) == 0);
        sockaddr_storage bound{};
        socklen_t blen = sizeof bound;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
        ports.push_back(ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
        held.push_back(std::move(fd));
    }
    return ports;
}

// Allocations the optimiser cannot remove (a pointer that escapes through a volatile).
[[gnu::noinline]] void allocate_and_free(std::size_t n) {
    void* volatile p = ::operator new(n);
    ::operator delete(p);
}
[[gnu::noinline]] void malloc_and_free(std::size_t n) {
    void* volatile p = std::malloc(n);
    std::free(p);
}

// recvmmsg that allocates while `g_inject` is set: the relay with an allocation in its
// per-packet path, to show that the test sees one. (Not in an anonymous namespace, so that
// its name shows in the call stacks.)
std::atomic<bool> g_inject{false};

}  // namespace

int porthop_alloc_test_allocating_recvmmsg(int fd, mmsghdr* msgs, unsigned count, int flags,
                                           timespec* timeout) {
    if (g_inject.load()) allocate_and_free(48);
    return ::recvmmsg(fd, msgs, count, flags, timeout);
}

TEST_CASE("the counter sees allocations on the relay's thread in the window, and only there", "[alloc]") {
    EchoBackend backend;
    SECTION("posted to the loop") {
        Loop loop;
        loop.start();
        loop.call([] { allocate_and_free(24); });  // window closed: not counted
        alloc::open_window();
        allocate_and_free(24);  // the test's thread: not counted
        malloc_and_free(10);
        loop.call([] { allocate_and_free(24); });
        loop.call([] { malloc_and_free(10); });
        loop.call([] {
            std::string* volatile s = new std::string(100, 'x');  // the object and its text
            delete s;
        });
        alloc::close_window();
        CHECK(alloc::counts().allocations == 4);
        CHECK(alloc::counts().bytes == 24 + 10 + sizeof(std::string) + 101);
        const auto samples = alloc::samples();
        REQUIRE(samples.size() == 4);
        CHECK_THAT(samples[0], Catch::Contains("operator new"));
        CHECK_THAT(samples[0], Catch::Contains("allocate_and_free"));
        CHECK_THAT(samples[1], Catch::Contains("malloc"));
    }
    SECTION("an allocation per receive in the relay's per-packet path") {
        static const net::Syscalls allocating{&porthop_alloc_test_allocating_recvmmsg,
                                              net::system_syscalls().sendmmsg};
        auto options = options_for(backend, false, 1, 0);
        options.syscalls = &allocating;
        ServerLoop relay(options);
        UdpClient socket(false);
        auto client = udp_client(socket, relay.server.udp_endpoints().at(0).port());
        g_inject = true;
        const auto w = measure("injected allocation", client);
        g_inject = false;
        INFO(report(w));
        CHECK((w.all_back && w.exchanged >= kMeasured));
        // At least one receive per burst each way (more: the drained socket's empty receive).
        CHECK(w.counts.allocations >= 2 * kMeasured / kBurst);
        REQUIRE_FALSE(w.samples.empty());
        CHECK_THAT(w.samples[0], Catch::Contains("porthop_alloc_test_allocating_recvmmsg"));
    }
}

TEST_CASE("a UDP session forwards without allocating", "[alloc]") {
    EchoBackend backend;
    ServerLoop relay(options_for(backend, false, 1, 0));
    UdpClient socket(false);
    auto client = udp_client(socket, relay.server.udp_endpoints().at(0).port());
    const auto w = measure("udp session", client);
    INFO(report(w));
    CHECK((w.all_back && w.exchanged >= kMeasured));
    CHECK(w.counts.allocations == 0);
}

TEST_CASE("a TCP session forwards without allocating", "[alloc]") {
    EchoBackend backend;
    ServerLoop relay(options_for(backend, false, 0, 1));
    TcpClient socket(false, relay.server.tcp_endpoints().at(0).port());
    REQUIRE(socket.connected());
    auto client = tcp_client(socket);
    const auto w = measure("tcp session", client);
    INFO(report(w));
    CHECK((w.all_back && w.exchanged >= kMeasured));
    // Mostly 0, but not always, and never per datagram: Asio recycles a handler's memory
    // through a per-thread cache of only 2 blocks (BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE).
    // A TCP session keeps three operations cycling (the client read, the client write, the
    // wait on the backend socket); when their timing puts all three blocks in flight at once,
    // or a cached block is too small for the next operation, one is allocated anew: 0-2 in
    // 100,000 datagrams here (FrameQueue::write's 512-byte operation, 1616 bytes on io_uring,
    // and arm_upstream's wait).
    CHECK(w.counts.allocations <= rare(w));
}

namespace {

// A porthop server with a hop key and a client agent in front of it, each on its own counted
// thread. `agent_udp_ports` are the UDP ports the agent tries (the server's, or dead ones to
// push it onto TCP).
struct AgentSetup {
    AgentSetup(EchoBackend& backend, bool over_tcp) {
        REQUIRE(crypto::init_sodium());
        const auto key = crypto::generate_hop_key();
        const auto tcp = free_ports(SOCK_STREAM, 1).at(0);
        const auto udp = free_ports(SOCK_DGRAM, over_tcp ? 4 : 3);
        // A long hop interval: no scheduled hop during the measurement.
        const std::chrono::seconds hop_interval{3600};

        auto options = options_for(backend, false, 0, 0);
        options.udp_ports.assign(udp.begin(), udp.begin() + 1);
        if (!over_tcp) options.udp_ports = udp;
        options.tcp_ports = {tcp};
        options.hop_keys = crypto::derive_hop_keys(key);
        options.hop_interval = hop_interval;
        server = std::make_unique<ServerLoop>(options);

        relay::AgentOptions a;
        a.listen = net::Endpoint::from_asio(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        a.server = asio::ip::make_address("127.0.0.1");
        // Over TCP: UDP ports where nothing listens, so the agent falls back to TCP.
        a.udp_ports = over_tcp ? std::vector<std::uint16_t>(udp.begin() + 1, udp.end()) : udp;
        a.tcp_port = tcp;
        a.key = key;
        a.hop_interval = hop_interval;
        if (over_tcp) {
            a.timers.attempt_timeout = std::chrono::milliseconds{100};
            a.timers.udp_rounds = 1;
            // No UDP retries from TCP during the measurement.
            a.timers.retry_udp_first = a.timers.retry_udp_max = std::chrono::hours{1};
        }
        agent = std::make_unique<relay::Agent>(agent_loop.io, a);
        const auto error = agent->start();
        if (error) FAIL("agent start: " << *error);
        agent_loop.start();
        port = agent->local_endpoint().port();
    }
    // True once the agent's data path is `kind` ("udp" or "tcp"); not in the constructor, so
    // that a failure unwinds through the destructor, which stops the loops in order.
    bool path_up(const std::string& kind) {
        return eventually([&] { return status().path.rfind(kind + "/", 0) == 0; }, 5000ms);
    }
    ~AgentSetup() {
        agent_loop.join([this] { agent->stop(); });
        agent.reset();
        server.reset();
    }
    relay::AgentStatus status() {
        return agent_loop.call([&] { return agent->status(); });
    }

    std::unique_ptr<ServerLoop> server;
    Loop agent_loop;
    std::unique_ptr<relay::Agent> agent;
    std::uint16_t port = 0;
};

}  // namespace

// The agent used to allocate in steady state, found by these tests: Agent::Impl::drive()
// re-armed its timer after most batches (the path manager's next deadline moves with data),
// and a cancelled wait keeps its handler memory until its operation_aborted completion runs,
// so more blocks were in flight than Asio's 2-block per-thread cache holds; hundreds of
// allocations per 10,000 datagrams on the TCP path. It now re-arms only for an earlier
// deadline (commit "Agent: re-arm its timer only for an earlier deadline").
TEST_CASE("an agent session over UDP forwards without allocating", "[alloc]") {
    EchoBackend backend;
    AgentSetup setup(backend, false);
    REQUIRE(setup.path_up("udp"));
    UdpClient socket(false);
    auto client = udp_client(socket, setup.port);
    const auto before = setup.status();
    const auto w = measure("agent session, udp", client);
    const auto after = setup.status();
    INFO(report(w));
    INFO("agent path " << after.path << ", hops " << after.hops - before.hops);
    CHECK((w.all_back && w.exchanged >= kMeasured));
    CHECK(after.path == before.path);  // the same path throughout: steady state
    CHECK(w.counts.allocations == 0);
}

TEST_CASE("an agent session over TCP forwards without allocating", "[alloc]") {
    EchoBackend backend;
    AgentSetup setup(backend, true);
    REQUIRE(setup.path_up("tcp"));
    UdpClient socket(false);
    auto client = udp_client(socket, setup.port);
    const auto before = setup.status();
    const auto w = measure("agent session, tcp", client);
    const auto after = setup.status();
    INFO(report(w));
    INFO("agent path " << after.path);
    CHECK((w.all_back && w.exchanged >= kMeasured));
    CHECK(after.path == before.path);
    // As on a native TCP session (see there), with four operations cycling through Asio's
    // 2-block cache on the agent's side (the timer's 128 bytes, the local socket's wait, the
    // TCP read, the FrameQueue write, whose sizes differ, so a cached block is now and then
    // too small): 4-9 in 70,000 datagrams here. Zero would take per-operation handler memory
    // (an associated allocator) or a larger cache (BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE
    // for every translation unit; 8 made it 0-2 in a trial). With the machine loaded (a CI run
    // with the cross builds beside it) bursts interleave differently and more blocks miss: 25 in
    // 83,000 once, so the bound is twice the TCP paths'. An allocation per burst would still be
    // about 100 times over it.
    CHECK(w.counts.allocations <= 2 * rare(w));
}

namespace {
void count_worker_thread() { alloc::count_this_thread(); }

// A loopback address (127.0.0.x) the kernel steers to `worker` of `workers`.
std::uint32_t address_on(std::uint32_t worker, std::uint32_t workers) {
    for (std::uint32_t host = 2; host < 250; ++host) {
        const auto e = net::Endpoint::from_asio(asio::ip::udp::endpoint(asio::ip::address_v4(0x7F000000u + host), 0));
        if (net::steering_worker(e, workers) == worker) return 0x7F000000u + host;
    }
    FAIL("no address for the worker");
    return 0;
}
}  // namespace

// Two workers: a porthop client whose address belongs to worker 1 while its session is worker
// 0's. Every data frame is looked up in the directory, copied into worker 0's inbox, and
// forwarded from there; the replies go straight out of worker 0's socket.
TEST_CASE("datagrams handed from one worker to another forward without allocating", "[alloc]") {
    EchoBackend backend;
    REQUIRE(crypto::init_sodium());
    const auto keys = crypto::derive_hop_keys(crypto::generate_hop_key());
    auto options = options_for(backend, false, 1, 0);
    options.workers = 2;
    options.hop_keys = keys;
    options.hop_interval = std::chrono::seconds{3600};
    options.worker_thread_start = &count_worker_thread;
    ServerLoop relay(options);
    const auto port = relay.server.udp_endpoints().at(0).port();
    UdpClient first(address_on(0, 2)), moved(address_on(1, 2));
    // The client's end of the hop link (its allocations are not the relay's: only the relay's
    // threads are counted).
    hop::FrameCodec agent(keys, hop::FrameCodec::Side::agent);
    const auto attach = [&](UdpClient& from, std::uint64_t counter) {
        from.send_to(port, test::sealed_control(agent, {wire::hop::Type::attach, 0x77, counter,
                                                        hop::epoch_at(std::chrono::system_clock::now(),
                                                                      options.hop_interval),
                                                        0}));
        auto ack = from.receive();
        return ack && agent.open(ack->first).kind == wire::hop::Kind::control;
    };
    REQUIRE(attach(first, 1));
    REQUIRE(attach(moved, 2));
    Client client{[&](const std::vector<Bytes>& burst) {
                      for (const auto& d : burst) moved.send_to(port, test::sealed_data(agent, d));
                  },
                  [&]() -> std::optional<Bytes> {
                      auto got = moved.receive();
                      if (!got) return std::nullopt;
                      const auto opened = agent.open(got->first);
                      if (opened.kind != wire::hop::Kind::data || opened.body.empty()) return std::nullopt;
                      return Bytes(opened.body.begin(), opened.body.end());
                  }};
    const auto handed_before = relay.server.counters().handoffs.load();
    const auto w = measure("handed between workers", client);
    INFO(report(w));
    CHECK((w.all_back && w.exchanged >= kMeasured));
    CHECK(relay.server.counters().handoffs.load() - handed_before >= w.exchanged);  // the path measured
    CHECK(w.counts.allocations == 0);
}
