// Share links (issue 17): everything an agent must match of its server, in one line that
// `porthop invite` prints (and draws as a QR code) and `porthop import` / `porthop client
// --link` read. A mismatch in any of these fails silently on the wire (another hop_interval
// makes every attach stale_epoch), so they travel together instead of being copied by hand.
//
//   porthop://vpn.example.org/1?key=<base64url>&udp=443,1194,40000-40099&tcp=443&hop=300
//            &tls=1&pin=sha256/...%3D&rotate=0&mask=light[&sni=NAME][&ca=system][#label]
//
// - The host (a name or an IP literal; IPv6 in brackets) is the authority; "/1" is the
//   format's version. Another version is refused by name, so an old porthop says "upgrade"
//   instead of guessing at fields it does not know.
// - key: the hop-link key as unpadded base64url (43 characters), so it needs no escaping.
// - udp, tcp: port lists as in the configuration; hop: the hop interval in whole seconds.
// - tls: 1 or 0. With tls=1, exactly one way to check the certificate: one to four pin=
//   (SPKI pins, "sha256/..."), or ca=system (the system's CAs, with sni or the host as name).
//   A CA file cannot travel (it is a path on the server's machine).
// - rotate: the server's tcp_rotate_bytes (0: none), which the agent must share.
// - mask: the server's mask mode. The agent follows the server's acks for it either way;
//   the link says what to expect, and the agent reports it in /status.
// - Every field but sni, ca/pin (by tls) and the label is required: a link cut short (a
//   QR scanner, a chat client) is refused with the missing field's name, not run on defaults.
//   Unknown fields are refused too: a v1 link means exactly these.
// Values are percent-encoded where needed (RFC 3986 unreserved characters and ",/:" stay).
// Pure: no files, sockets or clock. The link holds the key in clear: never log it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "porthop/app/config.hpp"

namespace porthop::app {

inline constexpr std::string_view kShareLinkScheme = "porthop://";
inline constexpr unsigned kShareLinkVersion = 1;

struct ShareLink {
    std::string server;  // host name or IP literal (no brackets)
    crypto::HopKey key{};
    std::vector<PortRange> udp;
    std::vector<PortRange> tcp;
    std::chrono::seconds hop_interval{hop::kDefaultHopInterval};
    bool tls = true;
    std::string sni;                    // "": the server's name
    std::vector<std::string> tls_pin;   // "sha256/..."; empty with system_ca or without tls
    bool system_ca = false;             // check by the system's CAs (tls only)
    std::uint64_t tcp_rotate_bytes = 0;
    hop::v2::Mode mask = hop::v2::Mode::light;
    std::string label;                  // free text after '#', for the user; may be empty
    friend bool operator==(const ShareLink&, const ShareLink&) = default;
};

// Why `label` cannot be a link's label (longer than 64 bytes, control characters, not UTF-8),
// or nullopt: the decoder's rule, for whoever sets one (porthop invite --label).
std::optional<std::string> label_problem(std::string_view label);

// Why a link was refused: the field (as written in the link: "key", "udp", "version", ...,
// or "link" for the whole) and what is wrong with it.
struct ShareLinkError {
    std::string field;
    std::string message;
    std::string to_string() const;  // "share link: field 'hop': ..."
};

std::string encode(const ShareLink& link);
// Surrounding blanks (a paste with a newline) are ignored; nothing else is.
std::optional<ShareLink> decode_share_link(std::string_view text, ShareLinkError& error);

// The link for agents of `server` reached as `name`. The certificate check is the caller's
// choice (a pin of the server's certificate, or the system's CAs): pass the pin, or "" for
// system CAs. Fails (with the reason) without a hop-link key, or when `name` is neither a host
// name nor an IP literal, or when the server has no UDP and no TCP port.
std::optional<ShareLink> link_for_server(const ServerConfig& server, std::string_view name, const std::string& pin,
                                         std::string& why);

// The [client] settings the link carries, written over `client`; the rest (listen, max_datagram)
// stays. With ca=system, tls_ca becomes "" (the system's) and tls_pin empty.
void apply(const ShareLink& link, ClientConfig& client);

}  // namespace porthop::app
