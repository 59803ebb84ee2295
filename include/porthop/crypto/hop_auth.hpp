// Sealing and opening hop-link control frames: the wire layout (wire/hoplink) plus the tag
// (crypto/hop_key). Freshness (epoch, replay window) is the hop layer's job (hop/attach_check).
#pragma once

#include <cstdint>
#include <span>

#include "porthop/crypto/hop_key.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::crypto {

enum class OpenStatus : std::uint8_t {
    ok,
    malformed,  // not a control frame: wrong size, type or version
    bad_tag,    // wrong key, or modified on the way
};
const char* to_string(OpenStatus s) noexcept;

struct Opened {
    OpenStatus status = OpenStatus::malformed;
    wire::hop::Control control;  // meaningful only when status == ok
};

// Writes the 50-byte frame for `c`, tag included.
void seal_control(const HopKeys& keys, const wire::hop::Control& c,
                  std::span<std::byte, wire::hop::kControlSize> out) noexcept;

// Checks size, type, version and tag. No allocation.
Opened open_control(const HopKeys& keys, std::span<const std::byte> frame) noexcept;

}  // namespace porthop::crypto
