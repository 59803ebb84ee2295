// What the workers' shared paths cost (relay/directory.hpp, relay/inbox.hpp,
// net/steering.hpp): the directory lookup a worker makes for a datagram from an address it
// has no session for, and the copy through an inbox when another worker owns the session.
// A datagram of a session the receiving worker owns touches none of this.
#include <benchmark/benchmark.h>

#include <vector>

#include "porthop/net/steering.hpp"
#include "porthop/relay/directory.hpp"
#include "porthop/relay/inbox.hpp"

using namespace porthop;

namespace {

net::Endpoint client(std::uint32_t n) {
    return net::Endpoint::from_asio(
        boost::asio::ip::udp::endpoint(boost::asio::ip::address_v4(0x0A000000u + n), static_cast<std::uint16_t>(1024 + n % 50000)));
}

const net::Endpoint kListener =
    net::Endpoint::from_asio(boost::asio::ip::udp::endpoint(boost::asio::ip::address_v4::any(), 443));

constexpr std::uint32_t kFlows = 10000;

// kFlows flows in the directory, and the keys of kFlows more that are not.
struct Flows {
    relay::Directory directory;
    std::vector<relay::FlowKey> known, unknown;
    Flows() {
        for (std::uint32_t i = 0; i < kFlows; ++i) {
            known.push_back(relay::FlowKey{kListener, client(i)});
            unknown.push_back(relay::FlowKey{kListener, client(kFlows + i)});
            directory.set_flow(known.back(), {i % 2, i + 1});
        }
    }
};
Flows& flows() {
    static Flows f;
    return f;
}

}  // namespace

void BM_Steering_Worker(benchmark::State& state) {
    std::uint32_t n = 0;
    for (auto _ : state) benchmark::DoNotOptimize(net::steering_worker(client(n++), 4));
}
BENCHMARK(BM_Steering_Worker);

// A lookup of a known flow (a roamed client's next datagram) among 10,000, on 1 and 2 threads
// at once (two workers reading the same directory).
void BM_Directory_FlowHit(benchmark::State& state) {
    auto& f = flows();
    std::uint32_t n = static_cast<std::uint32_t>(state.thread_index()) * 997;
    for (auto _ : state) benchmark::DoNotOptimize(f.directory.flow(f.known[n++ % kFlows]));
}
BENCHMARK(BM_Directory_FlowHit)->Threads(1)->Threads(2);

// A new client's first datagram: not in the directory.
void BM_Directory_FlowMiss(benchmark::State& state) {
    auto& f = flows();
    std::uint32_t n = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.directory.flow(f.unknown[n++ % kFlows]));
}
BENCHMARK(BM_Directory_FlowMiss);

// Datagrams into an inbox and out again (both copies of a handoff, no thread switch), in runs
// of range(1): the first push into an empty inbox writes the eventfd (a system call), the rest
// of a run, as under load while the owner is busy, do not. Time per datagram.
void BM_Inbox_PushPop(benchmark::State& state) {
    relay::Inbox inbox(4 << 20);
    std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x42});
    std::vector<std::byte> out(65536);
    relay::Inbox::Header header;
    header.peer = client(1);
    const auto run = state.range(1);
    for (auto _ : state) {
        for (std::int64_t i = 0; i < run; ++i) inbox.push(header, payload);
        for (std::int64_t i = 0; i < run; ++i) inbox.pop(header, out);
        inbox.clear_wake();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * run);
    state.counters["ns_per_datagram"] = benchmark::Counter(
        static_cast<double>(state.iterations() * run), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Inbox_PushPop)->Args({64, 1})->Args({1400, 1})->Args({64, 32})->Args({1400, 32});
