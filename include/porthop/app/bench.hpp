// `porthop bench`: how fast this device relays. In one process, on loopback, without root:
// a generator (the VPN client) -> the relay (the real relay::Server with the built-in default
// settings and one worker, and for the hop link the real relay::Agent) -> a sink (the VPN
// server), on three paths at 64 and 1400 bytes:
//   native-udp   generator --udp--> server --udp--> sink
//   hoplink-udp  generator --udp--> agent ==hop link, udp==> server --udp--> sink
//   native-tcp   generator --tcp, u16-length frames--> server --udp--> sink
// Every socket is on 127.0.0.1 with an ephemeral port, so it runs beside a running porthop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace porthop::app {

struct BenchOptions {
    std::chrono::seconds per_case{5};  // each of the six cases runs this long
};

struct BenchResult {
    std::string path;  // native-udp, hoplink-udp, native-tcp
    std::size_t size = 0;
    std::uint64_t sent = 0, delivered = 0;  // datagrams from the generator, at the sink
    double seconds = 0;
    double pps = 0;   // datagrams delivered per second
    double mbps = 0;  // datagram payload delivered, Mbit/s (headers not counted)
    // CPU time of the relay's threads (server; agent + server on the hop link) per datagram
    // delivered, user + system: what relaying costs on this device.
    double cpu_us_per_packet = 0;
    // The same for the whole process, generator and sink included.
    double process_cpu_us_per_packet = 0;
};

// Runs the six cases in order; `progress` hears a line before each one. On failure (a socket
// that cannot open, a path that carries nothing) the message says which case and why.
std::optional<std::string> run_bench(const BenchOptions& options, std::vector<BenchResult>& results,
                                     const std::function<void(const std::string&)>& progress = {});

std::string bench_table(const std::vector<BenchResult>& results);
// An array of objects: path, size, pps, mbps, cpu_us_per_packet, and process_cpu_us_per_packet,
// sent, delivered, seconds.
std::string bench_json(const std::vector<BenchResult>& results);

}  // namespace porthop::app
