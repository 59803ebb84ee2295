// The agent's TLS rung against the server's TLS front, on loopback (issue 15): with every UDP
// port gone the agent reaches the server through TLS on its TCP port, verified by pin or by CA,
// and a certificate it must refuse keeps it off that path. The certificate is the committed
// test one (tests/vectors/tls: leaf.pem, issued by ca.pem for "vector.test").
#include <boost/asio/ssl/context.hpp>
#include <catch2/catch.hpp>

#include "../fixtures/fixture.hpp"
#include "../support/agent_fixture.hpp"
#include "porthop/crypto/tls_credentials.hpp"
#include "porthop/net/tls_context.hpp"
#include "porthop/wire/site_page.hpp"

using namespace porthop;
using namespace porthop::test;

namespace agent_tls_test {

std::filesystem::path tls_vectors() { return fixtures_dir().parent_path() / "vectors" / "tls"; }

crypto::Credentials test_credentials() {
    crypto::CredentialsError error;
    auto loaded = crypto::Credentials::load_pem((tls_vectors() / "chain.pem").string(),
                                                (tls_vectors() / "leaf.key").string(), error);
    INFO(error.message);
    REQUIRE(loaded);
    return *loaded;
}

std::shared_ptr<const relay::TlsFront> tls_front(bool native_tcp = true) {
    auto front = std::make_shared<relay::TlsFront>();
    auto context = net::make_server_context(test_credentials());
    INFO(context.error);
    REQUIRE(context.ok());
    front->context = context.context;
    front->native_tcp = native_tcp;
    front->site_page = std::string(wire::kDefaultSitePage);
    front->header_timeout = 2s;
    return front;
}

std::shared_ptr<boost::asio::ssl::context> client_context(net::TlsClientParams params) {
    auto context = net::make_client_context(params);
    INFO(context.error);
    REQUIRE(context.ok());
    return context.context;
}

net::TlsClientParams pinned(const std::string& pin) {
    std::string why;
    const auto hash = crypto::parse_pin(pin, why);
    REQUIRE(hash);
    net::TlsClientParams params;
    params.pins = {*hash};
    return params;
}

// Echoes through the agent: `n` datagrams sent, all come back.
bool echoes(RunningAgent& agent, int n = 20) {
    UdpClient client(false);
    int got = 0;
    for (int i = 0; i < n; ++i) {
        client.send_to(agent.port(), pattern(300, static_cast<std::uint32_t>(i)));
        if (auto reply = client.receive(1000ms); reply && reply->first == pattern(300, static_cast<std::uint32_t>(i)))
            ++got;
    }
    return got == n;
}

TEST_CASE_METHOD(AgentFixture, "agent tls: with every UDP port gone, the tunnel runs through TLS", "[agent][tls]") {
    auto options = server_options(false, 2);
    options.tls = tls_front();
    options.udp_ports.clear();  // a censor that drops all UDP, as far as the agent can tell
    const auto tcp_port = options.tcp_ports.front();
    auto& relay = start_relay(options);
    auto agent_options = agent_for(server_options(false, 2), key);
    agent_options.tcp_port = tcp_port;

    SECTION("checked by its pin") {
        agent_options.tls = client_context(pinned(test_credentials().pin()));
        agent_options.tls_name = "vector.test";
        auto& agent = start_agent(agent_options);
        REQUIRE(on_path(agent, tcp_path(tcp_port), 8000ms));
        CHECK(echoes(agent));
        CHECK(relay.counter(&relay::Counters::tls_handshakes) >= 1);
        CHECK(relay.counter(&relay::Counters::tls_handshake_failures) == 0);
        CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 1);
        CHECK(relay.counter(&relay::Counters::web_site) == 0);
    }
    SECTION("checked by the CA that issued it, for its name") {
        net::TlsClientParams params;
        params.ca_file = (tls_vectors() / "ca.pem").string();
        agent_options.tls = client_context(params);
        agent_options.tls_name = "vector.test";
        auto& agent = start_agent(agent_options);
        REQUIRE(on_path(agent, tcp_path(tcp_port), 8000ms));
        CHECK(echoes(agent));
    }
    SECTION("a wrong pin: no path, and the server counts a failed handshake") {
        agent_options.tls = client_context(pinned("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        agent_options.tls_name = "vector.test";
        auto& agent = start_agent(agent_options);
        REQUIRE(eventually([&] { return relay.counter(&relay::Counters::tls_handshake_failures) >= 1; }, 5000ms));
        CHECK_FALSE(on_path(agent, tcp_path(tcp_port), 500ms));
        CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 0);
    }
    SECTION("the right CA but another name: refused") {
        net::TlsClientParams params;
        params.ca_file = (tls_vectors() / "ca.pem").string();
        agent_options.tls = client_context(params);
        agent_options.tls_name = "other.test";
        auto& agent = start_agent(agent_options);
        REQUIRE(eventually([&] { return relay.counter(&relay::Counters::tls_handshake_failures) >= 1; }, 5000ms));
        CHECK_FALSE(on_path(agent, tcp_path(tcp_port), 500ms));
        CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 0);
    }
    SECTION("a CA that did not issue it: refused") {
        net::TlsClientParams params;
        params.ca_file = (tls_vectors() / "leaf.pem").string();  // a certificate, but not its issuer
        agent_options.tls = client_context(params);
        agent_options.tls_name = "vector.test";
        auto& agent = start_agent(agent_options);
        REQUIRE(eventually([&] { return relay.counter(&relay::Counters::tls_handshake_failures) >= 1; }, 5000ms));
        CHECK_FALSE(on_path(agent, tcp_path(tcp_port), 500ms));
    }
}

TEST_CASE_METHOD(AgentFixture, "agent tls: an agent on plain TCP still reaches a TLS server while native_tcp",
                 "[agent][tls]") {
    auto options = server_options(false, 2);
    options.tls = tls_front(true);
    options.udp_ports.clear();
    const auto tcp_port = options.tcp_ports.front();
    auto& relay = start_relay(options);
    auto agent_options = agent_for(server_options(false, 2), key);
    agent_options.tcp_port = tcp_port;
    auto& agent = start_agent(agent_options);  // no TLS
    REQUIRE(on_path(agent, tcp_path(tcp_port), 8000ms));
    CHECK(echoes(agent));
    CHECK(relay.counter(&relay::Counters::tls_handshakes) == 0);
}

TEST_CASE_METHOD(AgentFixture, "agent tls: a TLS-only server (native_tcp = false) takes no plain-TCP agent",
                 "[agent][tls]") {
    auto options = server_options(false, 2);
    options.tls = tls_front(false);
    options.udp_ports.clear();
    const auto tcp_port = options.tcp_ports.front();
    auto& relay = start_relay(options);
    auto agent_options = agent_for(server_options(false, 2), key);
    agent_options.tcp_port = tcp_port;
    auto& agent = start_agent(agent_options);  // no TLS
    REQUIRE(eventually([&] {
        return relay.counter(&relay::Counters::web_plain_http) + relay.counter(&relay::Counters::tls_handshake_failures) >= 1;
    }, 5000ms));
    CHECK_FALSE(on_path(agent, tcp_path(tcp_port), 500ms));
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 0);
}

}  // namespace agent_tls_test
