// Prometheus text exposition (format 0.0.4) of the server's state. Pure: a snapshot and the
// counters in, text out, so the names and the format are unit-tested without a socket.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "porthop/relay/agent.hpp"
#include "porthop/relay/counters.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::app {

struct ProcessInfo {
    std::string version;
    double start_time_seconds = 0;  // since the Unix epoch
    std::uint64_t reloads_applied = 0;
    std::uint64_t reloads_rejected = 0;
};

std::string render_metrics(const relay::ServerSnapshot& snapshot, const relay::Counters& counters,
                           const ProcessInfo& process);

// The client agent's metrics (path, path changes, rtt, traffic, drops).
std::string render_client_metrics(const relay::AgentStatus& status, const ProcessInfo& process);

// A label value with \, " and newline escaped as the format requires.
std::string escape_label_value(std::string_view value);

}  // namespace porthop::app
