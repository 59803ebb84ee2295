// `porthop invite` and `porthop import`: from a server's configuration to the share link its
// agents need (app/share_link.hpp), and from a link to the client's configuration file. Reads
// the server's certificate files to name its key (the pin) or to see that the system's CAs
// vouch for it; writes nothing but the file asked for.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "porthop/app/config.hpp"
#include "porthop/app/share_link.hpp"

namespace porthop::app {

struct Invite {
    std::optional<ShareLink> link;   // nullopt: see error
    std::string error;               // why no link can be made, and what to do
    std::vector<std::string> notes;  // for the operator: how agents check the certificate, ...
};

// The link for `config.server`, reached by its agents as `name` ("": the server's one
// listen address, if it has exactly one that is not a wildcard). The certificate check:
// - tls_cert set: the system's CAs when they vouch for the certificate under `name` (a
//   renewal with a new key keeps working), else a pin of its key;
// - self-signed: a pin of the certificate the server keeps beside its state file (which must
//   exist: the server makes it at its first start).
// `packaged_state_file` is where the packaged systemd unit keeps its state
// (/var/lib/porthop/sessions), looked at when the configuration names no state file: invite
// runs from a shell, without the unit's STATE_DIRECTORY.
Invite make_invite(const Config& config, const std::string& name,
                   const std::string& packaged_state_file = "/var/lib/porthop/sessions");

// The client configuration a link stands for, as `porthop client --config` reads it: the
// link's settings over `base`'s [client] (listen and the rest stay), with [client_metrics] and
// [log], and a header that says where it came from and that it holds the key.
std::string client_file(const ShareLink& link, Config base);

}  // namespace porthop::app
