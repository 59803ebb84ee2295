// The client agent's status as text: one line for logs and SIGUSR1, and the /status JSON
// document. Presentation only; the counters come from relay/agent_status.hpp's list, so a new
// counter shows up here without an edit.
#pragma once

#include <string>

#include "porthop/relay/agent_status.hpp"

namespace porthop::app {

// One line for logs and SIGUSR1: "path udp/40017, 3 hops, 0 fallbacks to tcp, ..., rtt 0.4 ms, ...".
std::string describe(const relay::AgentStatus& status);
// The /status document: one JSON object (keys in README), ending in a newline.
std::string to_json(const relay::AgentStatus& status);

}  // namespace porthop::app
