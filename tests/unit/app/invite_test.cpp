// `porthop invite`: the link from a server's configuration and the certificate it keeps or is
// given, and every reason it refuses; the client file a link stands for.
#include "porthop/app/invite.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "porthop/app/secret_file.hpp"
#include "porthop/app/tls_setup.hpp"
#include "porthop/crypto/tls_credentials.hpp"

using namespace porthop;
namespace fs = std::filesystem;

namespace {

struct InviteTempDir {
    fs::path path = fs::temp_directory_path() / ("porthop-invite-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    InviteTempDir() { fs::create_directories(path); }
    ~InviteTempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

app::Config keyed_server() {
    app::Config c;
    crypto::HopKey key{};
    key[0] = std::byte{7};
    c.server.key = key;
    c.server.listen = {"192.0.2.10"};
    return c;
}

}  // namespace

TEST_CASE("invite: the server's name", "[app][invite]") {
    auto c = keyed_server();
    c.server.tls = false;
    auto made = app::make_invite(c, "");
    REQUIRE(made.link);
    CHECK(made.link->server == "192.0.2.10");  // its one listen address
    CHECK(app::make_invite(c, "vpn.example.org").link->server == "vpn.example.org");
    c.server.listen = {"0.0.0.0", "::"};
    made = app::make_invite(c, "");
    CHECK_FALSE(made.link);
    CHECK_THAT(made.error, Catch::Contains("--name") && Catch::Contains("every address"));
    c.server.listen = {"192.0.2.10", "198.51.100.1"};
    CHECK_THAT(app::make_invite(c, "").error, Catch::Contains("several"));
    CHECK_THAT(app::make_invite(c, "bad name").error, Catch::Contains("neither a host name"));
}

TEST_CASE("invite: refused without a key", "[app][invite]") {
    app::Config c;
    c.server.tls = false;
    const auto made = app::make_invite(c, "vpn.example.org");
    CHECK_FALSE(made.link);
    CHECK_THAT(made.error, Catch::Contains("porthop genkey"));
}

TEST_CASE("invite: the self-signed certificate the server keeps", "[app][invite]") {
    InviteTempDir dir;
    auto c = keyed_server();
    c.server.state_file = (dir.path / "sessions").string();
    // Not started yet: no certificate to pin.
    auto made = app::make_invite(c, "", (dir.path / "nowhere" / "sessions").string());
    CHECK_FALSE(made.link);
    CHECK_THAT(made.error, Catch::Contains("start the server once"));
    // The server's start makes it (the same code).
    const auto front = app::make_tls_front(c.server, c.server.state_file);
    REQUIRE(front.ok());
    crypto::CredentialsError error;
    const auto kept = crypto::Credentials::load_pem(app::self_signed_path(c.server.state_file),
                                                    app::self_signed_path(c.server.state_file), error);
    REQUIRE(kept);
    made = app::make_invite(c, "");
    REQUIRE(made.link);
    CHECK(made.link->tls_pin == std::vector<std::string>{kept->pin()});
    CHECK_FALSE(made.link->system_ca);
    REQUIRE(made.notes.size() == 2);
    CHECK_THAT(made.notes[0], Catch::Contains("listen address 192.0.2.10") && Catch::Contains("--name"));
    CHECK_THAT(made.notes[1], Catch::Contains(kept->pin()));
    // A damaged certificate file is named.
    std::ofstream(app::self_signed_path(c.server.state_file)) << "garbage\n";
    made = app::make_invite(c, "");
    CHECK_FALSE(made.link);
    CHECK_THAT(made.error, Catch::Contains("cannot be read"));
}

TEST_CASE("invite: no state file, no pin", "[app][invite]") {
    InviteTempDir dir;
    auto c = keyed_server();
    const auto made = app::make_invite(c, "", (dir.path / "sessions").string());
    CHECK_FALSE(made.link);
    CHECK_THAT(made.error, Catch::Contains("state_file"));
    // Where the packaged unit keeps its state: found there without a state_file.
    app::ServerConfig packaged = c.server;
    packaged.state_file = (dir.path / "sessions").string();
    REQUIRE(app::make_tls_front(packaged, packaged.state_file).ok());
    CHECK(app::make_invite(c, "", (dir.path / "sessions").string()).link);
}

TEST_CASE("invite: an operator's certificate the system's CAs do not vouch for is pinned", "[app][invite]") {
    InviteTempDir dir;
    std::string why;
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const auto cert = crypto::Credentials::make_self_signed("vpn.example.org", 30, now, why);
    REQUIRE(cert);
    const auto cert_path = (dir.path / "cert.pem").string(), key_path = (dir.path / "key.pem").string();
    REQUIRE(app::write_secret_file(cert_path, cert->chain_pem(), app::Existing::keep).empty());
    REQUIRE(app::write_secret_file(key_path, cert->key_pem(), app::Existing::keep).empty());
    auto c = keyed_server();
    c.server.tls_cert = cert_path;
    c.server.tls_key = key_path;
    auto made = app::make_invite(c, "vpn.example.org");
    REQUIRE(made.link);
    CHECK(made.link->tls_pin == std::vector<std::string>{cert->pin()});
    REQUIRE(made.notes.size() == 1);
    CHECK_THAT(made.notes[0], Catch::Contains("do not vouch"));
    c.server.tls_key = cert_path;  // no key in it
    made = app::make_invite(c, "vpn.example.org");
    CHECK_FALSE(made.link);
    CHECK_THAT(made.error, Catch::Contains("TLS certificate"));
}

TEST_CASE("invite: the client file reads back as the link says", "[app][invite]") {
    auto c = keyed_server();
    c.server.tls = false;
    c.server.hop_interval = std::chrono::seconds{90};
    const auto link = app::make_invite(c, "vpn.example.org").link;
    REQUIRE(link);
    const auto text = app::client_file(*link, app::Config{});
    CHECK_THAT(text, Catch::StartsWith("# porthop client configuration for vpn.example.org"));
    CHECK(text.find("[server]") == std::string::npos);  // only what the client reads
    const auto back = app::parse_config(text, "c.toml");
    REQUIRE(back.ok());
    CHECK(back.config.client.server == "vpn.example.org");
    CHECK(back.config.client.key == c.server.key);
    CHECK(back.config.client.hop_interval == std::chrono::seconds{90});
    CHECK_FALSE(back.config.client.tls);
    CHECK(app::check_client_ready(back.config).empty());
}

TEST_CASE("secret file: 0600, and an existing file kept", "[app][invite]") {
    InviteTempDir dir;
    const auto path = (dir.path / "c.toml").string();
    CHECK(app::write_secret_file(path, "one\n", app::Existing::keep).empty());
    CHECK((fs::status(path).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    CHECK_THAT(app::write_secret_file(path, "two\n", app::Existing::keep), Catch::Contains("exists"));
    // A planted file or symlink with the old fixed temporary name is not written through.
    fs::create_symlink("/nonexistent-target", path + ".tmp");
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    CHECK(line == "one");
    CHECK(fs::is_symlink(path + ".tmp"));
    fs::remove(path + ".tmp");
    CHECK(app::write_secret_file(path, "two\n", app::Existing::replace).empty());
    // take_over: the existing file's group and mode stay, without any bit for others.
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    CHECK(app::write_secret_file(path, "three\n", app::Existing::take_over).empty());
    CHECK((fs::status(path).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
    // No temporary file is left behind, whatever happened.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++files;
    CHECK(files == 1);
    CHECK_THAT(app::write_secret_file((dir.path / "no" / "x").string(), "x", app::Existing::keep),
               Catch::Contains("No such file"));
}
