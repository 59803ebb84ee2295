// `porthop status`: what the local server and client report on their status endpoints, as a
// view a person reads. Pure: the text of the endpoints in, the view out; the fetching is
// app/status_fetch.hpp's. With two readings (--watch), the view also shows rates.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace porthop::app {

// The client's GET /status (JSON, app/agent_status_text.hpp's to_json), the fields the view uses.
struct ClientReading {
    std::string path;  // "udp/40017", "tcp/443", "none"
    std::string rung;  // "udp", "tcp", "tls", "none"
    double path_since = 0;
    double udp_blocked_since = 0;
    double rtt_ms = -1;
    std::uint64_t hops = 0, fallbacks = 0, climbs = 0, tcp_rotations = 0;
    std::uint64_t to_server_packets = 0, to_server_bytes = 0, from_server_packets = 0, from_server_bytes = 0;
    std::map<std::string, std::uint64_t> drops;     // dropped_no_path, ... (JSON names)
    std::map<std::string, std::uint64_t> blocking;  // port_silent, udp_silent, ...
    std::uint64_t last_freeze_bytes = 0;
    std::uint64_t recoveries = 0;
    double recovery_seconds_sum = 0;
    std::vector<std::uint16_t> dark_ports;
    std::string local_client, session, mask;
    struct Change {
        double at = 0;
        std::string path, reason;
    };
    std::vector<Change> recent_changes;
};

// The server's GET /metrics (Prometheus text): every sample, "name{labels}" -> value.
struct ServerReading {
    std::map<std::string, double, std::less<>> samples;
    std::string version;
    // The sum of a family's samples whose labels contain `label` (e.g. direction="to_backend");
    // "" for all of them.
    double sum(std::string_view family, std::string_view label = "") const;
    // The family's samples by the value of `key` ("reason"), those that are not 0.
    std::vector<std::pair<std::string, double>> by_label(std::string_view family, std::string_view key) const;
};

std::optional<ClientReading> parse_client_status(std::string_view json, std::string& why);
std::optional<ServerReading> parse_server_metrics(std::string_view text, std::string& why);

struct ViewOptions {
    double now = 0;          // Unix seconds, for "since" and "ago"
    int utc_offset = 0;      // seconds east of UTC, for the clock times shown
    bool colour = false;     // ANSI colours (a terminal, and NO_COLOR unset)
    double interval = 0;     // seconds between `before` and this reading (rates), 0: none
};

// "On TLS 443; UDP blocked on this network since 12:03": the diagnosis in words.
std::string diagnosis(const ClientReading& r, const ViewOptions& o);
std::string render_client(const ClientReading& r, const ClientReading* before, std::string_view source,
                          const ViewOptions& o);
std::string render_server(const ServerReading& r, const ServerReading* before, std::string_view source,
                          const ViewOptions& o);

// 1234567 -> "1.2 MB"; 999 -> "999 B".
std::string human_bytes(double bytes);
// 3725 -> "1h 02m"; 42 -> "42 s".
std::string human_duration(double seconds);

}  // namespace porthop::app
