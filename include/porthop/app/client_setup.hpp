// Turns a validated client configuration into the agent's options: the server's name resolved
// (once, at start-up), the port lists expanded. The client's counterpart of server_setup.
#pragma once

#include <optional>
#include <string>

#include "porthop/app/config.hpp"
#include "porthop/relay/agent.hpp"

namespace porthop::app {

// nullopt with `error` set when the server's name does not resolve or the config lacks what
// the client needs (server, key).
std::optional<relay::AgentOptions> make_agent_options(const ClientConfig& config, std::string& error);

// "127.0.0.1:51820 -> vpn.example.net (203.0.113.5) udp 443,1194,40000-40099 tcp 443, hop every 1m".
// Each key's row of the [client] table says how it shows here (config_client_keys.cpp, where
// this is defined).
std::string describe(const ClientConfig& config, const relay::AgentOptions& options);

}  // namespace porthop::app
