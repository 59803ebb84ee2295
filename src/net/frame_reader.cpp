#include "porthop/net/frame_reader.hpp"

#include <algorithm>
#include <cstring>

#include "porthop/hop/frame_codec_v2.hpp"

namespace porthop::net {

namespace {
constexpr std::size_t kMaskedPrefix = wire::kFrameHeaderSize + crypto::kMaskSaltSize;  // length, salt

std::size_t read_u16(std::span<const std::byte> bytes) noexcept {
    return (std::to_integer<std::size_t>(bytes[0]) << 8) | std::to_integer<std::size_t>(bytes[1]);
}
}  // namespace

FrameReader::FrameReader(Limits limits) noexcept
    : limits_(limits), capacity_(wire::kFrameHeaderSize + limits.max_frame + limits.slack) {}

void FrameReader::allocate() {
    if (!buffer_)
        buffer_ = std::make_unique_for_overwrite<std::byte[]>(capacity_);  // untouched pages stay free
}

void FrameReader::read_plain() noexcept {
    form_ = Form::plain;
    mask_.reset();
    rule_ = nullptr;
}

void FrameReader::read_masked(const crypto::LengthMask& mask) noexcept {
    form_ = Form::masked;
    mask_.emplace(mask);
    rule_ = nullptr;
}

void FrameReader::read_either(const crypto::LengthMask& mask, const FirstRecord& rule, std::size_t max_masked) noexcept {
    form_ = Form::either;
    mask_.emplace(mask);
    rule_ = &rule;
    max_masked_first_ = std::min(max_masked, limits_.max_frame);
}

wire::FrameSplit FrameReader::split_at(std::size_t offset) const noexcept {
    const std::span<const std::byte> buffer{buffer_.get() + offset, length_ - offset};
    switch (form_) {
        case Form::plain:
            break;
        case Form::masked:
            return split_masked(buffer, limits_.max_frame);
        case Form::either:
            return split_either(buffer);
    }
    return wire::split_frame(buffer, limits_.max_frame);
}

wire::FrameSplit FrameReader::split_masked(std::span<const std::byte> buffer, std::size_t max_length) const noexcept {
    if (buffer.size() < kMaskedPrefix) return {wire::FrameStatus::need_more, {}, 0};
    const std::size_t length = masked_length(buffer);
    // Every hop-link frame has its salt and header: anything shorter is not one of ours.
    if (length < hop::v2::kOverhead) return {wire::FrameStatus::too_short, {}, 0};
    if (length > max_length) return {wire::FrameStatus::too_large, {}, 0};
    if (buffer.size() - wire::kFrameHeaderSize < length) return {wire::FrameStatus::need_more, {}, 0};
    return {wire::FrameStatus::complete, buffer.subspan(wire::kFrameHeaderSize, length),
            wire::kFrameHeaderSize + length, true};
}

wire::FrameSplit FrameReader::split_either(std::span<const std::byte> buffer) const noexcept {
    const auto plain = wire::split_frame(buffer, limits_.max_frame);
    const auto masked = split_masked(buffer, max_masked_first_);
    const bool plain_done = plain.status == wire::FrameStatus::complete;
    const bool masked_done = masked.status == wire::FrameStatus::complete;
    // Judged readings first: an attach that opens under the key is an agent's whatever its
    // clear reading looks like; a VPN handshake is a native client's.
    if (masked_done && rule_->agent(masked.payload)) return masked;
    if (plain_done && rule_->native(plain.payload)) return plain;
    // A complete clear reading refused: closed at once (an agent whose first record TCP split
    // is taken for it only if its random clear length fits the part that came, and retries).
    if (plain_done) return plain;
    // Else wait while either may still complete: a native client's first record may come in
    // pieces (a small MSS, a middlebox), and so may an agent's.
    if (plain.status == wire::FrameStatus::need_more || masked.status == wire::FrameStatus::need_more)
        return {wire::FrameStatus::need_more, {}, 0};
    return plain;  // too long either way
}

std::size_t FrameReader::masked_length(std::span<const std::byte> buffer) const noexcept {
    return read_u16(buffer) ^ (*mask_)(buffer.subspan<wire::kFrameHeaderSize, crypto::kMaskSaltSize>());
}

std::span<std::byte> FrameReader::read_target() noexcept {
    // The record at the front may announce more than a chunk: the read asks for all of it (cut
    // to the buffer). In the either form, for whichever reading may still complete, or a
    // record longer than a chunk would leave a full buffer and an empty read target, forever.
    std::size_t want = limits_.read_chunk;
    const std::span<const std::byte> front{buffer_.get(), length_};
    if (form_ != Form::masked && length_ >= wire::kFrameHeaderSize)
        want = std::max(want, wire::kFrameHeaderSize + read_u16(front));
    if (form_ != Form::plain && length_ >= kMaskedPrefix) {
        const std::size_t masked = masked_length(front);
        if (form_ == Form::masked || masked <= max_masked_first_) want = std::max(want, wire::kFrameHeaderSize + masked);
    }
    want = std::max(std::min(want, capacity_), length_);
    return {buffer_.get() + length_, want - length_};
}

bool FrameReader::append(std::span<const std::byte> bytes) noexcept {
    if (!buffer_ || bytes.size() > capacity_ - length_) return false;
    std::memcpy(buffer_.get() + length_, bytes.data(), bytes.size());
    length_ += bytes.size();
    return true;
}

void FrameReader::consume(std::size_t bytes) noexcept {
    if (bytes == 0) return;
    // A partial frame (room always remains for it to complete) or frames held back by the
    // owner (reading pauses meanwhile) move to the front.
    std::memmove(buffer_.get(), buffer_.get() + bytes, length_ - bytes);
    length_ -= bytes;
}

}  // namespace porthop::net
