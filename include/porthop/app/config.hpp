// The configuration: TOML read into immutable structs. Every value has a built-in default, so
// `porthop server` without --config is a working relay in front of a local WireGuard on
// 127.0.0.1:51820. A file given with --config must say something, though: an empty file (no
// bytes, only blanks or comments), or one for `porthop server` without a [server] setting, is
// refused at start and on reload, because that is what a file cut short by a write in progress
// looks like, and running it would open the default ports towards the default backend.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "porthop/base/log.hpp"
#include "porthop/app/port_spec.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/crypto/mac1.hpp"
#include "porthop/hop/frame_codec_v2.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/wire/protocol.hpp"

namespace porthop::app {

struct HostPort {
    std::string host;  // IP literal or DNS name, without brackets
    std::uint16_t port = 0;
    friend bool operator==(const HostPort&, const HostPort&) = default;
};

// The most payload one UDP datagram over IPv4 can carry: 65535 - 20 (IP header) - 8 (UDP
// header). max_datagram may not exceed it: a larger datagram could not be sent on.
inline constexpr std::uint32_t kMaxUdpPayload = 65507;

// hop_interval's range, and tcp_rotate_bytes' largest value: the configuration's readers and
// the share link's (app/share_link.hpp) take the same values.
inline constexpr std::chrono::seconds kMinHopInterval{10};
inline constexpr std::chrono::seconds kMaxHopInterval{std::chrono::hours{24}};
inline constexpr std::uint64_t kMaxTcpRotateBytes = 1'000'000'000'000;

struct ServerConfig {
    std::vector<std::string> listen{"0.0.0.0", "::"};
    std::vector<PortRange> udp{{443, 443}, {1194, 1194}, {40000, 40099}};
    std::vector<PortRange> tcp{{443, 443}};
    HostPort backend{"127.0.0.1", 51820};
    // Longer than WireGuard's 25 s persistent keepalive and OpenVPN's usual ping, so a live
    // but quiet tunnel keeps its session (and thus its upstream port at the backend).
    std::chrono::milliseconds idle_timeout{std::chrono::minutes{3}};
    std::uint32_t max_sessions = 16384;
    std::uint32_t max_tcp_connections = 1024;
    // Event loops, each on its own thread with its own socket on every port (SO_REUSEPORT);
    // 0 (the default): one per CPU. Fixed until a restart.
    std::uint32_t workers = 0;
    // Largest datagram (and TCP frame payload) the relay carries: at most kMaxUdpPayload, since
    // every datagram is sent on over UDP (a u16 frame length could say 65535).
    std::uint32_t max_datagram = kMaxUdpPayload;
    // Hop link (porthop client). Without a key the server serves native clients only.
    std::optional<crypto::HopKey> key;
    // Must equal the clients' hop_interval: both ends derive the port of each epoch from it.
    std::chrono::seconds hop_interval{hop::kDefaultHopInterval};
    // Open only the UDP ports of the current and neighbouring epochs (needs a key).
    bool moving_target = false;
    // How much of the VPN bulk data the hop link masks, both ways: light (the VPN's header
    // bytes) or full (all of it, for more CPU; the agents follow on their next ack). Needs a key.
    hop::v2::Mode mask = hop::v2::Mode::light;
    // What native clients speak: any, wireguard or openvpn (wire/protocol.hpp).
    wire::Protocol protocol = wire::Protocol::any;
    // The backend's WireGuard public key: turns on the mac1 firewall.
    std::optional<crypto::WgKey> wireguard_public_key;
    // Per source (IPv4 address, IPv6 /64): handshakes per second (0: no limit) with a burst,
    // and concurrent sessions (0: no cap). WireGuard's own limiter allows 20/s, burst 5.
    std::uint32_t handshake_rate = 20;
    std::uint32_t handshake_burst = 5;
    std::uint32_t sessions_per_source = 64;
    // TCP connections one source may hold at once, pending or established (0: no cap), so a
    // few addresses cannot take every slot of max_tcp_connections.
    std::uint32_t tcp_connections_per_source = 32;
    // Where the native sessions are kept across a restart (relay/session_state.hpp); "" = not.
    std::string state_file;
    // TLS on the TCP ports (README "TLS and the decoy site"): a PEM chain and key ("" for both:
    // a self-signed certificate, kept beside the state file), framed non-TLS records still
    // taken (native clients, agents with tls = false), and where web clients go ("" host: the
    // built-in site).
    bool tls = true;
    std::string tls_cert;
    std::string tls_key;
    bool native_tcp = true;
    std::optional<HostPort> decoy;
    // Bytes the server sends on one agent TCP connection before it stops (0: no limit); the
    // agents' tcp_rotate_bytes should be the same.
    std::uint64_t tcp_rotate_bytes = 0;
    friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
};

struct ClientConfig {
    HostPort listen{"127.0.0.1", 51820};  // where the local WireGuard/OpenVPN client sends
    std::string server;                   // porthop server: host name or IP literal (required)
    std::vector<PortRange> udp{{443, 443}, {1194, 1194}, {40000, 40099}};  // must match the server's
    std::vector<PortRange> tcp{{443, 443}};                                // the first is the fallback port
    std::optional<crypto::HopKey> key;                                     // required for `porthop client`
    std::chrono::seconds hop_interval{hop::kDefaultHopInterval};
    std::uint32_t max_datagram = kMaxUdpPayload;
    // The TCP rung in TLS (README "TLS and the decoy site"): the name sent as SNI (""; the
    // server's name when it is one), and how the certificate is checked: by SPKI pins
    // ("sha256/..."), else by the CAs of tls_ca (a PEM file), else by the system's.
    bool tls = true;
    std::string sni;
    std::string tls_ca;
    std::vector<std::string> tls_pin;
    // Bytes a TCP connection may receive before the agent replaces it (0: no budget).
    std::uint64_t tcp_rotate_bytes = 0;
    friend bool operator==(const ClientConfig&, const ClientConfig&) = default;
};

struct MetricsConfig {
    // Prometheus endpoint (GET /metrics). Loopback by default: the numbers describe clients.
    // Disabled when `enabled` is false (written as listen = "").
    bool enabled = true;
    HostPort listen{"127.0.0.1", 9816};
    friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

struct Config {
    std::string source = "(built-in defaults)";  // file the values came from
    ServerConfig server;
    ClientConfig client;
    MetricsConfig metrics;  // the server's endpoint
    // The client's endpoint ([client_metrics]): its own port, so a client and a server can run
    // on one host (tests, a relay chain) without clashing.
    MetricsConfig client_metrics{true, {"127.0.0.1", 9817}};
    base::LogLevel log_level = base::LogLevel::info;
    // How many keys the text set in [server]. `porthop server --config` refuses a file that
    // sets none (check_server_ready): a file cut short before its [server] keys looks so.
    std::size_t server_keys = 0;
};

struct ConfigError {
    std::string file;
    std::uint32_t line = 0;  // 0 when the problem has no place in the file (missing file)
    std::uint32_t column = 0;
    std::string key;  // dotted path, e.g. "server.udp[2]"; empty for file-level errors
    std::string message;
    std::string to_string() const;  // "conf/server.toml:12:7: server.udp[2]: ..."
};

struct ConfigResult {
    Config config;                      // meaningful only when errors is empty
    std::vector<ConfigError> errors;    // every problem found, not just the first
    std::vector<ConfigError> warnings;  // legal but probably not what the user wants
    bool ok() const { return errors.empty(); }
};

// Parses TOML text; `source_name` is used in error messages. Empty text gives the built-in
// defaults (what porthop runs on without --config).
ConfigResult parse_config(std::string_view toml_text, std::string source_name);
// Reads and parses a file; an unreadable file is an error that names it, and so is an empty
// one (no bytes, only blanks or comments, or empty tables): a file named on the command line
// that sets nothing is far likelier a truncated write than a wish for the defaults.
ConfigResult load_config_file(const std::string& path);

// What `porthop server --config` needs beyond a valid file: at least one [server] key. A file
// without one (only [log], only [metrics], an empty [server] table) would run the default ports
// and backend, which is what a file cut short before its [server] keys does. Errors name
// config.source and the key "server", without a line.
std::vector<ConfigError> check_server_ready(const Config& config);

// What `porthop client` needs beyond a valid file: client.server and client.key, which have
// no default. parse_config cannot demand them, since one file format serves both roles. Errors
// name config.source and the key, without a line (the key is absent from the file).
std::vector<ConfigError> check_client_ready(const Config& config);

// The effective configuration as TOML that parse_config reads back to the same values. It holds
// the hop-link keys in clear (as the user's own file does): show it to the user, never log it.
std::string to_toml(const Config& config);
// Only what `porthop client` reads ([client], [client_metrics], [log]), without a header line:
// the file `porthop invite --output` and `porthop import` write. It holds the key too.
std::string to_client_toml(const Config& config);

}  // namespace porthop::app
