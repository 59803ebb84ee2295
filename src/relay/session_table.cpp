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
    by_id_.emplace(id, Entry{std::move(session), key != nullptr, key ? *key : UdpKey{}});
    if (key) by_udp_.emplace(*key, raw);
    return true;
}

SessionPtr SessionTable::erase(std::uint64_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    if (it->second.has_udp_key) by_udp_.erase(it->second.udp_key);
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
