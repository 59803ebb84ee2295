// The server's TLS identity (issue 15, TLS on TCP 443): a certificate chain and its private key,
// loaded from PEM files or generated self-signed, exported as PEM, and the SPKI pins an agent
// checks a server by. Pure: no sockets and no clock (times are passed in), files only in
// load_pem. Built on OpenSSL 3 (libcrypto; the TLS contexts that use these live in net/).
//
// OpenSSL's types stay out of this header: x509_st and evp_pkey_st (X509, EVP_PKEY) are only
// declared, so code that includes it needs no OpenSSL headers. Code that hands the objects to
// OpenSSL (net/'s TLS context) includes <openssl/x509.h> itself and uses the raw accessors below;
// nothing else can do anything with the pointers. (Chosen over a void* native_handle(): the
// compiler still checks that an X509 is not passed where an EVP_PKEY is expected.)
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct x509_st;      // OpenSSL's X509
struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace porthop::crypto {

// What went wrong loading credentials. `message` is what an operator reads: it names the file
// and the problem ("/etc/porthop/cert.pem: no certificate in it"); `kind` lets callers and
// tests tell the cases apart without matching text.
struct CredentialsError {
    enum class Kind {
        cert_unreadable,  // cannot open or read the certificate file
        cert_not_pem,     // no PEM block at all (DER, text, random bytes)
        cert_missing,     // PEM, but no CERTIFICATE block (e.g. the key file named twice); or empty
        cert_invalid,     // a CERTIFICATE block that does not parse, or dates that cannot be read
        key_unreadable,   // cannot open or read the key file
        key_not_pem,      // no PEM block at all
        key_missing,      // PEM, but no private key block
        key_encrypted,    // a passphrase-protected key (porthop cannot ask for the passphrase)
        key_invalid,      // a private key block that does not parse
        key_mismatch,     // the key is not the one the leaf certificate was issued for
    };
    Kind kind = Kind::cert_unreadable;
    std::string message;
};

// A certificate's validity at a given time. RFC 5280 4.1.2.5: valid from notBefore through
// notAfter, both inclusive. Expired or not-yet-valid certificates are not load errors (nginx
// serves them too); the server warns with to_string().
struct Validity {
    enum class Status { valid, expired, not_yet_valid };
    Status status = Status::valid;
    std::chrono::sys_seconds not_before{};
    std::chrono::sys_seconds not_after{};
    // The same dates as "2026-12-07 04:14:13Z" (what `openssl x509 -dates -dateopt iso_8601`
    // prints), for log lines.
    std::string not_before_text;
    std::string not_after_text;
    // "valid from A until B", "expired on B (valid from A)", "not valid before A (until B)".
    std::string to_string() const;
};

// The SHA-256 of a certificate's DER SubjectPublicKeyInfo: what a pin names. It survives a
// renewal that keeps the key (certbot --reuse-key), unlike a hash of the whole certificate.
inline constexpr std::size_t kSpkiHashSize = 32;
using SpkiHash = std::array<std::byte, kSpkiHashSize>;

// A certificate chain, leaf first, and the leaf's private key. Immutable; copies share the same
// OpenSSL objects (a reload builds a new one, and TLS contexts built from an old one keep
// their own references to its objects).
class Credentials {
public:
    // Reads a PEM certificate file (the leaf, then any intermediates, in order; other PEM blocks
    // such as a key in the same file are skipped) and a PEM private key file (PKCS#8, or
    // traditional EC/RSA; unencrypted). Both paths may name the same file. Checks that the key
    // matches the leaf. Dates are not checked: see validity(). Files over 1 MiB are refused
    // (cert_unreadable / key_unreadable) rather than read whole.
    static std::optional<Credentials> load_pem(const std::string& cert_path, const std::string& key_path,
                                               CredentialsError& error);
    // The same from PEM text in memory; the names stand for the files in messages.
    static std::optional<Credentials> from_pem(std::string_view cert_pem, std::string_view key_pem,
                                               std::string_view cert_name, std::string_view key_name,
                                               CredentialsError& error);

    // A new P-256 key and a self-signed certificate for `name`: CN = name and one
    // subjectAltName, an IP address if `name` parses as IPv4 or IPv6, otherwise a DNS name
    // (letters, digits, '-', '.', '_', '*'; at most 64 characters, the CN limit). Valid from
    // now - 1 hour (a client whose clock runs a little behind still accepts it) to
    // now + days (1-3650). A random 128-bit serial, basicConstraints CA:FALSE, extendedKeyUsage
    // serverAuth, signed with ECDSA-SHA256. On failure returns nullopt with the reason in `why`.
    static std::optional<Credentials> make_self_signed(std::string_view name, int days,
                                                       std::chrono::sys_seconds now, std::string& why);

    // PEM export, so that a generated certificate can be saved and reloaded with load_pem:
    // every certificate of the chain, leaf first, and the key as unencrypted PKCS#8
    // ("BEGIN PRIVATE KEY"). The key text is a secret: write it 0600.
    std::string chain_pem() const;
    std::string key_pem() const;

    // The leaf's validity at `now`.
    Validity validity(std::chrono::sys_seconds now) const;
    // spki_pin(leaf()).
    std::string pin() const;

    // Raw objects for net/'s TLS context (SSL_CTX_use_certificate, SSL_CTX_add1_chain_cert,
    // SSL_CTX_use_PrivateKey, which take references of their own). Borrowed: valid while this
    // object or a copy of it lives. They are shared with every copy, so callers must not modify
    // them. Never null.
    x509_st* leaf() const noexcept;
    std::span<x509_st* const> chain() const noexcept;  // leaf first; at least the leaf
    evp_pkey_st* private_key() const noexcept;

    struct Impl;  // defined in tls_credentials.cpp

private:
    explicit Credentials(std::shared_ptr<const Impl> impl) noexcept;
    std::shared_ptr<const Impl> impl_;
};

// SHA-256 of the certificate's DER SubjectPublicKeyInfo; nullopt only if OpenSSL fails (out of
// memory) or `cert` is null.
std::optional<SpkiHash> spki_hash(const x509_st* cert);
// "sha256/<standard base64 of the SHA-256 of the DER SubjectPublicKeyInfo>", as
//   openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
// prints it behind the prefix (HPKP's pin-sha256 value; curl's --pinnedpubkey writes the same
// hash as "sha256//..."). Empty if spki_hash fails.
std::string spki_pin(const x509_st* cert);
std::string format_pin(const SpkiHash& hash);
// The inverse of format_pin: exactly "sha256/" and 44 characters of canonical standard base64
// (one '=' of padding, the unused low bits zero). No whitespace is skipped: the config layer
// trims. On failure returns nullopt with a reason in `why` that names the expected form.
std::optional<SpkiHash> parse_pin(std::string_view text, std::string& why);
// True iff the certificate's SPKI hash is one of `pins` (more than one: a key rollover).
bool matches_pin(const x509_st* cert, std::span<const SpkiHash> pins);

}  // namespace porthop::crypto
