#include "porthop/hop/ingress.hpp"

#include "porthop/wire/protocol.hpp"

namespace porthop::hop {

namespace wh = wire::hop;

Ingress decide(const FrameCodec* codec, Flow flow, std::span<std::byte> datagram) noexcept {
    if (datagram.empty()) return {Route::drop, Drop::empty, {}};
    if (!codec) return flow == Flow::agent ? Ingress{Route::drop, Drop::not_data, {}} : Ingress{Route::native, Drop::none, datagram};
    // A native session's traffic that looks like its VPN's is its VPN's: no mask to try (the
    // header's ChaCha20 block would cost every native datagram about 40 times the rest of
    // this decision). An agent whose address holds a native session (it sent data to a server
    // that had forgotten it) loses only the attaches whose random salt looks like a VPN
    // packet, and sends more.
    if (flow == Flow::native) {
        const auto native = wire::classify_native(datagram, wire::Protocol::any);
        if (native.is_wireguard() || native.is_openvpn()) return {Route::native, Drop::none, datagram};
    }
    const auto opened = codec->open(datagram);
    if (opened.kind == wh::Kind::control) return {Route::attach, Drop::none, opened.body};
    if (flow == Flow::agent) {
        if (opened.kind != wh::Kind::data) return {Route::drop, Drop::not_data, {}};
        if (opened.body.empty()) return {Route::drop, Drop::empty, {}};
        return {Route::agent_data, Drop::none, opened.body};
    }
    // Not on an agent's path: the bytes go on as they arrived, to another worker or to the
    // native checks. A data frame that opened here is masked back first (the mask proves
    // nothing: a native datagram's random header bytes pass its checks 1 time in 1024 at most).
    if (opened.kind == wh::Kind::data) codec->restore(datagram);
    if (flow == Flow::unknown && opened.kind == wh::Kind::data) return {Route::stray_data, Drop::none, datagram};
    return {Route::native, Drop::none, datagram};
}

const char* to_string(Route route) noexcept {
    switch (route) {
        case Route::attach: return "attach";
        case Route::agent_data: return "agent_data";
        case Route::stray_data: return "stray_data";
        case Route::native: return "native";
        case Route::drop: return "drop";
    }
    return "?";
}

}  // namespace porthop::hop
