// What the client agent reports about itself: the path in use, its counters, rtt, dark ports.
// The counters are declared once, in a list, like the server's (relay/counters.hpp), so the
// struct, the status line, the /status JSON and /metrics all see the same set: a new counter
// is one line here.
//
// Each entry: X(member, group, metric family, label, help, line before, line after).
// - group: where the counter's block sits in every rendering. `path_changes` comes before the
//   rtt, `traffic` after it (and, in /metrics, after the dark-ports gauge).
// - Entries of one family share a metric name and differ by label; the family's help text is
//   the first entry's. A family's entries need not be adjacent (JSON keeps each direction's
//   packets and bytes together; /metrics writes each family as one block).
// - line before/after: the text around the value in the status line (describe); both empty
//   leaves the counter out of that line.
// The JSON key is the member's name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "porthop/hop/path_manager.hpp"

namespace porthop::relay {

#define PORTHOP_AGENT_COUNTERS(X)                                                                            \
    X(hops, path_changes, "porthop_client_path_changes_total", "kind=\"hop\"",                               \
      "Path changes: hop = UDP port to UDP port, fallback = UDP to TCP, climb = TCP back to UDP, "          \
      "tcp_rotation = a new TCP connection for the TCP path.", ", ",                                          \
      " hops")                                                                                               \
    X(fallbacks, path_changes, "porthop_client_path_changes_total", "kind=\"fallback\"", "", ", ",           \
      " fallbacks to tcp")                                                                                   \
    X(climbs, path_changes, "porthop_client_path_changes_total", "kind=\"climb\"", "", ", ", " back to udp") \
    /* the TCP path moved to a new connection (stalled, or its byte budget used: hop/tcp_rotation) */      \
    X(tcp_rotations, path_changes, "porthop_client_path_changes_total", "kind=\"tcp_rotation\"", "", "", "")  \
    /* what looked like blocking (hop/path_manager.hpp's Blocking, and what the agent sees) */              \
    X(port_silent, blocking, "porthop_client_blocking_events_total", "kind=\"port_silent\"",                 \
      "What looked like blocking: port_silent = a UDP port went dark, udp_silent = no UDP port answered, "   \
      "tcp_reset = a TCP connection refused, reset or unreachable, tcp_freeze = a TCP connection stopped "     \
      "bringing data, tls_failed = a TLS handshake failed, tcp_no_answer = a TCP connection not up or not "  \
      "answered in time.", "", "")                                                        \
    X(udp_silent, blocking, "porthop_client_blocking_events_total", "kind=\"udp_silent\"", "", "", "")      \
    X(tcp_reset, blocking, "porthop_client_blocking_events_total", "kind=\"tcp_reset\"", "", "", "")        \
    X(tcp_freeze, blocking, "porthop_client_blocking_events_total", "kind=\"tcp_freeze\"", "", "", "")      \
    X(tls_failed, blocking, "porthop_client_blocking_events_total", "kind=\"tls_failed\"", "", "", "")      \
    X(tcp_no_answer, blocking, "porthop_client_blocking_events_total", "kind=\"tcp_no_answer\"", "", "", "") \
    X(to_server_packets, traffic, "porthop_client_datagrams_total", "direction=\"to_server\"",               \
      "Datagrams carried, by direction.", ", to server ", " pkts")                                           \
    X(to_server_bytes, traffic, "porthop_client_payload_bytes_total", "direction=\"to_server\"",             \
      "Datagram payload bytes carried, by direction.", "/", " B")                                            \
    X(from_server_packets, traffic, "porthop_client_datagrams_total", "direction=\"from_server\"", "",       \
      ", from server ", " pkts")                                                                             \
    X(from_server_bytes, traffic, "porthop_client_payload_bytes_total", "direction=\"from_server\"", "",     \
      "/", " B")                                                                                             \
    /* local datagrams while no path was up */                                                               \
    X(dropped_no_path, traffic, "porthop_client_drops_total", "reason=\"no_path\"",                          \
      "Datagrams dropped or frames refused, by reason.", "", "")                                             \
    /* server datagrams before the local client spoke */                                                     \
    X(dropped_no_local, traffic, "porthop_client_drops_total", "reason=\"no_local_client\"", "", "", "")     \
    /* send errors, full TCP queue */                                                                        \
    X(dropped_send, traffic, "porthop_client_drops_total", "reason=\"send_failed\"", "", "", "")             \
    /* frames from the server that failed a check */                                                         \
    X(rejected_frames, traffic, "porthop_client_drops_total", "reason=\"rejected_frame\"", "", "", "")

enum class AgentCounterGroup { path_changes, blocking, traffic };

// A path change as /status lists it: when (Unix seconds), to which path, and the path
// manager's reason ("all UDP silent -> tcp/443").
struct AgentPathChange {
    double at = 0;
    std::string path;
    std::string reason;
};

struct AgentStatus {
    std::string path;  // "udp/40017", "tcp/443", "none"
#define PORTHOP_DECLARE_AGENT_COUNTER(name, group, family, label, help, before, after) std::uint64_t name = 0;
    PORTHOP_AGENT_COUNTERS(PORTHOP_DECLARE_AGENT_COUNTER)
#undef PORTHOP_DECLARE_AGENT_COUNTER
    double rtt_ms = -1;  // -1: not measured yet
    std::vector<std::uint16_t> dark_ports;
    std::string local_client;  // the local VPN client's address, "" until it sends
    std::uint64_t session_id = 0;
    // How the agent masks its VPN bulk data: "light", or "full" once the server's ack asked.
    std::string mask = "light";
    // The rung in use: "none", "udp", "tcp", "tls" (TCP in TLS); since when (Unix seconds).
    std::string rung = "none";
    double path_since = 0;
    // Since when no UDP port answers (Unix seconds; 0: UDP works, or was not found silent).
    double udp_blocked_since = 0;
    // Bytes a TCP connection had brought when it last froze (0: none froze).
    std::uint64_t last_freeze_bytes = 0;
    std::vector<AgentPathChange> recent_changes;  // oldest first, at most kRecentChanges
    static constexpr std::size_t kRecentChanges = 8;
    // Each loss of the path, to the next path found.
    hop::Recoveries recoveries;

    struct Counter {
        std::string_view name;
        AgentCounterGroup group;
        std::string_view family, label, help;
        std::string_view line_before, line_after;
        std::uint64_t value;
    };
    // Every counter with its value, in the list's order.
    template <typename F>
    void for_each_counter(F&& f) const {
#define PORTHOP_VISIT_AGENT_COUNTER(name, group, family, label, help, before, after) \
    f(Counter{#name, AgentCounterGroup::group, family, label, help, before, after, name});
        PORTHOP_AGENT_COUNTERS(PORTHOP_VISIT_AGENT_COUNTER)
#undef PORTHOP_VISIT_AGENT_COUNTER
    }
};

}  // namespace porthop::relay
