// When the agent's TCP path (TLS on 443, usually) should move to a fresh connection, before
// the path manager would call it dark (issue 15). Censors such as Russia's TSPU freeze a TCP
// connection to a foreign data centre after some kilobytes from the server: no reset, the
// packets just stop. A new connection works again for as long; so the agent opens one,
// attaches on it and switches (make-before-break, the server moves the session's TCP path
// to it on the attach), without the VPN noticing:
//   - stalled: the agent sent something (data or a probe) after the last thing it received,
//     and nothing has come for `stall`;
//   - budget: the connection has received half of `budget_bytes` (0: no budget). The server
//     stops sending on a connection at the whole budget (ServerOptions::tcp_rotate_bytes):
//     the agent starts the replacement at half, so that it is attached before the server
//     stops, even when the server sends a burst of several kilobytes in one go (a receiver
//     alone cannot hold a sender under a threshold: it learns of the bytes after they left).
// Pure: times are passed in.
#pragma once

#include <chrono>
#include <cstdint>

namespace porthop::hop {

struct RotationPolicy {
    std::chrono::milliseconds stall{1500};
    std::uint64_t budget_bytes = 0;
    // Between two replacements at least (the server limits new connections per source:
    // handshake_rate, 20/s with bursts of 5 by default).
    std::chrono::milliseconds min_interval{100};
};

enum class Rotation : std::uint8_t { none, stalled, budget };

struct TcpActivity {
    std::chrono::steady_clock::time_point last_received{};  // or when it came up
    std::chrono::steady_clock::time_point last_sent{};      // min(): nothing sent yet
    std::uint64_t received_bytes = 0;
};

Rotation rotation_due(const RotationPolicy& policy, const TcpActivity& activity,
                      std::chrono::steady_clock::time_point now) noexcept;

}  // namespace porthop::hop
