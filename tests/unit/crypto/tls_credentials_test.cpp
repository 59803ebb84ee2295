// crypto/tls_credentials: loading a certificate chain and key, the self-signed certificate,
// PEM export, validity and SPKI pins.
//
// Independent answers: the certificates in tests/vectors/tls/ and their pins and dates
// (expected.txt) were made by the openssl command line (make_tls_vectors.sh), and a generated
// certificate's pin is recomputed here by that command line when it is installed. Expired and
// not-yet-valid certificates are made here with OpenSSL's own API (X509_gmtime_adj), not with
// the code under test.
#include "porthop/crypto/tls_credentials.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../fixtures/fixture.hpp"

using porthop::crypto::Credentials;
using porthop::crypto::CredentialsError;
using porthop::crypto::format_pin;
using porthop::crypto::matches_pin;
using porthop::crypto::parse_pin;
using porthop::crypto::spki_hash;
using porthop::crypto::spki_pin;
using porthop::crypto::SpkiHash;
using porthop::crypto::Validity;
using Kind = porthop::crypto::CredentialsError::Kind;
using Status = porthop::crypto::Validity::Status;
using namespace std::chrono_literals;

namespace tls_credentials_test {

std::filesystem::path vectors_dir() {
    return porthop::test::fixtures_dir().parent_path() / "vectors" / "tls";
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// expected.txt: `name: value` lines and '#' comments.
std::map<std::string, std::string> expected() {
    std::map<std::string, std::string> fields;
    std::istringstream in(read_text(vectors_dir() / "expected.txt"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto colon = line.find(": ");
        if (colon == std::string::npos) throw std::runtime_error("bad line in expected.txt: " + line);
        fields[line.substr(0, colon)] = line.substr(colon + 2);
    }
    return fields;
}

struct TempDir {
    std::string path;
    TempDir() {
        char templ[] = "/tmp/porthop-tls-credentials-test-XXXXXX";
        REQUIRE(mkdtemp(templ) != nullptr);
        path = templ;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Writes `text` to a file here and returns its path.
    std::string write(const std::string& name, const std::string& text) const {
        const std::string file = path + "/" + name;
        std::ofstream out(file, std::ios::binary);
        out << text;
        REQUIRE(out.good());
        return file;
    }
};

std::chrono::sys_seconds wall_now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

Credentials load(const std::string& cert_path, const std::string& key_path) {
    CredentialsError error;
    auto c = Credentials::load_pem(cert_path, key_path, error);
    INFO(error.message);
    REQUIRE(c.has_value());
    return std::move(*c);
}

// A failed load: the kind, and a message that starts with the file's name.
CredentialsError load_error(const std::string& cert_path, const std::string& key_path,
                            const std::string& named) {
    CredentialsError error;
    const auto c = Credentials::load_pem(cert_path, key_path, error);
    INFO(error.message);
    CHECK_FALSE(c.has_value());
    CHECK(error.message.rfind(named + ": ", 0) == 0);
    // Nothing left in OpenSSL's error queue for the next, unrelated call to trip over.
    CHECK(ERR_peek_error() == 0);
    return error;
}

Credentials self_signed(const std::string& name = "relay.example.net", int days = 365,
                        std::chrono::sys_seconds now = wall_now()) {
    std::string why;
    auto c = Credentials::make_self_signed(name, days, now, why);
    INFO(why);
    REQUIRE(c.has_value());
    return std::move(*c);
}

std::string bio_text(BIO* bio) {
    BUF_MEM* buffer = nullptr;
    BIO_get_mem_ptr(bio, &buffer);
    return std::string(buffer->data, buffer->length);
}

struct Pem {
    std::string cert;
    std::string key;
};

// A self-signed P-256 certificate valid from now + from_seconds to now + until_seconds, made
// with OpenSSL directly (the way a CA or the openssl CLI sets dates: X509_gmtime_adj).
Pem openssl_cert(long from_seconds, long until_seconds) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    REQUIRE(key);
    REQUIRE(cert);
    X509_set_version(cert, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
    X509_gmtime_adj(X509_getm_notBefore(cert), from_seconds);
    X509_gmtime_adj(X509_getm_notAfter(cert), until_seconds);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("dated.test"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    BIO* cert_bio = BIO_new(BIO_s_mem());
    BIO* key_bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_X509(cert_bio, cert) == 1);
    REQUIRE(PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    Pem pem{bio_text(cert_bio), bio_text(key_bio)};
    BIO_free(cert_bio);
    BIO_free(key_bio);
    X509_free(cert);
    EVP_PKEY_free(key);
    return pem;
}

// The key of `c` encrypted with a passphrase: PKCS#8 ("ENCRYPTED PRIVATE KEY") or the
// traditional form ("EC PRIVATE KEY" with a Proc-Type: 4,ENCRYPTED header).
std::string encrypted_key(const Credentials& c, bool pkcs8) {
    BIO* bio = BIO_new(BIO_s_mem());
    char pass[] = "secret";
    const int ok = pkcs8 ? PEM_write_bio_PKCS8PrivateKey(bio, c.private_key(), EVP_aes_128_cbc(), pass, 6,
                                                         nullptr, nullptr)
                         : PEM_write_bio_PrivateKey_traditional(bio, c.private_key(), EVP_aes_128_cbc(),
                                                                reinterpret_cast<unsigned char*>(pass), 6,
                                                                nullptr, nullptr);
    REQUIRE(ok == 1);
    std::string text = bio_text(bio);
    BIO_free(bio);
    return text;
}

std::string der_of(const Credentials& c) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(c.leaf(), &der);
    REQUIRE(length > 0);
    std::string text(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return text;
}

// The subjectAltName entries of a certificate: "DNS:name" or "IP:<n bytes>".
std::vector<std::string> alt_names(X509* cert) {
    std::vector<std::string> out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    REQUIRE(names != nullptr);
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
        int type = 0;
        const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(g, &type));
        const std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                static_cast<std::size_t>(ASN1_STRING_length(value)));
        out.push_back(type == GEN_DNS     ? "DNS:" + bytes
                      : type == GEN_IPADD ? "IP:" + std::to_string(bytes.size())
                                          : "?");
    }
    GENERAL_NAMES_free(names);
    return out;
}

std::string common_name(X509* cert) {
    char text[256] = {};
    REQUIRE(X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, text, sizeof text) > 0);
    return text;
}

// Does OpenSSL's verifier, trusting only `c`'s certificate, accept it for `name` at `at`?
bool trusted_for(const Credentials& c, const std::string& name, std::chrono::sys_seconds at) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, c.leaf());
    X509_STORE_CTX_init(ctx, store, c.leaf(), nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at.time_since_epoch().count()));
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    const bool ok = X509_verify_cert(ctx) == 1;
    INFO(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return ok;
}

SpkiHash pin_of(const std::string& text) {
    std::string why;
    const auto hash = parse_pin(text, why);
    INFO(why);
    REQUIRE(hash.has_value());
    return *hash;
}

}  // namespace tls_credentials_test

using namespace tls_credentials_test;

TEST_CASE("Credentials: a chain made by the openssl CLI loads leaf first, with the CLI's pins",
          "[crypto][tls_credentials]") {
    const auto want = expected();
    const auto dir = vectors_dir();
    const auto c = load((dir / "chain.pem").string(), (dir / "leaf.key").string());
    REQUIRE(c.chain().size() == 2);
    CHECK(c.chain()[0] == c.leaf());
    CHECK(common_name(c.chain()[0]) == "vector.test");
    CHECK(common_name(c.chain()[1]) == "porthop vector CA");
    CHECK(c.pin() == want.at("leaf_pin"));
    CHECK(spki_pin(c.leaf()) == want.at("leaf_pin"));
    CHECK(spki_pin(c.chain()[1]) == want.at("ca_pin"));
    CHECK(format_pin(*spki_hash(c.leaf())) == want.at("leaf_pin"));

    // A file with only the leaf; and one file holding the key and the chain, named twice.
    CHECK(load((dir / "leaf.pem").string(), (dir / "leaf.key").string()).chain().size() == 1);
    const TempDir tmp;
    const auto both = tmp.write("both.pem", read_text(dir / "leaf.key") + read_text(dir / "chain.pem"));
    const auto combined = load(both, both);
    CHECK(combined.chain().size() == 2);
    CHECK(combined.pin() == want.at("leaf_pin"));
}

TEST_CASE("Credentials: validity reads the CLI's dates, both ends inclusive (RFC 5280)",
          "[crypto][tls_credentials]") {
    const auto want = expected();
    const auto dir = vectors_dir();
    const auto c = load((dir / "chain.pem").string(), (dir / "leaf.key").string());
    // notBefore is a UTCTime, notAfter (2126) a GeneralizedTime.
    const auto v = c.validity(wall_now());
    CHECK(v.not_before_text == want.at("leaf_not_before"));
    CHECK(v.not_after_text == want.at("leaf_not_after"));
    CHECK(c.validity(v.not_before).status == Status::valid);
    CHECK(c.validity(v.not_after).status == Status::valid);
    CHECK(c.validity(v.not_before - 1s).status == Status::not_yet_valid);
    CHECK(c.validity(v.not_after + 1s).status == Status::expired);
    CHECK(c.validity(v.not_before).to_string() ==
          "valid from " + want.at("leaf_not_before") + " until " + want.at("leaf_not_after"));
    CHECK(c.validity(v.not_after + 1s).to_string() ==
          "expired on " + want.at("leaf_not_after") + " (valid from " + want.at("leaf_not_before") + ")");
    CHECK(c.validity(v.not_before - 1s).to_string() ==
          "not valid before " + want.at("leaf_not_before") + " (until " + want.at("leaf_not_after") + ")");
}

TEST_CASE("Credentials: expired and not-yet-valid certificates load, and validity says so",
          "[crypto][tls_credentials]") {
    const TempDir tmp;
    const auto now = wall_now();
    const long day = 86400;
    struct Row {
        const char* what;
        long from, until;  // seconds from now, through X509_gmtime_adj
        Status status;
        const char* text;
    };
    const Row rows[] = {
        {"expired two days ago", -30 * day, -2 * day, Status::expired, "expired on "},
        {"valid from tomorrow", day, 30 * day, Status::not_yet_valid, "not valid before "},
        {"valid now", -day, day, Status::valid, "valid from "},
    };
    for (const auto& row : rows) {
        INFO(row.what);
        const auto pem = openssl_cert(row.from, row.until);
        const auto c = load(tmp.write("cert.pem", pem.cert), tmp.write("key.pem", pem.key));
        const auto v = c.validity(now);
        CHECK(v.status == row.status);
        CHECK(v.to_string().rfind(row.text, 0) == 0);
        // X509_gmtime_adj read the clock a moment after `now`, through time(), which glibc
        // serves from the coarse clock: up to a tick behind system_clock, so across a second
        // boundary it may still say the second before `now`.
        CHECK(v.not_before - now >= std::chrono::seconds(row.from - 1));
        CHECK(v.not_before - now <= std::chrono::seconds(row.from + 5));
        CHECK(v.not_after - now >= std::chrono::seconds(row.until - 1));
        CHECK(v.not_after - now <= std::chrono::seconds(row.until + 5));
    }
}

TEST_CASE("Credentials::load_pem: certificate file errors name the file and the problem",
          "[crypto][tls_credentials]") {
    const TempDir tmp;
    const auto dir = vectors_dir();
    const std::string key = (dir / "leaf.key").string();
    const std::string leaf_pem = read_text(dir / "leaf.pem");

    SECTION("missing") {
        const auto path = tmp.path + "/missing.pem";
        const auto e = load_error(path, key, path);
        CHECK(e.kind == Kind::cert_unreadable);
        CHECK(e.message == path + ": cannot open: No such file or directory");
    }
    SECTION("a directory") {
        const auto e = load_error(tmp.path, key, tmp.path);
        CHECK(e.kind == Kind::cert_unreadable);
        CHECK(e.message == tmp.path + ": cannot read: Is a directory");
    }
    SECTION("over 1 MiB, from a file or from memory") {
        const std::string huge((1 << 20) + 1, 'A');
        const auto path = tmp.write("huge.pem", huge);
        const auto e = load_error(path, key, path);
        CHECK(e.kind == Kind::cert_unreadable);
        CHECK(e.message == path + ": larger than 1 MiB, not a certificate or key file");
        CredentialsError error;
        CHECK_FALSE(Credentials::from_pem(leaf_pem, huge, "cert", "key", error).has_value());
        CHECK(error.kind == Kind::key_unreadable);
        CHECK(error.message == "key: larger than 1 MiB, not a certificate or key file");
    }
    SECTION("DER, not PEM") {
        const auto path = tmp.write("cert.der", der_of(load((dir / "leaf.pem").string(), key)));
        const auto e = load_error(path, key, path);
        CHECK(e.kind == Kind::cert_not_pem);
        CHECK(e.message == path + ": not PEM (no \"-----BEGIN CERTIFICATE-----\" line)");
    }
    SECTION("text, not PEM") {
        const auto path = tmp.write("cert.txt", "this is not a certificate\n");
        CHECK(load_error(path, key, path).kind == Kind::cert_not_pem);
    }
    SECTION("empty") {
        const auto path = tmp.write("empty.pem", "\n");
        const auto e = load_error(path, key, path);
        CHECK(e.kind == Kind::cert_missing);
        CHECK(e.message == path + ": empty, no certificate in it");
    }
    SECTION("the key file named as the certificate") {
        const auto e = load_error(key, key, key);
        CHECK(e.kind == Kind::cert_missing);
        CHECK(e.message == key + ": no certificate in it (it holds PRIVATE KEY)");
    }
    SECTION("a damaged PEM block (a line of the base64 cut)") {
        std::string damaged = leaf_pem;
        damaged.erase(damaged.find('\n', 40) + 1, 10);
        const auto path = tmp.write("damaged.pem", damaged);
        const auto e = load_error(path, key, path);
        CHECK(e.kind == Kind::cert_invalid);
        CHECK(e.message.find("damaged PEM") != std::string::npos);
    }
    SECTION("a CERTIFICATE block that is not a certificate") {
        const auto path = tmp.write(
            "junk.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
        const auto e = load_error(path, key, path);
        CHECK(e.kind == Kind::cert_invalid);
        CHECK(e.message.rfind(path + ": certificate 1 does not parse (", 0) == 0);
    }
}

TEST_CASE("Credentials::load_pem: key file errors name the file and the problem",
          "[crypto][tls_credentials]") {
    const TempDir tmp;
    const auto dir = vectors_dir();
    const std::string cert = (dir / "leaf.pem").string();

    SECTION("missing") {
        const auto path = tmp.path + "/missing.key";
        const auto e = load_error(cert, path, path);
        CHECK(e.kind == Kind::key_unreadable);
        CHECK(e.message == path + ": cannot open: No such file or directory");
    }
    SECTION("not PEM") {
        const auto path = tmp.write("key.txt", "not a key\n");
        const auto e = load_error(cert, path, path);
        CHECK(e.kind == Kind::key_not_pem);
        CHECK(e.message == path + ": not PEM (no \"-----BEGIN PRIVATE KEY-----\" line)");
    }
    SECTION("empty") {
        const auto path = tmp.write("empty.key", "");
        CHECK(load_error(cert, path, path).kind == Kind::key_missing);
    }
    SECTION("the certificate file named as the key") {
        const auto e = load_error(cert, cert, cert);
        CHECK(e.kind == Kind::key_missing);
        CHECK(e.message == cert + ": no private key in it (it holds CERTIFICATE)");
    }
    SECTION("encrypted, PKCS#8 and traditional") {
        const auto c = self_signed();
        const auto cert_path = tmp.write("cert.pem", c.chain_pem());
        for (bool pkcs8 : {true, false}) {
            INFO((pkcs8 ? "PKCS#8" : "traditional"));
            const auto path = tmp.write("encrypted.key", encrypted_key(c, pkcs8));
            const auto e = load_error(cert_path, path, path);
            CHECK(e.kind == Kind::key_encrypted);
            CHECK(e.message.rfind(path + ": the private key is encrypted", 0) == 0);
        }
    }
    SECTION("a PRIVATE KEY block that is not a key") {
        const auto path = tmp.write(
            "junk.key", "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n");
        const auto e = load_error(cert, path, path);
        CHECK(e.kind == Kind::key_invalid);
        CHECK(e.message.rfind(path + ": the private key does not parse (", 0) == 0);
    }
    SECTION("a damaged PEM block") {
        std::string damaged = read_text(dir / "leaf.key");
        damaged.erase(damaged.find('\n', 30) + 1, 7);
        const auto path = tmp.write("damaged.key", damaged);
        const auto e = load_error(cert, path, path);
        CHECK(e.kind == Kind::key_invalid);
        CHECK(e.message.find("damaged PEM") != std::string::npos);
    }
    SECTION("a key that does not match the certificate") {
        const auto other = self_signed();
        const auto path = tmp.write("other.key", other.key_pem());
        const auto e = load_error(cert, path, path);
        CHECK(e.kind == Kind::key_mismatch);
        CHECK(e.message == path + ": the private key does not match the certificate in " + cert);
    }
    SECTION("a chain in the wrong order (the CA first)") {
        const auto path = tmp.write("reversed.pem", read_text(dir / "ca.pem") + read_text(dir / "leaf.pem"));
        const auto key = (dir / "leaf.key").string();
        const auto e = load_error(path, key, key);
        CHECK(e.kind == Kind::key_mismatch);
        CHECK(e.message == key + ": the private key does not match the certificate in " + path +
                               " (it matches certificate 2: the leaf must come first)");
    }
    SECTION("an RSA key for an EC certificate") {
        EVP_PKEY* rsa = EVP_RSA_gen(2048);
        REQUIRE(rsa);
        BIO* bio = BIO_new(BIO_s_mem());
        REQUIRE(PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr) == 1);
        const auto path = tmp.write("rsa.key", bio_text(bio));
        BIO_free(bio);
        EVP_PKEY_free(rsa);
        CHECK(load_error(cert, path, path).kind == Kind::key_mismatch);
    }
}

TEST_CASE("Credentials::make_self_signed: a P-256 certificate for a host name", "[crypto][tls_credentials]") {
    const auto now = wall_now();
    const auto c = self_signed("relay.example.net", 365, now);
    REQUIRE(c.chain().size() == 1);
    CHECK(common_name(c.leaf()) == "relay.example.net");
    CHECK(alt_names(c.leaf()) == std::vector<std::string>{"DNS:relay.example.net"});
    CHECK(X509_check_host(c.leaf(), "relay.example.net", 0, 0, nullptr) == 1);
    CHECK(X509_check_host(c.leaf(), "other.example.net", 0, 0, nullptr) == 0);

    const auto v = c.validity(now);
    CHECK(v.status == Status::valid);
    CHECK(v.not_before == now - 1h);
    CHECK(v.not_after == now + std::chrono::days(365));
    CHECK(c.validity(now - 1h - 1s).status == Status::not_yet_valid);
    CHECK(c.validity(now + std::chrono::days(366)).status == Status::expired);

    CHECK(EVP_PKEY_is_a(c.private_key(), "EC") == 1);
    char group[32] = {};
    CHECK(EVP_PKEY_get_group_name(c.private_key(), group, sizeof group, nullptr) == 1);
    CHECK(std::string(group) == "prime256v1");
    CHECK(X509_check_private_key(c.leaf(), c.private_key()) == 1);
    CHECK(X509_verify(c.leaf(), c.private_key()) == 1);  // self-signed by its own key
    CHECK((X509_get_extension_flags(c.leaf()) & EXFLAG_CA) == 0);
    CHECK((X509_get_extended_key_usage(c.leaf()) & XKU_SSL_SERVER) != 0);
    // A client that trusts this one certificate (tls_ca = the saved file) accepts it.
    CHECK(trusted_for(c, "relay.example.net", now));
    CHECK_FALSE(trusted_for(c, "other.example.net", now));

    // Every certificate gets its own key and serial.
    const auto again = self_signed("relay.example.net", 365, now);
    CHECK(again.pin() != c.pin());
    CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(again.leaf()), X509_get0_serialNumber(c.leaf())) != 0);
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("Credentials::make_self_signed: an IP address becomes an IP subjectAltName",
          "[crypto][tls_credentials]") {
    struct Row {
        const char* name;
        const char* san;
    };
    for (const auto& row : {Row{"192.0.2.7", "IP:4"}, Row{"2001:db8::1", "IP:16"}, Row{"::1", "IP:16"}}) {
        INFO(row.name);
        const auto c = self_signed(row.name);
        CHECK(common_name(c.leaf()) == row.name);
        CHECK(alt_names(c.leaf()) == std::vector<std::string>{row.san});
        CHECK(X509_check_ip_asc(c.leaf(), row.name, 0) == 1);
    }
}

TEST_CASE("Credentials::make_self_signed: dates past 2049 (GeneralizedTime) read back exactly",
          "[crypto][tls_credentials]") {
    // 2045-06-01 12:34:56 UTC, valid for 3650 days: notBefore a UTCTime, notAfter in 2055.
    const std::chrono::sys_seconds now =
        std::chrono::sys_days{std::chrono::year{2045} / 6 / 1} + 12h + 34min + 56s;
    const auto c = self_signed("relay.example.net", 3650, now);
    const auto v = c.validity(now);
    CHECK(v.not_before_text == "2045-06-01 11:34:56Z");
    CHECK(v.not_after_text == "2055-05-30 12:34:56Z");
    // The same dates after a round trip through PEM, which parses the ASN.1 times again.
    const TempDir tmp;
    const auto reloaded = load(tmp.write("c.pem", c.chain_pem()), tmp.write("k.pem", c.key_pem()));
    CHECK(reloaded.validity(now).not_before == v.not_before);
    CHECK(reloaded.validity(now).not_after == v.not_after);
}

TEST_CASE("Credentials::make_self_signed: refuses names and lifetimes it cannot certify",
          "[crypto][tls_credentials]") {
    struct Row {
        std::string name;
        int days;
        std::string why;
    };
    const Row rows[] = {
        {"", 365, "\"\" is neither an IP address nor a host name"},
        {"relay example", 365, "\"relay example\" is neither"},
        {"a,DNS:evil.example", 365, "is neither"},
        {"[::1]", 365, "is neither"},
        {"fe80::1%eth0", 365, "is neither"},
        {".example.net", 365, "is neither"},
        {std::string(65, 'a'), 365, "at most 64 characters"},
        {"relay.example.net", 0, "1 to 3650 days, not 0"},
        {"relay.example.net", -1, "1 to 3650 days, not -1"},
        {"relay.example.net", 3651, "1 to 3650 days, not 3651"},
    };
    for (const auto& row : rows) {
        INFO(row.name << " " << row.days);
        std::string why;
        CHECK_FALSE(Credentials::make_self_signed(row.name, row.days, wall_now(), why).has_value());
        CHECK(why.find(row.why) != std::string::npos);
    }
    CHECK(self_signed(std::string(64, 'a')).chain().size() == 1);
}

TEST_CASE("Credentials: PEM export reloads to the same chain and key", "[crypto][tls_credentials]") {
    const TempDir tmp;
    const auto c = self_signed();
    const auto key_pem = c.key_pem();
    CHECK(key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);  // PKCS#8, unencrypted
    CHECK(c.chain_pem().rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
    const auto reloaded = load(tmp.write("c.pem", c.chain_pem()), tmp.write("k.pem", key_pem));
    CHECK(reloaded.pin() == c.pin());
    CHECK(X509_cmp(reloaded.leaf(), c.leaf()) == 0);
    CHECK(EVP_PKEY_eq(reloaded.private_key(), c.private_key()) == 1);

    // The CLI's chain file comes out byte for byte as it went in.
    const auto dir = vectors_dir();
    const auto vector = load((dir / "chain.pem").string(), (dir / "leaf.key").string());
    CHECK(vector.chain_pem() == read_text(dir / "chain.pem"));

    // from_pem is load_pem without the files; copies share the objects.
    CredentialsError error;
    const auto from_text = Credentials::from_pem(c.chain_pem(), key_pem, "cert", "key", error);
    REQUIRE(from_text.has_value());
    CHECK(from_text->pin() == c.pin());
    const Credentials copy = c;
    CHECK(copy.leaf() == c.leaf());
    CHECK(copy.private_key() == c.private_key());
}

TEST_CASE("spki_pin: a generated certificate's pin agrees with the openssl CLI",
          "[crypto][tls_credentials]") {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
        WARN("no openssl command: only the vectors' pins (made by it) are checked");
        return;
    }
    const TempDir tmp;
    const auto c = self_signed();
    const auto cert = tmp.write("cert.pem", c.chain_pem());
    const auto out = tmp.path + "/pin.txt";
    const std::string command = "openssl x509 -in '" + cert +
                                "' -pubkey -noout | openssl pkey -pubin -outform der | " +
                                "openssl dgst -sha256 -binary | base64 > '" + out + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(c.pin() + "\n" == "sha256/" + read_text(out));
}

TEST_CASE("parse_pin: the pins the CLI wrote, and back", "[crypto][tls_credentials]") {
    const auto want = expected();
    for (const auto* name : {"leaf_pin", "ca_pin"}) {
        const auto& text = want.at(name);
        CHECK(format_pin(pin_of(text)) == text);
    }
    SpkiHash counting{};
    for (std::size_t i = 0; i < counting.size(); ++i) counting[i] = static_cast<std::byte>(i);
    // python3 -c 'import base64; print(base64.b64encode(bytes(range(32))).decode())'
    CHECK(format_pin(counting) == "sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    CHECK(pin_of("sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") == counting);
}

TEST_CASE("parse_pin: refuses a wrong prefix, bad base64 and a wrong length", "[crypto][tls_credentials]") {
    const std::string good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    struct Row {
        std::string text;
        std::string why;
    };
    const Row rows[] = {
        {"", "a pin starts with \"sha256/\""},
        {good, "a pin starts with \"sha256/\""},
        {"sha1/" + good, "a pin starts with \"sha256/\""},
        {"SHA256/" + good, "a pin starts with \"sha256/\""},
        {"pin-sha256=\"" + good + "\"", "a pin starts with \"sha256/\""},
        {" sha256/" + good, "a pin starts with \"sha256/\""},
        {"sha256//" + good, "one '/' after sha256 (curl's --pinnedpubkey writes two)"},
        {"sha256/", "44 base64 characters (32 bytes), got 0"},
        {"sha256/" + good + "\n", "got 45"},
        {"sha256/" + good.substr(1), "got 43"},
        // base64 of 33 bytes: 44 characters, no padding.
        {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", "ends in one '='"},
        // base64 of 31 bytes: 44 characters with "==".
        {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "invalid base64 character at position 50"},
        // base64url instead of standard base64.
        {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-=", "invalid base64 character at position 50"},
        {"sha256/AAECAwQFBgcICQoLDA0OD$AREhMUFRYXGBkaGxwdHh8=", "invalid base64 character at position 29"},
        // The same 32 bytes with the unused low bits of the last character set.
        {"sha256/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", "stray low bits"},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        std::string why;
        CHECK_FALSE(parse_pin(row.text, why).has_value());
        CHECK(why.find(row.why) != std::string::npos);
        CHECK(why.find("the form is sha256/<44 characters of standard base64") != std::string::npos);
    }
}

TEST_CASE("matches_pin: the leaf's SPKI against a set of pins", "[crypto][tls_credentials]") {
    const auto want = expected();
    const auto dir = vectors_dir();
    const auto c = load((dir / "chain.pem").string(), (dir / "leaf.key").string());
    const auto leaf = pin_of(want.at("leaf_pin"));
    const auto ca = pin_of(want.at("ca_pin"));
    CHECK(matches_pin(c.leaf(), std::vector<SpkiHash>{leaf}));
    CHECK(matches_pin(c.leaf(), std::vector<SpkiHash>{ca, leaf}));  // a rollover: old and new
    CHECK_FALSE(matches_pin(c.leaf(), std::vector<SpkiHash>{ca}));
    CHECK_FALSE(matches_pin(c.leaf(), std::vector<SpkiHash>{}));
    CHECK(matches_pin(c.chain()[1], std::vector<SpkiHash>{ca}));
    CHECK_FALSE(matches_pin(nullptr, std::vector<SpkiHash>{leaf}));
    CHECK(spki_pin(nullptr).empty());
}

// '/' is a base64 character: about one hash in 64 begins with it, and its pin reads
// "sha256//...". Found by system.invite with a certificate whose pin did.
TEST_CASE("parse_pin: a hash whose base64 begins with '/'", "[crypto][tls_credentials]") {
    porthop::crypto::SpkiHash hash;
    hash.fill(std::byte{0xff});
    const auto text = porthop::crypto::format_pin(hash);
    REQUIRE(text.rfind("sha256//", 0) == 0);
    std::string why;
    const auto back = porthop::crypto::parse_pin(text, why);
    INFO(why);
    REQUIRE(back);
    CHECK(*back == hash);
}
