// Which worker owns a session, for the relay's workers to find each other's sessions. Each
// worker keeps its sessions in its own tables (one event loop each, no locks on the packet
// path); this directory is consulted only when a worker cannot place a datagram itself: a
// client address it has no session for, an attach naming a porthop session it does not hold,
// a roaming WireGuard index or OpenVPN peer-id it does not know. The kernel steers each client
// address to one worker (net/steering.hpp), so that happens when a client changes address.
//
// Entries are written when a session gets a path or a roaming key (per session, not per
// packet) and all of a session's entries go when it closes. A session keeps at most
// kMaxKeysPerSession entries; its oldest go first (an agent hopping ports for days).
// Thread-safe: one reader-writer lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "porthop/net/endpoint.hpp"

namespace porthop::relay {

struct Owner {
    std::uint32_t worker = 0;
    std::uint64_t session = 0;
    friend bool operator==(const Owner&, const Owner&) = default;
};

// A client's flow: the listener's bound address (the same on every worker) and the client.
struct FlowKey {
    net::Endpoint local;
    net::Endpoint client;
    friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// An identifier carried in the datagrams themselves.
enum class IdKind : std::uint8_t { hop_session, wireguard_index, openvpn_peer_id };

class Directory {
public:
    static constexpr std::size_t kMaxKeysPerSession = 32;

    void set_flow(const FlowKey& key, Owner owner);
    void set_id(IdKind kind, std::uint64_t id, Owner owner);
    std::optional<Owner> flow(const FlowKey& key) const;
    std::optional<Owner> id(IdKind kind, std::uint64_t id) const;
    // Removes every entry `owner` still holds (entries taken over by another session stay).
    void erase_session(Owner owner);
    // Every entry `from` still holds names `to` from now on: the session moved to another
    // worker (relay/workers.cpp), and datagrams for it must find it there.
    void move_session(Owner from, Owner to);

    std::size_t size() const;

private:
    struct IdKey {
        IdKind kind;
        std::uint64_t id;
        friend bool operator==(const IdKey&, const IdKey&) = default;
    };
    struct Hash {
        std::size_t operator()(const FlowKey& k) const noexcept;
        std::size_t operator()(const IdKey& k) const noexcept;
        std::size_t operator()(const Owner& o) const noexcept;
    };
    struct Key {  // one entry a session holds
        bool is_flow;
        FlowKey flow;
        IdKey id;
    };
    void remember(Owner owner, const Key& key);  // lock held
    void erase_key(Owner owner, const Key& key);  // lock held

    mutable std::shared_mutex mutex_;
    std::unordered_map<FlowKey, Owner, Hash> flows_;
    std::unordered_map<IdKey, Owner, Hash> ids_;
    std::unordered_map<Owner, std::deque<Key>, Hash> by_owner_;
};

}  // namespace porthop::relay
