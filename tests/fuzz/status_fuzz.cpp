// libFuzzer target: what `porthop status` reads from a status endpoint (which may be anything
// listening on that port): app::parse_client_status (JSON) and app::parse_server_metrics
// (Prometheus text) on arbitrary bytes, and the views of whatever they accept. The first byte
// picks the parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "porthop/app/status_view.hpp"

namespace app = porthop::app;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    app::ViewOptions view;
    view.now = 1.8e9;
    view.interval = 1;
    std::string why;
    if (data[0] & 1) {
        if (auto r = app::parse_client_status(text, why)) {
            const auto out = app::render_client(*r, &*r, "fuzz", view);
            if (out.empty()) std::abort();
        } else if (why.empty()) {
            std::abort();
        }
    } else if (auto r = app::parse_server_metrics(text, why)) {
        const auto out = app::render_server(*r, &*r, "fuzz", view);
        if (out.empty()) std::abort();
    } else if (why.empty()) {
        std::abort();
    }
    return 0;
}
