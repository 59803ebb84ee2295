// The configuration's vocabulary: its sections and the keys each one accepts, as the tables
// that read, check and write them list them. For checks that the documentation (README,
// conf/*.toml) and the parser agree, and for tools; parse_config itself needs none of it.
#pragma once

#include <string_view>
#include <vector>

namespace porthop::app {

// Which command reads a section: [metrics] is the server's endpoint, [client_metrics] the
// client's, [log] is read by both.
enum class ConfigRole { server, client, both };

struct ConfigSection {
    std::string_view name;  // "server", without brackets
    ConfigRole role;
    std::vector<std::string_view> keys;  // in the order to_toml writes them
};

// Every section, in the order the unknown-section error names them.
std::vector<ConfigSection> config_schema();

}  // namespace porthop::app
