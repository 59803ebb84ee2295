#include "porthop/app/metrics_text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace porthop::app {
namespace {

class Writer {
public:
    // HELP and TYPE once per family, before its first sample.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
        out_ += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
    }
    void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
        out_ += std::string(name);
        if (!labels.empty()) out_ += "{" + std::string(labels) + "}";
        out_ += " " + std::to_string(value) + "\n";
    }
    void sample(std::string_view name, std::string_view labels, double value) {
        char text[64];
        std::snprintf(text, sizeof text, "%.3f", value);
        out_ += std::string(name);
        if (!labels.empty()) out_ += "{" + std::string(labels) + "}";
        out_ += " " + std::string(text) + "\n";
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string address_of(const net::Endpoint& e) {
    // to_string() is "a.b.c.d:port" or "[v6]:port": strip the port and the brackets.
    std::string text = e.to_string();
    text.resize(text.rfind(':'));
    if (!text.empty() && text.front() == '[') text = text.substr(1, text.size() - 2);
    return text;
}

std::string listener_labels(const relay::ListenerSnapshot& l) {
    return "proto=\"" + std::string(l.proto) + "\",address=\"" + escape_label_value(address_of(l.bound)) +
           "\",port=\"" + std::to_string(l.bound.port()) + "\"";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// The same two families head the server's and the client's metrics.
static void write_process(Writer& w, const ProcessInfo& process) {
    w.family("porthop_build_info", "gauge", "Always 1; the version label says which porthop this is.");
    w.sample("porthop_build_info", "version=\"" + escape_label_value(process.version) + "\"",
             std::uint64_t{1});
    w.family("porthop_start_time_seconds", "gauge",
             "When the process started, in seconds since the Unix epoch.");
    w.sample("porthop_start_time_seconds", "", process.start_time_seconds);
}

std::string render_metrics(const relay::ServerSnapshot& snap, const relay::Counters& counters,
                           const ProcessInfo& process) {
    Writer w;
    write_process(w, process);

    w.family("porthop_sessions", "gauge", "Sessions open now (UDP clients and TCP connections).");
    w.sample("porthop_sessions", "", std::uint64_t{snap.sessions});
    w.family("porthop_sessions_limit", "gauge", "max_sessions: sessions beyond it are refused.");
    w.sample("porthop_sessions_limit", "", std::uint64_t{snap.max_sessions});
    w.family("porthop_tcp_connections", "gauge", "TCP connections open now.");
    w.sample("porthop_tcp_connections", "", std::uint64_t{snap.tcp_connections});
    w.family("porthop_tcp_connections_limit", "gauge",
             "max_tcp_connections: connections beyond it are closed.");
    w.sample("porthop_tcp_connections_limit", "", std::uint64_t{snap.max_tcp_connections});

    w.family("porthop_worker_sessions", "gauge",
             "Sessions open now, by the worker (event loop) that owns them.");
    for (std::size_t k = 0; k < snap.worker_sessions.size(); ++k)
        w.sample("porthop_worker_sessions", "worker=\"" + std::to_string(k) + "\"",
                 std::uint64_t{snap.worker_sessions[k]});

    w.family("porthop_listener_sessions", "gauge",
             "Sessions open now, by the listener the client came in on.");
    for (const auto& l : snap.listeners)
        w.sample("porthop_listener_sessions", listener_labels(l), l.sessions);
    w.family(
        "porthop_listener_datagrams_total", "counter",
        "Datagrams forwarded, by listener and direction (from_client: to the backend; to_client: back).");
    for (const auto& l : snap.listeners) {
        const auto labels = listener_labels(l);
        w.sample("porthop_listener_datagrams_total", labels + ",direction=\"from_client\"",
                 l.from_client_packets);
        w.sample("porthop_listener_datagrams_total", labels + ",direction=\"to_client\"",
                 l.to_client_packets);
    }
    w.family("porthop_listener_payload_bytes_total", "counter",
             "Datagram payload bytes forwarded, by listener and direction.");
    for (const auto& l : snap.listeners) {
        const auto labels = listener_labels(l);
        w.sample("porthop_listener_payload_bytes_total", labels + ",direction=\"from_client\"",
                 l.from_client_bytes);
        w.sample("porthop_listener_payload_bytes_total", labels + ",direction=\"to_client\"",
                 l.to_client_bytes);
    }

    // The counters list keeps each family's entries together; its first entry carries the help.
    std::string_view current;
    counters.for_each([&](const relay::Counters::Entry& c) {
        if (c.family != current) {
            w.family(c.family, "counter", c.help);
            current = c.family;
        }
        w.sample(c.family, c.label, c.value);
    });

    w.family("porthop_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.");
    w.sample("porthop_reloads_total", "result=\"applied\"", process.reloads_applied);
    w.sample("porthop_reloads_total", "result=\"rejected\"", process.reloads_rejected);
    return w.take();
}

// The agent's counters of one group, each family as one block (HELP and TYPE, then its
// samples in the list's order), the families in the order they first appear in the list.
static void write_agent_counters(Writer& w, const relay::AgentStatus& st, relay::AgentCounterGroup group) {
    std::vector<std::string_view> written;
    st.for_each_counter([&](const relay::AgentStatus::Counter& first) {
        if (first.group != group || std::find(written.begin(), written.end(), first.family) != written.end())
            return;
        written.push_back(first.family);
        w.family(first.family, "counter", first.help);
        st.for_each_counter([&](const relay::AgentStatus::Counter& c) {
            if (c.group == group && c.family == first.family) w.sample(c.family, c.label, c.value);
        });
    });
}

// Cumulative buckets, as Prometheus histograms are written.
static void write_recoveries(Writer& w, const hop::Recoveries& r) {
    constexpr std::string_view name = "porthop_client_recovery_seconds";
    w.family(name, "histogram",
             "Time without a path each time the agent lost one: from the last thing the lost path "
             "brought (or its close) to the switch to the next.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < hop::Recoveries::kBounds.size(); ++i) {
        cumulative += r.buckets[i];
        char le[32];
        std::snprintf(le, sizeof le, "le=\"%g\"", hop::Recoveries::kBounds[i]);
        w.sample("porthop_client_recovery_seconds_bucket", le, cumulative);
    }
    w.sample("porthop_client_recovery_seconds_bucket", "le=\"+Inf\"", r.count);
    w.sample("porthop_client_recovery_seconds_sum", "", r.sum_seconds);
    w.sample("porthop_client_recovery_seconds_count", "", r.count);
}

std::string render_client_metrics(const relay::AgentStatus& st, const ProcessInfo& process) {
    Writer w;
    write_process(w, process);

    w.family("porthop_client_path_info", "gauge",
             "Always 1; the path label is the path in use (none, udp/PORT, tcp/PORT).");
    w.sample("porthop_client_path_info", "path=\"" + escape_label_value(st.path) + "\"", std::uint64_t{1});
    write_agent_counters(w, st, relay::AgentCounterGroup::path_changes);
    w.family("porthop_client_rtt_seconds", "gauge",
             "Round trip of the last answered probe on the path in use (-1: not measured yet).");
    w.sample("porthop_client_rtt_seconds", "", st.rtt_ms < 0 ? -1.0 : st.rtt_ms / 1000.0);
    w.family("porthop_client_dark_ports", "gauge", "UDP ports that went dark and are not retried yet.");
    w.sample("porthop_client_dark_ports", "", std::uint64_t{st.dark_ports.size()});
    w.family("porthop_client_rung", "gauge", "The rung in use: 0 no path, 1 UDP, 2 TCP, 3 TLS.");
    w.sample("porthop_client_rung", "",
             std::uint64_t{st.rung == "udp" ? 1u : st.rung == "tcp" ? 2u : st.rung == "tls" ? 3u : 0u});
    w.family("porthop_client_udp_blocked_since_seconds", "gauge",
             "Since when no UDP port answers, in seconds since the Unix epoch (0: UDP works).");
    w.sample("porthop_client_udp_blocked_since_seconds", "", st.udp_blocked_since);
    write_agent_counters(w, st, relay::AgentCounterGroup::blocking);
    write_recoveries(w, st.recoveries);
    write_agent_counters(w, st, relay::AgentCounterGroup::traffic);
    return w.take();
}

}  // namespace porthop::app
