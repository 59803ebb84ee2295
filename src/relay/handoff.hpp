// Private to the relay: what the workers share (server.hpp's `workers`). Each worker owns its
// sessions; when one receives a datagram that belongs to another's session (the directory
// says so), it copies it into the owner's inbox and wakes the owner through an eventfd. That
// copy is the price of a client that changed address (the kernel steers by address); every
// other datagram stays on the worker that received it, uncopied.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "porthop/hop/replay_ledger.hpp"
#include "porthop/relay/directory.hpp"
#include "porthop/relay/inbox.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::relay {

// What the workers of one server share. Sessions and TCP connections are counted here so that
// max_sessions and max_tcp_connections hold for the server, not per worker.
struct Shared {
    // The replay ledger's smallest capacity; a server allowed more sessions gets twice those.
    static constexpr std::size_t kLedgerCapacity = 65536;
    // `ledger_capacity`: sessions the replay ledger holds at most (kLedgerCapacity or more).
    Shared(std::uint32_t worker_count, std::size_t inbox_bytes, std::size_t ledger_capacity = kLedgerCapacity);

    const std::uint32_t workers;
    Directory directory;
    std::vector<std::unique_ptr<Inbox>> inboxes;  // one per worker
    std::vector<Server::Impl*> impls;             // one per worker: TCP connections are posted to them
    std::atomic<std::size_t> sessions{0};
    std::atomic<std::size_t> tcp_connections{0};
    std::atomic<std::uint64_t> next_session_id{1};
    // Porthop clients' sessions no worker holds (hop/replay_ledger.hpp): closed ones, and those
    // a restart read from the state file. Consulted only for an authenticated attach of a
    // session nobody holds, and written when an agent session closes: rare, so one lock.
    std::mutex ledger_mutex;
    hop::ReplayLedger ledger;
    std::function<void()> agent_session_opened;  // Server::on_agent_session_opened; set before start

    // Takes one unit of `counter` unless that reaches `limit`.
    static bool take(std::atomic<std::size_t>& counter, std::size_t limit) noexcept {
        if (counter.fetch_add(1, std::memory_order_relaxed) < limit) return true;
        counter.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
};

}  // namespace porthop::relay
