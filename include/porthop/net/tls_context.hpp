// TLS contexts for TCP 443 (issue 15): the server's, which must answer like nginx with its
// defaults, and the agent's, which checks the server by a CA or by SPKI pins. An
// ssl::context is built once and shared by every worker and connection (it is immutable once
// built; a reload builds a new one). Per connection only prepare_client_tls() is called.
//
// Whatever a context needs at handshake time (the server's ALPN list, the client's pins) is
// owned by the SSL_CTX itself (OpenSSL ex_data freed with it), not by the ssl::context object:
// an SSL holds its own reference to its SSL_CTX, so a connection outlives a context that a
// reload dropped without dangling pointers. (Asio's own verify callback would be deleted by
// ~context under a live connection, which is why it is not used here.)
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "porthop/crypto/tls_credentials.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace porthop::net {

enum class TlsVersion { tls1_2, tls1_3 };

// A context, or why not. The message says what failed and carries OpenSSL's error string
// ("TLS 1.2 cipher list 'X': error:0A0000B9:SSL routines::no cipher match").
struct TlsContextResult {
    std::shared_ptr<boost::asio::ssl::context> context;  // null on failure
    std::string error;
    bool ok() const noexcept { return context != nullptr; }
};

struct TlsServerParams {
    // ALPN protocols the server accepts, in its order of preference. A client that offers
    // ALPN with none of these gets a fatal no_application_protocol alert (120), as from nginx
    // >= 1.21.4; a client that offers no ALPN gets none. Each 1-255 bytes; not empty.
    std::vector<std::string> alpn{"http/1.1"};
    // Tests only: a server that stops at TLS 1.2. The product always offers 1.2 and 1.3, like
    // nginx's default ssl_protocols.
    TlsVersion max_version = TlsVersion::tls1_3;
};

// TLS 1.2 and 1.3; TLS 1.2 ciphers "HIGH:!aNULL:!MD5" (nginx's default ssl_ciphers); the
// credentials' chain and key; the same certificate whatever the SNI (no servername callback,
// so never an unrecognized_name alert); no renegotiation; two TLS 1.3 tickets per handshake
// and stateless tickets only (the server session cache off: workers share no cache and no
// lock, and a ticket from one worker resumes on any other); OpenSSL's record buffers freed
// while idle (SSL_MODE_RELEASE_BUFFERS).
TlsContextResult make_server_context(const crypto::Credentials& credentials,
                                     const TlsServerParams& params = {});

struct TlsClientParams {
    // TLS 1.3 only by default: the agent checks what it gets. tls1_2 lets tests make a
    // 1.2-only client (with max_version).
    TlsVersion min_version = TlsVersion::tls1_3;
    TlsVersion max_version = TlsVersion::tls1_3;
    // Offered in this order (a browser's list). Empty: no ALPN extension (tests: a client
    // that offers none).
    std::vector<std::string> alpn{"h2", "http/1.1"};
    // Pins (crypto::parse_pin). Not empty: the server is checked only by its leaf's SPKI hash
    // being one of these; chain, name and dates are ignored, so self-signed certificates work,
    // and ca_file is not used.
    std::vector<crypto::SpkiHash> pins;
    // Without pins: a PEM bundle of trusted CAs; empty: the system's default paths
    // (SSL_CTX_set_default_verify_paths). The server's name is checked per connection
    // (prepare_client_tls).
    std::string ca_file;
};

// Peer verification always on (SSL_VERIFY_PEER), by pins or by CA as the params say.
TlsContextResult make_client_context(const TlsClientParams& params = {});

// Prepares one client connection (`ssl` from ssl::stream::native_handle(), before the
// handshake) for `server_name`, the host name or address the agent connects to (or its
// configured sni):
// - SNI is sent only for a host name (RFC 6066 forbids an address; a client that connects to an
//   IP sends none, like a browser);
// - with a CA context the certificate must name it (a DNS name, wildcards only as a whole
//   left-most label; an address must be in an IP SAN); an empty name is refused there, since
//   nothing would be checked;
// - with a pin context the name is only the SNI.
// Returns an empty string, or why not (with OpenSSL's error).
std::string prepare_client_tls(ssl_st* ssl, std::string_view server_name);

// After a failed client handshake: why the server's certificate was refused, for the log
// ("certificate has expired", "the server's key matches no pin (it is sha256/...)"); empty if
// the certificate was not the problem.
std::string tls_verify_failure(const ssl_st* ssl);

}  // namespace porthop::net
