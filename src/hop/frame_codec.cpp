#include "porthop/hop/frame_codec.hpp"

#include <utility>

namespace porthop::hop {

FrameCodec::FrameCodec(const crypto::HopKeys& keys, Side side, crypto::StreamRandom random,
                       v2::Sealing sealing) noexcept
    : keys_(keys), v2_(keys, side), random_(std::move(random)), burst_(BulkBurst::draw(random_)) {
    v2_.set_sealing(sealing);
}

FrameCodec::Opened FrameCodec::open(std::span<std::byte> frame) const noexcept {
    const auto opened = v2_.open(frame);
    return {opened.kind, opened.body, opened.ask_full};
}

FrameCodec::Sealed FrameCodec::seal_data(std::span<std::byte, kMaxHead> head, std::span<std::byte> datagram,
                                         std::span<std::byte> tail, DataShape shape) noexcept {
    const auto sealed = v2_.seal_data(head, datagram, tail, random_, {shape, burst_});
    return {sealed.head, sealed.tail};
}

std::span<const std::byte> FrameCodec::seal_control(const wire::hop::Control& c,
                                                    std::span<std::byte, kMaxControl> out,
                                                    std::size_t at_most) noexcept {
    return v2_.seal_control(c, out, random_, at_most);
}

}  // namespace porthop::hop
