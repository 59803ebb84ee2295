// libFuzzer target: the hop link's frame parsing and checks (wire/hoplink, crypto/hop_auth,
// hop/attach_check, hop/replay_window) on arbitrary input, with the key of the test vectors.
// Checks:
//  - classify, decode_control and encode_control agree: a control frame decodes, and encoding
//    the result gives back its first 34 bytes; nothing else decodes;
//  - open_control is ok exactly when the frame is control and its tag is the BLAKE2b tag of
//    bytes [0, 34); authenticate and check_ack give verdicts consistent with it, in the
//    documented order; an accepted ack is marked in the window;
//  - resealing the decoded fields gives a frame that opens to the same fields, and equals the
//    input exactly when the input's tag was valid;
//  - the replay window, fed the input as big-endian u64 counters, agrees with a set model;
//  - classify, open_control, authenticate and check_ack never allocate (sanitizer malloc hook).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <span>

#include "fuzz_support.hpp"
#include "porthop/crypto/hop_auth.hpp"
#include "porthop/hop/attach_check.hpp"
#include "porthop/hop/replay_window.hpp"
#include "porthop/wire/hoplink.hpp"

namespace crypto = porthop::crypto;
namespace hop = porthop::hop;
namespace wh = porthop::wire::hop;

namespace {

using porthop::fuzz::check;

std::uint64_t distance(std::uint64_t a, std::uint64_t b) { return a > b ? a - b : b - a; }

void check_window(std::span<const std::byte> in) {
    hop::ReplayWindow w;
    std::set<std::uint64_t> seen;
    std::uint64_t highest = 0;
    for (std::size_t at = 0; at + 8 <= in.size(); at += 8) {
        std::uint64_t c = 0;
        for (std::size_t i = 0; i < 8; ++i) c = c << 8 | std::to_integer<std::uint64_t>(in[at + i]);
        const bool model =
            c != 0 && !seen.count(c) && (c > highest || highest - c < hop::ReplayWindow::kWidth);
        check(w.would_accept(c) == model);
        check(w.accept(c) == model);
        if (model) {
            seen.insert(c);
            highest = std::max(highest, c);
        }
        check(w.highest() == highest);
        check(!w.would_accept(c));
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop::fuzz::init_hop_target();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    const auto& k = porthop::fuzz::vector_keys();
    // A receiver epoch near the frame's, from the last byte, so every epoch verdict is reached.
    const std::uint64_t skew = size ? std::to_integer<std::uint64_t>(in[size - 1]) % 5 : 0;

    porthop::fuzz::counting = true;
    porthop::fuzz::allocations = 0;
    const wh::Kind kind = wh::classify(in);
    const auto decoded = wh::decode_control(in);
    const crypto::Opened opened = crypto::open_control(k, in);
    const std::uint64_t receiver_epoch = decoded ? decoded->epoch + skew - 2 : skew;
    const hop::Checked as_attach = hop::authenticate(k, in, wh::Type::attach, receiver_epoch);
    hop::ReplayWindow window;
    const std::uint64_t session = decoded ? decoded->session_id ^ (skew == 4) : 0;
    const hop::Checked as_ack = hop::check_ack(k, in, receiver_epoch, session, window);
    porthop::fuzz::counting = false;
    check(porthop::fuzz::allocations == 0);

    wh::Kind want_kind = wh::Kind::other;
    if (size >= 1 && data[0] == 3)
        want_kind = wh::Kind::data;
    else if (size == wh::kControlSize && (data[0] == 1 || data[0] == 2) && data[1] == 1)
        want_kind = wh::Kind::control;
    check(kind == want_kind);
    check(decoded.has_value() == (kind == wh::Kind::control));
    if (kind == wh::Kind::data) check(wh::data_payload(in).size() == size - 1);
    check_window(in);

    if (!decoded) {
        check(opened.status == crypto::OpenStatus::malformed);
        check(as_attach.verdict == hop::Verdict::malformed && as_ack.verdict == hop::Verdict::malformed);
        check(window.highest() == 0);
        return 0;
    }

    std::array<std::byte, wh::kControlSize> reencoded{};
    wh::encode_control(*decoded, reencoded);
    check(std::memcmp(reencoded.data(), data, wh::kTagOffset) == 0);

    std::array<std::byte, wh::kTagSize> tag{};
    crypto::hop_tag(k.auth, in.first(wh::kTagOffset), tag);
    const bool tag_ok = std::memcmp(tag.data(), data + wh::kTagOffset, wh::kTagSize) == 0;
    check((opened.status == crypto::OpenStatus::ok) == tag_ok);
    check(tag_ok || opened.status == crypto::OpenStatus::bad_tag);
    if (tag_ok) check(opened.control == *decoded);

    // The documented order: structure (type, counter 0), tag, epoch, then session and replay.
    for (const auto& [expected, checked] :
         {std::pair{wh::Type::attach, as_attach}, std::pair{wh::Type::ack, as_ack}}) {
        hop::Verdict want;
        if (decoded->type != expected || decoded->counter == 0)
            want = hop::Verdict::malformed;
        else if (!tag_ok)
            want = hop::Verdict::bad_tag;
        else if (distance(decoded->epoch, receiver_epoch) > 1)
            want = hop::Verdict::stale_epoch;
        else if (expected == wh::Type::ack && decoded->session_id != session)
            want = hop::Verdict::bad_tag;
        else
            want = hop::Verdict::accept;
        check(checked.verdict == want);
        const bool fields_known = want != hop::Verdict::malformed && tag_ok;
        check(checked.control == (fields_known ? *decoded : wh::Control{}));
    }
    check(window.highest() == (as_ack.verdict == hop::Verdict::accept ? decoded->counter : 0));

    std::array<std::byte, wh::kControlSize> resealed{};
    crypto::seal_control(k, *decoded, resealed);
    const auto reopened = crypto::open_control(k, resealed);
    check(reopened.status == crypto::OpenStatus::ok && reopened.control == *decoded);
    check((std::memcmp(resealed.data(), data, wh::kControlSize) == 0) == tag_ok);
    if (decoded->type == wh::Type::ack && decoded->counter != 0) {
        hop::ReplayWindow w;
        const auto a = hop::check_ack(k, resealed, decoded->epoch, decoded->session_id, w);
        check(a.verdict == hop::Verdict::accept);
        check(hop::check_ack(k, resealed, decoded->epoch, decoded->session_id, w).verdict ==
              hop::Verdict::replay);
    }
    return 0;
}
