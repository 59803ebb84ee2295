#include "porthop/crypto/hop_auth.hpp"

namespace porthop::crypto {

namespace hop = wire::hop;

const char* to_string(OpenStatus s) noexcept {
    switch (s) {
        case OpenStatus::ok:
            return "ok";
        case OpenStatus::malformed:
            return "malformed";
        case OpenStatus::bad_tag:
            return "bad_tag";
    }
    return "unknown";
}

void seal_control(const HopKeys& keys, const hop::Control& c,
                  std::span<std::byte, hop::kControlSize> out) noexcept {
    hop::encode_control(c, out);
    hop_tag(keys.auth, std::span<const std::byte>(out).first(hop::kTagOffset),
            out.subspan<hop::kTagOffset, hop::kTagSize>());
}

Opened open_control(const HopKeys& keys, std::span<const std::byte> frame) noexcept {
    Opened result;
    const auto decoded = hop::decode_control(frame);
    if (!decoded) return result;
    // decode_control succeeded, so frame is exactly kControlSize bytes.
    if (!hop_tag_valid(keys.auth, frame.first(hop::kTagOffset),
                       frame.subspan<hop::kTagOffset, hop::kTagSize>())) {
        result.status = OpenStatus::bad_tag;
        return result;
    }
    result.status = OpenStatus::ok;
    result.control = *decoded;
    return result;
}

}  // namespace porthop::crypto
