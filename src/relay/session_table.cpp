#include "porthop/relay/session_table.hpp"

namespace porthop::relay {

const char* to_string(CloseReason reason) noexcept {
    switch (reason) {
        case CloseReason::idle:
            return "idle";
        case CloseReason::tcp_closed:
            return "client closed the TCP connection";
        case CloseReason::tcp_error:
            return "TCP error";
        case CloseReason::frame_too_large:
            return "frame longer than max_datagram";
        case CloseReason::tcp_timeout:
            return "no frame in time";
        case CloseReason::listener_removed:
            return "its port was removed by a reload";
        case CloseReason::evicted:
            return "unanswered by the backend, evicted for a newer client";
        case CloseReason::superseded:
            return "its address now belongs to a porthop client";
        case CloseReason::shutdown:
            return "shutdown";
    }
    return "unknown";
}

bool SessionTable::insert(SessionPtr session, const UdpKey* key) {
    if (full() || !session) return false;
    if (key && by_udp_.count(*key)) return false;
    const auto id = session->id;
    if (by_id_.count(id)) return false;
    Session* raw = session.get();
    Entry entry{std::move(session), {}, 0};
    if (key) {
        entry.udp_keys.push_back(*key);
        by_udp_.emplace(*key, raw);
    }
    by_id_.emplace(id, std::move(entry));
    return true;
}

bool SessionTable::set_hop_id(std::uint64_t id, std::uint64_t hop_id) {
    auto it = by_id_.find(id);
    // 0 means "not an agent" in an entry: it can never be a hop id.
    if (hop_id == 0 || it == by_id_.end() || it->second.hop_id != 0 || by_hop_id_.count(hop_id)) return false;
    it->second.hop_id = hop_id;
    by_hop_id_.emplace(hop_id, it->second.session.get());
    return true;
}

bool SessionTable::add_udp_path(std::uint64_t id, const UdpKey& key) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    Session* raw = it->second.session.get();
    auto& keys = it->second.udp_keys;
    if (auto owner = by_udp_.find(key); owner != by_udp_.end()) {
        if (owner->second != raw) return false;
        std::erase(keys, key);  // refreshed: moves to the back (newest)
        keys.push_back(key);
        return true;
    }
    if (keys.size() >= kMaxAgentPaths) {
        by_udp_.erase(keys.front());
        keys.erase(keys.begin());
    }
    keys.push_back(key);
    by_udp_.emplace(key, raw);
    return true;
}

bool SessionTable::move_udp(std::uint64_t id, const UdpKey& key) {
    auto it = by_id_.find(id);
    if (it == by_id_.end() || it->second.udp_keys.size() != 1) return false;
    Session* raw = it->second.session.get();
    if (auto owner = by_udp_.find(key); owner != by_udp_.end()) return owner->second == raw;
    by_udp_.erase(it->second.udp_keys.front());
    it->second.udp_keys.front() = key;
    by_udp_.emplace(key, raw);
    return true;
}

void SessionTable::remove_listener_paths(std::uint64_t id, std::uint32_t listener) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return;
    std::erase_if(it->second.udp_keys, [&](const UdpKey& k) {
        if (k.listener != listener) return false;
        by_udp_.erase(k);
        return true;
    });
}

SessionPtr SessionTable::erase(std::uint64_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    for (const auto& key : it->second.udp_keys) by_udp_.erase(key);
    if (it->second.hop_id != 0) by_hop_id_.erase(it->second.hop_id);
    SessionPtr session = std::move(it->second.session);
    by_id_.erase(it);
    return session;
}

std::vector<std::uint64_t> SessionTable::idle_since(Session::Clock::time_point deadline) const {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, entry] : by_id_)
        if (entry.session->last_from_client < deadline) ids.push_back(id);
    return ids;
}

}  // namespace porthop::relay
