// Turns a validated Config into what the relay needs: addresses parsed, port lists expanded,
// the backend name resolved, the open-file limit checked. The only part of start-up that
// touches the system outside the relay (DNS, rlimits).
#pragma once

#include <optional>
#include <string>

#include "porthop/app/config.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::app {

// Everything but the backend address: no system call, so cheap enough for an event loop.
relay::ServerOptions server_options(const ServerConfig& config);

// True when the backend is a host name, not an IP literal: resolve_backend may then wait on
// DNS (seconds, with a slow server), so a running relay calls it off its event loops.
bool backend_needs_lookup(const HostPort& backend);

// The backend's address (the first the resolver gives for a name); nullopt with `error` set
// when it does not resolve. Blocks for as long as the lookup takes.
std::optional<net::Endpoint> resolve_backend(const HostPort& backend, std::string& error);

// server_options with the backend resolved (start-up); nullopt with `error` set when the
// backend cannot be resolved.
std::optional<relay::ServerOptions> make_server_options(const ServerConfig& config, std::string& error);

// Raises the soft open-file limit to the hard one and returns a warning when the limit is
// still too low for the configured listeners, sessions and TCP connections (empty if fine).
std::string ensure_file_limit(const relay::ServerOptions& options);

// The start-up line: "udp 443,1194,40000-40099 and tcp 443 on 0.0.0.0, :: -> backend 127.0.0.1:51820
// (...)". Each key's row of the [server] table says how it shows here (config_server_keys.cpp,
// where this is defined).
std::string describe(const ServerConfig& config, const relay::ServerOptions& options);

}  // namespace porthop::app
