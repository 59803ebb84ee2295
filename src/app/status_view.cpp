#include "porthop/app/status_view.hpp"

// Boost.JSON, header-only: compiled here, the one place porthop reads JSON.
#include <boost/json/src.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace porthop::app {
namespace json = boost::json;

namespace {

std::uint64_t count_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return 0;
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    return 0;
}

double number_of(const json::object& o, std::string_view key, double absent) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return absent;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    return absent;
}

std::string text_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Colours, only when asked.
struct Paint {
    bool on;
    std::string operator()(std::string_view text, const char* code) const {
        if (!on) return std::string(text);
        return std::string("\x1b[") + code + "m" + std::string(text) + "\x1b[0m";
    }
};
constexpr const char* kGreen = "32";
constexpr const char* kYellow = "33";
constexpr const char* kRed = "31";
constexpr const char* kBold = "1";
constexpr const char* kDim = "2";

// Times and amounts come from whatever answers on the port: bounded before any conversion to
// an integer (a double beyond the integer's range converts to undefined behaviour).
constexpr double kLatestTime = 1e11;    // Unix seconds, the year 5138
constexpr double kLargestCount = 1e18;  // below 2^63

bool sane_time(double t) { return std::isfinite(t) && t >= 0 && t <= kLatestTime; }

std::string clock_time(double unix_seconds, const ViewOptions& o) {
    if (!sane_time(unix_seconds)) return "--:--:--";
    const auto t = static_cast<std::time_t>(unix_seconds) + o.utc_offset;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[16];
    std::snprintf(text, sizeof text, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    return text;
}

std::string thousands(std::uint64_t v) {
    std::string digits = std::to_string(v), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string rate(double now, double before, double interval, bool bytes) {
    if (interval <= 0 || now < before) return "";
    const double per_second = (now - before) / interval;
    if (bytes) return ", " + human_bytes(per_second) + "/s";
    char text[32];
    std::snprintf(text, sizeof text, ", %.0f/s", per_second);
    return text;
}

std::string rung_words(const std::string& rung, const std::string& path) {
    const auto port = path.substr(path.find('/') + 1);
    if (rung == "udp") return "UDP " + port;
    if (rung == "tls") return "TLS " + port;
    if (rung == "tcp") return "TCP " + port;
    return "no path";
}

// The rows' labels line up: "  label     text".
std::string row(std::string_view label, std::string_view text) {
    std::string out = "  " + std::string(label);
    out.resize(std::max<std::size_t>(out.size() + 1, 14), ' ');
    return out + std::string(text) + "\n";
}

// The client's drop counters as /status names them, in words.
const char* kDropWords[][2] = {
    {"dropped_no_path", "no path"},
    {"dropped_no_local", "no local client yet"},
    {"dropped_send", "send failed"},
    {"rejected_frames", "rejected frames"},
};

const char* kBlockingWords[][2] = {
    {"port_silent", "UDP port went silent"}, {"udp_silent", "all UDP silent"}, {"tcp_reset", "TCP reset"},
    {"tcp_freeze", "TCP froze"},             {"tls_failed", "TLS failed"},
    {"tcp_no_answer", "TCP not answered"},
};

}  // namespace

std::string human_bytes(double bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    std::size_t u = 0;
    while (bytes >= 1000 && u + 1 < std::size(units)) {
        bytes /= 1000;
        ++u;
    }
    char text[32];
    std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return text;
}

std::string human_duration(double seconds) {
    const auto s = static_cast<std::uint64_t>(std::isfinite(seconds) ? std::clamp(seconds, 0.0, kLatestTime) : 0.0);
    char text[48];
    if (s < 60)
        std::snprintf(text, sizeof text, "%llu s", static_cast<unsigned long long>(s));
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%llum %02llus", static_cast<unsigned long long>(s / 60),
                      static_cast<unsigned long long>(s % 60));
    else if (s < 86400)
        std::snprintf(text, sizeof text, "%lluh %02llum", static_cast<unsigned long long>(s / 3600),
                      static_cast<unsigned long long>(s % 3600 / 60));
    else
        std::snprintf(text, sizeof text, "%llud %02lluh", static_cast<unsigned long long>(s / 86400),
                      static_cast<unsigned long long>(s % 86400 / 3600));
    return text;
}

std::optional<ClientReading> parse_client_status(std::string_view text, std::string& why) {
    boost::system::error_code ec;
    const json::value doc = json::parse(text, ec);
    if (ec || !doc.is_object()) {
        why = ec ? "not JSON: " + ec.message() : "not a JSON object";
        return std::nullopt;
    }
    const auto& o = doc.as_object();
    if (!o.contains("path") || !o.contains("hops")) {
        why = "not a porthop client's /status (no path, no hops)";
        return std::nullopt;
    }
    ClientReading r;
    r.path = text_of(o, "path");
    r.rung = text_of(o, "rung");
    if (r.rung.empty()) r.rung = r.path.rfind("udp/", 0) == 0 ? "udp" : r.path.rfind("tcp/", 0) == 0 ? "tcp" : "none";
    const auto time_of = [&](const json::object& from, std::string_view key) {
        const double t = number_of(from, key, 0);
        return sane_time(t) ? t : 0.0;
    };
    r.path_since = time_of(o, "path_since");
    r.udp_blocked_since = time_of(o, "udp_blocked_since");
    r.rtt_ms = number_of(o, "rtt_ms", -1);
    if (!std::isfinite(r.rtt_ms) || r.rtt_ms < 0 || r.rtt_ms > 1e9) r.rtt_ms = -1;
    r.hops = count_of(o, "hops");
    r.fallbacks = count_of(o, "fallbacks");
    r.climbs = count_of(o, "climbs");
    r.tcp_rotations = count_of(o, "tcp_rotations");
    r.to_server_packets = count_of(o, "to_server_packets");
    r.to_server_bytes = count_of(o, "to_server_bytes");
    r.from_server_packets = count_of(o, "from_server_packets");
    r.from_server_bytes = count_of(o, "from_server_bytes");
    for (const auto& [key, value] : o)
        if (key.starts_with("dropped_") || key == "rejected_frames") r.drops[std::string(key)] = count_of(o, key);
    for (const auto& [key, words] : kBlockingWords)
        if (o.contains(key)) r.blocking[key] = count_of(o, key);
    r.last_freeze_bytes = count_of(o, "last_freeze_bytes");
    r.recoveries = count_of(o, "recoveries");
    r.recovery_seconds_sum = number_of(o, "recovery_seconds_sum", 0);
    if (!std::isfinite(r.recovery_seconds_sum) || r.recovery_seconds_sum < 0 || r.recovery_seconds_sum > kLatestTime)
        r.recovery_seconds_sum = 0;
    if (const auto* d = o.if_contains("dark_ports"); d && d->is_array())
        for (const auto& p : d->as_array())
            if (p.is_int64() && p.as_int64() > 0 && p.as_int64() < 65536)
                r.dark_ports.push_back(static_cast<std::uint16_t>(p.as_int64()));
    r.local_client = text_of(o, "local_client");
    r.session = text_of(o, "session");
    r.mask = text_of(o, "mask");
    if (const auto* c = o.if_contains("recent_changes"); c && c->is_array())
        for (const auto& item : c->as_array())
            if (item.is_object())
                r.recent_changes.push_back({time_of(item.as_object(), "at"), text_of(item.as_object(), "path"),
                                            text_of(item.as_object(), "reason")});
    return r;
}

std::optional<ServerReading> parse_server_metrics(std::string_view text, std::string& why) {
    ServerReading r;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const auto line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line.front() == '#') continue;
        const auto space = line.rfind(' ');
        if (space == std::string_view::npos) continue;
        const std::string series(line.substr(0, space));
        char* stop = nullptr;
        const std::string value(line.substr(space + 1));
        const double v = std::strtod(value.c_str(), &stop);
        if (stop == value.c_str()) continue;
        r.samples[series] = v;
        if (series.rfind("porthop_build_info{version=\"", 0) == 0)
            r.version = series.substr(28, series.size() - 28 - 2);
    }
    if (!r.samples.count("porthop_sessions")) {
        why = r.samples.empty() ? "no metrics in the answer" : "not a porthop server's /metrics (no porthop_sessions)";
        return std::nullopt;
    }
    return r;
}

double ServerReading::sum(std::string_view family, std::string_view label) const {
    double total = 0;
    for (auto it = samples.lower_bound(family); it != samples.end() && it->first.starts_with(family); ++it) {
        const auto rest = std::string_view(it->first).substr(family.size());
        if (!rest.empty() && rest.front() != '{') continue;  // another family with this prefix
        if (label.empty() || rest.find(label) != std::string_view::npos) total += it->second;
    }
    return total;
}

std::vector<std::pair<std::string, double>> ServerReading::by_label(std::string_view family, std::string_view key) const {
    std::vector<std::pair<std::string, double>> out;
    const std::string prefix = std::string(family) + "{";
    const std::string marker = std::string(key) + "=\"";
    for (auto it = samples.lower_bound(prefix); it != samples.end() && it->first.starts_with(prefix); ++it) {
        const auto at = it->first.find(marker);
        if (at == std::string::npos || it->second == 0) continue;
        const auto from = at + marker.size();
        out.emplace_back(it->first.substr(from, it->first.find('"', from) - from), it->second);
    }
    return out;
}

std::string diagnosis(const ClientReading& r, const ViewOptions& o) {
    const auto on = rung_words(r.rung, r.path);
    if (r.rung == "none") return "no path to the server: nothing answers (see the recent changes)";
    std::string out = "on " + on;
    if (r.udp_blocked_since > 0)
        out = "UDP blocked on this network since " + clock_time(r.udp_blocked_since, o).substr(0, 5) + "; " + out;
    else if (!r.dark_ports.empty())
        out += std::string("; ") + (r.dark_ports.size() == 1 ? "a UDP port is" : std::to_string(r.dark_ports.size()) + " UDP ports are") +
               " blocked";
    if (r.rung == "tcp" || r.rung == "tls") {
        const auto freezes = r.blocking.count("tcp_freeze") ? r.blocking.at("tcp_freeze") : 0;
        if (freezes > 0 && r.last_freeze_bytes > 0)
            out += "; TCP connections freeze (the last after " + human_bytes(static_cast<double>(r.last_freeze_bytes)) +
                   "): the agent moves to fresh ones";
    }
    const auto resets = r.blocking.count("tcp_reset") ? r.blocking.at("tcp_reset") : 0;
    const auto tls = r.blocking.count("tls_failed") ? r.blocking.at("tls_failed") : 0;
    if (tls > 0 && r.rung != "tls") out += "; TLS handshakes failed " + std::to_string(tls) + " times";
    if (resets > 0 && r.rung == "udp") out += "; TCP connections were reset " + std::to_string(resets) + " times";
    if (r.udp_blocked_since == 0 && r.dark_ports.empty() && r.rung == "udp" && resets == 0 && tls == 0) {
        std::uint64_t seen = 0;
        for (const auto& [kind, count] : r.blocking) seen += count;
        out += seen == 0 ? "; no blocking seen" : "; no blocking now";
    }
    return out;
}

std::string render_client(const ClientReading& r, const ClientReading* before, std::string_view source,
                          const ViewOptions& o) {
    const Paint paint{o.colour};
    const double interval = before ? o.interval : 0;
    const char* state = r.rung == "udp" ? kGreen : r.rung == "none" ? kRed : kYellow;
    std::string out = paint("porthop client", kBold) + paint(" (" + std::string(source) + ")", kDim) + "\n";
    std::string path = paint(r.path, state) + (r.rung == "tls" ? " in TLS" : "");
    if (r.path_since > 0)
        path += " since " + clock_time(r.path_since, o) + " (" + human_duration(o.now - r.path_since) + ")";
    out += row("path", path);
    out += row("network", paint(diagnosis(r, o), state));
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.1f ms", r.rtt_ms);
    out += row("rtt", r.rtt_ms < 0 ? "not measured yet" : rtt);
    const auto b = before ? *before : ClientReading{};
    out += row("to server", human_bytes(static_cast<double>(r.to_server_bytes)) + " in " +
                                thousands(r.to_server_packets) + " datagrams" +
                                rate(static_cast<double>(r.to_server_bytes), static_cast<double>(b.to_server_bytes),
                                     interval, true));
    out += row("from server", human_bytes(static_cast<double>(r.from_server_bytes)) + " in " +
                                  thousands(r.from_server_packets) + " datagrams" +
                                  rate(static_cast<double>(r.from_server_bytes),
                                       static_cast<double>(b.from_server_bytes), interval, true));
    out += row("changes", std::to_string(r.hops) + " hops, " + std::to_string(r.fallbacks) + " to TCP, " +
                              std::to_string(r.climbs) + " back to UDP, " + std::to_string(r.tcp_rotations) +
                              " new TCP connections");
    std::string blocking;
    for (const auto& [key, words] : kBlockingWords)
        if (auto it = r.blocking.find(key); it != r.blocking.end() && it->second > 0)
            blocking += (blocking.empty() ? "" : ", ") + std::string(words) + " " + std::to_string(it->second);
    std::string blocking_row = blocking.empty() ? std::string("none seen") : paint(blocking, kYellow);
    if (r.recoveries > 0)
        blocking_row += "; back on a path after " +
                        human_duration(r.recovery_seconds_sum / static_cast<double>(r.recoveries)) + " on average (" +
                        std::to_string(r.recoveries) + (r.recoveries == 1 ? " time)" : " times)");
    out += row("blocking", blocking_row);
    if (!r.dark_ports.empty()) {
        std::string ports;
        for (auto p : r.dark_ports) ports += (ports.empty() ? "" : ",") + std::to_string(p);
        out += row("dark ports", "udp " + ports + " (tried again later)");
    }
    std::string drops;
    for (const auto& [key, words] : kDropWords)
        if (auto it = r.drops.find(key); it != r.drops.end() && it->second > 0)
            drops += (drops.empty() ? "" : ", ") + std::string(words) + " " + thousands(it->second);
    out += row("drops", drops.empty() ? std::string("none") : paint(drops, kYellow));
    if (!r.recent_changes.empty()) {
        out += "  recent path changes, newest first:\n";
        for (auto it = r.recent_changes.rbegin(); it != r.recent_changes.rend(); ++it)
            out += "    " + clock_time(it->at, o) + "  " + it->reason + "\n";
    }
    out += paint("  session " + r.session + ", local VPN client " +
                     (r.local_client.empty() ? std::string("not seen yet") : r.local_client) + ", mask " + r.mask,
                 kDim) +
           "\n";
    return out;
}

std::string render_server(const ServerReading& r, const ServerReading* before, std::string_view source,
                          const ViewOptions& o) {
    const Paint paint{o.colour};
    const double interval = before ? o.interval : 0;
    const ServerReading empty;
    const auto& b = before ? *before : empty;
    std::string out = paint("porthop server " + r.version, kBold) + paint(" (" + std::string(source) + ")", kDim);
    if (const double started = r.sum("porthop_start_time_seconds"); started > 0)
        out += ", up " + human_duration(o.now - started);
    out += "\n";
    const auto n = [](double v) {
        if (std::isfinite(v) && v >= 0 && v < kLargestCount) return thousands(static_cast<std::uint64_t>(std::llround(v)));
        char text[32];
        std::snprintf(text, sizeof text, "%g", v);
        return std::string(text);
    };
    out += row("sessions", n(r.sum("porthop_sessions")) + " of " + n(r.sum("porthop_sessions_limit")) +
                               ", TCP connections " + n(r.sum("porthop_tcp_connections")) + " of " +
                               n(r.sum("porthop_tcp_connections_limit")) + "; porthop clients opened " +
                               n(r.sum("porthop_agent_sessions_opened_total")));
    for (const auto& [label, words] : {std::pair{"direction=\"to_backend\"", "to backend"},
                                       std::pair{"direction=\"to_client\"", "to clients"}}) {
        const double bytes = r.sum("porthop_payload_bytes_total", label);
        out += row(words, human_bytes(bytes) + " in " + n(r.sum("porthop_datagrams_total", label)) + " datagrams" +
                              rate(bytes, b.sum("porthop_payload_bytes_total", label), interval, true));
    }
    std::string attaches;
    for (const auto& [result, value] : r.by_label("porthop_agent_attaches_total", "result"))
        attaches += (attaches.empty() ? "" : ", ") + result + " " + n(value);
    out += row("attaches", attaches.empty() ? std::string("none") : attaches);
    if (r.samples.count("porthop_tls_handshakes_total{result=\"ok\"}"))
        out += row("TLS", "handshakes ok " + n(r.sum("porthop_tls_handshakes_total", "result=\"ok\"")) + ", failed " +
                              n(r.sum("porthop_tls_handshakes_total", "result=\"failed\"")) + "; web visitors " +
                              n(r.sum("porthop_web_connections_total")));
    std::string drops;
    for (const auto& [reason, value] : r.by_label("porthop_drops_total", "reason"))
        drops += (drops.empty() ? "" : ", ") + reason + " " + n(value) +
                 rate(value, b.sum("porthop_drops_total", "reason=\"" + reason + "\""), interval, false);
    out += row("drops", drops.empty() ? std::string("none") : paint(drops, kYellow));
    const double errors = r.sum("porthop_backend_errors_total");
    out += row("backend", errors > 0 ? paint(n(errors) + " send errors", kRed) : std::string("no errors"));
    return out;
}

}  // namespace porthop::app
