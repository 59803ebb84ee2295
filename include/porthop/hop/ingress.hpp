// The server's one ingress decision: what a datagram (UDP) or frame (TCP) that arrived from a
// client is, and where it goes. Every server loop (a listener's batch, a datagram handed over
// by another worker, a TCP connection's frames) asks this function and then only does the I/O
// the answer names, so "is this hop link?" is decided here and nowhere else.
//
//   codec  flow     frame opens as        ->  route
//   any    any      empty datagram            drop empty
//   none   agent    (not looked at)           drop not_data (a reload removed the key: the
//                                                          agents still open are not served)
//   none   other    (not looked at)           native      (no hop link here)
//   key    any      control                   attach      (checked by hop/attach_check)
//   key    agent    data, payload non-empty   agent_data  (the payload goes to the backend)
//   key    agent    data, empty payload       drop empty
//   key    agent    other                     drop not_data
//   key    unknown  data                      stray_data  (an agent whose address changed may
//                                                          belong to another worker's session;
//                                                          else it is judged as native)
//   key    native   (not opened: shaped like  native      (the fast path of native traffic)
//                    WireGuard or OpenVPN)
//   key    native/  data or other             native      (the native client checks judge it)
//          unknown
//
// stray_data and native carry the datagram as it arrived: a data frame opened on the way is
// masked back (FrameCodec::restore), since opening proves nothing without the path binding.
//
// `codec` is null where the hop link does not apply: the server has no key, or the frame is on
// a native client's TCP connection (a stream owned by a native session carries only its VPN's
// frames). Pure: no sockets, no clock; the codec unmasks the frame in place for attach and
// agent_data (frame_codec.hpp).
#pragma once

#include <cstdint>
#include <span>

#include "porthop/hop/frame_codec.hpp"

namespace porthop::hop {

// What this worker knows of the flow (UDP: listener and client address; TCP: the connection)
// before looking at the bytes.
enum class Flow : std::uint8_t {
    unknown,  // no session for this flow here: a new client, or another worker's
    native,   // a native client's session
    agent,    // a bound path of a porthop client's session
};

enum class Route : std::uint8_t { attach, agent_data, stray_data, native, drop };

enum class Drop : std::uint8_t {
    none,
    empty,     // nothing to forward (counters' drop_empty)
    not_data,  // an agent's path carried something other than a hop-link frame (drop_agent_frame)
};

struct Ingress {
    Route route = Route::drop;
    Drop drop = Drop::none;
    // attach: the control frame; agent_data: the VPN datagram; stray_data and native: the
    // whole datagram as it arrived; drop: empty.
    std::span<std::byte> bytes;
};

Ingress decide(const FrameCodec* codec, Flow flow, std::span<std::byte> datagram) noexcept;

const char* to_string(Route route) noexcept;

}  // namespace porthop::hop
