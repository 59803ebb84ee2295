// libFuzzer target: net::FrameReader splitting an arbitrary stream in each form of record
// length (plain, masked with the vectors' key, either as a keyed server's first record), fed
// through read_target()/commit() in the sizes the reader asks for, and consumed as the stream
// owner does. Input: byte 0 the form (mod 3: plain, masked, either), bytes 1-2 max_frame
// (big-endian, at least 16), then the stream. Checks:
//  - every complete record lies in the buffer right after its 2-byte header, no longer than
//    max_frame, and its header re-encodes (plain: the length; masked: length ^ mask(salt));
//  - a masked record is at least a frame's overhead (11 bytes);
//  - either: a masked record is taken only if the rule takes it for an agent's; a clear one
//    only if no masked reading the rule takes is complete; after the first record the owner
//    fixes the form, as TcpConnection does;
//  - the reader always has room to read while the stream goes on, and the loop ends;
//  - splitting never allocates.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_support.hpp"
#include "porthop/crypto/length_mask.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/hop/frame_codec_v2.hpp"
#include "porthop/hop/ingress.hpp"
#include "porthop/net/frame_reader.hpp"
#include "porthop/wire/protocol.hpp"

namespace crypto = porthop::crypto;
namespace net = porthop::net;
namespace wire = porthop::wire;

namespace {

using porthop::fuzz::check;

std::size_t u16_at(std::span<const std::byte> b) {
    return std::to_integer<std::size_t>(b[0]) << 8 | std::to_integer<std::size_t>(b[1]);
}

// The server's rule: an attach that opens under the vectors' key (on a copy), a native
// client's handshake.
struct ServerRule final : net::FrameReader::FirstRecord {
    bool agent(std::span<const std::byte> payload) const noexcept override {
        static const porthop::hop::FrameCodec codec(porthop::fuzz::vector_keys(), porthop::hop::FrameCodec::Side::server,
                                                    crypto::StreamRandom(std::array<std::byte, 32>{}));
        std::array<std::byte, porthop::hop::FrameCodec::kMaxControl> copy{};
        if (payload.size() > copy.size()) return false;
        std::copy(payload.begin(), payload.end(), copy.begin());
        return porthop::hop::decide(&codec, porthop::hop::Flow::unknown, std::span(copy).first(payload.size())).route ==
               porthop::hop::Route::attach;
    }
    bool native(std::span<const std::byte> payload) const noexcept override {
        return wire::is_handshake(wire::classify_native(payload, wire::Protocol::any));
    }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop::fuzz::init_hop_target();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const int form = data[0] % 3;
    const std::size_t max_frame = std::max<std::size_t>(16, std::size_t{data[1]} << 8 | data[2]);
    const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + 3), size - 3);

    static const ServerRule rule;
    const crypto::LengthMask mask(porthop::fuzz::vector_keys().mask, crypto::MaskDirection::agent_to_server);
    constexpr std::size_t kMaxMasked = 2048;
    net::FrameReader reader({max_frame, 512, 256});
    reader.allocate();
    if (form == 1) reader.read_masked(mask);
    if (form == 2) reader.read_either(mask, rule, kMaxMasked);
    bool either = form == 2;

    std::size_t fed = 0;
    bool ended = false;
    while (!ended) {
        // Feed what the reader asks for (it always has room while records are consumed).
        const auto target = reader.read_target();
        check(!target.empty());
        const std::size_t n = std::min(target.size(), stream.size() - fed);
        std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(fed), n, target.begin());
        reader.commit(n);
        fed += n;

        std::size_t offset = 0;
        for (;;) {
            const auto split = porthop::fuzz::no_alloc([&] { return reader.split_at(offset); });
            if (split.status != wire::FrameStatus::complete) {
                check(split.consumed == 0 && split.payload.empty());
                ended = split.status != wire::FrameStatus::need_more;
                break;
            }
            // The buffer's bytes: read_target() starts right after them.
            const auto at = std::span<const std::byte>(reader.read_target().data() - reader.length(), reader.length())
                                .subspan(offset);
            check(split.payload.data() == at.data() + 2);
            check(split.consumed == 2 + split.payload.size() && split.consumed <= at.size());
            check(split.payload.size() <= max_frame);
            if (split.masked) {
                check(form != 0);
                check(split.payload.size() >= porthop::hop::v2::kOverhead);
                check((u16_at(at) ^ mask(at.subspan<2, crypto::kMaskSaltSize>())) == split.payload.size());
                if (either) check(split.payload.size() <= kMaxMasked && rule.agent(split.payload));
            } else {
                check(form != 1);
                check(u16_at(at) == split.payload.size());
                if (either && at.size() >= 2 + crypto::kMaskSaltSize) {
                    // Taken clear only when no complete masked reading is an agent's.
                    const std::size_t masked = u16_at(at) ^ mask(at.subspan<2, crypto::kMaskSaltSize>());
                    check(masked < porthop::hop::v2::kOverhead || masked > std::min(kMaxMasked, max_frame) ||
                          at.size() < 2 + masked || !rule.agent(at.subspan(2, masked)));
                }
            }
            if (either) {  // the owner fixes the form from the first record on
                either = false;
                if (split.masked)
                    reader.read_masked(mask);
                else
                    reader.read_plain();
            }
            offset += split.consumed;
        }
        reader.consume(offset);
        if (fed == stream.size() && !ended) {
            // Nothing more comes: what is left is an incomplete record.
            check(reader.split_at(0).status == wire::FrameStatus::need_more);
            break;
        }
    }
    return 0;
}
