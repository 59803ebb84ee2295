// Which data frames open a flow (docs/PROTOCOL.md, "Padding"). Censors classify a UDP or TCP
// flow by its first packets and block the 5-tuple or the server for minutes
// (research/censorship.md: the GFW looks at the first packet, Iran's filter at the first two,
// Russia's WireGuard blocking at the first few), and every hop makes a new flow. So the first
// kOpeningFrames data frames a sender puts on each new path are padded to random lengths
// (DataShape::opening) like handshakes, bulk ones included; after them, bulk frames get the
// light bulk padding.
//
// The loop names the flow each frame goes on with an id of its choice (the agent: its UDP port
// or its TCP connection's number; the server: the reply path's generation); a new id is a new
// flow and restarts the count. That is the whole interface: the loop asks once per frame.
//
// Pure, a few bytes, no clock: one per sender of a flow (the agent's, and each agent session's
// replies on the server).
#pragma once

#include <cstdint>

#include "porthop/hop/data_padding.hpp"

namespace porthop::hop {

class FlowPadding {
public:
    // Covers the packets the classifiers above look at, with room to spare, and the first
    // round trips of whatever the tunnel starts on the new path; beyond it the padding would
    // cost bandwidth on every hop (8 frames at most ~1 KB more each: a few KB per path).
    static constexpr std::uint32_t kOpeningFrames = 8;

    // The shape of the next data frame sent on `flow`: opening for the first kOpeningFrames on
    // a flow (the first flow too), bulk after them.
    DataShape next(std::uint64_t flow) noexcept {
        if (!started_ || flow != flow_) {
            started_ = true;
            flow_ = flow;
            left_ = kOpeningFrames;
        }
        if (left_ == 0) return DataShape::bulk;
        --left_;
        return DataShape::opening;
    }

    // Opening frames still to come on the current flow (kOpeningFrames before the first).
    std::uint32_t left() const noexcept { return started_ ? left_ : kOpeningFrames; }

private:
    std::uint64_t flow_ = 0;
    std::uint32_t left_ = 0;
    bool started_ = false;  // no flow yet: any id is a new one
};

}  // namespace porthop::hop
