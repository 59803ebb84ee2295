#include "porthop/wire/framing.hpp"

namespace porthop::wire {

FrameSplit split_frame(std::span<const std::byte> buffer, std::size_t max_length) noexcept {
    if (buffer.size() < kFrameHeaderSize) return {FrameStatus::need_more, {}, 0};
    const std::size_t length =
        (std::to_integer<std::size_t>(buffer[0]) << 8) | std::to_integer<std::size_t>(buffer[1]);
    if (length > max_length) return {FrameStatus::too_large, {}, 0};
    if (buffer.size() - kFrameHeaderSize < length) return {FrameStatus::need_more, {}, 0};
    return {FrameStatus::complete, buffer.subspan(kFrameHeaderSize, length), kFrameHeaderSize + length};
}

void write_frame_header(std::span<std::byte, kFrameHeaderSize> out, std::uint16_t length) noexcept {
    out[0] = static_cast<std::byte>(length >> 8);
    out[1] = static_cast<std::byte>(length & 0xFF);
}

}  // namespace porthop::wire
