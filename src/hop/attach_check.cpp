#include "porthop/hop/attach_check.hpp"

namespace porthop::hop {

namespace wh = wire::hop;

const char* to_string(Verdict v) noexcept {
    switch (v) {
        case Verdict::accept:
            return "accept";
        case Verdict::malformed:
            return "malformed";
        case Verdict::bad_tag:
            return "bad_tag";
        case Verdict::stale_epoch:
            return "stale_epoch";
        case Verdict::replay:
            return "replay";
    }
    return "unknown";
}

Checked authenticate(const crypto::HopKeys& keys, std::span<const std::byte> frame, wh::Type expected,
                     std::uint64_t receiver_epoch) noexcept {
    Checked result;
    // The cheap structural checks run before the MAC, so junk costs no BLAKE2b.
    const auto decoded = wh::decode_control(frame);
    if (!decoded || decoded->type != expected || decoded->counter == 0) return result;
    if (!crypto::hop_tag_valid(keys.auth, frame.first(wh::kTagOffset),
                               frame.subspan<wh::kTagOffset, wh::kTagSize>())) {
        result.verdict = Verdict::bad_tag;
        return result;
    }
    result.control = *decoded;
    const std::uint64_t e = decoded->epoch;
    const std::uint64_t distance = e > receiver_epoch ? e - receiver_epoch : receiver_epoch - e;
    result.verdict = distance > 1 ? Verdict::stale_epoch : Verdict::accept;
    return result;
}

Checked check_ack(const crypto::HopKeys& keys, std::span<const std::byte> frame, std::uint64_t agent_epoch,
                  std::uint64_t session_id, ReplayWindow& window) noexcept {
    Checked c = authenticate(keys, frame, wh::Type::ack, agent_epoch);
    if (c.verdict != Verdict::accept) return c;
    // Every agent of a server holds the same key, so another agent's ack carries a valid tag;
    // replayed to us it must not confirm our path.
    if (c.control.session_id != session_id) {
        c.verdict = Verdict::bad_tag;
        return c;
    }
    if (!window.accept(c.control.counter)) c.verdict = Verdict::replay;
    return c;
}

}  // namespace porthop::hop
