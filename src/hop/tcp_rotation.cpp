#include "porthop/hop/tcp_rotation.hpp"

namespace porthop::hop {

Rotation rotation_due(const RotationPolicy& policy, const TcpActivity& activity,
                      std::chrono::steady_clock::time_point now) noexcept {
    if (policy.budget_bytes > 0 && activity.received_bytes >= policy.budget_bytes / 2) return Rotation::budget;
    // Waiting for an answer and none came: a quiet connection with nothing outstanding is
    // just idle, not frozen.
    if (activity.last_sent > activity.last_received && now - activity.last_received >= policy.stall)
        return Rotation::stalled;
    return Rotation::none;
}

}  // namespace porthop::hop
