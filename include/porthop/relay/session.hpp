// A session is one client of the backend. It owns one connected UDP socket to the backend, so
// the backend sees one stable source address per client for as long as the session lives.
// Replies take the session's reply path (relay/reply_path.hpp): back out of the UDP listener
// the client last used (to the client's address, from the local address it sent to), or into
// its TCP connection.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "porthop/hop/flow_padding.hpp"
#include "porthop/hop/replay_window.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/counters.hpp"
#include "porthop/relay/guard_tables.hpp"
#include "porthop/relay/native_guard.hpp"
#include "porthop/relay/reply_path.hpp"

namespace porthop::relay {

enum class CloseReason : std::uint8_t {
    idle,
    tcp_closed,
    tcp_error,
    frame_too_large,
    tcp_timeout,
    listener_removed,
    superseded,
    shutdown,
    evicted  // a provisional session that made room for a newer one (native_clients.cpp)
};
const char* to_string(CloseReason reason) noexcept;

// What the server keeps for a porthop client (hop link, docs/PROTOCOL.md). The session outlives
// its paths: each accepted attach binds one more (UDP port + agent address, or a TCP
// connection), and replies follow the path the agent's data last came in on (Session::path).
struct AgentLink {
    std::uint64_t hop_id = 0;    // the session id the hop link authenticates
    hop::ReplayWindow attaches;  // counters of accepted attaches
    // The last ack's counter. A new session starts it at the server's clock (unix ms), so the
    // acks of a session the server opened again (after a restart) are above every earlier one
    // the agent has seen: the server sends far fewer than one ack per millisecond.
    std::uint64_t ack_counter = 0;
    // The latest `issued` (the agent's clock, unix ms) of an accepted attach, and when it
    // arrived: what the replay ledger's floor is made from when the server forgets the session
    // (hop/replay_ledger.hpp). The time since it arrived is measured on the steady clock, so a
    // step of the server's wall clock does not move the floor; the wall time (unix ms) dates
    // the entry.
    std::uint64_t issued = 0;
    std::uint64_t issued_arrived_ms = 0;
    std::chrono::steady_clock::time_point issued_arrived{};
    // A session opened again after the server forgot it: attaches issued at or before this
    // were sent before that, so they are not its agent's latest (replays); 0 otherwise.
    std::uint64_t issued_floor = 0;
    // The first data frames of each flow replies go on are padded like a new flow's
    // (hop/flow_padding.hpp; the flow is Session::path.flow()).
    hop::FlowPadding reply_opening;
    // With tcp_rotate_bytes: replies that came while the TCP connection in use had sent its
    // budget, held for the connection the agent moves to (u16 length, datagram; at most
    // kMaxParkedReplies bytes, beyond which replies are dropped).
    std::vector<std::byte> parked_replies;
    static constexpr std::size_t kMaxParkedReplies = 64 * 1024;
};

struct Session {
    using Clock = std::chrono::steady_clock;

    Session(std::uint64_t session_id, boost::asio::ip::udp::socket upstream_socket)
        : id(session_id), upstream(std::move(upstream_socket)) {}

    std::uint64_t id;
    boost::asio::ip::udp::socket upstream;

    // Where replies go: a native session's one path (UDP or TCP), an agent session's UDP path
    // and TCP connection with the one its data last came on chosen (relay/reply_path.hpp).
    ReplyPath path;
    // Set for porthop clients, null for native ones: what only they need lives there, so
    // that the many native sessions do not carry it.
    std::unique_ptr<AgentLink> agent;

    Clock::time_point opened{};
    Clock::time_point last_from_client{};  // idleness is judged by the client side only
    bool closed = false;
    // Opened by a datagram that is not a handshake (a WireGuard transport message after a relay
    // restart, or a forgery) and not yet answered by the backend: it counts against a small
    // budget per source and in total, and is the first to make room (native_clients.cpp).
    // Beside `closed`, and the two sources together: one gap of padding where there were two.
    bool provisional = false;
    // The source (guard/source_limiter.hpp) this session counts against; kept across roaming.
    std::optional<SourceKey> source;
    std::optional<SourceKey> provisional_source;  // the source whose provisional share it takes
    // What the native-client guard keeps for a native UDP session (relay/native_guard.hpp:
    // anti-amplification, validation, OpenVPN ids); TCP and agent sessions keep the default,
    // validated: a TCP handshake or an authenticated attach already proved the address.
    NativeState native;

    std::uint64_t from_client_packets = 0, from_client_bytes = 0;
    std::uint64_t to_client_packets = 0, to_client_bytes = 0;
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace porthop::relay
