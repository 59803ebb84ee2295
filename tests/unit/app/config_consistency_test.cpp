// Checks that span several keys: listen addresses that cannot all bind, a backend that is one
// of the relay's own listeners, host names that are not names. And the shipped example files
// against the built-in defaults and the keys the parser knows.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "porthop/app/config.hpp"

using namespace porthop::app;

namespace {

std::string errors_of(const std::string& text) {
    const auto result = parse_config(text, "t.toml");
    std::string out;
    for (const auto& e : result.errors) out += e.to_string() + "\n";
    return out;
}

}  // namespace

TEST_CASE("listen addresses that would collide on bind are errors", "[app][config]") {
    struct Row {
        const char* listen;
        const char* error;  // empty: accepted
    };
    const Row rows[] = {
        {R"(["127.0.0.1", "127.0.0.2"])", ""},
        {R"(["0.0.0.0", "::"])", ""},
        {R"(["0.0.0.0", "::1"])", ""},  // different families never collide
        {R"(["127.0.0.1", "127.0.0.1"])", "t.toml:2:24: server.listen[1]: '127.0.0.1' is listed twice\n"},
        {R"(["::", "::"])", "t.toml:2:17: server.listen[1]: '::' is listed twice\n"},
        {R"(["0.0.0.0", "10.0.0.1"])",
         "t.toml:2:22: server.listen[1]: '10.0.0.1' overlaps '0.0.0.0': a wildcard address already listens "
         "on "
         "every address of its family\n"},
        {R"(["::1", "::"])",
         "t.toml:2:18: server.listen[1]: '::' overlaps '::1': a wildcard address already listens on every "
         "address of its family\n"},
    };
    for (const auto& row : rows) {
        INFO(row.listen);
        CHECK(errors_of(std::string("[server]\nlisten = ") + row.listen + "\n") == row.error);
    }
}

TEST_CASE("a backend on one of the relay's own UDP listeners is an error", "[app][config]") {
    struct Row {
        const char* server;
        bool loop;
    };
    const Row rows[] = {
        {"backend = \"127.0.0.1:443\"", true},                            // default listen 0.0.0.0
        {"backend = \"[::1]:40050\"", true},                              // default listen ::, in range
        {"backend = \"0.0.0.0:1194\"", true},                             // unspecified = this host
        {"listen = [\"10.1.1.1\"]\nbackend = \"10.1.1.1:443\"", true},    // the listen address itself
        {"listen = [\"10.1.1.1\"]\nbackend = \"127.0.0.1:443\"", false},  // other address, fine
        {"backend = \"127.0.0.1:51820\"", false},                         // port not relayed
        {"udp = [\"40000\"]\nbackend = \"127.0.0.1:443\"", false},        // 443 only on TCP
        {"backend = \"10.9.9.9:443\"", false},                            // another host
        {"backend = \"wireguard:443\"", false},                           // a name: judged at start-up
    };
    for (const auto& row : rows) {
        INFO(row.server);
        const auto errors = errors_of(std::string("[server]\n") + row.server + "\n");
        if (row.loop) {
            CHECK_THAT(errors, Catch::Contains("server.backend: '") &&
                                   Catch::Contains("is one of the relay's own UDP listeners"));
        } else {
            CHECK(errors.empty());
        }
    }
}

TEST_CASE("backend host names are checked for characters a name cannot have", "[app][config]") {
    CHECK(errors_of("[server]\nbackend = 'a\"b:80'\n") ==
          "t.toml:2:11: server.backend: 'a\"b' is neither an IP address nor a host name\n");
    CHECK(errors_of("[server]\nbackend = 'vpn host:80'\n") ==
          "t.toml:2:11: server.backend: 'vpn host' is neither an IP address nor a host name\n");
    CHECK(errors_of("[server]\nbackend = 'wg_server-1.example:80'\n").empty());
}

// ---- conf/server.toml and conf/client.toml -------------------------------------------------------

namespace {

// conf/ of the source tree, found from this file's own path (CMake compiles from absolute
// source paths); PORTHOP_CONF_DIR overrides it for builds that rewrite __FILE__.
std::filesystem::path conf_dir() {
#ifdef PORTHOP_CONF_DIR
    return PORTHOP_CONF_DIR;
#else
    return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "conf";
#endif
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    INFO(path.string());
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The keys [section] accepts, as the parser lists them in its unknown-key error, so a key
// added to the parser is found here without editing this test.
std::vector<std::string> known_keys(const std::string& section) {
    const auto result = parse_config("[" + section + "]\nno_such_key_ = 1\n", "t.toml");
    REQUIRE(result.errors.size() == 1);
    const auto& message = result.errors[0].message;
    const std::string prefix = "unknown key (known: ";
    REQUIRE(message.rfind(prefix, 0) == 0);
    std::vector<std::string> keys;
    std::istringstream list(message.substr(prefix.size(), message.size() - prefix.size() - 1));
    for (std::string key; std::getline(list, key, ',');)
        keys.push_back(key.substr(key.find_first_not_of(' ')));
    REQUIRE_FALSE(keys.empty());
    return keys;
}

// The text of [section] up to the next section header.
std::string section_text(const std::string& file, const std::string& section) {
    const auto begin = file.find("\n[" + section + "]\n");
    INFO("[" << section << "]");
    REQUIRE(begin != std::string::npos);
    const auto end = file.find("\n[", begin + 1);
    return file.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// Every key the parser knows is in the example, set or commented out ("# key = ..."), so the
// examples stay the complete reference they claim to be.
void check_every_key_shown(const std::string& file, const std::string& section) {
    const auto text = section_text(file, section);
    for (const auto& key : known_keys(section)) {
        INFO("[" << section << "] " << key);
        CHECK((text.find("\n" + key + " = ") != std::string::npos ||
               text.find("\n# " + key + " = ") != std::string::npos));
    }
}

ConfigResult load_conf(const std::string& name) {
    const auto result = load_config_file((conf_dir() / name).string());
    std::string errors;
    for (const auto& e : result.errors) errors += e.to_string() + "\n";
    INFO(name << ": " << errors);
    REQUIRE(result.ok());
    CHECK(result.warnings.empty());
    return result;
}

}  // namespace

TEST_CASE("conf/server.toml holds exactly the built-in defaults", "[app][config][conf]") {
    const auto loaded = load_conf("server.toml");
    const Config defaults;
    CHECK(loaded.config.server == defaults.server);
    CHECK(loaded.config.client == defaults.client);
    CHECK(loaded.config.metrics == defaults.metrics);
    CHECK(loaded.config.client_metrics == defaults.client_metrics);
    CHECK(loaded.config.log_level == defaults.log_level);
}

TEST_CASE("conf/client.toml holds the built-in defaults apart from server and key", "[app][config][conf]") {
    const auto loaded = load_conf("client.toml");
    const Config defaults;
    CHECK(loaded.config.client.server == "vpn.example.net");
    CHECK_FALSE(loaded.config.client.key);  // a placeholder, commented out: no key is shipped
    auto client = loaded.config.client;
    client.server = defaults.client.server;
    CHECK(client == defaults.client);
    CHECK(loaded.config.client_metrics == defaults.client_metrics);
    CHECK(loaded.config.log_level == defaults.log_level);
    // A client file says nothing about the server role.
    CHECK(loaded.config.server == defaults.server);
    CHECK(loaded.config.metrics == defaults.metrics);
    // As shipped, `porthop client` would ask for the key and nothing else.
    const auto missing = check_client_ready(loaded.config);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].key == "client.key");
}

TEST_CASE("conf/client.toml: following its key instructions gives a ready client", "[app][config][conf]") {
    auto text = read_text(conf_dir() / "client.toml");
    const std::string placeholder = "# key = \"paste the output of porthop genkey here\"\n";
    const auto at = text.find(placeholder);
    REQUIRE(at != std::string::npos);
    text.replace(at, placeholder.size(), "key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n");
    const auto result = parse_config(text, "client.toml");
    INFO(text);
    REQUIRE(result.ok());
    CHECK(result.config.client.key);
    CHECK(check_client_ready(result.config).empty());
    // The server's placeholder is the same line, in [server].
    CHECK(section_text(read_text(conf_dir() / "server.toml"), "server").find("\n" + placeholder) !=
          std::string::npos);
}

TEST_CASE("conf/*.toml show every key the parser knows", "[app][config][conf]") {
    const auto server = read_text(conf_dir() / "server.toml");
    const auto client = read_text(conf_dir() / "client.toml");
    check_every_key_shown(server, "server");
    check_every_key_shown(server, "metrics");
    check_every_key_shown(server, "log");
    check_every_key_shown(client, "client");
    check_every_key_shown(client, "client_metrics");
    check_every_key_shown(client, "log");
}
