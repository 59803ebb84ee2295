// libFuzzer target: wire::split_frame over an arbitrary stream, split to the end as the TCP
// path does. Input layout: 2 bytes of max_length (big-endian), then the stream.
// Checks: every complete frame lies inside the buffer right after its header, respects
// max_length, and re-encodes to the same bytes; the loop always ends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "porthop/wire/framing.hpp"

namespace wire = porthop::wire;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max_length = std::size_t{data[0]} << 8 | data[1];
    const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + 2), size - 2);

    std::size_t offset = 0;
    for (;;) {
        const auto rest = stream.subspan(offset);
        const auto split = wire::split_frame(rest, max_length);
        if (split.status == wire::FrameStatus::need_more) {
            check(split.consumed == 0 && split.payload.empty());
            // Only a prefix of a frame that fits is left.
            if (rest.size() >= wire::kFrameHeaderSize) {
                const std::size_t announced =
                    std::to_integer<std::size_t>(rest[0]) << 8 | std::to_integer<std::size_t>(rest[1]);
                check(announced <= max_length && rest.size() < wire::kFrameHeaderSize + announced);
            }
            break;
        }
        if (split.status == wire::FrameStatus::too_large) {
            check(split.consumed == 0 && split.payload.empty());
            break;
        }
        check(split.status == wire::FrameStatus::complete);
        check(split.payload.size() <= max_length);
        check(split.consumed == wire::kFrameHeaderSize + split.payload.size() &&
              split.consumed <= rest.size());
        check(split.payload.data() == rest.data() + wire::kFrameHeaderSize);
        std::byte header[wire::kFrameHeaderSize];
        wire::write_frame_header(std::span<std::byte, wire::kFrameHeaderSize>(header),
                                 static_cast<std::uint16_t>(split.payload.size()));
        check(std::memcmp(header, rest.data(), wire::kFrameHeaderSize) == 0);
        offset += split.consumed;
    }
    return 0;
}
