// libFuzzer target: app::parse_config on arbitrary text. Besides "no crash, no UB, no
// exception escaping", checks to_toml's documented contract: a configuration that parses is
// printed as TOML that parses back without errors to the same configuration (compared through
// to_toml, which prints every value).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "porthop/app/config.hpp"
#include "porthop/base/log.hpp"

namespace app = porthop::app;
namespace base = porthop::base;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    base::set_log_level(base::LogLevel::error);  // parse_config may warn; keep the output readable
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = app::parse_config(text, "fuzz.toml");
    if (!result.ok()) {
        for (const auto& e : result.errors) check(!e.to_string().empty());
        return 0;
    }
    const std::string printed = app::to_toml(result.config);
    const auto again = app::parse_config(printed, "fuzz.toml");  // same name: to_toml prints it
    check(again.ok());
    check(app::to_toml(again.config) == printed);
    return 0;
}
