// `porthop status`'s refresh: which endpoints it reads, what it says when they do not answer,
// and rates over the time that really passed.
#include "porthop/app/status_command.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "porthop/app/agent_status_text.hpp"
#include "porthop/app/metrics_text.hpp"

using namespace porthop;
using Role = app::CommandLine::Role;

namespace {

// Answers GET host:port/target from a table; anything else is refused.
struct FakeEndpoints {
    std::map<std::string, std::string> bodies;  // "127.0.0.1:9817/status" -> body
    std::vector<std::string> asked;
    app::StatusFetch fetch() {
        return [this](const std::string& host, std::uint16_t port, const std::string& target, std::string& why)
                   -> std::optional<std::string> {
            const auto key = host + ":" + std::to_string(port) + target;
            asked.push_back(key);
            if (auto it = bodies.find(key); it != bodies.end()) return it->second;
            why = "Connection refused";
            return std::nullopt;
        };
    }
};

std::string client_body(std::uint64_t to_server_bytes) {
    relay::AgentStatus st;
    st.path = "udp/40017";
    st.rung = "udp";
    st.to_server_bytes = to_server_bytes;
    return app::to_json(st);
}

std::string server_body() {
    relay::Counters counters;
    return app::render_metrics({}, counters, {"1.2.3", 1000, 0, 0});
}

}  // namespace

TEST_CASE("status command: both endpoints by default, the client's first", "[app][status_view]") {
    FakeEndpoints fake;
    fake.bodies["127.0.0.1:9817/status"] = client_body(1000);
    fake.bodies["127.0.0.1:9816/metrics"] = server_body();
    app::StatusCommand command(app::Config{}, Role::any, fake.fetch());
    const auto screen = command.refresh(2e9, 0, false);
    CHECK(screen.any);
    CHECK(screen.problems.empty());
    CHECK(screen.view.find("porthop client") < screen.view.find("porthop server"));
    CHECK(fake.asked == std::vector<std::string>{"127.0.0.1:9817/status", "127.0.0.1:9816/metrics"});
}

TEST_CASE("status command: an endpoint that does not answer", "[app][status_view]") {
    FakeEndpoints fake;
    fake.bodies["127.0.0.1:9817/status"] = client_body(1000);
    SECTION("both asked for: the other is just not running here") {
        app::StatusCommand command(app::Config{}, Role::any, fake.fetch());
        const auto screen = command.refresh(2e9, 0, false);
        CHECK(screen.any);
        CHECK(screen.problems.empty());
    }
    SECTION("the server asked for: said, naming the address") {
        app::StatusCommand command(app::Config{}, Role::server, fake.fetch());
        const auto screen = command.refresh(2e9, 0, false);
        CHECK_FALSE(screen.any);
        CHECK(screen.problems ==
              "porthop status: no porthop server at http://127.0.0.1:9816/metrics: Connection refused\n");
    }
    SECTION("neither answers") {
        fake.bodies.clear();
        fake.bodies["127.0.0.1:9816/metrics"] = "<html>not porthop</html>";
        app::StatusCommand command(app::Config{}, Role::any, fake.fetch());
        const auto screen = command.refresh(2e9, 0, false);
        CHECK_FALSE(screen.any);
        CHECK_THAT(screen.problems, Catch::Contains("no porthop client or server answers here"));
        CHECK_THAT(screen.problems, Catch::Contains("Connection refused"));
        CHECK_THAT(screen.problems, Catch::Contains("no metrics in the answer"));
    }
    SECTION("an endpoint turned off in the configuration") {
        app::Config config;
        config.client_metrics.enabled = false;
        app::StatusCommand command(config, Role::client, fake.fetch());
        const auto screen = command.refresh(2e9, 0, false);
        CHECK_FALSE(screen.any);
        CHECK_THAT(screen.problems, Catch::Contains("the client's status endpoint is off"));
        CHECK(fake.asked.empty());
    }
}

TEST_CASE("status command: other addresses from the configuration, IPv6 in brackets", "[app][status_view]") {
    FakeEndpoints fake;
    app::Config config;
    config.client_metrics.listen = {"::1", 19817};
    app::StatusCommand command(config, Role::client, fake.fetch());
    const auto screen = command.refresh(2e9, 0, false);
    CHECK(fake.asked == std::vector<std::string>{"::1:19817/status"});
    CHECK_THAT(screen.problems, Catch::Contains("http://[::1]:19817/status"));
}

TEST_CASE("status command: rates over the time that passed", "[app][status_view]") {
    FakeEndpoints fake;
    fake.bodies["127.0.0.1:9817/status"] = client_body(1000);
    app::StatusCommand command(app::Config{}, Role::client, fake.fetch());
    CHECK(command.refresh(2e9, 0, false).view.find("B/s") == std::string::npos);  // nothing to compare yet
    fake.bodies["127.0.0.1:9817/status"] = client_body(5000);
    // 4 s later (a slow fetch, say), not the nominal interval: 1000 B/s.
    CHECK_THAT(command.refresh(2e9 + 4, 0, false).view, Catch::Contains("5.0 kB in 0 datagrams, 1.0 kB/s"));
    // A failed reading is no base for the next.
    fake.bodies.clear();
    command.refresh(2e9 + 6, 0, false);
    fake.bodies["127.0.0.1:9817/status"] = client_body(9000);
    CHECK(command.refresh(2e9 + 8, 0, false).view.find("B/s") == std::string::npos);
}
