// Reading one configuration file: the TOML tables are walked key by key, and every problem is
// recorded with its place in the file (line, column, dotted key) instead of stopping at the
// first, so one run of check-config names them all. Private to the config sources.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "porthop/app/config.hpp"

namespace porthop::app {

class Reader {
public:
    Reader(ConfigResult& result, std::string file) : result_(result), file_(std::move(file)) {}

    void error(const toml::node& node, const std::string& key, std::string message);
    void warning(const toml::node& node, const std::string& key, std::string message);

    // The value as the type asked for, or nullopt after recording "expected ..., got ...".
    std::optional<std::string> string(const toml::node& node, const std::string& key);
    std::optional<std::int64_t> integer(const toml::node& node, const std::string& key, std::int64_t min,
                                        std::int64_t max);
    std::optional<bool> boolean(const toml::node& node, const std::string& key);
    // Strings, or one string where a list is expected ("listen = \"::\"" is natural to write).
    // Integers are taken as their text, for port lists' convenience (udp = [443, 1194]). Each
    // item comes with its node, so errors about one item point at it.
    std::optional<std::vector<std::pair<std::string, const toml::node*>>> string_list(const toml::node& node,
                                                                                      const std::string& key);

private:
    ConfigError at(const toml::node& node, const std::string& key, std::string message) const;

    ConfigResult& result_;
    std::string file_;
};

}  // namespace porthop::app
