#include "porthop/app/invite.hpp"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>

#include "porthop/app/tls_setup.hpp"
#include "porthop/crypto/tls_credentials.hpp"

namespace porthop::app {
namespace {

bool wildcard(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

// Whether the system's CAs vouch for the chain under `name` (a host name, or an IP address the
// certificate lists), as an agent with tls_ca = "" will check it. `why`: OpenSSL's reason.
bool system_cas_accept(const crypto::Credentials& credentials, const std::string& name, std::string& why) {
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), &X509_STORE_CTX_free);
    // sk_X509_free is a macro in OpenSSL 3: no address to take.
    const auto free_stack = [](STACK_OF(X509) * stack) { sk_X509_free(stack); };
    std::unique_ptr<STACK_OF(X509), decltype(free_stack)> untrusted(sk_X509_new_null(), free_stack);
    if (!store || !ctx || !untrusted || X509_STORE_set_default_paths(store.get()) != 1) {
        why = "cannot load the system's CA certificates";
        return false;
    }
    for (auto* cert : credentials.chain().subspan(1)) sk_X509_push(untrusted.get(), cert);
    if (X509_STORE_CTX_init(ctx.get(), store.get(), credentials.leaf(), untrusted.get()) != 1) {
        why = "cannot set up the check";
        return false;
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);  // as the agent checks
    const bool named = name.find_first_not_of("0123456789.") != std::string::npos && name.find(':') == std::string::npos
                           ? X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1
                           : X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
    if (!named) {
        why = "cannot check the name " + name;
        return false;
    }
    if (X509_verify_cert(ctx.get()) == 1) return true;
    why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    return false;
}

// The server's self-signed certificate, as the running server keeps it.
std::optional<crypto::Credentials> kept_certificate(const ServerConfig& server, const std::string& packaged,
                                                    Invite& out) {
    std::string state_file = state_file_of(server);
    std::error_code ec;
    // The packaged unit's directory is the service's own (0700): a permission error there is
    // "look there" too, so that the message names it.
    if (state_file.empty() && (std::filesystem::exists(self_signed_path(packaged), ec) || ec)) state_file = packaged;
    if (state_file.empty()) {
        out.error = "the server makes a new self-signed certificate at every start when it has no state_file, so no "
                    "pin can be given out: set [server] state_file (the certificate is kept beside it), or tls_cert "
                    "and tls_key";
        return std::nullopt;
    }
    const auto path = self_signed_path(state_file);
    const bool there = std::filesystem::exists(path, ec);
    if (ec) {  // not "absent": a directory this user may not look into (the service's own, 0700)
        out.error = "cannot look for the server's certificate " + path + ": " + ec.message() +
                    " (run porthop invite as root, or as the server's user)";
        return std::nullopt;
    }
    if (!there) {
        out.error = "no self-signed certificate in " + path + " yet: start the server once (it makes one and keeps it " +
                    "there), then run porthop invite again";
        return std::nullopt;
    }
    crypto::CredentialsError error;
    auto loaded = crypto::Credentials::load_pem(path, path, error);
    if (!loaded) out.error = "the server's self-signed certificate cannot be read: " + error.message;
    return loaded;
}

// The pin agents check the server by, or "" for the system's CAs.
std::optional<std::string> certificate_check(const ServerConfig& server, const std::string& name,
                                             const std::string& packaged, Invite& out) {
    if (!server.tls) return std::string();
    if (server.tls_cert.empty()) {
        auto kept = kept_certificate(server, packaged, out);
        if (!kept) return std::nullopt;
        out.notes.push_back("agents pin the server's self-signed certificate (" + kept->pin() +
                            "); if it is ever remade, give out a new link");
        return kept->pin();
    }
    crypto::CredentialsError error;
    auto credentials = crypto::Credentials::load_pem(server.tls_cert, server.tls_key, error);
    if (!credentials) {
        out.error = "TLS certificate: " + error.message;
        return std::nullopt;
    }
    std::string why;
    if (system_cas_accept(*credentials, name, why)) {
        out.notes.push_back("the system's CAs vouch for " + server.tls_cert + " as " + name +
                            ": agents check it that way, so renewals (even with a new key) keep working");
        return std::string();
    }
    out.notes.push_back("the system's CAs do not vouch for " + server.tls_cert + " as " + name + " (" + why +
                        "): agents pin its key (" + credentials->pin() + "); a new key needs a new link");
    return credentials->pin();
}

}  // namespace

Invite make_invite(const Config& config, const std::string& name, const std::string& packaged_state_file) {
    Invite out;
    const auto& server = config.server;
    std::string host = name;
    if (host.empty()) {
        std::vector<std::string> specific;
        for (const auto& a : server.listen)
            if (!wildcard(a)) specific.push_back(a);
        if (specific.size() != 1 || specific.size() != server.listen.size()) {
            out.error = "name the server as its clients reach it: porthop invite --name vpn.example.org (the server "
                        "listens on " + std::string(specific.size() == server.listen.size() ? "several" : "every") +
                        " address, so which one they use cannot be told)";
            return out;
        }
        host = specific.front();
        out.notes.push_back("the link names the server by its listen address " + host +
                            "; if its clients reach it by another name or address (NAT), give --name");
    }
    std::string why;
    auto link = link_for_server(server, host, "", why);
    if (!link) {
        out.error = why;
        return out;
    }
    const auto pin = certificate_check(server, host, packaged_state_file, out);
    if (!pin) return out;
    link = link_for_server(server, host, *pin, why);
    out.link = std::move(link);
    return out;
}

std::string client_file(const ShareLink& link, Config base) {
    apply(link, base.client);
    std::string header = "# porthop client configuration for " + link.server +
                         (link.label.empty() ? "" : " (" + link.label + ")") +
                         ", from a share link.\n"
                         "# It holds the hop-link key: keep it private. Run: porthop client --config FILE\n"
                         "# The server masks the VPN data '" +
                         hop::v2::to_string(link.mask) +
                         "' (the agent follows the server's choice).\n";
    return header + to_client_toml(base);
}

}  // namespace porthop::app
