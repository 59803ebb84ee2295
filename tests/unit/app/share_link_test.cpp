// Share links: every field survives encode/decode, and every way a link can be wrong is refused
// with the field's name.
#include <catch2/catch.hpp>

#include <string>

#include "porthop/app/config.hpp"
#include "porthop/app/share_link.hpp"
#include "porthop/crypto/tls_credentials.hpp"

using namespace porthop;
using app::ShareLink;
using app::ShareLinkError;

namespace {

crypto::HopKey key_of(std::uint8_t seed) {
    crypto::HopKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::byte(static_cast<std::uint8_t>(seed + i * 37));
    return k;
}

// A pin made of 32 bytes of 0xfb: its base64 is "+/v7..." and '=', which the link must escape.
const std::string kPin = [] {
    crypto::SpkiHash h;
    h.fill(std::byte{0xfb});
    return crypto::format_pin(h);
}();

ShareLink full_link() {
    ShareLink l;
    l.server = "vpn.example.org";
    l.key = key_of(0xfb);  // base64 with '+' and '/'
    l.udp = {{443, 443}, {1194, 1194}, {40000, 40099}};
    l.tcp = {{443, 443}, {8443, 8443}};
    l.hop_interval = std::chrono::seconds{45};
    l.tls = true;
    l.sni = "www.example.org";
    l.tls_pin = {kPin, "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    l.tcp_rotate_bytes = 12000;
    l.mask = hop::v2::Mode::full;
    l.label = "home VPN & more";
    return l;
}

ShareLinkError refusal(const std::string& text) {
    ShareLinkError e;
    const auto link = app::decode_share_link(text, e);
    INFO(text);
    CHECK_FALSE(link.has_value());
    CHECK_FALSE(e.message.empty());
    return e;
}

// The full link with `from` replaced by `to` (which must be there).
std::string edited(std::string from, std::string to) {
    auto text = app::encode(full_link());
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("share link: every field round-trips", "[app][share_link]") {
    const auto l = full_link();
    const auto text = app::encode(l);
    INFO(text);
    CHECK(text.rfind("porthop://vpn.example.org/1?key=", 0) == 0);
    CHECK(text.find(' ') == std::string::npos);
    CHECK(text.find('+') == std::string::npos);  // the key is base64url, the pin escaped
    CHECK(text.find("udp=443,1194,40000-40099&tcp=443,8443&hop=45&tls=1&sni=www.example.org&pin=sha256/") !=
          std::string::npos);
    CHECK(text.find("&rotate=12000&mask=full#home%20VPN%20%26%20more") != std::string::npos);
    ShareLinkError e;
    const auto back = app::decode_share_link(text, e);
    REQUIRE(back.has_value());
    CHECK(*back == l);
    // Blanks around a pasted link are ignored.
    CHECK(app::decode_share_link("  " + text + "\r\n", e) == l);
}

TEST_CASE("share link: the other forms round-trip", "[app][share_link]") {
    ShareLinkError e;
    SECTION("plain TCP, no label, IPv4") {
        ShareLink l = full_link();
        l.server = "192.0.2.7";
        l.tls = false;
        l.sni.clear();
        l.tls_pin.clear();
        l.label.clear();
        l.mask = hop::v2::Mode::light;
        l.tcp_rotate_bytes = 0;
        const auto text = app::encode(l);
        CHECK(text.find("tls=0") != std::string::npos);
        CHECK(text.find("pin=") == std::string::npos);
        CHECK(text.find('#') == std::string::npos);
        CHECK(app::decode_share_link(text, e) == l);
    }
    SECTION("system CAs, IPv6 in brackets") {
        ShareLink l = full_link();
        l.server = "2001:db8::7";
        l.tls_pin.clear();
        l.system_ca = true;
        const auto text = app::encode(l);
        CHECK(text.rfind("porthop://[2001:db8::7]/1?", 0) == 0);
        CHECK(text.find("&ca=system") != std::string::npos);
        CHECK(app::decode_share_link(text, e) == l);
    }
}

TEST_CASE("share link: refusals name the field", "[app][share_link]") {
    struct Row {
        std::string text;
        const char* field;
        const char* says;
    };
    const auto good = app::encode(full_link());
    const Row rows[] = {
        {"", "link", "empty"},
        {"https://vpn.example.org/1?key=x", "link", "porthop://"},
        {good.substr(0, 40) + "\n" + good.substr(40), "link", "blanks"},
        {"porthop:///1?key=x", "host", "missing"},
        {edited("vpn.example.org", "vpn.example.org:443"), "host", "has a port"},
        {edited("vpn.example.org", "bad_host!"), "host", "neither"},
        {edited("vpn.example.org", "[vpn.example.org]"), "host", "not an IPv6"},
        {edited("vpn.example.org", "2001:db8::1"), "host", "without brackets"},
        {edited("vpn.example.org", "me@vpn.example.org"), "host", "user part"},
        {edited("/1?", "?"), "version", "missing"},
        {edited("/1?", "/2?"), "version", "version 2 link"},
        {edited("/1?", "/x?"), "version", "not a number after HOST/"},
        // Without its '?', the version's text would run on into the key: not quoted.
        {edited("/1?", "/1&"), "version", "is the '?' before the fields missing"},
        // The version comes first: a later version's other changes are not what is named.
        {edited("vpn.example.org/1?", "vpn.example.org:443/2?"), "version", "version 2 link"},
        {edited("&udp=", "&=x&udp="), "link", "without a field name"},
        {edited("&hop=45", "&hop=45&key=x"), "key", "twice"},
        {edited("&sni=www.example.org", "&sni=www.example.org&sni=a"), "sni", "twice"},
        {edited("&pin=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", "&pin=sha256/AAAA%3D"), "pin", "44 base64"},
        {edited("#home%20VPN%20%26%20more", "#%FF%FE"), "label", "not UTF-8"},
        {edited("#home%20VPN%20%26%20more", "#%ED%A0%80"), "label", "not UTF-8"},  // a surrogate
        {edited("#home%20VPN%20%26%20more", "#%C0%AF"), "label", "not UTF-8"},     // overlong '/'
        {edited("vpn.example.org", "[::1]:443"), "host", "has a port"},
        {"porthop://vpn.example.org/1", "key", "missing"},
        {edited("&udp=", "&color=blue&udp="), "color", "not a field"},
        {edited("&hop=45", ""), "hop", "missing"},
        {edited("&mask=full", ""), "mask", "missing"},
        {edited("&rotate=12000", ""), "rotate", "missing"},
        {edited("&tls=1", ""), "tls", "missing"},
        {edited("&tcp=443,8443", ""), "tcp", "missing"},
        {edited("&udp=443,1194,40000-40099", ""), "udp", "missing"},
        {edited("&hop=45", "&hop=45&hop=46"), "hop", "twice"},
        {edited("&hop=45", "&hop"), "hop", "no value"},
        {edited("&mask=full", "&mask=fu%2"), "mask", "escape"},
        {edited("udp=443,", "udp=0,"), "udp", ""},
        {edited("udp=443,1194,40000-40099", "udp="), "udp", "empty"},
        {edited("tcp=443,8443", "tcp=443-80"), "tcp", ""},
        {edited("hop=45", "hop=9"), "hop", "10 to 86400"},
        {edited("hop=45", "hop=86401"), "hop", "10 to 86400"},
        {edited("hop=45", "hop=45s"), "hop", "whole seconds"},
        {edited("tls=1", "tls=yes"), "tls", "not 1"},
        {edited("rotate=12000", "rotate=-1"), "rotate", "number of bytes"},
        {edited("rotate=12000", "rotate=1000000000001"), "rotate", "number of bytes"},
        {edited("mask=full", "mask=heavy"), "mask", "light or full"},
        {edited("sni=www.example.org", "sni=a%20b"), "sni", "not a host name"},
        {edited("&pin=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", "&pin=sha1/abc"), "pin", "sha256/"},
        {edited("&pin=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", "&ca=system"), "ca", "both"},
        {edited("tls=1", "tls=0"), "sni", "tls=0"},
        {edited("#home%20VPN%20%26%20more", "#" + std::string(65, 'x')), "label", "longer"},
        {edited("#home%20VPN%20%26%20more", "#a%07b"), "label", "control"},
        {edited("#home%20VPN%20%26%20more", "#a%zzb"), "label", "escape"},
        {good + std::string(4100, 'a'), "link", "longer"},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        const auto e = refusal(row.text);
        CHECK(e.field == row.field);
        CHECK_THAT(e.message, Catch::Contains(row.says));
        CHECK_THAT(e.to_string(), Catch::Contains("share link"));
    }
}

TEST_CASE("share link: the key field", "[app][share_link]") {
    const auto key = app::encode(full_link()).substr(std::string("porthop://vpn.example.org/1?key=").size(), 43);
    SECTION("standard base64 (a key pasted from the config) is refused, naming base64url") {
        const auto e = refusal(edited(key, crypto::format_hop_key(key_of(0xfb))));
        CHECK(e.field == "key");
        CHECK_THAT(e.message, Catch::Contains("base64url"));
    }
    SECTION("one character short") {
        const auto e = refusal(edited(key, key.substr(1)));
        CHECK(e.field == "key");
        CHECK_THAT(e.message, Catch::Contains("42 characters"));
    }
    SECTION("stray low bits in the last character") {
        auto bad = key;
        bad.back() = bad.back() == 'B' ? 'C' : 'B';
        const auto e = refusal(edited(key, bad));
        CHECK(e.field == "key");
        CHECK_THAT(e.message, !Catch::Contains("+"));  // not the standard alphabet's words
    }
}

TEST_CASE("share link: at most 4 pins; a label in UTF-8 is kept", "[app][share_link]") {
    ShareLink l = full_link();
    l.tls_pin = {kPin, kPin, kPin, kPin};
    l.label = "Zuhause \xc3\xa4\xe2\x82\xac\xf0\x9f\x94\x92";  // a, euro sign, a lock: 2, 3 and 4 bytes
    ShareLinkError e;
    const auto back = app::decode_share_link(app::encode(l), e);
    INFO(e.to_string());
    REQUIRE(back);
    CHECK(*back == l);
    l.tls_pin.push_back(kPin);
    const auto five = refusal(app::encode(l));
    CHECK(five.field == "pin");
    CHECK_THAT(five.message, Catch::Contains("more than 4"));
}

TEST_CASE("share link: pin and CA choices", "[app][share_link]") {
    ShareLink l = full_link();
    l.tls_pin.clear();
    const auto no_check = app::encode(l);
    const auto e = refusal(no_check);
    CHECK(e.field == "pin");
    CHECK_THAT(e.message, Catch::Contains("ca=system"));
    // A pin and a ca: the "both" refusal comes before the ca's value is looked at.
    const auto e2 = refusal(edited("&pin=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D", "&ca=/etc/ssl/x.pem"));
    CHECK(e2.field == "ca");
    CHECK_THAT(e2.message, Catch::Contains("both"));
    ShareLink ca = full_link();
    ca.tls_pin.clear();
    ca.system_ca = true;
    auto text = app::encode(ca);
    text.replace(text.find("ca=system"), 9, "ca=/etc/ssl/x.pem");
    const auto e3 = refusal(text);
    CHECK(e3.field == "ca");
    CHECK_THAT(e3.message, Catch::Contains("use a pin"));
}

TEST_CASE("share link: from a server configuration", "[app][share_link]") {
    app::ServerConfig server;
    std::string why;
    CHECK_FALSE(app::link_for_server(server, "vpn.example.org", "", why));
    CHECK_THAT(why, Catch::Contains("porthop genkey"));
    server.key = key_of(3);
    server.hop_interval = std::chrono::seconds{120};
    server.tcp_rotate_bytes = 65536;
    server.mask = hop::v2::Mode::full;
    CHECK_FALSE(app::link_for_server(server, "not a name", "", why));
    CHECK_THAT(why, Catch::Contains("--name"));

    auto pinned = app::link_for_server(server, "vpn.example.org", kPin, why);
    REQUIRE(pinned);
    CHECK(pinned->udp == server.udp);
    CHECK(pinned->tcp == server.tcp);
    CHECK(pinned->hop_interval == server.hop_interval);
    CHECK(pinned->tls_pin == std::vector<std::string>{kPin});
    CHECK_FALSE(pinned->system_ca);
    CHECK(pinned->tcp_rotate_bytes == 65536);
    CHECK(pinned->mask == hop::v2::Mode::full);

    auto ca = app::link_for_server(server, "vpn.example.org", "", why);
    REQUIRE(ca);
    CHECK(ca->system_ca);
    CHECK(ca->tls_pin.empty());

    server.tls = false;
    auto plain = app::link_for_server(server, "192.0.2.1", kPin, why);
    REQUIRE(plain);
    CHECK_FALSE(plain->tls);
    CHECK(plain->tls_pin.empty());

    server.udp.clear();
    CHECK_FALSE(app::link_for_server(server, "192.0.2.1", "", why));
    CHECK_THAT(why, Catch::Contains("no UDP port"));
}

TEST_CASE("share link: applied to a client configuration, which reads back as TOML", "[app][share_link]") {
    app::Config config;
    config.client.listen = {"127.0.0.1", 51000};
    config.client.tls_ca = "/etc/old.pem";
    const auto l = full_link();
    app::apply(l, config.client);
    CHECK(config.client.server == l.server);
    CHECK(config.client.key == l.key);
    CHECK(config.client.udp == l.udp);
    CHECK(config.client.tcp == l.tcp);
    CHECK(config.client.hop_interval == l.hop_interval);
    CHECK(config.client.tls_pin == l.tls_pin);
    CHECK(config.client.sni == l.sni);
    CHECK(config.client.tls_ca.empty());
    CHECK(config.client.tcp_rotate_bytes == l.tcp_rotate_bytes);
    CHECK(config.client.listen == app::HostPort{"127.0.0.1", 51000});  // not the link's business
    const auto back = app::parse_config(app::to_toml(config), "link.toml");
    REQUIRE(back.ok());
    CHECK(back.config.client == config.client);
    CHECK(app::check_client_ready(back.config).empty());
}
