// The server's sessions: native UDP clients are found by (listener, client address); TCP
// sessions belong to their connection and are only counted and expired here. Agent sessions
// (porthop clients) are found by their hop-link session id, and by each UDP path they attached
// (up to kMaxAgentPaths, the oldest forgotten first).
// Bounded: insert() refuses once `limit` sessions exist.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "porthop/relay/session.hpp"

namespace porthop::relay {

struct UdpKey {
    std::uint32_t listener;
    net::Endpoint client;
    friend bool operator==(const UdpKey&, const UdpKey&) = default;
};

struct UdpKeyHash {
    std::size_t operator()(const UdpKey& k) const noexcept {
        return k.client.hash() ^ (std::size_t{k.listener} * 0x9E3779B97F4A7C15ull);
    }
};

class SessionTable {
public:
    explicit SessionTable(std::size_t limit) : limit_(limit) {
        by_id_.reserve(std::min<std::size_t>(limit, 4096));
    }

    std::size_t size() const noexcept { return by_id_.size(); }
    std::size_t limit() const noexcept { return limit_; }
    bool full() const noexcept { return by_id_.size() >= limit_; }
    void set_limit(std::size_t limit) noexcept { limit_ = limit; }

    Session* find_udp(const UdpKey& key) const noexcept {
        auto it = by_udp_.find(key);
        return it == by_udp_.end() ? nullptr : it->second;
    }

    // Shares ownership, so the caller can close a session while the table lets go of it.
    SessionPtr get(std::uint64_t id) const {
        auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : it->second.session;
    }

    // Adds a session; with `key` it becomes findable by UDP address. False when full or the
    // key is taken (the caller keeps ownership then).
    bool insert(SessionPtr session, const UdpKey* key);

    static constexpr std::size_t kMaxAgentPaths = 8;

    // Makes an agent session findable by its hop-link id. False if the id is taken or the
    // session unknown.
    bool set_hop_id(std::uint64_t id, std::uint64_t hop_id);
    Session* find_agent(std::uint64_t hop_id) const noexcept {
        auto it = by_hop_id_.find(hop_id);
        return it == by_hop_id_.end() ? nullptr : it->second;
    }
    // Binds one more UDP path to session `id` (an agent's). The key must be free (the caller
    // closes a native session that held it); a key the session already has is refreshed.
    // False if the session is unknown or the key belongs to another session.
    bool add_udp_path(std::uint64_t id, const UdpKey& key);
    // Moves a native UDP session to another (listener, address): its one UDP key is replaced.
    // False if the session is unknown, has no UDP key, or `key` belongs to another session.
    bool move_udp(std::uint64_t id, const UdpKey& key);
    // The session with this id, or null; does not share ownership (no atomic reference count).
    Session* find(std::uint64_t id) const noexcept {
        auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : it->second.session.get();
    }
    // The UDP keys of session `id` (an agent's paths oldest first; a native session's one), or
    // none if it is unknown. Valid until the table changes.
    std::span<const UdpKey> udp_paths(std::uint64_t id) const noexcept {
        auto it = by_id_.find(id);
        if (it == by_id_.end()) return {};
        return it->second.udp_keys;
    }
    // Unbinds every path of `listener` from session `id` (its port closed).
    void remove_listener_paths(std::uint64_t id, std::uint32_t listener);

    // Removes the session (and its UDP keys) and hands back ownership; null if unknown.
    SessionPtr erase(std::uint64_t id);

    // Sessions whose client has been silent since before `deadline`.
    std::vector<std::uint64_t> idle_since(Session::Clock::time_point deadline) const;

    template <typename F>
    void for_each(F&& f) const {
        for (const auto& [id, entry] : by_id_) f(*entry.session);
    }

private:
    struct Entry {
        SessionPtr session;
        std::vector<UdpKey> udp_keys;  // native: none or one; agent: its paths, oldest first
        std::uint64_t hop_id = 0;      // 0: not an agent session
    };
    std::size_t limit_;
    std::unordered_map<std::uint64_t, Entry> by_id_;
    std::unordered_map<UdpKey, Session*, UdpKeyHash> by_udp_;
    std::unordered_map<std::uint64_t, Session*> by_hop_id_;
};

}  // namespace porthop::relay
