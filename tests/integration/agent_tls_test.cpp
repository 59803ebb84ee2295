// The agent's TLS rung against the server's TLS front, on loopback (issue 15): with every UDP
// port gone the agent reaches the server through TLS on its TCP port, verified by pin or by CA,
// and a certificate it must refuse keeps it off that path. The certificate is the committed
// test one (tests/vectors/tls: leaf.pem, issued by ca.pem for "vector.test").
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <fstream>

#include "../fixtures/fixture.hpp"
#include "../support/agent_fixture.hpp"
#include "porthop/crypto/tls_credentials.hpp"
#include "porthop/net/tls_context.hpp"
#include "porthop/wire/site_page.hpp"
#include "../support/hop_vectors.hpp"

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

// A TLS client of the relay's port (pinned to the test certificate), blocking, on its own
// io_context: sends `bytes` after the handshake and reads until the server closes (or 5 s).
std::string tls_exchange(std::uint16_t port, const std::string& bytes) {
    namespace asio = boost::asio;
    asio::io_context io;
    auto context = client_context(pinned(test_credentials().pin()));
    asio::ssl::stream<asio::ip::tcp::socket> tls(io, *context);
    tls.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    REQUIRE(net::prepare_client_tls(tls.native_handle(), "vector.test").empty());
    tls.handshake(asio::ssl::stream_base::client);
    asio::write(tls, asio::buffer(bytes));
    std::string got;
    std::array<char, 4096> buffer;
    boost::system::error_code ec;
    const auto until = std::chrono::steady_clock::now() + 5s;
    tls.lowest_layer().non_blocking(true);
    while (std::chrono::steady_clock::now() < until) {
        const auto n = tls.read_some(asio::buffer(buffer), ec);
        if (ec == asio::error::would_block || ec == asio::ssl::error::stream_truncated) {
            if (ec == asio::ssl::error::stream_truncated) break;
            std::this_thread::sleep_for(5ms);
            continue;
        }
        if (ec) break;
        got.append(buffer.data(), n);
    }
    return got;
}

// A plain TCP client: sends `bytes` (if any), reads until the server closes or `timeout`.
struct RawResult {
    std::string got;
    bool closed = false;
    std::chrono::steady_clock::duration waited{};
};
RawResult raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
    socket.non_blocking(true);
    RawResult r;
    const auto start = std::chrono::steady_clock::now();
    std::array<char, 4096> buffer;
    while (std::chrono::steady_clock::now() - start < timeout) {
        boost::system::error_code ec;
        const auto n = socket.read_some(asio::buffer(buffer), ec);
        if (ec == asio::error::would_block) {
            std::this_thread::sleep_for(5ms);
            continue;
        }
        if (ec) {
            r.closed = true;
            break;
        }
        r.got.append(buffer.data(), n);
    }
    r.waited = std::chrono::steady_clock::now() - start;
    return r;
}

TEST_CASE_METHOD(AgentFixture, "tls front: what is not an agent inside TLS gets the web site, and gives its slot back",
                 "[agent][tls]") {
    auto options = server_options(false, 1);
    options.tls = tls_front();
    auto& relay = start_relay(options);
    const auto port = relay.tcp_port(0);
    SECTION("a browser's request: the built-in page") {
        const auto got = tls_exchange(port, "GET / HTTP/1.1\r\nHost: vector.test\r\nConnection: close\r\n\r\n");
        CHECK(got.starts_with("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"));
        CHECK(got.find("<title>Coming soon</title>") != std::string::npos);
        CHECK(relay.counter(&relay::Counters::web_site) == 1);
    }
    SECTION("an attach under another key: the web's 400, no session") {
        auto other = hop::FrameCodec(crypto::derive_hop_keys(crypto::HopKey{}), hop::FrameCodec::Side::agent,
                                     test::seeded_random(5));
        const wire::hop::Control attach{wire::hop::Type::attach, 0xbeef, 1, 0, 0};
        const auto record = test::masked_record(other.sent_lengths(), test::sealed_control(other, attach));
        const auto got = tls_exchange(port, std::string(reinterpret_cast<const char*>(record.data()), record.size()));
        CHECK(got.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        CHECK(relay.counter(&relay::Counters::web_site) == 1);
        CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 0);
    }
    SECTION("plain HTTP on the TLS port: nginx's answer for it") {
        const auto r = raw_exchange(port, "GET / HTTP/1.1\r\nHost: vector.test\r\n\r\n", 3000ms);
        CHECK(r.got.find("The plain HTTP request was sent to HTTPS port") != std::string::npos);
        CHECK(r.closed);
        CHECK(relay.counter(&relay::Counters::web_plain_http) == 1);
    }
    // Each of them held a TCP slot, and gave it back when it ended.
    CHECK(eventually([&] { return relay.snapshot().tcp_connections == 0; }, 3000ms));
}

TEST_CASE_METHOD(AgentFixture, "tls front: a handshake that stalls is closed at the header timeout, without a byte",
                 "[agent][tls]") {
    auto options = server_options(false, 1);
    options.tls = tls_front(false);  // TLS only: the silence allowed is the header timeout (2 s here)
    auto& relay = start_relay(options);
    // A ClientHello that never completes.
    const auto r = raw_exchange(relay.tcp_port(0), std::string("\x16\x03\x01\x00\x80\x01", 6), 6000ms);
    CHECK(r.got.empty());
    CHECK(r.closed);
    CHECK(r.waited >= 1500ms);
    CHECK(r.waited < 5000ms);
    CHECK(relay.counter(&relay::Counters::tcp_timeouts) == 1);
    CHECK(eventually([&] { return relay.snapshot().tcp_connections == 0; }, 3000ms));
}

TEST_CASE_METHOD(AgentFixture, "agent tls: an expired certificate is refused when checked by CA; valid, it is taken",
                 "[agent][tls]") {
    auto options = server_options(false, 2);
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    std::string why;
    const bool expired = GENERATE(true, false);
    // Self-signed for vector.test: its own CA. Expired: made 30 days ago, valid for 1 day.
    auto credentials =
        crypto::Credentials::make_self_signed("vector.test", 1, expired ? now - std::chrono::days{30} : now, why);
    REQUIRE(credentials);
    auto front = std::make_shared<relay::TlsFront>(*tls_front());
    auto context = net::make_server_context(*credentials);
    REQUIRE(context.ok());
    front->context = context.context;
    options.tls = front;
    options.udp_ports.clear();
    const auto tcp_port = options.tcp_ports.front();
    auto& relay = start_relay(options);
    const auto ca = std::filesystem::temp_directory_path() / ("porthop-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca) << credentials->chain_pem();
    net::TlsClientParams params;
    params.ca_file = ca.string();
    auto agent_options = agent_for(server_options(false, 2), key);
    agent_options.tcp_port = tcp_port;
    agent_options.tls = client_context(params);
    agent_options.tls_name = "vector.test";
    auto& agent = start_agent(agent_options);
    if (expired) {
        REQUIRE(eventually([&] { return relay.counter(&relay::Counters::tls_handshake_failures) >= 1; }, 5000ms));
        CHECK_FALSE(on_path(agent, tcp_path(tcp_port), 500ms));
    } else {
        CHECK(on_path(agent, tcp_path(tcp_port), 8000ms));
    }
    std::filesystem::remove(ca);
}

TEST_CASE_METHOD(AgentFixture, "agent tls: a server that never answers the hello gets no path, and the agent lets go",
                 "[agent][tls]") {
    // A TCP listener that accepts and says nothing (a middlebox that holds TLS).
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto options = server_options(false, 2);
    auto agent_options = agent_for(options, key);
    agent_options.udp_ports = free_ports(false, SOCK_DGRAM, 1);  // nobody answers UDP either
    agent_options.tcp_port = silent.local_endpoint().port();
    agent_options.tls = client_context(pinned(test_credentials().pin()));
    agent_options.tls_name = "vector.test";
    auto& agent = start_agent(agent_options);
    boost::asio::ip::tcp::socket held(io);
    silent.accept(held);  // the agent connected (after its UDP rounds)
    std::array<char, 2048> hello;
    boost::system::error_code ec;
    held.read_some(boost::asio::buffer(hello), ec);
    CHECK_FALSE(ec);
    CHECK(hello[0] == 0x16);  // its ClientHello, unanswered
    // The agent gives up on the connection (tcp_connect_timeout): the socket sees its end.
    held.non_blocking(false);
    const auto start = std::chrono::steady_clock::now();
    held.read_some(boost::asio::buffer(hello), ec);
    CHECK(ec);  // EOF or reset
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(agent.status().path == "none");
}

}  // namespace agent_tls_test
