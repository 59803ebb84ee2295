// What a relay restart must not lose: the native UDP sessions, written to a file when the relay
// stops (and restored when it starts). WireGuard keeps sending to the backend-side address a
// session had, and a client that only receives (a download) sends nothing the new process could
// open a session from: only a session restored on its old backend socket (same local port) is
// reached by the backend's next packet, so the transfer resumes at once.
//
// The file is a few text lines, written to a temporary file and renamed over the old one:
//   porthop-sessions 1 <unix seconds when written> <backend address> <backend port>
//   udp <listener addr> <port> <client addr> <port> <local addr or -> <ifindex> <upstream addr>
//       <upstream port> <validated 0/1> <amplification> <opened_by_data 0/1> <roamed 0/1>
// (one line per session), and, since format 2, what the replay ledger keeps of porthop clients'
// sessions (hop/replay_ledger.hpp), so that their captured attaches stay refused after a restart:
//   agent <session id, 16 hex digits> <counter> <issued floor, unix ms> <keep until, unix s>
// A format 1 file is read (it has no agent lines). It is trusted: it may restore validated
// sessions, so only its owner (root) may write it (mode 0600).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthop/hop/replay_ledger.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"

namespace porthop::relay {

struct SavedSession {
    net::Endpoint listener;  // the relay port the client used (as bound)
    net::Endpoint client;
    net::LocalAddress local;  // where the client sent to (the source of replies)
    net::Endpoint upstream;   // the session's local address and port towards the backend
    bool validated = false;
    std::uint8_t amplification = 1;
    bool opened_by_data = false;
    bool roamed = false;
    friend bool operator==(const SavedSession&, const SavedSession&) noexcept;
};

struct SavedState {
    std::chrono::system_clock::time_point written{};
    net::Endpoint backend;
    std::vector<SavedSession> sessions;
    std::vector<hop::Forgotten> agents;
};

std::string format_state(const SavedState& state);
// nullopt with `why` for text that is not a state file of this version.
std::optional<SavedState> parse_state(std::string_view text, std::string& why);

// Writes `text` to `path` (mode 0600) through a temporary file and rename. False with `why`.
bool write_state_file(const std::string& path, const std::string& text, std::string& why);
// The file's text; nullopt with `why` (empty `why`: the file does not exist).
std::optional<std::string> read_state_file(const std::string& path, std::string& why);
// Whether a file with `text` may be overwritten with a state file: empty, or one already
// (of any format version). Anything else is someone's file at a mistaken `state_file` path.
bool may_replace_with_state(std::string_view text) noexcept;

}  // namespace porthop::relay
