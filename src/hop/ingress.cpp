#include "porthop/hop/ingress.hpp"

namespace porthop::hop {

namespace wh = wire::hop;

Ingress decide(const FrameCodec* codec, Flow flow, std::span<std::byte> datagram) noexcept {
    if (datagram.empty()) return {Route::drop, Drop::empty, {}};
    if (!codec) return flow == Flow::agent ? Ingress{Route::drop, Drop::not_data, {}} : Ingress{Route::native, Drop::none, datagram};
    const auto opened = codec->open(datagram);
    if (opened.kind == wh::Kind::control) return {Route::attach, Drop::none, opened.body};
    if (flow == Flow::agent) {
        if (opened.kind != wh::Kind::data) return {Route::drop, Drop::not_data, {}};
        if (opened.body.empty()) return {Route::drop, Drop::empty, {}};
        return {Route::agent_data, Drop::none, opened.body};
    }
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
