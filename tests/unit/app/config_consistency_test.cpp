// Checks that span several keys: listen addresses that cannot all bind, a backend that is one
// of the relay's own listeners, host names that are not names.
#include <catch2/catch.hpp>

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
