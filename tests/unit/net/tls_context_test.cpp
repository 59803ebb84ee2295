// net/tls_context: the server's and the agent's TLS contexts, over real handshakes on loopback
// (boost::asio::ssl::stream<tcp::socket>, both ends in one io_context).
//
// Independent answers: the CA-signed certificate is tests/vectors/tls/ (made by the openssl
// command line); expired and self-signed trust anchors are made here with OpenSSL's own API
// (X509_gmtime_adj); what was negotiated is read back from OpenSSL (SSL_version,
// SSL_get0_alpn_selected, SSL_session_reused) and the alerts from its info callback.
#include "porthop/net/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "../../fixtures/fixture.hpp"

namespace tls_context_test {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using porthop::crypto::Credentials;
using porthop::crypto::CredentialsError;
using porthop::net::make_client_context;
using porthop::net::make_server_context;
using porthop::net::prepare_client_tls;
using porthop::net::tls_verify_failure;
using porthop::net::TlsClientParams;
using porthop::net::TlsServerParams;
using porthop::net::TlsVersion;

std::filesystem::path vectors_dir() {
    return porthop::test::fixtures_dir().parent_path() / "vectors" / "tls";
}

std::chrono::sys_seconds now() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

Credentials self_signed(const std::string& name) {
    std::string why;
    auto c = Credentials::make_self_signed(name, 30, now(), why);
    INFO(why);
    REQUIRE(c);
    return *c;
}

// The vectors' leaf (DNS:vector.test) with its chain, signed by vectors/tls/ca.pem.
Credentials vector_leaf() {
    CredentialsError error;
    auto c = Credentials::load_pem((vectors_dir() / "chain.pem").string(),
                                   (vectors_dir() / "leaf.key").string(), error);
    INFO(error.message);
    REQUIRE(c);
    return *c;
}

// A self-signed certificate for DNS:`name`, valid from now+from_s to now+until_s, made with
// OpenSSL directly (dates the way a CA sets them), as PEM; usable as its own trust anchor.
Credentials dated_self_signed(const char* name, long from_s, long until_s) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    REQUIRE(key);
    REQUIRE(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
    X509_gmtime_adj(X509_getm_notBefore(cert), from_s);
    X509_gmtime_adj(X509_getm_notAfter(cert), until_s);
    X509_set_pubkey(cert, key);
    X509_NAME* subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name), -1,
                               -1, 0);
    X509_set_issuer_name(cert, subject);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    const std::string san = std::string("DNS:") + name;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
    REQUIRE(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    auto pem = [](auto write) {
        BIO* bio = BIO_new(BIO_s_mem());
        write(bio);
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        std::string text(data, static_cast<std::size_t>(n));
        BIO_free(bio);
        return text;
    };
    const std::string cert_pem = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
    const std::string key_pem =
        pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    X509_free(cert);
    EVP_PKEY_free(key);
    CredentialsError error;
    auto c = Credentials::from_pem(cert_pem, key_pem, "cert", "key", error);
    INFO(error.message);
    REQUIRE(c);
    return *c;
}

// A file for ca_file, removed with the object.
struct TempFile {
    explicit TempFile(const std::string& text) {
        static int serial = 0;
        path = std::filesystem::temp_directory_path() / ("porthop-tls-context-" + std::to_string(::getpid()) +
                                                         "-" + std::to_string(++serial) + ".pem");
        std::ofstream(path) << text;
    }
    ~TempFile() { std::filesystem::remove(path); }
    std::filesystem::path path;
};

std::shared_ptr<ssl::context> server_context(const Credentials& c, TlsServerParams params = {}) {
    auto made = make_server_context(c, params);
    INFO(made.error);
    REQUIRE(made.ok());
    return made.context;
}

std::shared_ptr<ssl::context> client_context(TlsClientParams params) {
    auto made = make_client_context(params);
    INFO(made.error);
    REQUIRE(made.ok());
    return made.context;
}

TlsClientParams pinned(const Credentials& c) {
    TlsClientParams p;
    p.pins = {*porthop::crypto::spki_hash(c.leaf())};
    return p;
}

// The alerts each end received, from OpenSSL's info callback (asio owns SSL app data).
int alerts_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}
void note_alert(const SSL* s, int where, int ret) {
    if (where & SSL_CB_READ_ALERT)
        static_cast<std::vector<int>*>(SSL_get_ex_data(s, alerts_index()))->push_back(ret & 0xff);
}

struct Link {
    Link(asio::io_context& io, ssl::context& server_ctx, ssl::context& client_ctx)
        : server(tcp::socket(io), server_ctx), client(tcp::socket(io), client_ctx) {}
    ssl::stream<tcp::socket> server, client;
    std::optional<boost::system::error_code> server_done, client_done;
    std::vector<int> client_alerts;
    bool ok() const { return server_done && client_done && !*server_done && !*client_done; }
    std::string alpn(ssl::stream<tcp::socket>& end) {
        const unsigned char* p = nullptr;
        unsigned int n = 0;
        SSL_get0_alpn_selected(end.native_handle(), &p, &n);
        return std::string(reinterpret_cast<const char*>(p), n);
    }
    // The client's handshake failed because it received `alert` (RFC 8446 6: its description).
    bool client_got_alert(int alert) const {
        return std::find(client_alerts.begin(), client_alerts.end(), alert) != client_alerts.end();
    }
};

bool run_until(asio::io_context& io, const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < until) {
        io.restart();
        io.run_for(10ms);
    }
    return done();
}

// Connects over loopback and runs both handshakes to their end; the client is prepared for
// `name` and offers `resume` if given.
// The streams are made first (`made`, if given, sees them before the handshake starts).
std::unique_ptr<Link> handshake(asio::io_context& io, ssl::context& server_ctx, ssl::context& client_ctx,
                                std::string_view name, SSL_SESSION* resume = nullptr,
                                const std::function<void()>& made = {}) {
    auto link = std::make_unique<Link>(io, server_ctx, client_ctx);
    if (made) made();
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    link->client.next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(link->server.next_layer());
    const std::string why = prepare_client_tls(link->client.native_handle(), name);
    INFO(why);
    REQUIRE(why.empty());
    SSL_set_ex_data(link->client.native_handle(), alerts_index(), &link->client_alerts);
    SSL_set_info_callback(link->client.native_handle(), note_alert);
    if (resume) REQUIRE(SSL_set_session(link->client.native_handle(), resume) == 1);
    link->server.async_handshake(ssl::stream_base::server,
                                 [l = link.get()](auto ec) { l->server_done = ec; });
    link->client.async_handshake(ssl::stream_base::client,
                                 [l = link.get()](auto ec) { l->client_done = ec; });
    // A failed end closes its socket only with the stream: shut the sockets once one end failed,
    // so the other does not wait for the deadline.
    REQUIRE(run_until(io, [&] {
        if ((link->server_done && *link->server_done) || (link->client_done && *link->client_done)) {
            boost::system::error_code ignored;
            link->server.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
            link->client.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
        }
        return link->server_done && link->client_done;
    }));
    return link;
}

// Why the client refused the server's certificate: OpenSSL's verify result, and the same as
// text from tls_verify_failure.
void check_refused(Link& link, long result) {
    REQUIRE(link.client_done);
    REQUIRE(*link.client_done);
    CHECK(SSL_get_verify_result(link.client.native_handle()) == result);
    CHECK(tls_verify_failure(link.client.native_handle()) == X509_verify_cert_error_string(result));
}

// The OpenSSL reason behind a failed handshake's error_code (asio passes ERR_get_error's code).
int reason(const boost::system::error_code& ec) {
    return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

TEST_CASE("tls context: ALPN like nginx: http/1.1 chosen, no overlap is alert 120, none offered is none",
          "[net][tls]") {
    asio::io_context io;
    const auto creds = self_signed("relay.test");
    auto server = server_context(creds);

    SECTION("a browser's h2,http/1.1: http/1.1 chosen on both ends") {
        auto client = client_context(pinned(creds));
        auto link = handshake(io, *server, *client, "relay.test");
        REQUIRE(link->ok());
        CHECK(link->alpn(link->server) == "http/1.1");
        CHECK(link->alpn(link->client) == "http/1.1");
        CHECK(SSL_version(link->client.native_handle()) == TLS1_3_VERSION);
    }
    SECTION("negative: only h2 offered: the client gets a fatal no_application_protocol alert") {
        auto params = pinned(creds);
        params.alpn = {"h2"};
        auto client = client_context(params);
        auto link = handshake(io, *server, *client, "relay.test");
        REQUIRE(*link->client_done);
        REQUIRE(*link->server_done);
        CHECK(link->client_got_alert(SSL_AD_NO_APPLICATION_PROTOCOL));  // 120
        CHECK(reason(*link->client_done) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
    }
    SECTION("no ALPN offered: the handshake completes and none is chosen") {
        auto params = pinned(creds);
        params.alpn = {};
        auto client = client_context(params);
        auto link = handshake(io, *server, *client, "relay.test");
        REQUIRE(link->ok());
        CHECK(link->alpn(link->server).empty());
        CHECK(link->alpn(link->client).empty());
        CHECK(link->client_alerts.empty());
    }
    SECTION("a server configured with h2 first gets h2 from a browser's list (server preference)") {
        TlsServerParams sp;
        sp.alpn = {"h2", "http/1.1"};
        auto h2_server = server_context(creds, sp);
        auto client = client_context(pinned(creds));
        auto link = handshake(io, *h2_server, *client, "relay.test");
        REQUIRE(link->ok());
        CHECK(link->alpn(link->client) == "h2");
    }
}

TEST_CASE("tls context: TLS versions: a 1.2-only client is served, a 1.3-only client refuses a 1.2 server",
          "[net][tls]") {
    asio::io_context io;
    const auto creds = self_signed("relay.test");
    auto server = server_context(creds);
    TlsServerParams max12;
    max12.max_version = TlsVersion::tls1_2;
    auto server12 = server_context(creds, max12);

    SECTION("a TLS 1.2-only client: TLS 1.2 with a cipher from HIGH, ALPN http/1.1") {
        auto params = pinned(creds);
        params.min_version = params.max_version = TlsVersion::tls1_2;
        auto client = client_context(params);
        auto link = handshake(io, *server, *client, "relay.test");
        REQUIRE(link->ok());
        CHECK(SSL_version(link->server.native_handle()) == TLS1_2_VERSION);
        CHECK(link->alpn(link->client) == "http/1.1");
        const std::string cipher = SSL_get_cipher_name(link->server.native_handle());
        CHECK((cipher.find("GCM") != std::string::npos || cipher.find("CHACHA20") != std::string::npos));
    }
    SECTION("negative: the default client (1.3 only) gets TLS 1.3 from the same server") {
        auto client = client_context(pinned(creds));
        auto link = handshake(io, *server, *client, "relay.test");
        REQUIRE(link->ok());
        CHECK(SSL_version(link->server.native_handle()) == TLS1_3_VERSION);
    }
    SECTION("the default client against a server that stops at 1.2: the handshake fails") {
        auto client = client_context(pinned(creds));
        auto link = handshake(io, *server12, *client, "relay.test");
        CHECK(*link->client_done);
        CHECK(*link->server_done);
    }
    SECTION("negative: a client that allows 1.2 gets 1.2 from that server") {
        auto params = pinned(creds);
        params.min_version = TlsVersion::tls1_2;
        auto client = client_context(params);
        auto link = handshake(io, *server12, *client, "relay.test");
        REQUIRE(link->ok());
        CHECK(SSL_version(link->client.native_handle()) == TLS1_2_VERSION);
    }
}

TEST_CASE("tls context: pins: only the leaf's SPKI counts, a wrong pin fails", "[net][tls]") {
    asio::io_context io;
    const auto creds = self_signed("relay.test");
    auto server = server_context(creds);

    SECTION("the server's own pin: accepted although self-signed, whatever the name") {
        auto client = client_context(pinned(creds));
        for (const char* name : {"relay.test", "example.org", "127.0.0.1", ""}) {
            auto link = handshake(io, *server, *client, name);
            INFO(name);
            REQUIRE(link->ok());
            CHECK(tls_verify_failure(link->client.native_handle()).empty());
            // One certificate whatever the SNI; an address or nothing sends no SNI.
            const char* sni = SSL_get_servername(link->server.native_handle(), TLSEXT_NAMETYPE_host_name);
            if (std::string_view(name) == "relay.test" || std::string_view(name) == "example.org") {
                REQUIRE(sni);
                CHECK(std::string_view(sni) == name);
            } else {
                CHECK(sni == nullptr);
            }
            CHECK(link->client_alerts.empty());  // no unrecognized_name warning either
        }
    }
    SECTION("dates and chain are ignored with pins: an expired self-signed certificate is accepted") {
        const auto expired = dated_self_signed("old.test", -30 * 86400, -86400);
        auto old_server = server_context(expired);
        auto client = client_context(pinned(expired));
        auto link = handshake(io, *old_server, *client, "relay.test");  // not its name either
        REQUIRE(link->ok());
    }
    SECTION("the pins live with the SSL_CTX: a connection outlives its ssl::context") {
        auto server_only = server_context(creds);
        auto client = client_context(pinned(creds));
        ssl::context& server_ref = *server_only;
        ssl::context& client_ref = *client;
        // Both contexts are destroyed once the streams hold their SSL_CTXs; the pin callback and
        // the ALPN list must still be there (valgrind or ASan would catch them freed).
        auto link = handshake(io, server_ref, client_ref, "relay.test", nullptr, [&] {
            server_only.reset();
            client.reset();
        });
        REQUIRE(link->ok());
        CHECK(link->alpn(link->client) == "http/1.1");
    }
    SECTION("one of several pins (a key rollover)") {
        auto params = pinned(self_signed("other.test"));
        params.pins.push_back(*porthop::crypto::spki_hash(creds.leaf()));
        auto client = client_context(params);
        REQUIRE(handshake(io, *server, *client, "relay.test")->ok());
    }
    SECTION("negative: another key's pin: the handshake fails and the reason names the server's pin") {
        auto client = client_context(pinned(self_signed("relay.test")));  // same name, other key
        auto link = handshake(io, *server, *client, "relay.test");
        REQUIRE(*link->client_done);
        CHECK(*link->server_done);
        CHECK(tls_verify_failure(link->client.native_handle()) ==
              "the server's key matches no pin (it is " + creds.pin() + ")");
    }
}

TEST_CASE("tls context: CA mode checks the chain, the name and the dates", "[net][tls]") {
    asio::io_context io;
    auto server = server_context(vector_leaf());
    TlsClientParams params;
    params.ca_file = (vectors_dir() / "ca.pem").string();
    auto client = client_context(params);

    SECTION("the test CA and the leaf's name: accepted, the chain was sent") {
        auto link = handshake(io, *server, *client, "vector.test");
        REQUIRE(link->ok());
        CHECK(SSL_get_verify_result(link->client.native_handle()) == X509_V_OK);
        CHECK(sk_X509_num(SSL_get_peer_cert_chain(link->client.native_handle())) == 2);
    }
    SECTION("negative: another CA: refused (no issuer)") {
        TempFile other(self_signed("vector.test").chain_pem());
        TlsClientParams wrong;
        wrong.ca_file = other.path.string();
        auto other_client = client_context(wrong);
        auto link = handshake(io, *server, *other_client, "vector.test");
        // The server sends its CA too, which is not trusted here.
        check_refused(*link, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
    }
    SECTION("negative: the system's CAs do not know the test CA") {
        auto system_client = client_context(TlsClientParams{});
        auto link = handshake(io, *server, *system_client, "vector.test");
        check_refused(*link, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
    }
    SECTION("negative: a name the certificate does not carry, or an address") {
        for (const char* name : {"other.test", "test", "vector.test.example"})
            check_refused(*handshake(io, *server, *client, name), X509_V_ERR_HOSTNAME_MISMATCH);
        check_refused(*handshake(io, *server, *client, "127.0.0.1"), X509_V_ERR_IP_ADDRESS_MISMATCH);
    }
    SECTION("negative: no name at all is refused before connecting") {
        ssl::stream<tcp::socket> stream(tcp::socket(io), *client);
        CHECK(prepare_client_tls(stream.native_handle(), "") ==
              "a server name is needed to check the server's certificate");
    }
}

TEST_CASE("tls context: CA mode refuses an expired certificate", "[net][tls]") {
    asio::io_context io;
    const long day = 86400;
    // A self-signed certificate is its own trust anchor here: only its dates differ.
    for (const auto& [what, from, until, result] :
         {std::tuple{"valid", -day, 30 * day, long{X509_V_OK}},
          std::tuple{"expired yesterday", -30 * day, -day, long{X509_V_ERR_CERT_HAS_EXPIRED}},
          std::tuple{"valid only from tomorrow", day, 30 * day, long{X509_V_ERR_CERT_NOT_YET_VALID}}}) {
        INFO(what);
        const auto creds = dated_self_signed("dated.test", from, until);
        TempFile anchor(creds.chain_pem());
        TlsClientParams params;
        params.ca_file = anchor.path.string();
        auto server = server_context(creds);
        auto client = client_context(params);
        auto link = handshake(io, *server, *client, "dated.test");
        if (result == X509_V_OK) {
            CHECK(link->ok());
            CHECK(tls_verify_failure(link->client.native_handle()).empty());
        } else {
            check_refused(*link, result);
        }
    }
}

TEST_CASE("tls context: a second connection resumes with a ticket", "[net][tls]") {
    asio::io_context io;
    const auto creds = self_signed("relay.test");
    auto server = server_context(creds);
    auto client = client_context(pinned(creds));

    // TLS 1.3 tickets come after the handshake: the client reads a byte of data to take them.
    auto first = handshake(io, *server, *client, "relay.test");
    REQUIRE(first->ok());
    CHECK_FALSE(SSL_session_reused(first->client.native_handle()));
    char byte = 'x', got = 0;
    asio::write(first->server, asio::buffer(&byte, 1));
    std::optional<boost::system::error_code> read;
    asio::async_read(first->client, asio::buffer(&got, 1), [&](auto ec, std::size_t) { read = ec; });
    REQUIRE(run_until(io, [&] { return read.has_value(); }));
    REQUIRE_FALSE(*read);
    SSL_SESSION* session = SSL_get1_session(first->client.native_handle());
    REQUIRE(session);
    CHECK(SSL_SESSION_is_resumable(session));

    SECTION("the saved session offered: resumed on both ends") {
        auto second = handshake(io, *server, *client, "relay.test", session);
        REQUIRE(second->ok());
        CHECK(SSL_session_reused(second->client.native_handle()));
        CHECK(SSL_session_reused(second->server.native_handle()));
    }
    SECTION("negative: nothing offered: a full handshake") {
        auto second = handshake(io, *server, *client, "relay.test");
        REQUIRE(second->ok());
        CHECK_FALSE(SSL_session_reused(second->client.native_handle()));
    }
    SECTION("negative: another server context (its own ticket key) does not resume it") {
        auto other = server_context(creds);
        auto second = handshake(io, *other, *client, "relay.test", session);
        REQUIRE(second->ok());
        CHECK_FALSE(SSL_session_reused(second->client.native_handle()));
    }
    SSL_SESSION_free(session);
}

TEST_CASE("tls context: the server context's settings, read back from OpenSSL", "[net][tls]") {
    auto server = server_context(self_signed("relay.test"));
    SSL_CTX* ctx = server->native_handle();
    CHECK(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(ctx) == TLS1_3_VERSION);
    CHECK(SSL_CTX_get_session_cache_mode(ctx) == SSL_SESS_CACHE_OFF);
    CHECK(SSL_CTX_get_num_tickets(ctx) == 2);
    CHECK((SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS) != 0);
    CHECK((SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET) == 0);  // tickets on
    // The TLS 1.2 suites are exactly what `openssl ciphers 'HIGH:!aNULL:!MD5'` lists (nginx's
    // default), recomputed here by OpenSSL from the same string on a fresh context.
    SSL_CTX* reference = SSL_CTX_new(TLS_server_method());
    REQUIRE(reference);
    REQUIRE(SSL_CTX_set_cipher_list(reference, "HIGH:!aNULL:!MD5") == 1);
    auto names = [](SSL_CTX* c) {
        std::vector<std::string> out;
        STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(c);
        for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i)
            out.emplace_back(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)));
        return out;
    };
    CHECK(names(ctx) == names(reference));
    SSL_CTX* defaults = SSL_CTX_new(TLS_server_method());
    REQUIRE(defaults);
    CHECK(names(ctx) != names(defaults));  // negative: OpenSSL's own default list differs
    SSL_CTX_free(defaults);
    SSL_CTX_free(reference);
}

TEST_CASE("tls context: bad parameters are errors that say what", "[net][tls]") {
    const auto creds = self_signed("relay.test");
    TlsServerParams sp;
    sp.alpn = {};
    CHECK(make_server_context(creds, sp).error == "the ALPN list is empty");
    sp.alpn = {"http/1.1", ""};
    CHECK(make_server_context(creds, sp).error == "ALPN protocol '' must be 1-255 bytes");
    sp.alpn = {std::string(256, 'a')};
    CHECK_FALSE(make_server_context(creds, sp).ok());

    TlsClientParams cp;
    cp.min_version = TlsVersion::tls1_3;
    cp.max_version = TlsVersion::tls1_2;
    CHECK(make_client_context(cp).error == "the lowest TLS version is above the highest");
    cp = {};
    cp.ca_file = "/nonexistent/ca.pem";
    const auto missing = make_client_context(cp);
    CHECK_FALSE(missing.ok());
    CHECK(missing.error.rfind("/nonexistent/ca.pem: cannot load CA certificates: error:", 0) == 0);
    TempFile not_pem("not a certificate\n");
    cp.ca_file = not_pem.path.string();
    const auto garbage = make_client_context(cp);
    CHECK_FALSE(garbage.ok());
    CHECK(garbage.error.find("cannot load CA certificates: error:") != std::string::npos);

    SECTION("negative: the defaults and a real CA file build") {
        CHECK(make_server_context(creds).ok());
        CHECK(make_client_context().ok());
        cp.ca_file = (vectors_dir() / "ca.pem").string();
        CHECK(make_client_context(cp).ok());
    }
}

}  // namespace tls_context_test
