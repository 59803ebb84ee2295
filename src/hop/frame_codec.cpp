#include "porthop/hop/frame_codec.hpp"

#include "porthop/crypto/hop_auth.hpp"

namespace porthop::hop {

namespace wh = wire::hop;

FrameCodec::Opened FrameCodec::open(std::span<std::byte> frame) const noexcept {
    switch (wh::classify(frame)) {
        case wh::Kind::control: return {wh::Kind::control, frame};
        case wh::Kind::data: return {wh::Kind::data, frame.subspan(wh::kDataOverhead)};
        case wh::Kind::other: break;
    }
    return {};
}

std::size_t FrameCodec::seal_data(std::span<std::byte, kMaxHead> head, std::span<std::byte>) const noexcept {
    static_assert(wh::kDataOverhead <= kMaxHead);
    head[0] = static_cast<std::byte>(wh::Type::data);  // version 1: the datagram follows unchanged
    return wh::kDataOverhead;
}

std::span<const std::byte> FrameCodec::seal_control(const wh::Control& c,
                                                    std::span<std::byte, kMaxControl> out) const noexcept {
    static_assert(wh::kControlSize <= kMaxControl);
    const auto frame = out.first<wh::kControlSize>();
    crypto::seal_control(keys_, c, frame);
    return frame;
}

}  // namespace porthop::hop
