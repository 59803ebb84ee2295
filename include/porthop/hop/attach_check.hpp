// Freshness and authenticity of control frames, in the order the checks run. Each failure has
// its own verdict (and, on the server, its own counter); the server answers none of them.
#pragma once

#include <cstdint>
#include <span>

#include "porthop/crypto/hop_auth.hpp"
#include "porthop/hop/replay_window.hpp"

namespace porthop::hop {

enum class Verdict : std::uint8_t {
    accept,       // authentic and fresh
    malformed,    // not a 50-byte version-1 frame of the expected type, or counter 0
    bad_tag,      // wrong key or modified (or, for an ack, another session's)
    stale_epoch,  // epoch more than one away from the receiver's
    replay,       // counter already seen, or too old, for this session
};
const char* to_string(Verdict v) noexcept;

struct Checked {
    Verdict verdict = Verdict::malformed;
    wire::hop::Control control;  // the decoded fields, when the tag was valid
};

// Size, type (`expected`), version, counter != 0, tag, then |epoch - receiver_epoch| <= 1.
// Does not look at replay: the caller finds the session's window first.
Checked authenticate(const crypto::HopKeys& keys, std::span<const std::byte> frame,
                     wire::hop::Type expected, std::uint64_t receiver_epoch) noexcept;

// The server's check of an attach. `find_window(session_id)` returns the session's attach
// window, or nullptr for a session the server does not know (a new one; its window starts with
// this frame's counter once the caller creates the session).
template <typename FindWindow>
Checked check_attach(const crypto::HopKeys& keys, std::span<const std::byte> frame,
                     std::uint64_t server_epoch, FindWindow&& find_window) {
    Checked c = authenticate(keys, frame, wire::hop::Type::attach, server_epoch);
    if (c.verdict != Verdict::accept) return c;
    if (ReplayWindow* w = find_window(c.control.session_id); w && !w->accept(c.control.counter))
        c.verdict = Verdict::replay;
    return c;
}

// The agent's check of an ack: as authenticate, plus session id == `session_id` (another
// session's ack counts as bad_tag: not ours) and the counter fresh in `window`.
Checked check_ack(const crypto::HopKeys& keys, std::span<const std::byte> frame,
                  std::uint64_t agent_epoch, std::uint64_t session_id, ReplayWindow& window) noexcept;

}  // namespace porthop::hop
