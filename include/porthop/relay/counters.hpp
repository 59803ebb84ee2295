// Server counters, declared once in a list so that logging, tests and (later) the metrics
// endpoint all see the same set. Each counter has one writer (the event loop that owns it);
// readers on other threads see relaxed, possibly slightly stale values.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace porthop::relay {

#define PORTHOP_SERVER_COUNTERS(X)                                                           \
    X(sessions_opened, "sessions opened")                                                    \
    X(sessions_closed, "sessions closed")                                                    \
    X(tcp_connections_opened, "TCP connections accepted")                                    \
    X(tcp_connections_closed, "TCP connections closed")                                      \
    X(to_backend_packets, "datagrams forwarded from clients to the backend")                 \
    X(to_backend_bytes, "payload bytes forwarded from clients to the backend")               \
    X(to_client_packets, "datagrams forwarded from the backend to clients")                  \
    X(to_client_bytes, "payload bytes forwarded from the backend to clients")                \
    X(drop_session_limit, "datagrams or connections refused: max_sessions reached")          \
    X(drop_tcp_limit, "connections refused: max_tcp_connections reached")                    \
    X(drop_truncated, "datagrams larger than max_datagram")                                  \
    X(drop_empty, "empty datagrams or zero-length frames")                                   \
    X(drop_frame_too_large, "TCP connections closed for a frame longer than max_datagram")   \
    X(drop_send_to_backend, "datagrams the kernel refused to send to the backend")           \
    X(drop_send_to_client, "datagrams the kernel refused to send to a client")               \
    X(drop_tcp_backlog, "datagrams dropped because a TCP client reads too slowly")           \
    X(drop_no_buffer, "datagrams dropped because the packet pool was exhausted")             \
    X(drop_socket_error, "sessions not opened because a socket could not be created")        \
    X(backend_errors, "receive errors from the backend socket (e.g. ICMP port unreachable)") \
    X(tcp_timeouts, "TCP connections closed for sending no frame in time")

struct Counters {
#define PORTHOP_DECLARE_COUNTER(name, help) std::atomic<std::uint64_t> name{0};
    PORTHOP_SERVER_COUNTERS(PORTHOP_DECLARE_COUNTER)
#undef PORTHOP_DECLARE_COUNTER

    // Single writer: a plain load and store, no locked read-modify-write on the packet path.
    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    template <typename F>
    void for_each(F&& f) const {
#define PORTHOP_VISIT_COUNTER(name, help) \
    f(std::string_view{#name}, std::string_view{help}, name.load(std::memory_order_relaxed));
        PORTHOP_SERVER_COUNTERS(PORTHOP_VISIT_COUNTER)
#undef PORTHOP_VISIT_COUNTER
    }
};

}  // namespace porthop::relay
