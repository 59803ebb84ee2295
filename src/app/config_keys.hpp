// The configuration's keys as tables: one row per key of a section, saying how the key is read
// and checked, how to_toml writes it and how the start-up line describes it. The tables drive
// the reading, the "unknown key (known: ...)" message, to_toml and describe, so a new key is one
// row (plus, where it reaches the relay, its line in server_options or make_agent_options).
// Private to the config sources; include/porthop/app/config_schema.hpp lists the names.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config_reader.hpp"
#include "porthop/app/config.hpp"
#include "porthop/app/config_schema.hpp"

namespace porthop::relay {
struct ServerOptions;
struct AgentOptions;
}  // namespace porthop::relay

namespace porthop::app {

// Logging lives below app (base/log.hpp); the [log] section reads its levels.
using base::LogLevel;
using base::parse_log_level;


// One row of a section's table. `Context` is what a description may use beyond the
// configuration: what start-up worked out from it (the relay's or the agent's options).
template <class Section, class Context = std::monostate>
struct KeySpec {
    std::string_view name;
    // Reads and checks the value into `out`, or records the problem and leaves `out` as it was.
    // `key` is the dotted path errors name ("server.udp").
    void (*read)(Reader& r, const toml::node& node, const std::string& key, Section& out);
    // The value as TOML text; nullopt leaves the key out (an absent key has no text).
    std::optional<std::string> (*write)(const Section& in);
    // Its phrase in the description and the clause of the description it goes in (see
    // describe_keys); an empty phrase, or no function, says nothing.
    std::string (*describe)(const Section& in, const Context& context) = nullptr;
    std::size_t clause = 0;
};

template <class Section, class Context>
using KeyTable = std::span<const KeySpec<Section, Context>>;

// The error for a key no row names, listing the known ones in table order.
template <class Section, class Context>
std::string unknown_key_message(KeyTable<Section, Context> keys) {
    std::string names;
    for (const auto& spec : keys) names += (names.empty() ? "" : ", ") + std::string(spec.name);
    return "unknown key (known: " + names + ")";
}

template <class Section, class Context>
std::vector<std::string_view> key_names(KeyTable<Section, Context> keys) {
    std::vector<std::string_view> names;
    for (const auto& spec : keys) names.push_back(spec.name);
    return names;
}

// Every key of [section] through its row, in the file's order.
template <class Section, class Context>
void read_keys(Reader& r, const toml::table& table, std::string_view section, KeyTable<Section, Context> keys,
               Section& out) {
    for (const auto& [k, node] : table) {
        const std::string_view name = k.str();  // (clang before 16 cannot capture a binding)
        const std::string key = std::string(section) + "." + std::string(name);
        const auto spec =
            std::find_if(keys.begin(), keys.end(), [&](const auto& s) { return s.name == name; });
        if (spec != keys.end())
            spec->read(r, node, key, out);
        else
            r.error(node, key, unknown_key_message(keys));
    }
}

// "name = value" lines, in table order.
template <class Section, class Context>
std::string write_keys(KeyTable<Section, Context> keys, const Section& in) {
    std::string out;
    for (const auto& spec : keys)
        if (auto value = spec.write(in)) out += std::string(spec.name) + " = " + *value + "\n";
    return out;
}

// A description is a few clauses in a fixed order, each the phrases of its keys (in table order)
// joined by the clause's separator and led by its text; a clause without phrases is left out.
// A key names the clause its phrase belongs to, so the sentence may say keys in another order
// than the table lists them.
struct Clause {
    std::string_view lead, separator;
};

template <class Section, class Context>
std::string describe_keys(KeyTable<Section, Context> keys, const Section& in, const Context& context,
                          std::span<const Clause> clauses, std::string_view end) {
    std::vector<std::string> parts(clauses.size());
    for (const auto& spec : keys) {
        if (!spec.describe) continue;
        const auto phrase = spec.describe(in, context);
        if (phrase.empty()) continue;
        auto& part = parts.at(spec.clause);
        part += (part.empty() ? "" : std::string(clauses[spec.clause].separator)) + phrase;
    }
    std::string out;
    for (std::size_t i = 0; i < clauses.size(); ++i)
        if (!parts[i].empty()) out += std::string(clauses[i].lead) + parts[i];
    return out + std::string(end);
}

// The tables (config_server_keys.cpp, config_client_keys.cpp, config_sections.cpp).
KeyTable<ServerConfig, relay::ServerOptions> server_keys();
KeyTable<ClientConfig, relay::AgentOptions> client_keys();
KeyTable<MetricsConfig, std::monostate> metrics_keys();
KeyTable<LogLevel, std::monostate> log_keys();

// [server]: its keys, then the checks that span several of them.
void read_server(Reader& r, const toml::table& table, ServerConfig& out);

// Every section of the file, through the section list, and the unknown-section error.
void read_sections(Reader& r, const toml::table& root, Config& out);
// Every section as TOML, the server's first, then the client's, then those of both.
// Every section's lines, or only those `only` reads ([log], read by both roles, included).
std::string write_sections(const Config& config, std::optional<ConfigRole> only = std::nullopt);

}  // namespace porthop::app
