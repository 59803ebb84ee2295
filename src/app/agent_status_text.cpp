#include "porthop/app/agent_status_text.hpp"

#include <cstdio>

namespace porthop::app {
namespace {

std::string port_list(const std::vector<std::uint16_t>& ports) {
    std::string out;
    for (auto p : ports) out += (out.empty() ? "" : ",") + std::to_string(p);
    return out;
}

// The counters of one group as "before value after" pieces (those without line text left out).
std::string line_counters(const relay::AgentStatus& s, relay::AgentCounterGroup group) {
    std::string out;
    s.for_each_counter([&](const relay::AgentStatus::Counter& c) {
        if (c.group != group || (c.line_before.empty() && c.line_after.empty())) return;
        out += std::string(c.line_before) + std::to_string(c.value) + std::string(c.line_after);
    });
    return out;
}

// The counters of one group as ,"name":value members.
std::string json_counters(const relay::AgentStatus& s, relay::AgentCounterGroup group) {
    std::string out;
    s.for_each_counter([&](const relay::AgentStatus::Counter& c) {
        if (c.group == group) out += ",\"" + std::string(c.name) + "\":" + std::to_string(c.value);
    });
    return out;
}

// Unix seconds (or a duration) with millisecond precision; 0 stays 0.
std::string seconds(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    return text;
}

// JSON string content: the reasons hold only our own text, but say so in code, not hope.
std::string json_text(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

std::string changes_json(const std::vector<relay::AgentPathChange>& changes) {
    std::string out;
    for (const auto& c : changes)
        out += std::string(out.empty() ? "" : ",") + "{\"at\":" + seconds(c.at) + ",\"path\":\"" + json_text(c.path) +
               "\",\"reason\":\"" + json_text(c.reason) + "\"}";
    return out;
}

}  // namespace

std::string describe(const relay::AgentStatus& s) {
    char rtt[32];
    if (s.rtt_ms < 0)
        std::snprintf(rtt, sizeof rtt, "not measured");
    else
        std::snprintf(rtt, sizeof rtt, "%.1f ms", s.rtt_ms);
    const auto dark = port_list(s.dark_ports);
    return "path " + s.path + line_counters(s, relay::AgentCounterGroup::path_changes) + ", rtt " + rtt +
           line_counters(s, relay::AgentCounterGroup::traffic) + ", dark ports " +
           (dark.empty() ? "none" : dark);
}

std::string to_json(const relay::AgentStatus& s) {
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.3f", s.rtt_ms);
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(s.session_id));
    // Every string here is ours (paths, addresses, hex): nothing needs escaping.
    return "{\"path\":\"" + s.path + "\"" + json_counters(s, relay::AgentCounterGroup::path_changes) +
           ",\"rtt_ms\":" + (s.rtt_ms < 0 ? "null" : rtt) +
           json_counters(s, relay::AgentCounterGroup::traffic) + ",\"dark_ports\":[" +
           port_list(s.dark_ports) + "],\"local_client\":\"" + s.local_client + "\",\"session\":\"" + id +
           "\",\"mask\":\"" + s.mask + "\",\"rung\":\"" + s.rung + "\",\"path_since\":" + seconds(s.path_since) +
           ",\"udp_blocked_since\":" + seconds(s.udp_blocked_since) +
           json_counters(s, relay::AgentCounterGroup::blocking) + ",\"last_freeze_bytes\":" + std::to_string(s.last_freeze_bytes) + ",\"recoveries\":" +
           std::to_string(s.recoveries.count) + ",\"recovery_seconds_sum\":" + seconds(s.recoveries.sum_seconds) +
           ",\"recent_changes\":[" + changes_json(s.recent_changes) + "]}\n";
}

}  // namespace porthop::app
