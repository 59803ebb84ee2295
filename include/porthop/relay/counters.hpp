// Server counters, declared once in a list so that the exit summary, tests and the metrics
// endpoint all see the same set. Each counter has one writer (the event loop that owns it);
// readers see relaxed, possibly slightly stale values.
//
// Each entry: X(member, metric family, label, help). Entries of one family share a metric
// name and differ by label; the family's help text is the first entry's.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace porthop::relay {

#define PORTHOP_SERVER_COUNTERS(X)                                                                       \
    X(sessions_opened, "porthop_sessions_opened_total", "",                                              \
      "Sessions opened (UDP clients and TCP connections).")                                              \
    X(sessions_closed, "porthop_sessions_closed_total", "", "Sessions closed, for any reason.")          \
    X(tcp_connections_opened, "porthop_tcp_connections_accepted_total", "", "TCP connections accepted.") \
    X(tcp_connections_closed, "porthop_tcp_connections_closed_total", "", "TCP connections closed.")     \
    X(to_backend_packets, "porthop_datagrams_total", "direction=\"to_backend\"",                         \
      "Datagrams forwarded, by direction.")                                                              \
    X(to_client_packets, "porthop_datagrams_total", "direction=\"to_client\"", "")                       \
    X(to_backend_bytes, "porthop_payload_bytes_total", "direction=\"to_backend\"",                       \
      "Datagram payload bytes forwarded, by direction.")                                                 \
    X(to_client_bytes, "porthop_payload_bytes_total", "direction=\"to_client\"", "")                     \
    X(drop_session_limit, "porthop_drops_total", "reason=\"session_limit\"",                             \
      "Datagrams dropped or connections refused, by reason.")                                            \
    X(drop_tcp_limit, "porthop_drops_total", "reason=\"tcp_connection_limit\"", "")                      \
    X(drop_truncated, "porthop_drops_total", "reason=\"larger_than_max_datagram\"", "")                  \
    X(drop_empty, "porthop_drops_total", "reason=\"empty\"", "")                                         \
    X(drop_frame_too_large, "porthop_drops_total", "reason=\"tcp_frame_too_large\"", "")                 \
    X(drop_send_to_backend, "porthop_drops_total", "reason=\"send_to_backend_failed\"", "")              \
    X(drop_send_to_client, "porthop_drops_total", "reason=\"send_to_client_failed\"", "")                \
    X(drop_tcp_backlog, "porthop_drops_total", "reason=\"tcp_client_too_slow\"", "")                     \
    X(drop_tcp_queue_memory, "porthop_drops_total", "reason=\"tcp_queue_memory\"", "")                   \
    X(drop_socket_error, "porthop_drops_total", "reason=\"backend_socket_unavailable\"", "")             \
    X(tcp_timeouts, "porthop_drops_total", "reason=\"tcp_no_frame_in_time\"", "")                        \
    X(drop_agent_frame, "porthop_drops_total", "reason=\"bad_hop_frame\"", "")                           \
    X(drop_tcp_rejected, "porthop_drops_total", "reason=\"tcp_first_frame_rejected\"", "")               \
    X(drop_not_wireguard, "porthop_drops_total", "reason=\"not_wireguard\"", "")                         \
    X(drop_not_openvpn, "porthop_drops_total", "reason=\"not_openvpn\"", "")                             \
    X(drop_bad_mac1, "porthop_drops_total", "reason=\"bad_mac1\"", "")                                   \
    X(drop_handshake_rate, "porthop_drops_total", "reason=\"handshake_rate\"", "")                       \
    X(drop_source_sessions, "porthop_drops_total", "reason=\"sessions_per_source\"", "")                 \
    X(drop_source_table, "porthop_drops_total", "reason=\"source_table_full\"", "")                      \
    X(drop_amplification, "porthop_drops_total", "reason=\"amplification\"", "")                         \
    X(drop_handoff, "porthop_drops_total", "reason=\"handoff_failed\"", "")                            \
    X(drop_provisional_source, "porthop_drops_total", "reason=\"provisional_per_source\"", "")           \
    X(drop_provisional_evicted, "porthop_drops_total", "reason=\"provisional_evicted\"", "")             \
    X(drop_tcp_source, "porthop_drops_total", "reason=\"tcp_connections_per_source\"", "")               \
    X(drop_tcp_evicted, "porthop_drops_total", "reason=\"tcp_pending_evicted\"", "")                     \
    X(drop_tcp_rotate_bytes, "porthop_drops_total", "reason=\"tcp_rotate_bytes\"", "")                   \
    X(tls_handshakes, "porthop_tls_handshakes_total", "result=\"ok\"",                                   \
      "TLS handshakes on the TCP ports, by result.")                                                    \
    X(tls_handshake_failures, "porthop_tls_handshakes_total", "result=\"failed\"", "")                   \
    X(web_site, "porthop_web_connections_total", "to=\"builtin_site\"",                                  \
      "Connections on the TCP ports that were not porthop's, answered as a web server, by where they went.") \
    X(web_decoy, "porthop_web_connections_total", "to=\"decoy\"", "")                                    \
    X(web_plain_http, "porthop_web_connections_total", "to=\"plain_http_answer\"", "")                   \
    X(native_validated, "porthop_native_sessions_validated_total", "",                                     \
      "Native UDP sessions whose client proved it receives at its address (no reply cap from then on).") \
    X(move_accepted, "porthop_native_moves_total", "verdict=\"accepted\"",                               \
      "Native datagrams from an unknown address carrying a known session's index, by verdict.")          \
    X(move_unknown, "porthop_native_moves_total", "verdict=\"unknown\"", "")                             \
    X(move_expired, "porthop_native_moves_total", "verdict=\"expired\"", "")                             \
    X(move_replayed, "porthop_native_moves_total", "verdict=\"replayed\"", "")                           \
    X(move_too_far, "porthop_native_moves_total", "verdict=\"too_far\"", "")                             \
    X(move_unproven, "porthop_native_moves_total", "verdict=\"unproven\"", "")                           \
    X(move_not_movable, "porthop_native_moves_total", "verdict=\"not_movable\"", "")                     \
    X(backend_errors, "porthop_backend_errors_total", "",                                                \
      "Receive errors on backend sockets, such as ICMP port unreachable.")                               \
    X(agent_sessions_opened, "porthop_agent_sessions_opened_total", "",                                  \
      "Sessions of porthop clients (hop link) opened.")                                                  \
    X(agent_attaches, "porthop_agent_attaches_total", "result=\"accepted\"",                             \
      "Hop-link attach frames, by result; rejected ones get no answer.")                                 \
    X(agent_reject_malformed, "porthop_agent_attaches_total", "result=\"malformed\"", "")                \
    X(agent_reject_bad_tag, "porthop_agent_attaches_total", "result=\"bad_tag\"", "")                    \
    X(agent_reject_stale_epoch, "porthop_agent_attaches_total", "result=\"stale_epoch\"", "")            \
    X(agent_reject_replay, "porthop_agent_attaches_total", "result=\"replay\"", "")                      \
    X(agent_reject_other, "porthop_agent_attaches_total", "result=\"refused\"", "")                      \
    X(agent_hops, "porthop_agent_path_changes_total", "kind=\"udp_hop\"",                                \
      "Reply-path changes of porthop clients: UDP port to UDP port, UDP to TCP (fallback), TCP to UDP.") \
    X(agent_fallbacks, "porthop_agent_path_changes_total", "kind=\"fallback_to_tcp\"", "")               \
    X(agent_climbs, "porthop_agent_path_changes_total", "kind=\"back_to_udp\"", "")                      \
    X(offload_gso_datagrams, "porthop_offload_datagrams_total", "offload=\"gso\"",                       \
      "Datagrams that went out in a UDP GSO send or came in a GRO-coalesced buffer, by offload.")        \
    X(offload_gro_datagrams, "porthop_offload_datagrams_total", "offload=\"gro\"", "")                   \
    X(offload_gso_messages, "porthop_offload_messages_total", "offload=\"gso\"",                         \
      "GSO sends and GRO-coalesced receives, each carrying two or more datagrams, by offload.")          \
    X(offload_gro_messages, "porthop_offload_messages_total", "offload=\"gro\"", "")                     \
    X(offload_gso_fallbacks, "porthop_offload_fallbacks_total", "offload=\"gso\"",                       \
      "Times an offload was turned off for good because the kernel refused it, by offload.")             \
    X(offload_gro_fallbacks, "porthop_offload_fallbacks_total", "offload=\"gro\"", "")            \
    X(handoffs, "porthop_worker_handoffs_total", "kind=\"datagram\"",                                 \
      "Datagrams and TCP connections a worker passed to the worker that owns their session.")          \
    X(tcp_handovers, "porthop_worker_handoffs_total", "kind=\"tcp_connection\"", "")

struct Counters {
#define PORTHOP_DECLARE_COUNTER(name, family, label, help) std::atomic<std::uint64_t> name{0};
    PORTHOP_SERVER_COUNTERS(PORTHOP_DECLARE_COUNTER)
#undef PORTHOP_DECLARE_COUNTER

    // Single writer: a plain load and store, no locked read-modify-write on the packet path.
    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    static void subtract(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }

    // The sum of several workers' counters (each still has one writer).
    void reset() noexcept {
#define PORTHOP_RESET_COUNTER(name, family, label, help) name.store(0, std::memory_order_relaxed);
        PORTHOP_SERVER_COUNTERS(PORTHOP_RESET_COUNTER)
#undef PORTHOP_RESET_COUNTER
    }
    void add_from(const Counters& other) noexcept {
#define PORTHOP_ADD_COUNTER(name, family, label, help) add(name, other.name.load(std::memory_order_relaxed));
        PORTHOP_SERVER_COUNTERS(PORTHOP_ADD_COUNTER)
#undef PORTHOP_ADD_COUNTER
    }

    struct Entry {
        std::string_view name, family, label, help;
        std::uint64_t value;
    };
    template <typename F>
    void for_each(F&& f) const {
#define PORTHOP_VISIT_COUNTER(name, family, label, help) \
    f(Entry{#name, family, label, help, name.load(std::memory_order_relaxed)});
        PORTHOP_SERVER_COUNTERS(PORTHOP_VISIT_COUNTER)
#undef PORTHOP_VISIT_COUNTER
    }
};

// Traffic of one listener (one address and port), kept alive by the listener and by the
// sessions that came in through it, so a session outliving its listener (reload) stays safe.
struct ListenerCounters {
    std::atomic<std::uint64_t> sessions{0};  // open now (a gauge)
    std::atomic<std::uint64_t> from_client_packets{0}, from_client_bytes{0};
    std::atomic<std::uint64_t> to_client_packets{0}, to_client_bytes{0};
};

}  // namespace porthop::relay
