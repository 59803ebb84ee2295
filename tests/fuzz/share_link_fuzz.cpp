// libFuzzer target: app::decode_share_link on arbitrary text (a link comes from a QR scanner,
// a chat message, a user's paste). Besides "no crash, no UB": a refusal names a field and says
// why, and a link that decodes encodes to a link that decodes to the same settings (and to the
// same text again).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "porthop/app/share_link.hpp"

namespace app = porthop::app;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    app::ShareLinkError error;
    const auto link = app::decode_share_link(text, error);
    if (!link) {
        check(!error.field.empty() && !error.message.empty());
        return 0;
    }
    const auto encoded = app::encode(*link);
    app::ShareLinkError again_error;
    const auto again = app::decode_share_link(encoded, again_error);
    check(again.has_value());
    check(*again == *link);
    check(app::encode(*again) == encoded);
    return 0;
}
