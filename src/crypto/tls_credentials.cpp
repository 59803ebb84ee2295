#include "porthop/crypto/tls_credentials.hpp"

#include "base64_32.hpp"

#include <arpa/inet.h>  // inet_pton: parsing only; OpenSSL's a2i_IPADDRESS ignores junk after an IPv4 address
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>
#include <utility>

namespace porthop::crypto {

// Private helpers sit in a named namespace: the unity build compiles this file in one unit with
// mac1.cpp and others whose unnamed namespaces hold names like these.
namespace tls_credentials_impl {
namespace {

constexpr std::size_t kMaxFileSize = 1 << 20;  // a long chain is a few KiB
constexpr std::string_view kTooLarge = "larger than 1 MiB, not a certificate or key file";
constexpr std::string_view kPinPrefix = "sha256/";
constexpr std::size_t kPinBase64Size = 44;  // 32 bytes: 43 characters and one '='
constexpr std::string_view kPinForm =
    "sha256/<44 characters of standard base64: the SHA-256 of the certificate's public key>";
constexpr int kMaxDays = 3650;

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct BnFree {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct GeneralNameFree {
    void operator()(GENERAL_NAME* g) const noexcept { GENERAL_NAME_free(g); }
};
struct GeneralNamesFree {
    void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};
struct ExtensionFree {
    void operator()(X509_EXTENSION* e) const noexcept { X509_EXTENSION_free(e); }
};
struct FileClose {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Every public function leaves OpenSSL's per-thread error queue as it found it: errors left
// behind would be reported by the next unrelated OpenSSL call on this thread (a TLS read, say).
class ErrorMark {
public:
    ErrorMark() noexcept { ERR_set_mark(); }
    ~ErrorMark() { ERR_pop_to_mark(); }
    ErrorMark(const ErrorMark&) = delete;
    ErrorMark& operator=(const ErrorMark&) = delete;
};

// OpenSSL's reason for the last failure, for messages ("bad base64 decode").
std::string openssl_reason() {
    const char* reason = ERR_reason_error_string(ERR_peek_last_error());
    return reason != nullptr ? reason : "unknown OpenSSL error";
}

// Reads a whole small file. On failure `why` is "cannot open: <errno text>" or similar.
bool read_small_file(const std::string& path, std::string& text, std::string& why) {
    errno = 0;
    std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        why = "cannot open: " + std::generic_category().message(errno);
        return false;
    }
    text.clear();
    char buffer[4096];
    for (;;) {
        const std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
        text.append(buffer, n);
        if (text.size() > kMaxFileSize) {
            why = kTooLarge;
            return false;
        }
        if (n < sizeof buffer) {
            if (std::ferror(file.get()) != 0) {  // a directory: EISDIR
                why = "cannot read: " + std::generic_category().message(errno);
                return false;
            }
            return true;
        }
    }
}

BioPtr memory_bio(std::string_view text) {  // text.size() <= kMaxFileSize
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

struct PemBlock {
    std::string name;    // "CERTIFICATE", "PRIVATE KEY", ...
    std::string header;  // RFC 1421 headers, e.g. "Proc-Type: 4,ENCRYPTED"
    std::string der;
};

struct PemScan {
    std::vector<PemBlock> blocks;
    bool damaged = false;  // a BEGIN line whose block does not decode
    std::string damage;    // OpenSSL's reason

    PemScan() = default;
    PemScan(PemScan&&) = default;
    ~PemScan() {  // a key's DER is a secret
        for (auto& b : blocks) OPENSSL_cleanse(b.der.data(), b.der.size());
    }
};

PemScan scan_pem(std::string_view text) {
    PemScan scan;
    BioPtr bio = memory_bio(text);
    if (!bio) {
        scan.damaged = true;
        scan.damage = "out of memory";
        return scan;
    }
    for (;;) {
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* data = nullptr;
        long length = 0;
        if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
            // NO_START_LINE: no further BEGIN line, the normal end of the file. Anything else
            // is a block that starts and then does not decode.
            const unsigned long e = ERR_peek_last_error();
            if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
                scan.damaged = true;
                scan.damage = openssl_reason();
            }
            return scan;
        }
        scan.blocks.push_back(
            {name, header,
             std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length))});
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, static_cast<std::size_t>(length));
    }
}

bool only_blanks(std::string_view text) {
    return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// "CERTIFICATE, PRIVATE KEY": what a file holds instead of what was asked for.
std::string block_names(const PemScan& scan) {
    std::string names;
    for (const auto& b : scan.blocks) {
        if (!names.empty()) names += ", ";
        names += b.name;
    }
    return names;
}

std::string with_name(std::string_view file, std::string_view problem) {
    std::string m(file);
    m += ": ";
    m += problem;
    return m;
}

void fail(CredentialsError& error, CredentialsError::Kind kind, std::string message) {
    error.kind = kind;
    error.message = std::move(message);
}

bool is_private_key_block(const PemBlock& b) {
    return b.name.size() >= 11 && b.name.compare(b.name.size() - 11, 11, "PRIVATE KEY") == 0;
}

// Refuses to prompt: OpenSSL's default would read a passphrase from the terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

std::chrono::sys_seconds to_sys_seconds(const std::tm& t) {
    using namespace std::chrono;
    const year_month_day date{year{t.tm_year + 1900}, month{static_cast<unsigned>(t.tm_mon + 1)},
                              day{static_cast<unsigned>(t.tm_mday)}};
    return sys_days{date} + hours{t.tm_hour} + minutes{t.tm_min} + seconds{t.tm_sec};
}

std::optional<std::chrono::sys_seconds> read_time(const ASN1_TIME* time) {
    std::tm t{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &t) != 1) return std::nullopt;
    return to_sys_seconds(t);
}

// "2026-12-07 04:14:13Z" (iso_8601 == true) or "20261207041413Z" (for ASN1_TIME_set_string_X509).
std::string format_time(std::chrono::sys_seconds t, bool iso_8601) {
    using namespace std::chrono;
    const auto day_start = floor<days>(t);
    const year_month_day date{day_start};
    const auto s = (t - day_start).count();
    char text[40];
    std::snprintf(text, sizeof text,
                  iso_8601 ? "%04d-%02u-%02u %02lld:%02lld:%02lldZ" : "%04d%02u%02u%02lld%02lld%02lldZ",
                  static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()), static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    return text;
}

// A host name for a certificate: what a DNS name may hold (and '*' for a wildcard, '_' as some
// internal names have). Keeps spaces, commas and control characters out of the CN and SAN.
bool is_dns_name(std::string_view name) {
    if (name.empty() || name.front() == '.' || name.front() == '-' ||
        name.find("..") != std::string_view::npos)
        return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '.' || c == '_' || c == '*';
        if (!ok) return false;
    }
    return true;
}

// The IPv4 (4 bytes) or IPv6 (16 bytes) address `name` spells exactly, or empty.
std::string ip_address_bytes(const std::string& name) {
    unsigned char bytes[16];
    if (inet_pton(AF_INET, name.c_str(), bytes) == 1) return std::string(reinterpret_cast<char*>(bytes), 4);
    if (inet_pton(AF_INET6, name.c_str(), bytes) == 1) return std::string(reinterpret_cast<char*>(bytes), 16);
    return {};
}

bool add_conf_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    std::unique_ptr<X509_EXTENSION, ExtensionFree> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// One subjectAltName: an IP address entry if `ip` is not empty, else a DNS name.
bool add_subject_alt_name(X509* cert, const std::string& name, const std::string& ip) {
    std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(sk_GENERAL_NAME_new_null());
    std::unique_ptr<GENERAL_NAME, GeneralNameFree> entry(GENERAL_NAME_new());
    if (!names || !entry) return false;
    ASN1_STRING* value = ip.empty() ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
    const std::string& bytes = ip.empty() ? name : ip;
    if (value == nullptr || ASN1_STRING_set(value, bytes.data(), static_cast<int>(bytes.size())) != 1) {
        ASN1_STRING_free(value);
        return false;
    }
    GENERAL_NAME_set0_value(entry.get(), ip.empty() ? GEN_DNS : GEN_IPADD, value);  // entry owns value
    if (sk_GENERAL_NAME_push(names.get(), entry.get()) == 0) return false;
    entry.release();  // names owns it
    return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

}  // namespace
}  // namespace tls_credentials_impl

namespace impl = tls_credentials_impl;

struct Credentials::Impl {
    std::vector<X509*> chain;  // owned, leaf first
    EVP_PKEY* key = nullptr;   // owned
    std::chrono::sys_seconds not_before{};
    std::chrono::sys_seconds not_after{};

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        for (X509* x : chain) X509_free(x);
        EVP_PKEY_free(key);
    }
};

Credentials::Credentials(std::shared_ptr<const Impl> impl) noexcept : impl_(std::move(impl)) {}

x509_st* Credentials::leaf() const noexcept { return impl_->chain.front(); }
std::span<x509_st* const> Credentials::chain() const noexcept { return impl_->chain; }
evp_pkey_st* Credentials::private_key() const noexcept { return impl_->key; }
std::string Credentials::pin() const { return spki_pin(leaf()); }

std::optional<Credentials> Credentials::from_pem(std::string_view cert_pem, std::string_view key_pem,
                                                 std::string_view cert_name, std::string_view key_name,
                                                 CredentialsError& error) {
    using Kind = CredentialsError::Kind;
    const impl::ErrorMark mark;
    // (Also keeps the sizes within the int that OpenSSL's memory BIO takes.)
    if (cert_pem.size() > impl::kMaxFileSize) {
        impl::fail(error, Kind::cert_unreadable, impl::with_name(cert_name, impl::kTooLarge));
        return std::nullopt;
    }
    if (key_pem.size() > impl::kMaxFileSize) {
        impl::fail(error, Kind::key_unreadable, impl::with_name(key_name, impl::kTooLarge));
        return std::nullopt;
    }
    auto impl = std::make_shared<Impl>();

    // The chain: every CERTIFICATE block in order; other blocks (a key kept in the same file,
    // EC PARAMETERS as `openssl ecparam` writes them) are not ours to judge here.
    const impl::PemScan certs = impl::scan_pem(cert_pem);
    if (certs.damaged) {
        impl::fail(error, Kind::cert_invalid,
                   impl::with_name(cert_name, "damaged PEM (" + certs.damage + ")"));
        return std::nullopt;
    }
    if (certs.blocks.empty()) {
        if (impl::only_blanks(cert_pem))
            impl::fail(error, Kind::cert_missing, impl::with_name(cert_name, "empty, no certificate in it"));
        else
            impl::fail(error, Kind::cert_not_pem,
                       impl::with_name(cert_name, "not PEM (no \"-----BEGIN CERTIFICATE-----\" line)"));
        return std::nullopt;
    }
    std::size_t number = 0;  // of the certificate, for messages
    for (const auto& block : certs.blocks) {
        if (block.name != PEM_STRING_X509 && block.name != PEM_STRING_X509_OLD) continue;
        ++number;
        const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
        X509* cert = d2i_X509(nullptr, &p, static_cast<long>(block.der.size()));
        if (cert == nullptr) {
            impl::fail(error, Kind::cert_invalid,
                       impl::with_name(cert_name, "certificate " + std::to_string(number) +
                                                      " does not parse (" + impl::openssl_reason() + ")"));
            return std::nullopt;
        }
        impl->chain.push_back(cert);  // impl frees it, also on the error below
        if (p != reinterpret_cast<const unsigned char*>(block.der.data()) + block.der.size()) {
            impl::fail(error, Kind::cert_invalid,
                       impl::with_name(cert_name, "certificate " + std::to_string(number) +
                                                      " does not parse (bytes after its end)"));
            return std::nullopt;
        }
    }
    if (impl->chain.empty()) {
        impl::fail(
            error, Kind::cert_missing,
            impl::with_name(cert_name, "no certificate in it (it holds " + impl::block_names(certs) + ")"));
        return std::nullopt;
    }
    const auto not_before = impl::read_time(X509_get0_notBefore(impl->chain.front()));
    const auto not_after = impl::read_time(X509_get0_notAfter(impl->chain.front()));
    if (!not_before || !not_after) {
        impl::fail(error, Kind::cert_invalid,
                   impl::with_name(cert_name, "the certificate's dates cannot be read"));
        return std::nullopt;
    }
    impl->not_before = *not_before;
    impl->not_after = *not_after;

    // The key: classified from the blocks first, so that each way of getting it wrong has its
    // own message; then decoded by OpenSSL, which knows every private key format by its name.
    const impl::PemScan keys = impl::scan_pem(key_pem);
    if (keys.damaged) {
        impl::fail(error, Kind::key_invalid, impl::with_name(key_name, "damaged PEM (" + keys.damage + ")"));
        return std::nullopt;
    }
    if (keys.blocks.empty()) {
        if (impl::only_blanks(key_pem))
            impl::fail(error, Kind::key_missing, impl::with_name(key_name, "empty, no private key in it"));
        else
            impl::fail(error, Kind::key_not_pem,
                       impl::with_name(key_name, "not PEM (no \"-----BEGIN PRIVATE KEY-----\" line)"));
        return std::nullopt;
    }
    const impl::PemBlock* key_block = nullptr;
    for (const auto& block : keys.blocks) {
        if (impl::is_private_key_block(block)) {
            key_block = &block;
            break;
        }
    }
    if (key_block == nullptr) {
        impl::fail(
            error, Kind::key_missing,
            impl::with_name(key_name, "no private key in it (it holds " + impl::block_names(keys) + ")"));
        return std::nullopt;
    }
    if (key_block->name == PEM_STRING_PKCS8 || key_block->header.find("ENCRYPTED") != std::string::npos) {
        impl::fail(error, Kind::key_encrypted,
                   impl::with_name(key_name,
                                   "the private key is encrypted; porthop needs it unencrypted "
                                   "(openssl pkey -in KEY -out KEY.plain)"));
        return std::nullopt;
    }
    impl::BioPtr bio = impl::memory_bio(key_pem);
    impl->key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, impl::no_passphrase, nullptr) : nullptr;
    if (impl->key == nullptr) {
        impl::fail(
            error, Kind::key_invalid,
            impl::with_name(key_name, "the private key does not parse (" + impl::openssl_reason() + ")"));
        return std::nullopt;
    }
    // Compares the public halves (EVP_PKEY_eq), whatever the key types.
    if (X509_check_private_key(impl->chain.front(), impl->key) != 1) {
        std::string problem = "the private key does not match the certificate in " + std::string(cert_name);
        // A chain written in the wrong order is a common slip worth naming.
        for (std::size_t i = 1; i < impl->chain.size(); ++i)
            if (X509_check_private_key(impl->chain[i], impl->key) == 1)
                problem +=
                    " (it matches certificate " + std::to_string(i + 1) + ": the leaf must come first)";
        impl::fail(error, Kind::key_mismatch, impl::with_name(key_name, problem));
        return std::nullopt;
    }
    return Credentials(std::move(impl));
}

std::optional<Credentials> Credentials::load_pem(const std::string& cert_path, const std::string& key_path,
                                                 CredentialsError& error) {
    using Kind = CredentialsError::Kind;
    std::string cert_text;
    std::string key_text;
    std::string why;
    if (!impl::read_small_file(cert_path, cert_text, why)) {
        impl::fail(error, Kind::cert_unreadable, impl::with_name(cert_path, why));
        return std::nullopt;
    }
    if (!impl::read_small_file(key_path, key_text, why)) {
        impl::fail(error, Kind::key_unreadable, impl::with_name(key_path, why));
        return std::nullopt;
    }
    auto credentials = from_pem(cert_text, key_text, cert_path, key_path, error);
    OPENSSL_cleanse(key_text.data(), key_text.size());  // the key's only copy outside OpenSSL
    return credentials;
}

std::optional<Credentials> Credentials::make_self_signed(std::string_view name, int days,
                                                         std::chrono::sys_seconds now, std::string& why) {
    const impl::ErrorMark mark;
    const std::string host(name);
    const std::string ip = impl::ip_address_bytes(host);
    if (ip.empty() && !impl::is_dns_name(host)) {
        why = "\"" + host + "\" is neither an IP address nor a host name (letters, digits, '-', '.')";
        return std::nullopt;
    }
    if (host.size() > 64) {  // RFC 5280's upper bound for a CN (ub-common-name)
        why = "a certificate name has at most 64 characters, \"" + host + "\" has " +
              std::to_string(host.size());
        return std::nullopt;
    }
    if (days < 1 || days > impl::kMaxDays) {
        why = "a certificate is valid for 1 to " + std::to_string(impl::kMaxDays) + " days, not " +
              std::to_string(days);
        return std::nullopt;
    }

    auto impl = std::make_shared<Impl>();
    impl->key = EVP_EC_gen("P-256");
    impl::X509Ptr cert(X509_new());
    if (impl->key == nullptr || !cert) {
        why = "cannot generate a P-256 key (" + impl::openssl_reason() + ")";
        return std::nullopt;
    }

    // A random positive 127-bit serial: clients that cached an earlier certificate for this
    // name under the same issuer and serial would reject the new one (RFC 5280 wants them
    // unique per issuer).
    unsigned char serial_bytes[16];
    bool ok = RAND_bytes(serial_bytes, sizeof serial_bytes) == 1;
    serial_bytes[0] = static_cast<unsigned char>((serial_bytes[0] & 0x7f) | 0x40);  // positive, 16 bytes
    std::unique_ptr<BIGNUM, impl::BnFree> serial(ok ? BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr)
                                                    : nullptr);

    impl->not_before = now - std::chrono::hours(1);
    impl->not_after = now + std::chrono::days(days);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509V3_CTX ctx;
    ok = ok && serial && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
         BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
         X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(host.data()),
                                    static_cast<int>(host.size()), -1, 0) == 1 &&
         X509_set_issuer_name(cert.get(), subject) == 1 &&
         // Picks UTCTime up to 2049 and GeneralizedTime after, as RFC 5280 asks.
         ASN1_TIME_set_string_X509(X509_getm_notBefore(cert.get()),
                                   impl::format_time(impl->not_before, false).c_str()) == 1 &&
         ASN1_TIME_set_string_X509(X509_getm_notAfter(cert.get()),
                                   impl::format_time(impl->not_after, false).c_str()) == 1 &&
         X509_set_pubkey(cert.get(), impl->key) == 1;
    if (ok) {
        X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
        ok = impl::add_subject_alt_name(cert.get(), host, ip) &&
             impl::add_conf_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             impl::add_conf_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth") &&
             impl::add_conf_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash") &&
             X509_sign(cert.get(), impl->key, EVP_sha256()) > 0;
    }
    if (!ok) {
        why = "cannot make a certificate for \"" + host + "\" (" + impl::openssl_reason() + ")";
        return std::nullopt;
    }
    impl->chain.push_back(cert.release());
    return Credentials(std::move(impl));
}

std::string Credentials::chain_pem() const {
    const impl::ErrorMark mark;
    impl::BioPtr bio(BIO_new(BIO_s_mem()));
    for (X509* cert : impl_->chain)
        if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
    BUF_MEM* buffer = nullptr;
    BIO_get_mem_ptr(bio.get(), &buffer);
    return std::string(buffer->data, buffer->length);
}

std::string Credentials::key_pem() const {
    const impl::ErrorMark mark;
    impl::BioPtr bio(BIO_new(BIO_s_mem()));
    // No cipher: PKCS#8 "PRIVATE KEY", the form OpenSSL 3 writes for any key type.
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return {};
    BUF_MEM* buffer = nullptr;
    BIO_get_mem_ptr(bio.get(), &buffer);
    std::string text(buffer->data, buffer->length);
    OPENSSL_cleanse(buffer->data, buffer->length);
    return text;
}

Validity Credentials::validity(std::chrono::sys_seconds now) const {
    Validity v;
    v.not_before = impl_->not_before;
    v.not_after = impl_->not_after;
    v.not_before_text = impl::format_time(v.not_before, true);
    v.not_after_text = impl::format_time(v.not_after, true);
    if (now < v.not_before)
        v.status = Validity::Status::not_yet_valid;
    else if (now > v.not_after)
        v.status = Validity::Status::expired;
    return v;
}

std::string Validity::to_string() const {
    switch (status) {
        case Status::valid:
            return "valid from " + not_before_text + " until " + not_after_text;
        case Status::expired:
            return "expired on " + not_after_text + " (valid from " + not_before_text + ")";
        case Status::not_yet_valid:
            return "not valid before " + not_before_text + " (until " + not_after_text + ")";
    }
    return {};
}

std::optional<SpkiHash> spki_hash(const x509_st* cert) {
    if (cert == nullptr) return std::nullopt;
    const impl::ErrorMark mark;
    unsigned char* der = nullptr;
    const int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (length <= 0) return std::nullopt;
    SpkiHash hash{};
    unsigned int written = 0;
    const bool ok =
        EVP_Digest(der, static_cast<std::size_t>(length), reinterpret_cast<unsigned char*>(hash.data()),
                   &written, EVP_sha256(), nullptr) == 1 &&
        written == kSpkiHashSize;
    OPENSSL_free(der);
    if (!ok) return std::nullopt;
    return hash;
}

std::string format_pin(const SpkiHash& hash) {
    unsigned char text[impl::kPinBase64Size + 1];  // EVP_EncodeBlock adds a NUL
    EVP_EncodeBlock(text, reinterpret_cast<const unsigned char*>(hash.data()), static_cast<int>(hash.size()));
    return std::string(impl::kPinPrefix) +
           std::string(reinterpret_cast<const char*>(text), impl::kPinBase64Size);
}

std::string spki_pin(const x509_st* cert) {
    const auto hash = spki_hash(cert);
    return hash ? format_pin(*hash) : std::string();
}

std::optional<SpkiHash> parse_pin(std::string_view text, std::string& why) {
    const std::string form = " (the form is " + std::string(impl::kPinForm) + ")";
    if (text.substr(0, impl::kPinPrefix.size()) != impl::kPinPrefix) {
        why = "a pin starts with \"sha256/\"" + form;
        return std::nullopt;
    }
    std::string_view b64 = text.substr(impl::kPinPrefix.size());
    Base64Error error;
    // '/' is a base64 character: about one hash in 64 begins with it ("sha256//..."), so a
    // doubled slash is curl's form only when what follows it is the 44 characters alone.
    if (auto hash = decode_base64_32(b64, error)) return hash;
    if (b64.size() == impl::kPinBase64Size + 1 && b64.front() == '/' &&
        decode_base64_32(b64.substr(1), error)) {
        why = "a pin has one '/' after sha256 (curl's --pinnedpubkey writes two)" + form;
        return std::nullopt;
    }
    decode_base64_32(b64, error);  // the first attempt's error, for the messages below
    if (error.kind != Base64Error::Kind::length && !error.ends_in_padding) {
        why = "a pin's hash ends in one '='" + form;
        return std::nullopt;
    }
    switch (error.kind) {
        case Base64Error::Kind::length:
            why = "a pin's hash is 44 base64 characters (32 bytes), got " + std::to_string(b64.size()) + form;
            break;
        case Base64Error::Kind::padding:
            why = error.position < impl::kPinBase64Size
                      ? "invalid base64 character at position " +
                            std::to_string(impl::kPinPrefix.size() + error.position) + form
                      : "a pin's hash ends in one '='" + form;
            break;
        case Base64Error::Kind::character:
            why = "invalid base64 character at position " + std::to_string(impl::kPinPrefix.size() + error.position) +
                  form;
            break;
        case Base64Error::Kind::stray_bits:
            why = "not the canonical base64 of a 32-byte hash (stray low bits before the '=')" + form;
            break;
    }
    return std::nullopt;
}

bool matches_pin(const x509_st* cert, std::span<const SpkiHash> pins) {
    const auto hash = spki_hash(cert);
    if (!hash) return false;
    for (const auto& pin : pins)
        if (pin == *hash) return true;  // public values: no need for a constant-time compare
    return false;
}

}  // namespace porthop::crypto
