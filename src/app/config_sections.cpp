// The file's sections: the list that dispatches each table of the file to its keys, names the
// known sections in the unknown-section error, orders to_toml's output and answers
// config_schema(). Also the two one-key sections' tables: [metrics]/[client_metrics] and [log].
#include <algorithm>

#include "config_keys.hpp"
#include "config_values.hpp"

namespace porthop::app {
namespace {

// [metrics] and [client_metrics]: listen = "ip:port", or "" for off.
const KeySpec<MetricsConfig> kMetricsKeys[] = {
    {"listen",
     [](auto& r, const auto& node, const auto& key, auto& m) {
         if (node.is_string() && node.template value<std::string>()->empty()) {
             m.enabled = false;
             return;
         }
         if (auto hp = read_bind_address(r, node, key, " (\"\" disables metrics)")) {
             m.enabled = true;
             m.listen = *hp;
         }
     },
     [](const auto& m) -> std::optional<std::string> {
         return toml_string(m.enabled ? net_string(m.listen) : std::string());
     }},
};

const KeySpec<LogLevel> kLogKeys[] = {
    {"level",
     [](auto& r, const auto& node, const auto& key, auto& level) {
         auto text = r.string(node, key);
         if (!text) return;
         if (auto parsed = parse_log_level(*text))
             level = *parsed;
         else
             r.error(node, key, "'" + *text + "' is not one of debug, info, warn, error");
     },
     [](const auto& level) -> std::optional<std::string> { return toml_string(to_string(level)); }},
};

struct SectionSpec {
    std::string_view name;
    ConfigRole role;
    void (*read)(Reader& r, const toml::table& table, std::string_view section, Config& out);
    std::string (*write)(const Config& in);  // its "key = value" lines
    std::vector<std::string_view> (*keys)();
};

// A section that is its keys and nothing more: the Config member `Field`, through the table `Keys`.
template <auto Field, auto Keys>
constexpr SectionSpec keys_section(std::string_view name, ConfigRole role) {
    return {name, role,
            [](Reader& r, const toml::table& table, std::string_view section, Config& c) {
                read_keys(r, table, section, Keys(), c.*Field);
            },
            [](const Config& c) { return write_keys(Keys(), c.*Field); }, [] { return key_names(Keys()); }};
}

// In the order the unknown-section error names them.
const SectionSpec kSections[] = {
    {"server", ConfigRole::server,
     [](Reader& r, const toml::table& table, std::string_view, Config& c) {
         read_server(r, table, c.server);
         c.server_keys = table.size();  // for check_server_ready
     },
     [](const Config& c) { return write_keys(server_keys(), c.server); },
     [] { return key_names(server_keys()); }},
    keys_section<&Config::client, client_keys>("client", ConfigRole::client),
    keys_section<&Config::metrics, metrics_keys>("metrics", ConfigRole::server),
    keys_section<&Config::client_metrics, metrics_keys>("client_metrics", ConfigRole::client),
    keys_section<&Config::log_level, log_keys>("log", ConfigRole::both),
};

std::string unknown_section_message() {
    std::string names;
    for (const auto& s : kSections) names += (names.empty() ? "[" : ", [") + std::string(s.name) + "]";
    return "unknown section (known: " + names + ")";
}

}  // namespace

KeyTable<MetricsConfig, std::monostate> metrics_keys() { return kMetricsKeys; }
KeyTable<LogLevel, std::monostate> log_keys() { return kLogKeys; }

void read_sections(Reader& r, const toml::table& root, Config& out) {
    for (const auto& [k, node] : root) {
        const std::string key(k.str());
        const auto section = std::find_if(std::begin(kSections), std::end(kSections),
                                          [&](const auto& s) { return s.name == key; });
        if (section == std::end(kSections))
            r.error(node, key, unknown_section_message());
        else if (const auto* table = node.as_table())
            section->read(r, *table, section->name, out);
        else
            r.error(node, key, "expected a [" + key + "] table");
    }
}

std::string write_sections(const Config& config, std::optional<ConfigRole> only) {
    std::string out;
    for (const auto role : {ConfigRole::server, ConfigRole::client, ConfigRole::both})
        for (const auto& s : kSections)
            if (s.role == role && (!only || role == *only || role == ConfigRole::both))
                out += (out.empty() ? "[" : "\n[") + std::string(s.name) + "]\n" + s.write(config);
    return out;
}

std::vector<ConfigSection> config_schema() {
    std::vector<ConfigSection> out;
    for (const auto& s : kSections) out.push_back(ConfigSection{s.name, s.role, s.keys()});
    return out;
}

}  // namespace porthop::app
