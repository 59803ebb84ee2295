#include "porthop/app/tls_setup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "porthop/app/secret_file.hpp"
#include "porthop/crypto/tls_credentials.hpp"
#include "porthop/net/resolve.hpp"
#include "porthop/net/tls_context.hpp"
#include "porthop/wire/site_page.hpp"

namespace porthop::app {

namespace {

constexpr int kSelfSignedDays = 3650;

std::chrono::sys_seconds now_seconds() {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

// The name a self-signed certificate is made for: the host's name, as a web server's default
// certificate would carry (an agent checks it by its pin, never by name).
std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    std::string text(name);
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return "localhost";
    return text.size() <= 64 ? text : "localhost";
}

// One certificate per process when there is nowhere to keep it: a reload must not change the
// pin the agents were given.
std::optional<crypto::Credentials> process_certificate(std::string& why) {
    static std::mutex lock;
    static std::optional<crypto::Credentials> made;
    std::lock_guard guard(lock);
    if (!made) made = crypto::Credentials::make_self_signed(host_name(), kSelfSignedDays, now_seconds(), why);
    return made;
}

std::optional<crypto::Credentials> self_signed(const std::string& state_file, TlsSetup& setup) {
    std::string why;
    const std::string path = self_signed_path(state_file);
    if (path.empty()) {
        auto made = process_certificate(why);
        if (!made) {
            setup.error = "cannot make a self-signed TLS certificate: " + why;
            return std::nullopt;
        }
        setup.notes.push_back("TLS: a self-signed certificate made at start (no tls_cert and no state_file to keep "
                              "one in): its pin changes at every start");
        return made;
    }
    std::error_code exists_ec;
    if (std::filesystem::exists(path, exists_ec)) {
        crypto::CredentialsError error;
        if (auto loaded = crypto::Credentials::load_pem(path, path, error)) return loaded;
        setup.error = "the self-signed TLS certificate kept in " + path + " cannot be used (" + error.message +
                      "): remove it to make a new one (the agents' tls_pin changes then)";
        return std::nullopt;
    }
    auto made = crypto::Credentials::make_self_signed(host_name(), kSelfSignedDays, now_seconds(), why);
    if (!made) {
        setup.error = "cannot make a self-signed TLS certificate: " + why;
        return std::nullopt;
    }
    if (auto problem = write_secret_file(path, made->chain_pem() + made->key_pem(), Existing::replace); !problem.empty()) {
        setup.error = "cannot keep the self-signed TLS certificate: " + problem;
        return std::nullopt;
    }
    setup.notes.push_back("TLS: made a self-signed certificate, kept in " + path);
    return made;
}

}  // namespace

std::string state_file_of(const ServerConfig& server) {
    if (!server.state_file.empty()) return server.state_file;
    if (const char* dir = std::getenv("STATE_DIRECTORY"); dir && *dir == '/')
        return std::string(dir).substr(0, std::string(dir).find(':')) + "/sessions";
    return {};
}

std::string self_signed_path(const std::string& state_file) {
    if (state_file.empty()) return {};
    return (std::filesystem::path(state_file).parent_path() / "tls-self-signed.pem").string();
}

TlsSetup make_tls_front(const ServerConfig& config, const std::string& state_file) {
    TlsSetup setup;
    if (!config.tls || config.tcp.empty()) return setup;
    std::optional<crypto::Credentials> credentials;
    if (!config.tls_cert.empty()) {
        crypto::CredentialsError error;
        credentials = crypto::Credentials::load_pem(config.tls_cert, config.tls_key, error);
        if (!credentials) {
            setup.error = "TLS certificate: " + error.message;
            return setup;
        }
    } else {
        credentials = self_signed(state_file, setup);
        if (!credentials) return setup;
        setup.notes.push_back("TLS: agents pin this certificate with tls_pin = \"" + credentials->pin() + "\"");
    }
    const auto validity = credentials->validity(now_seconds());
    if (validity.status != crypto::Validity::Status::valid)
        setup.notes.push_back("TLS: the certificate " + validity.to_string() +
                              ": agents that check it by CA refuse it (renew it; agents with tls_pin do not care)");
    auto context = net::make_server_context(*credentials);
    if (!context.ok()) {
        setup.error = "TLS: " + context.error;
        return setup;
    }
    auto front = std::make_shared<relay::TlsFront>();
    front->context = std::move(context.context);
    front->native_tcp = config.native_tcp;
    if (config.decoy) {
        const auto resolved = net::resolve_host(config.decoy->host);
        if (!resolved.ok()) {
            setup.error = "cannot resolve decoy '" + config.decoy->host + "': " + resolved.error;
            return setup;
        }
        front->decoy = net::Endpoint::from_asio(
            boost::asio::ip::tcp::endpoint(resolved.addresses.front(), config.decoy->port));
    }
    front->site_page = std::string(wire::kDefaultSitePage);
    // The page's time is the certificate's: it stays across restarts, as a file's would, and
    // differs between servers (a fixed time would be an ETag every porthop shares).
    front->site_modified = validity.not_before;
    setup.front = std::move(front);
    return setup;
}

}  // namespace porthop::app
