// server_options (the pure part of turning a [server] table into relay options), the backend
// lookup split off it, and the start-up summary.
#include "porthop/app/server_setup.hpp"

#include <catch2/catch.hpp>

using namespace porthop::app;

TEST_CASE("server_options: per-source limits reach the relay, reload included", "[app][setup]") {
    // reload() builds its options the same way, so what is checked here is what reconfigure() gets.
    ServerConfig config;
    CHECK(server_options(config).tcp_per_source == 32);
    config.tcp_connections_per_source = 0;
    config.sessions_per_source = 7;
    config.handshake_rate = 3;
    config.handshake_burst = 2;
    const auto options = server_options(config);
    CHECK(options.tcp_per_source == 0);
    CHECK(options.source_limits.sessions_per_source == 7);
    CHECK(options.source_limits.handshakes_per_second == 3);
    CHECK(options.source_limits.burst == 2);
    config.tcp_connections_per_source = 100'000;
    CHECK(server_options(config).tcp_per_source == 100'000);
}

TEST_CASE("server_options: the mask reaches the relay, reload included", "[app][setup]") {
    ServerConfig config;
    CHECK(server_options(config).mask == porthop::hop::v2::Mode::light);
    CHECK(porthop::relay::ServerOptions{}.mask == porthop::hop::v2::Mode::light);
    config.mask = porthop::hop::v2::Mode::full;
    CHECK(server_options(config).mask == porthop::hop::v2::Mode::full);
}

TEST_CASE("server_options: max_datagram defaults to the IPv4 UDP maximum in both layers", "[app][setup]") {
    CHECK(ServerConfig{}.max_datagram == kMaxUdpPayload);
    CHECK(server_options(ServerConfig{}).max_datagram == 65507);
    CHECK(porthop::relay::ServerOptions{}.max_datagram == 65507);
    CHECK(ClientConfig{}.max_datagram == kMaxUdpPayload);
}

TEST_CASE("backend_needs_lookup: names only, never IP literals", "[app][setup]") {
    CHECK_FALSE(backend_needs_lookup({"127.0.0.1", 51820}));
    CHECK_FALSE(backend_needs_lookup({"2001:db8::1", 51820}));
    CHECK(backend_needs_lookup({"wireguard", 51820}));
    CHECK(backend_needs_lookup({"vpn.example.net", 1194}));
}

TEST_CASE("resolve_backend: IP literals need no lookup", "[app][setup]") {
    // (Names, and a name that fails, would ask the machine's DNS server: tests/system does that
    // against a server of its own.)
    std::string error;
    const auto v4 = resolve_backend({"10.1.2.3", 51820}, error);
    REQUIRE(v4);
    CHECK(v4->to_string() == "10.1.2.3:51820");
    const auto v6 = resolve_backend({"2001:db8::1", 443}, error);
    REQUIRE(v6);
    CHECK(v6->to_string() == "[2001:db8::1]:443");
}

namespace {

// The options start-up makes of `config`, whose backend must need no lookup.
porthop::relay::ServerOptions options_for(const ServerConfig& config) {
    std::string error;
    auto options = make_server_options(config, error);
    INFO(error);
    REQUIRE(options);
    return *options;
}

}  // namespace

TEST_CASE("describe: names the TCP connections per source", "[app][setup]") {
    ServerConfig config;
    config.backend = {"10.1.2.3", 51820};
    const auto options = options_for(config);
    CHECK_THAT(describe(config, options), Catch::Contains(" and 64 sessions and 32 TCP connections per source)"));
    config.tcp_connections_per_source = 0;
    CHECK_THAT(describe(config, options), Catch::Contains("64 sessions and unlimited TCP connections per source)"));
}

// The line as it was written by hand before the [server] table's rows described it: logs are
// read by people and scripts (tests/cross looks for "(1 worker,").
TEST_CASE("describe: the start-up line, exactly", "[app][setup]") {
    ServerConfig config;
    config.backend = {"10.1.2.3", 51820};
    auto options = options_for(config);
    options.workers = 1;
    CHECK(describe(config, options) ==
          "udp 443,1194,40000-40099 and tcp 443 on 0.0.0.0, :: -> backend 10.1.2.3:51820 (1 worker, idle_timeout "
          "3m, max_sessions 16384, max_tcp_connections 1024; porthop clients off (no key); TLS on tcp: "
          "self-signed certificate, built-in site; native clients: "
          "protocol any, 20 handshakes/s (burst 5) and 64 sessions and 32 TCP connections per source)");
    config.key = porthop::crypto::HopKey{};
    config.moving_target = true;
    config.mask = porthop::hop::v2::Mode::full;
    config.protocol = porthop::wire::Protocol::wireguard;
    config.wireguard_public_key = porthop::crypto::WgKey{};
    config.handshake_rate = 0;
    config.listen = {"127.0.0.1", "::1"};
    options.workers = 3;
    CHECK(describe(config, options) ==
          "udp 443,1194,40000-40099 and tcp 443 on 127.0.0.1, ::1 -> backend 10.1.2.3:51820 (3 workers, "
          "idle_timeout 3m, max_sessions 16384, max_tcp_connections 1024; porthop clients accepted, hop_interval "
          "5m, moving target, full mask; TLS on tcp: self-signed certificate, built-in site; native clients: "
          "protocol wireguard, mac1 checked, no handshake limit and 64 "
          "sessions and 32 TCP connections per source)");
    SECTION("TLS settings") {
        config.tls_cert = "/etc/c.pem";
        config.tls_key = "/etc/k.pem";
        config.native_tcp = false;
        config.decoy = porthop::app::HostPort{"127.0.0.1", 8080};
        CHECK(describe(config, options).find("; TLS on tcp: certificate /etc/c.pem, TLS only, decoy 127.0.0.1:8080; "
                                             "native clients:") != std::string::npos);
        config.tls = false;
        CHECK(describe(config, options).find("; TLS on tcp: off; native clients:") != std::string::npos);
        config.tls = true;
        config.tcp.clear();  // no TCP port: nothing in TLS
        CHECK(describe(config, options).find("TLS") == std::string::npos);
    }
}
