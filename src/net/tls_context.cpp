// The server's and the agent's TLS contexts (tls_context.hpp says what each must do and why).
#include "porthop/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cstring>

namespace porthop::net {
namespace {

namespace ssl = boost::asio::ssl;

// What a context consults during handshakes, owned by its SSL_CTX (see the header: it must
// live as long as the SSL_CTX, which live connections keep alive after the ssl::context is gone).
struct ContextData {
    std::string alpn_wire;               // server: its ALPN list, each name behind its length byte
    std::vector<crypto::SpkiHash> pins;  // client: not empty = pin mode
};

void free_context_data(void*, void* data, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<ContextData*>(data);  // null for an SSL_CTX that never got one
}

// -1 if OpenSSL could not allocate the index.
int context_data_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_context_data);
    return index;
}

const ContextData* data_of(const SSL_CTX* ctx) {
    const int index = context_data_index();
    return index < 0 ? nullptr : static_cast<const ContextData*>(SSL_CTX_get_ex_data(ctx, index));
}

// OpenSSL's error queue as text ("error:0A0000B9:SSL routines::no cipher match"), emptied.
std::string openssl_errors() {
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
        char line[256];
        ERR_error_string_n(code, line, sizeof line);
        if (!text.empty()) text += "; ";
        text += line;
    }
    return text.empty() ? "no OpenSSL error reported" : text;
}

TlsContextResult failed(std::string what) { return {nullptr, what + ": " + openssl_errors()}; }

int version_number(TlsVersion v) { return v == TlsVersion::tls1_2 ? TLS1_2_VERSION : TLS1_3_VERSION; }

// ALPN names in the extension's wire form (RFC 7301: a length byte before each name).
bool alpn_wire(const std::vector<std::string>& names, std::string& wire, std::string& why) {
    if (names.empty()) {
        why = "the ALPN list is empty";
        return false;
    }
    for (const auto& name : names) {
        if (name.empty() || name.size() > 255) {
            why = "ALPN protocol '" + name + "' must be 1-255 bytes";
            return false;
        }
        wire += static_cast<char>(name.size());
        wire += name;
    }
    return true;
}

// Attaches `data` to `ctx` (which then owns it).
bool attach(SSL_CTX* ctx, std::unique_ptr<ContextData> data) {
    const int index = context_data_index();
    if (index < 0 || SSL_CTX_set_ex_data(ctx, index, data.get()) != 1) return false;
    data.release();
    return true;
}

// The server's choice: its own first protocol that the client offered (server preference, as
// nginx picks). No overlap: a fatal no_application_protocol alert (OpenSSL sends it for
// SSL_TLSEXT_ERR_ALERT_FATAL). OpenSSL calls this only when the client sent ALPN, and has
// already checked the extension's syntax; the bounds are checked again anyway.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
                unsigned int offered_length, void* arg) {
    const std::string& ours = static_cast<const ContextData*>(arg)->alpn_wire;
    for (std::size_t i = 0; i < ours.size(); i += 1 + static_cast<unsigned char>(ours[i])) {
        const auto length = static_cast<unsigned char>(ours[i]);
        for (unsigned int j = 0; j < offered_length && j + 1 + offered[j] <= offered_length;
             j += 1 + offered[j]) {
            if (offered[j] == length && std::memcmp(offered + j + 1, ours.data() + i + 1, length) == 0) {
                *out = offered + j + 1;  // OpenSSL copies it before the buffer goes
                *out_length = length;
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Pin mode replaces OpenSSL's whole chain verification (SSL_CTX_set_cert_verify_callback, not
// a per-certificate verify callback): no chain is built, no name or date checked, only the
// leaf's SPKI compared. The error recorded is what SSL_get_verify_result reports afterwards.
int verify_pins(X509_STORE_CTX* store, void* arg) {
    const auto& pins = static_cast<const ContextData*>(arg)->pins;
    if (crypto::matches_pin(X509_STORE_CTX_get0_cert(store), pins)) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
    }
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

// Each call starts from an empty error queue, so the messages name only its own failure.
std::shared_ptr<ssl::context> new_context(const SSL_METHOD* method) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(method);
    if (!raw) return nullptr;
    return std::make_shared<ssl::context>(raw);  // owns raw from here
}

}  // namespace

// Every name is served (the same certificate), and acknowledged as nginx's servername handler
// does: the ServerHello (1.2) or EncryptedExtensions (1.3) carries the empty server_name
// extension, and the session remembers the name. Without a callback OpenSSL sends no
// acknowledgement, which a prober comparing with a web server sees in clear in TLS 1.2.
namespace {
int accept_any_name(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }
}  // namespace

TlsContextResult make_server_context(const crypto::Credentials& credentials, const TlsServerParams& params) {
    auto data = std::make_unique<ContextData>();
    std::string why;
    if (!alpn_wire(params.alpn, data->alpn_wire, why)) return {nullptr, why};

    auto context = new_context(TLS_server_method());
    if (!context) return failed("cannot create a TLS server context");
    SSL_CTX* ctx = context->native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, version_number(params.max_version)) != 1)
        return failed("cannot set the TLS versions");
    // nginx's default ssl_ciphers; TLS 1.3's suites stay OpenSSL's defaults, as under nginx.
    if (SSL_CTX_set_cipher_list(ctx, "HIGH:!aNULL:!MD5") != 1)
        return failed("TLS 1.2 cipher list 'HIGH:!aNULL:!MD5'");
    // nginx refuses renegotiation too; compression is off in OpenSSL 3 already.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);

    if (SSL_CTX_use_certificate(ctx, credentials.leaf()) != 1) return failed("cannot use the certificate");
    const auto chain = credentials.chain();
    for (std::size_t i = 1; i < chain.size(); ++i)  // [0] is the leaf
        if (SSL_CTX_add1_chain_cert(ctx, chain[i]) != 1)
            return failed("cannot add certificate " + std::to_string(i + 1) + " of the chain");
    if (SSL_CTX_use_PrivateKey(ctx, credentials.private_key()) != 1)
        return failed("cannot use the private key");
    if (SSL_CTX_check_private_key(ctx) != 1) return failed("the private key does not match the certificate");

    // Stateless tickets only: with the cache off OpenSSL keeps no server-side session state,
    // and a ticket (sealed with this SSL_CTX's random ticket key) resumes on any worker.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_num_tickets(ctx, 2) != 1) return failed("cannot set the number of tickets");
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // As nginx: ssl_session_timeout 5m (the tickets' lifetime hint), and a 16-byte session id
    // context derived from the certificate (nginx: an MD5 over its certificates), which every
    // ticket carries, so their sizes match nginx's.
    SSL_CTX_set_timeout(ctx, 300);
    if (const auto hash = crypto::spki_hash(credentials.leaf());
        !hash || SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const unsigned char*>(hash->data()), 16) != 1)
        return failed("cannot set the session id context");
    SSL_CTX_set_tlsext_servername_callback(ctx, accept_any_name);

    ContextData* raw_data = data.get();
    if (!attach(ctx, std::move(data))) return failed("cannot attach the ALPN list to the context");
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, raw_data);
    return {std::move(context), {}};
}

TlsContextResult make_client_context(const TlsClientParams& params) {
    auto data = std::make_unique<ContextData>();
    data->pins = params.pins;
    std::string alpn, why;
    if (!params.alpn.empty() && !alpn_wire(params.alpn, alpn, why)) return {nullptr, why};
    if (version_number(params.min_version) > version_number(params.max_version))
        return {nullptr, "the lowest TLS version is above the highest"};

    auto context = new_context(TLS_client_method());
    if (!context) return failed("cannot create a TLS client context");
    SSL_CTX* ctx = context->native_handle();
    // Otherwise OpenSSL's defaults (ciphers, groups, signature algorithms): the ClientHello
    // stays in the common Debian-OpenSSL family that the JA4 pin (issue 15, 3.5) records.
    if (SSL_CTX_set_min_proto_version(ctx, version_number(params.min_version)) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, version_number(params.max_version)) != 1)
        return failed("cannot set the TLS versions");
    // SSL_CTX_set_alpn_protos returns 0 on success.
    if (!alpn.empty() && SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn.data()),
                                                 static_cast<unsigned int>(alpn.size())) != 0)
        return failed("cannot set the ALPN list");
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (params.pins.empty()) {
        if (params.ca_file.empty()) {
            if (SSL_CTX_set_default_verify_paths(ctx) != 1)
                return failed("cannot load the system's CA certificates");
        } else if (SSL_CTX_load_verify_locations(ctx, params.ca_file.c_str(), nullptr) != 1) {
            return failed(params.ca_file + ": cannot load CA certificates");
        }
    }
    ContextData* raw_data = data.get();
    if (!attach(ctx, std::move(data))) return failed("cannot attach the pins to the context");
    if (!raw_data->pins.empty()) SSL_CTX_set_cert_verify_callback(ctx, verify_pins, raw_data);
    return {std::move(context), {}};
}

std::string prepare_client_tls(ssl_st* ssl, std::string_view server_name) {
    const ContextData* data = data_of(SSL_get_SSL_CTX(ssl));
    if (!data) return "not a context made by make_client_context";
    const std::string name(server_name);
    boost::system::error_code not_an_address;
    boost::asio::ip::make_address(name, not_an_address);
    const bool is_address = !not_an_address;

    ERR_clear_error();
    // SSL_set_tlsext_host_name is a macro that casts away const.
    if (!is_address && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
        return "cannot send '" + name + "' as SNI: " + openssl_errors();
    if (!data->pins.empty()) return {};  // pins ignore names

    if (name.empty()) return "a server name is needed to check the server's certificate";
    X509_VERIFY_PARAM* check = SSL_get0_param(ssl);
    if (is_address) {
        if (X509_VERIFY_PARAM_set1_ip_asc(check, name.c_str()) != 1)
            return "cannot check the certificate for address " + name + ": " + openssl_errors();
        return {};
    }
    // "*.example.net" matches "a.example.net", never "ab*.example.net"-style partial labels.
    X509_VERIFY_PARAM_set_hostflags(check, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(check, name.data(), name.size()) != 1)
        return "cannot check the certificate for name '" + name + "': " + openssl_errors();
    return {};
}

std::string tls_verify_failure(const ssl_st* ssl) {
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) return {};
    const ContextData* data = data_of(SSL_get_SSL_CTX(ssl));
    if (result == X509_V_ERR_APPLICATION_VERIFICATION && data && !data->pins.empty()) {
        std::string text = "the server's key matches no pin";
        // On the client the peer's chain starts with its leaf; kept even when verification failed.
        STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
        if (chain && sk_X509_num(chain) > 0)
            text += " (it is " + crypto::spki_pin(sk_X509_value(chain, 0)) + ")";
        return text;
    }
    return X509_verify_cert_error_string(result);
}

}  // namespace porthop::net
