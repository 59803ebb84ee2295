#include "config_reader.hpp"

namespace porthop::app {
namespace {

std::string type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "a list";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a number";
        case toml::node_type::boolean:
            return "a boolean";
        default:
            return "a date/time";
    }
}

}  // namespace

void Reader::error(const toml::node& node, const std::string& key, std::string message) {
    result_.errors.push_back(at(node, key, std::move(message)));
}

void Reader::warning(const toml::node& node, const std::string& key, std::string message) {
    result_.warnings.push_back(at(node, key, std::move(message)));
}

std::optional<std::string> Reader::string(const toml::node& node, const std::string& key) {
    if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
    error(node, key, "expected a string, got " + type_name(node));
    return std::nullopt;
}

std::optional<std::int64_t> Reader::integer(const toml::node& node, const std::string& key, std::int64_t min,
                                            std::int64_t max) {
    if (!node.is_integer()) {
        error(node, key, "expected an integer, got " + type_name(node));
        return std::nullopt;
    }
    const auto v = *node.value<std::int64_t>();
    if (v < min || v > max) {
        error(
            node, key,
            std::to_string(v) + " is out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
        return std::nullopt;
    }
    return v;
}

std::optional<bool> Reader::boolean(const toml::node& node, const std::string& key) {
    if (node.is_boolean()) return *node.value<bool>();
    error(node, key, "expected a boolean, got " + type_name(node));
    return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, const toml::node*>>> Reader::string_list(
    const toml::node& node, const std::string& key) {
    std::vector<std::pair<std::string, const toml::node*>> out;
    if (node.is_string()) {
        out.emplace_back(*node.value<std::string>(), &node);
        return out;
    }
    const auto* array = node.as_array();
    if (!array) {
        error(node, key, "expected a list of strings, got " + type_name(node));
        return std::nullopt;
    }
    bool good = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const auto& item = *array->get(i);
        const auto item_key = key + "[" + std::to_string(i) + "]";
        if (item.is_integer()) {
            out.emplace_back(std::to_string(*item.value<std::int64_t>()), &item);
        } else if (auto s = string(item, item_key)) {
            out.emplace_back(*s, &item);
        } else {
            good = false;
        }
    }
    if (!good) return std::nullopt;
    return out;
}

ConfigError Reader::at(const toml::node& node, const std::string& key, std::string message) const {
    const auto& src = node.source();
    return ConfigError{file_, src.begin.line, src.begin.column, key, std::move(message)};
}

}  // namespace porthop::app
