// The server's TLS front (relay::TlsFront) from its configuration: the certificate (the
// operator's PEM files, or a self-signed one kept beside the state file so that its pin
// survives restarts), the TLS context, the decoy's address and the built-in site's page.
// Reads files and may resolve the decoy's name: start-up and reload only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "porthop/app/config.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::app {

struct TlsSetup {
    std::shared_ptr<const relay::TlsFront> front;  // null: no TLS (tls = false, or no TCP port), or error
    std::string error;                             // why the configuration cannot be served
    std::vector<std::string> notes;                // for the log: the pin, an expiring certificate
    bool ok() const noexcept { return error.empty(); }
};

// `state_file`: the server's state file ("" for none): a self-signed certificate is kept in
// the same directory as tls-self-signed.pem (0600). Without one, a certificate made once per
// process serves (its pin changes at every start: the notes say so).
TlsSetup make_tls_front(const ServerConfig& config, const std::string& state_file);

// [server] state_file, or, without one, a file in systemd's StateDirectory= (the packaged unit
// names a directory that is the service's own); "" for none. Where the server keeps its
// sessions, and beside them its self-signed certificate.
std::string state_file_of(const ServerConfig& server);

// Where make_tls_front keeps a self-signed certificate for `state_file` ("" for none).
std::string self_signed_path(const std::string& state_file);

}  // namespace porthop::app
