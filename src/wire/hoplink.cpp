#include "porthop/wire/hoplink.hpp"

namespace porthop::wire::hop {

namespace {

constexpr std::size_t kSessionOffset = 2;
constexpr std::size_t kCounterOffset = 10;
constexpr std::size_t kEpochOffset = 18;
constexpr std::size_t kEchoOffset = 26;

void put_u64(std::byte* out, std::uint64_t v) noexcept {
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<std::byte>(v & 0xFF);
        v >>= 8;
    }
}

std::uint64_t get_u64(const std::byte* in) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | std::to_integer<std::uint64_t>(in[i]);
    return v;
}

}  // namespace

Kind classify(std::span<const std::byte> frame) noexcept {
    if (frame.empty()) return Kind::other;
    const auto type = std::to_integer<std::uint8_t>(frame[0]);
    if (type == static_cast<std::uint8_t>(Type::data)) return Kind::data;
    const bool control_type =
        type == static_cast<std::uint8_t>(Type::attach) || type == static_cast<std::uint8_t>(Type::ack);
    if (control_type && frame.size() == kControlSize && std::to_integer<std::uint8_t>(frame[1]) == kVersion)
        return Kind::control;
    return Kind::other;
}

void encode_control(const Control& c, std::span<std::byte, kControlSize> out) noexcept {
    out[0] = static_cast<std::byte>(c.type);
    out[1] = static_cast<std::byte>(kVersion);
    put_u64(out.data() + kSessionOffset, c.session_id);
    put_u64(out.data() + kCounterOffset, c.counter);
    put_u64(out.data() + kEpochOffset, c.epoch);
    put_u64(out.data() + kEchoOffset, c.echo);
    for (std::size_t i = kTagOffset; i < kControlSize; ++i) out[i] = std::byte{0};
}

std::optional<Control> decode_control(std::span<const std::byte> frame) noexcept {
    if (classify(frame) != Kind::control) return std::nullopt;
    Control c;
    c.type = static_cast<Type>(frame[0]);
    c.session_id = get_u64(frame.data() + kSessionOffset);
    c.counter = get_u64(frame.data() + kCounterOffset);
    c.epoch = get_u64(frame.data() + kEpochOffset);
    c.echo = get_u64(frame.data() + kEchoOffset);
    return c;
}

}  // namespace porthop::wire::hop
