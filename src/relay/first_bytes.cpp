#include "first_bytes.hpp"

#include <algorithm>
#include <array>

#include "porthop/hop/attach_check.hpp"
#include "porthop/hop/frame_codec_v2.hpp"
#include "porthop/hop/ingress.hpp"
#include "porthop/wire/framing.hpp"
#include "porthop/wire/http_head.hpp"

namespace porthop::relay {

FirstBytes judge_first_bytes(std::span<const std::byte> bytes, const hop::FrameCodec* codec,
                             const crypto::HopKeys* keys, std::uint64_t epoch) noexcept {
    if (!codec || !keys) return FirstBytes::web;
    constexpr std::size_t kPrefix = wire::kFrameHeaderSize + crypto::kMaskSaltSize;
    if (bytes.size() >= kPrefix) {
        const std::size_t clear = (std::to_integer<std::size_t>(bytes[0]) << 8) | std::to_integer<std::size_t>(bytes[1]);
        const std::size_t length =
            clear ^ codec->read_lengths()(bytes.subspan<wire::kFrameHeaderSize, crypto::kMaskSaltSize>());
        if (length < hop::v2::kOverhead || length > hop::FrameCodec::kMaxControl) return FirstBytes::web;
        if (bytes.size() >= wire::kFrameHeaderSize + length) {
            std::array<std::byte, hop::FrameCodec::kMaxControl> copy;
            const auto record = bytes.subspan(wire::kFrameHeaderSize, length);
            std::copy(record.begin(), record.end(), copy.begin());
            const auto in = hop::decide(codec, hop::Flow::unknown, std::span(copy).first(length));
            if (in.route != hop::Route::attach) return FirstBytes::web;
            return hop::authenticate(*keys, in.bytes, wire::hop::Type::attach, epoch).verdict == hop::Verdict::accept
                       ? FirstBytes::agent
                       : FirstBytes::web;
        }
    }
    if (wire::parse_request_head(bytes).status == wire::HttpHeadStatus::complete) return FirstBytes::web;
    return FirstBytes::need_more;
}

}  // namespace porthop::relay
