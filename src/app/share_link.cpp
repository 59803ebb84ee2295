#include "porthop/app/share_link.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>

#include "config_values.hpp"
#include "porthop/crypto/tls_credentials.hpp"

namespace porthop::app {
namespace {

constexpr std::size_t kMaxLabel = 64;
constexpr std::size_t kMaxLink = 4096;  // far above any real link; bounds what is parsed
constexpr std::size_t kMaxPins = 4;     // a key and its rollover need two; bounds the re-encoding

bool unreserved(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Percent-encoding of a value: RFC 3986's unreserved characters and ",/:" stay readable (port
// lists, pins' prefix); everything else, '+' and '=' of base64 included, becomes %XX.
std::string escape(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        if (unreserved(c) || c == ',' || c == '/' || c == ':') {
            out += c;
        } else {
            const auto b = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[b >> 4];
            out += kHex[b & 15];
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF): a label
// goes into a TOML comment, and a TOML file must be UTF-8.
bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto b = static_cast<unsigned char>(text[i]);
        // Continuation bytes after the lead: 0-3 (4: a stray continuation byte, or 0xF8-0xFF).
        const std::size_t n = b < 0x80 ? 0 : (b >> 5) == 0x6 ? 1 : (b >> 4) == 0xE ? 2 : (b >> 3) == 0x1E ? 3 : 4;
        if (n == 4 || text.size() - i <= n) return false;
        std::uint32_t cp = n == 0 ? b : b & (0x3Fu >> n);
        for (std::size_t k = 1; k <= n; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            if ((c >> 6) != 0x2) return false;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

// The hop-link key as unpadded base64url: 43 characters that need no escaping.
std::string key_text(const crypto::HopKey& key) {
    std::string text = crypto::format_hop_key(key);
    text.pop_back();  // the '='
    std::replace(text.begin(), text.end(), '+', '-');
    std::replace(text.begin(), text.end(), '/', '_');
    return text;
}

std::optional<crypto::HopKey> parse_key_text(std::string_view text, std::string& why) {
    if (text.size() != 43 || text.find_first_of("+/=") != std::string_view::npos) {
        why = "must be the hop-link key as 43 characters of base64url (A-Z a-z 0-9 - _), not " +
              std::to_string(text.size()) + " characters";
        return std::nullopt;
    }
    std::string standard(text);
    std::replace(standard.begin(), standard.end(), '-', '+');
    std::replace(standard.begin(), standard.end(), '_', '/');
    standard += '=';
    std::string inner;  // names the standard alphabet and positions in the converted text: not shown
    auto key = crypto::parse_hop_key(standard, inner);
    if (!key) why = "is not a hop-link key (its last character carries bits that no key has: a typo?)";
    return key;
}

std::optional<std::uint64_t> parse_digits(std::string_view text, std::uint64_t max) {
    std::uint64_t v = 0;
    if (text.empty() || text.size() > 13 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    std::from_chars(text.data(), text.data() + text.size(), v);
    if (v > max) return std::nullopt;
    return v;
}

std::optional<std::vector<PortRange>> parse_port_list(std::string_view text, std::string& why) {
    std::vector<PortRange> out;
    if (text.empty()) {
        why = "is empty: the agent needs at least one port";
        return std::nullopt;
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(',', start), text.size());
        std::string inner;
        auto range = parse_port_range(text.substr(start, end - start), inner);
        if (!range) {
            why = inner;
            return std::nullopt;
        }
        out.push_back(*range);
        start = end + 1;
    }
    return out;
}

std::string port_list(const std::vector<PortRange>& ranges) {
    std::string out;
    for (const auto& r : ranges) out += (out.empty() ? "" : ",") + to_string(r);
    return out;
}

// One value per field, except pin (a key rollover names two).
using Fields = std::multimap<std::string, std::string, std::less<>>;

constexpr std::array<std::string_view, 10> kFields{"key", "udp", "tcp", "hop", "tls", "sni", "pin", "ca", "rotate", "mask"};
constexpr std::array<std::string_view, 7> kRequired{"key", "udp", "tcp", "hop", "tls", "rotate", "mask"};

class Decoder {
public:
    explicit Decoder(ShareLinkError& error) : error_(error) {}

    bool fail(std::string field, std::string message) {
        error_.field = std::move(field);
        error_.message = std::move(message);
        return false;
    }

    bool authority(std::string_view text, ShareLink& out) {
        if (text.empty()) return fail("host", "is missing: porthop://HOST/1?...");
        if (text.find('@') != std::string_view::npos)
            return fail("host", "'" + std::string(text) + "' has a user part: the key goes in key=");
        std::string_view host = text;
        if (host.front() == '[') {
            const auto close = host.find(']');
            if (close == std::string_view::npos) return fail("host", "'" + std::string(text) + "' lacks its ']'");
            if (close + 1 != host.size())
                return fail("host", "'" + std::string(text) + "' has a port: the ports are udp= and tcp=");
            host = host.substr(1, close - 1);
            if (host.find(':') == std::string_view::npos || !is_ip_literal(host))
                return fail("host", "'" + std::string(host) + "' in brackets is not an IPv6 address");
        } else if (host.find(':') != std::string_view::npos) {
            return fail("host", "'" + std::string(text) +
                                    "' has a port (or is an IPv6 address without brackets): the ports are udp= and tcp=");
        } else if (!is_ip_literal(host) && !is_host_name(host)) {
            return fail("host", "'" + std::string(host) + "' is neither a host name nor an IP address");
        }
        out.server = std::string(host);
        return true;
    }

    bool version(std::string_view path) {
        if (path.empty() || path == "/")
            return fail("version", "is missing: a porthop link starts porthop://HOST/" +
                                       std::to_string(kShareLinkVersion) + "?");
        const auto v = parse_digits(path.substr(1), 1'000'000);
        // Not quoted: without its '?' the rest of the link, key and all, would be.
        if (!v) return fail("version", "is not a number after HOST/ (is the '?' before the fields missing?)");
        if (*v != kShareLinkVersion)
            return fail("version", "this is a version " + std::to_string(*v) + " link; this porthop (" +
                                       PORTHOP_VERSION + ") reads version " + std::to_string(kShareLinkVersion) +
                                       (*v > kShareLinkVersion ? ": upgrade porthop, or make the link with this version's "
                                                                 "`porthop invite`"
                                                               : ""));
        return true;
    }

    bool query(std::string_view text, Fields& fields) {
        if (text.empty()) return fail("key", "is missing (the link has no fields at all: was it cut short?)");
        std::size_t start = 0;
        while (start <= text.size()) {
            const auto end = std::min(text.find('&', start), text.size());
            const auto item = text.substr(start, end - start);
            start = end + 1;
            if (item.empty()) continue;
            const auto eq = item.find('=');
            const auto name = item.substr(0, eq);
            if (name.empty()) return fail("link", "has a value without a field name ('&=...')");
            if (std::find(kFields.begin(), kFields.end(), name) == kFields.end())
                return fail(std::string(name), "is not a field of a version " + std::to_string(kShareLinkVersion) +
                                                   " link");
            if (eq == std::string_view::npos) return fail(std::string(name), "has no value (" + std::string(name) + "=...)");
            auto value = unescape(item.substr(eq + 1));
            if (!value) return fail(std::string(name), "has a broken %-escape");
            if (name != "pin" && fields.count(name)) return fail(std::string(name), "is given twice");
            if (name == "pin" && fields.count(name) == kMaxPins)
                return fail("pin", "is given more than " + std::to_string(kMaxPins) + " times");
            fields.emplace(std::string(name), std::move(*value));
        }
        for (auto name : kRequired)
            if (!fields.count(name))
                return fail(std::string(name), "is missing: the link was cut short, or was not made by `porthop invite`");
        return true;
    }

    bool values(const Fields& f, ShareLink& out) {
        const auto one = [&](std::string_view name) -> const std::string& { return f.find(name)->second; };
        std::string why;
        auto key = parse_key_text(one("key"), why);
        if (!key) return fail("key", why);
        out.key = *key;
        auto udp = parse_port_list(one("udp"), why);
        if (!udp) return fail("udp", why);
        out.udp = std::move(*udp);
        auto tcp = parse_port_list(one("tcp"), why);
        if (!tcp) return fail("tcp", why);
        out.tcp = std::move(*tcp);
        const auto hop = parse_digits(one("hop"), static_cast<std::uint64_t>(kMaxHopInterval.count()));
        if (!hop || *hop < static_cast<std::uint64_t>(kMinHopInterval.count()))
            return fail("hop", "'" + one("hop") + "' is not a hop interval in whole seconds from " +
                                   std::to_string(kMinHopInterval.count()) + " to " +
                                   std::to_string(kMaxHopInterval.count()));
        out.hop_interval = std::chrono::seconds{*hop};
        const auto& tls = one("tls");
        if (tls != "0" && tls != "1") return fail("tls", "'" + tls + "' is not 1 (TLS) or 0 (plain TCP)");
        out.tls = tls == "1";
        const auto rotate = parse_digits(one("rotate"), kMaxTcpRotateBytes);
        if (!rotate) return fail("rotate", "'" + one("rotate") + "' is not a number of bytes (0: no rotation)");
        out.tcp_rotate_bytes = *rotate;
        const auto mask = hop::v2::parse_mode(one("mask"));
        if (!mask) return fail("mask", "'" + one("mask") + "' is not light or full");
        out.mask = *mask;
        return certificate(f, out);
    }

    bool certificate(const Fields& f, ShareLink& out) {
        const bool has_ca = f.count("ca") > 0, has_pin = f.count("pin") > 0, has_sni = f.count("sni") > 0;
        if (!out.tls) {
            for (auto name : {"sni", "pin", "ca"})
                if (f.count(name)) return fail(name, "is a TLS setting, and the link says tls=0");
            return true;
        }
        if (has_ca == has_pin)
            return fail(has_ca ? "ca" : "pin",
                        has_ca ? "and pin are both given: the certificate is checked one way"
                               : "is missing: with tls=1 the link names the server's certificate by pin= (or ca=system)");
        if (has_ca) {
            const auto& ca = f.find("ca")->second;
            if (ca != "system")
                return fail("ca", "'" + ca + "' is not 'system' (a CA file is a path on the server: use a pin)");
            out.system_ca = true;
        }
        for (auto [it, end] = f.equal_range("pin"); it != end; ++it) {
            std::string why;
            if (!crypto::parse_pin(it->second, why)) return fail("pin", why);
            out.tls_pin.push_back(it->second);
        }
        if (has_sni) {
            const auto& sni = f.find("sni")->second;
            if (!is_host_name(sni)) return fail("sni", "'" + sni + "' is not a host name");
            out.sni = sni;
        }
        return true;
    }

    bool label(std::string_view text, ShareLink& out) {
        auto value = unescape(text);
        if (!value) return fail("label", "has a broken %-escape");
        if (auto problem = label_problem(*value)) return fail("label", *problem);
        out.label = std::move(*value);
        return true;
    }

private:
    ShareLinkError& error_;
};

}  // namespace

std::string ShareLinkError::to_string() const {
    if (field == "link") return "share link: " + message;
    return "share link: field '" + field + "' " + message;
}

std::string encode(const ShareLink& link) {
    const bool v6 = link.server.find(':') != std::string::npos;
    std::string out(kShareLinkScheme);
    out += v6 ? "[" + link.server + "]" : link.server;
    out += "/" + std::to_string(kShareLinkVersion);
    out += "?key=" + key_text(link.key);
    out += "&udp=" + port_list(link.udp);
    out += "&tcp=" + port_list(link.tcp);
    out += "&hop=" + std::to_string(link.hop_interval.count());
    out += link.tls ? "&tls=1" : "&tls=0";
    if (link.tls) {
        if (!link.sni.empty()) out += "&sni=" + escape(link.sni);
        for (const auto& pin : link.tls_pin) out += "&pin=" + escape(pin);
        if (link.system_ca) out += "&ca=system";
    }
    out += "&rotate=" + std::to_string(link.tcp_rotate_bytes);
    out += std::string("&mask=") + hop::v2::to_string(link.mask);
    if (!link.label.empty()) out += "#" + escape(link.label);
    return out;
}

std::optional<ShareLink> decode_share_link(std::string_view text, ShareLinkError& error) {
    Decoder d(error);
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        d.fail("link", "is empty");
        return std::nullopt;
    }
    text = text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
    if (text.size() > kMaxLink) {
        d.fail("link", "is longer than " + std::to_string(kMaxLink) + " characters: not a porthop link");
        return std::nullopt;
    }
    if (text.substr(0, kShareLinkScheme.size()) != kShareLinkScheme) {
        d.fail("link", "does not start with " + std::string(kShareLinkScheme) +
                           " (give the whole line `porthop invite` printed)");
        return std::nullopt;
    }
    if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
        d.fail("link", "holds blanks or control characters (a link broken over lines? join it)");
        return std::nullopt;
    }
    text.remove_prefix(kShareLinkScheme.size());
    std::string_view fragment;
    if (const auto hash = text.find('#'); hash != std::string_view::npos) {
        fragment = text.substr(hash + 1);
        text = text.substr(0, hash);
    }
    std::string_view query;
    if (const auto q = text.find('?'); q != std::string_view::npos) {
        query = text.substr(q + 1);
        text = text.substr(0, q);
    }
    const auto slash = text.find('/');
    const auto authority = text.substr(0, slash);
    const auto path = slash == std::string_view::npos ? std::string_view{} : text.substr(slash);

    ShareLink link;
    Fields fields;
    // The version first: a later version may change everything after it.
    if (!d.version(path) || !d.authority(authority, link) || !d.query(query, fields) || !d.values(fields, link) ||
        !d.label(fragment, link))
        return std::nullopt;
    return link;
}

std::optional<std::string> label_problem(std::string_view label) {
    if (label.size() > kMaxLabel) return "is longer than " + std::to_string(kMaxLabel) + " bytes";
    if (std::any_of(label.begin(), label.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return "holds control characters";
    if (!valid_utf8(label)) return "is not UTF-8 text";
    return std::nullopt;
}

std::optional<ShareLink> link_for_server(const ServerConfig& server, std::string_view name, const std::string& pin,
                                         std::string& why) {
    if (!server.key) {
        why = "[server] key is not set: agents need the hop-link key (make one with `porthop genkey`)";
        return std::nullopt;
    }
    if (!is_ip_literal(name) && !is_host_name(name)) {
        why = "'" + std::string(name) + "' is neither a host name nor an IP address (--name names the server as "
              "its clients reach it)";
        return std::nullopt;
    }
    if (server.udp.empty() || server.tcp.empty()) {
        why = std::string("the server has no ") + (server.udp.empty() ? "UDP" : "TCP") +
              " port, and an agent needs both (its UDP rungs and its fallback)";
        return std::nullopt;
    }
    ShareLink link;
    link.server = std::string(name);
    link.key = *server.key;
    link.udp = server.udp;
    link.tcp = server.tcp;
    link.hop_interval = server.hop_interval;
    link.tls = server.tls;
    if (server.tls) {
        if (pin.empty())
            link.system_ca = true;
        else
            link.tls_pin.push_back(pin);
        // A name is sent as SNI anyway; an IP address is not, and a CA-checked certificate
        // would not name it.
    }
    link.tcp_rotate_bytes = server.tcp_rotate_bytes;
    link.mask = server.mask;
    return link;
}

void apply(const ShareLink& link, ClientConfig& client) {
    client.server = link.server;
    client.key = link.key;
    client.udp = link.udp;
    client.tcp = link.tcp;
    client.hop_interval = link.hop_interval;
    client.tls = link.tls;
    client.sni = link.sni;
    client.tls_pin = link.tls_pin;
    client.tls_ca.clear();
    client.tcp_rotate_bytes = link.tcp_rotate_bytes;
}

}  // namespace porthop::app
