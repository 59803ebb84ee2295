// Checks that span several keys: listen addresses that cannot all bind, a backend that is one
// of the relay's own listeners, host names that are not names. And the shipped example files
// against the built-in defaults and the keys the parser knows; the key tables (config_schema())
// against README and the examples: a documented key the parser does not know, or a key of the
// parser documented nowhere, fails.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "porthop/app/config.hpp"
#include "porthop/app/config_schema.hpp"

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

// ---- the key tables (config_schema) against README and the shipped examples ---------------------

namespace {

// A key some document names, and where.
struct DocumentedKey {
    std::string section, key, where;
};

// The keys of an example file, by section: set ("key = ...") or shown commented out
// ("# key = ..."), under a section header that may be commented out too ("# [metrics]").
std::vector<DocumentedKey> keys_in_example(const std::string& text, const std::string& name) {
    static const std::regex header(R"(^(?:# ?)?\[([A-Za-z0-9_.]+)\]\s*$)");
    static const std::regex assignment(R"(^(?:# ?)?([A-Za-z0-9_]+) = )");
    std::vector<DocumentedKey> out;
    std::istringstream lines(text);
    std::string section;
    std::size_t number = 0;
    for (std::string line; std::getline(lines, line);) {
        ++number;
        std::smatch m;
        if (std::regex_search(line, m, header))
            section = m[1];
        else if (std::regex_search(line, m, assignment))
            out.push_back({section, m[1], name + ":" + std::to_string(number)});
    }
    return out;
}

// The keys in the first column of the README's configuration table ("| `server.listen` | ...",
// several in one cell: "| `client.udp`, `client.tcp` | ...").
std::vector<DocumentedKey> keys_in_readme(const std::string& text) {
    static const std::regex dotted("`([A-Za-z0-9_]+)\\.([A-Za-z0-9_]+)`");
    std::vector<DocumentedKey> out;
    const auto begin = text.find("\n## Configuration\n");
    if (begin == std::string::npos) return out;
    const auto end = text.find("\n## ", begin + 1);
    std::istringstream lines(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("| `", 0) != 0) continue;
        const auto first_cell = line.substr(0, line.find(" |", 1));
        for (std::sregex_iterator it(first_cell.begin(), first_cell.end(), dotted), stop; it != stop; ++it)
            out.push_back({(*it)[1], (*it)[2], "README.md (" + (*it)[0].str() + ")"});
    }
    return out;
}

bool in_schema(const std::vector<ConfigSection>& schema, const std::string& section, const std::string& key) {
    for (const auto& s : schema)
        if (s.name == section)
            for (const auto& k : s.keys)
                if (k == key) return true;
    return false;
}

// Every documented key known to the schema; every key of the schema (its `documenting` part)
// documented somewhere. One line per disagreement.
std::vector<std::string> disagreements(const std::vector<ConfigSection>& schema,
                                       const std::vector<DocumentedKey>& examples,
                                       const std::vector<DocumentedKey>& documenting) {
    std::vector<std::string> out;
    for (const auto* list : {&examples, &documenting})
        for (const auto& d : *list)
            if (!in_schema(schema, d.section, d.key))
                out.push_back(d.where + ": " + d.section + "." + d.key + " is not a key porthop knows");
    for (const auto& s : schema)
        for (const auto& k : s.keys) {
            const bool documented = std::any_of(documenting.begin(), documenting.end(), [&](const auto& d) {
                return d.section == s.name && d.key == k;
            });
            if (!documented)
                out.push_back(std::string(s.name) + "." + std::string(k) +
                              " is documented neither in README.md nor in conf/*.toml");
        }
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// What the shipped files say: conf/*.toml and README document; the other examples only use keys.
struct Documents {
    std::vector<DocumentedKey> documenting, examples;
};

Documents shipped_documents() {
    const auto root = conf_dir() / "..";
    Documents d;
    for (const char* name : {"conf/server.toml", "conf/client.toml"}) {
        const auto keys = keys_in_example(read_text(root / name), name);
        d.documenting.insert(d.documenting.end(), keys.begin(), keys.end());
    }
    const auto readme = keys_in_readme(read_text(root / "README.md"));
    d.documenting.insert(d.documenting.end(), readme.begin(), readme.end());
    for (const char* name : {"packaging/openwrt/server.toml", "packaging/openwrt/client.toml",
                             "docker/server.toml", "docker/openvpn/server.toml"}) {
        const auto keys = keys_in_example(read_text(root / name), name);
        d.examples.insert(d.examples.end(), keys.begin(), keys.end());
    }
    return d;
}

}  // namespace

TEST_CASE("config schema: every section the parser reads, with its keys", "[app][config][conf]") {
    const auto schema = config_schema();
    REQUIRE_FALSE(schema.empty());
    CHECK(schema[0].name == "server");
    // The schema and the parser are one table: every listed key parses, in its section.
    for (const auto& s : schema)
        for (const auto& k : s.keys) {
            INFO("[" << s.name << "] " << k);
            const auto result =
                parse_config("[" + std::string(s.name) + "]\n" + std::string(k) + " = []\n", "t.toml");
            for (const auto& e : result.errors) CHECK(e.message.find("unknown key") == std::string::npos);
        }
    // And to_toml writes every section (the roles order them).
    const auto text = to_toml(Config{});
    for (const auto& s : schema) CHECK(text.find("[" + std::string(s.name) + "]\n") != std::string::npos);
}

TEST_CASE("config schema: README, conf/*.toml and the key tables agree", "[app][config][conf]") {
    const auto documents = shipped_documents();
    // The readers found something: a README or example rewritten out of their reach fails here.
    REQUIRE(documents.documenting.size() > 30);
    REQUIRE(documents.examples.size() > 10);
    const auto problems = disagreements(config_schema(), documents.examples, documents.documenting);
    INFO(joined(problems));
    CHECK(problems.empty());
}

TEST_CASE("config schema: the agreement check reports a made-up key", "[app][config][conf]") {
    const auto schema = config_schema();
    const auto documents = shipped_documents();

    SECTION("set in an example") {
        auto examples = documents.examples;
        const auto made_up = keys_in_example("[server]\nlisten = [\"::\"]\nbogus_key = 1\n", "x.toml");
        examples.insert(examples.end(), made_up.begin(), made_up.end());
        CHECK(joined(disagreements(schema, examples, documents.documenting)) ==
              "x.toml:3: server.bogus_key is not a key porthop knows\n");
    }
    SECTION("commented out in conf, under a commented-out section") {
        auto documenting = documents.documenting;
        const auto made_up = keys_in_example("[log]\n# [metrics]\n# port = 9100\n", "conf/x.toml");
        documenting.insert(documenting.end(), made_up.begin(), made_up.end());
        CHECK(joined(disagreements(schema, documents.examples, documenting)) ==
              "conf/x.toml:3: metrics.port is not a key porthop knows\n");
    }
    SECTION("in the README's table") {
        auto documenting = documents.documenting;
        const auto made_up = keys_in_readme(
            "# x\n## Configuration\n\n| key | default | meaning |\n| --- | --- | --- |\n"
            "| `client.listen`, `client.hop_limit` | `1` | made up |\n\n## Logs\n| `log.nothing` | |\n");
        REQUIRE(made_up.size() == 2);  // only the configuration section's table counts
        documenting.insert(documenting.end(), made_up.begin(), made_up.end());
        CHECK(joined(disagreements(schema, documents.examples, documenting)) ==
              "README.md (`client.hop_limit`): client.hop_limit is not a key porthop knows\n");
    }
    SECTION("a key of the tables that nothing documents") {
        auto with_extra = schema;
        with_extra[0].keys.push_back("undocumented_key");
        CHECK(joined(disagreements(with_extra, documents.examples, documents.documenting)) ==
              "server.undocumented_key is documented neither in README.md nor in conf/*.toml\n");
    }
}
