// Reading a configuration file as a whole (the sections and keys are in config_sections.cpp
// and config_*_keys.cpp), the checks a role makes before it starts, and to_toml.
#include "porthop/app/config.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config_keys.hpp"
#include "config_reader.hpp"

namespace porthop::app {

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    return out + message;
}

namespace {

// True when the table holds no value at any depth: nothing, or only tables holding nothing.
bool sets_nothing(const toml::table& table) {
    for (const auto& [k, node] : table) {
        const auto* t = node.as_table();
        if (!t || !sets_nothing(*t)) return false;
    }
    return true;
}

// parse_config, telling also whether the text set nothing at all (`empty`, if given).
ConfigResult parse_text(std::string_view toml_text, std::string source_name, bool* empty) {
    ConfigResult result;
    result.config.source = source_name;
    toml::table root;
    try {
        root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        const auto& src = e.source();
        result.errors.push_back(ConfigError{source_name, src.begin.line, src.begin.column, "",
                                            "TOML syntax: " + std::string(e.description())});
        return result;
    }
    if (empty) *empty = sets_nothing(root);
    Reader r(result, source_name);
    read_sections(r, root, result.config);
    const auto& s = result.config.server;
    if (s.udp.empty() && s.tcp.empty() && result.errors.empty())
        result.errors.push_back(
            ConfigError{source_name, 0, 0, "server", "udp and tcp are both empty: nothing to listen on"});
    return result;
}

}  // namespace

ConfigResult parse_config(std::string_view toml_text, std::string source_name) {
    return parse_text(toml_text, std::move(source_name), nullptr);
}

ConfigResult load_config_file(const std::string& path) {
    const auto file_error = [&](std::string message) {
        ConfigResult result;
        result.errors.push_back(ConfigError{path, 0, 0, "", std::move(message)});
        return result;
    };
    std::ifstream in(path, std::ios::binary);
    if (!in) return file_error("cannot open: " + std::string(std::strerror(errno)));
    // An ifstream opens a directory without complaint and then reads nothing: that must not
    // look like an empty file (which would mean "all defaults").
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return file_error("is a directory, not a file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) return file_error("read failed: " + std::string(std::strerror(errno)));
    const auto text = buffer.str();
    bool empty = false;
    auto result = parse_text(text, path, &empty);
    if (result.ok() && empty)
        return file_error("the file is empty (no settings); porthop runs on built-in defaults only without --config");
    // Cheap evidence of a write cut short: a text file ends with a newline (editors, heredocs
    // and `porthop check-config` write one), a truncated one usually mid-line. Only a warning,
    // since a cut at a line's end leaves a valid file with the newline and cannot be told apart.
    if (!text.empty() && text.back() != '\n')
        result.warnings.push_back(ConfigError{path, 0, 0, "",
                                              "does not end with a newline: if it was written while being read, "
                                              "its last line may be cut short"});
    return result;
}

std::vector<ConfigError> check_server_ready(const Config& config) {
    if (config.server_keys != 0) return {};
    return {ConfigError{config.source, 0, 0, "server",
                        "no [server] settings: porthop server --config needs at least one (a file cut short "
                        "before them looks like this, and would run the default ports and backend); run "
                        "without --config for the built-in defaults"}};
}

std::vector<ConfigError> check_client_ready(const Config& config) {
    std::vector<ConfigError> errors;
    const auto& c = config.client;
    if (c.server.empty())
        errors.push_back(ConfigError{config.source, 0, 0, "client.server",
                                     "missing: the host name or IP address of the porthop server "
                                     "(server = \"vpn.example.net\" in [client])"});
    if (!c.key)
        errors.push_back(ConfigError{config.source, 0, 0, "client.key",
                                     "missing: the hop-link key, the same as the server's [server] key "
                                     "(make one with `porthop genkey`)"});
    return errors;
}

std::string to_toml(const Config& c) {
    return "# effective configuration, from " + c.source + "\n" + write_sections(c);
}

std::string to_client_toml(const Config& c) { return write_sections(c, ConfigRole::client); }

}  // namespace porthop::app
