#include "porthop/net/frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace porthop::net {

FrameReader::FrameReader(Limits limits) noexcept
    : limits_(limits), capacity_(wire::kFrameHeaderSize + limits.max_frame + limits.slack) {}

void FrameReader::allocate() {
    if (!buffer_)
        buffer_ = std::make_unique_for_overwrite<std::byte[]>(capacity_);  // untouched pages stay free
}

std::span<std::byte> FrameReader::read_target() noexcept {
    std::size_t want = limits_.read_chunk;
    if (length_ >= wire::kFrameHeaderSize) {
        const auto announced =
            (std::to_integer<std::size_t>(buffer_[0]) << 8) | std::to_integer<std::size_t>(buffer_[1]);
        want = std::max(want, wire::kFrameHeaderSize + announced);
    }
    want = std::max(std::min(want, capacity_), length_);
    return {buffer_.get() + length_, want - length_};
}

void FrameReader::consume(std::size_t bytes) noexcept {
    if (bytes == 0) return;
    // A partial frame (room always remains for it to complete) or frames held back by the
    // owner (reading pauses meanwhile) move to the front.
    std::memmove(buffer_.get(), buffer_.get() + bytes, length_ - bytes);
    length_ -= bytes;
}

}  // namespace porthop::net
