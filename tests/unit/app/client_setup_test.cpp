// The client's start-up line, described by the [client] table's rows.
#include "porthop/app/client_setup.hpp"

#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>

using namespace porthop::app;

TEST_CASE("describe: the client's start-up line, exactly", "[app][setup]") {
    ClientConfig config;
    config.server = "vpn.example.net";
    config.tcp = {{8443, 8443}, {443, 443}};
    porthop::relay::AgentOptions options;
    options.listen = porthop::net::Endpoint::from_asio(
        boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 51820));
    options.server = boost::asio::ip::make_address("203.0.113.5");
    options.tcp_port = 8443;  // the first of tcp: the fallback
    CHECK(describe(config, options) ==
          "127.0.0.1:51820 -> vpn.example.net (203.0.113.5) udp 443,1194,40000-40099 tcp 8443, hop every 5m, "
          "TLS, system CAs");
    config.tls_ca = "/etc/ca.pem";
    CHECK(describe(config, options).ends_with(", TLS, CAs of /etc/ca.pem"));
    config.tls_pin = {"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    CHECK(describe(config, options).ends_with(", TLS, pinned"));
    config.sni = "cdn.example.com";
    CHECK(describe(config, options).ends_with(", TLS, pinned, SNI cdn.example.com"));
    config.tls = false;
    CHECK(describe(config, options).ends_with(", plain TCP"));
}
