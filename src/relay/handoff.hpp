// Private to the relay: what the workers share (server.hpp's `workers`). Each worker owns its
// sessions; when one receives a datagram that belongs to another's session (the directory
// says so), it copies it into the owner's inbox and wakes the owner through an eventfd. That
// copy is the price of a client that changed address (the kernel steers by address); every
// other datagram stays on the worker that received it, uncopied.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/directory.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::relay {

// A bounded byte ring of datagrams, many writers and one reader. Memory is allocated once; a
// push that does not fit is refused (the caller counts a drop), never waited for.
class Inbox {
public:
    struct Header {
        net::Endpoint listener;  // the bound address of the listener it came in on
        net::Endpoint peer;
        net::LocalAddress local;
        std::uint32_t length = 0;
    };
    explicit Inbox(std::size_t capacity_bytes);
    ~Inbox();
    Inbox(const Inbox&) = delete;
    Inbox& operator=(const Inbox&) = delete;

    // Readable (an eventfd) while datagrams wait; the reader clears it with clear_wake() before
    // it pops, so a push racing with the last pop still wakes it.
    int wake_fd() const noexcept { return wake_; }
    void clear_wake() noexcept;

    bool push(const Header& header, std::span<const std::byte> payload) noexcept;
    // The oldest datagram into `out` (its payload; `out` must hold max_datagram bytes);
    // false when the ring is empty. A payload longer than `out` is dropped, returned as length 0.
    bool pop(Header& header, std::span<std::byte> out) noexcept;

private:
    static constexpr std::uint32_t kSkip = 0xFFFFFFFFu;  // a header saying "wrap to the start"
    std::mutex mutex_;
    // Not zero-filled: a page of the ring becomes resident only once a datagram passes through
    // it, so an idle worker's inbox costs no memory (4 MiB each otherwise).
    std::unique_ptr<std::byte[]> ring_;
    std::size_t capacity_;
    std::uint64_t head_ = 0, tail_ = 0;  // byte offsets, only ever growing
    int wake_ = -1;
};

// What the workers of one server share. Sessions and TCP connections are counted here so that
// max_sessions and max_tcp_connections hold for the server, not per worker.
struct Shared {
    Shared(std::uint32_t worker_count, std::size_t inbox_bytes);

    const std::uint32_t workers;
    Directory directory;
    std::vector<std::unique_ptr<Inbox>> inboxes;  // one per worker
    std::vector<Server::Impl*> impls;             // one per worker: TCP connections are posted to them
    std::atomic<std::size_t> sessions{0};
    std::atomic<std::size_t> tcp_connections{0};
    std::atomic<std::uint64_t> next_session_id{1};

    // Takes one unit of `counter` unless that reaches `limit`.
    static bool take(std::atomic<std::size_t>& counter, std::size_t limit) noexcept {
        if (counter.fetch_add(1, std::memory_order_relaxed) < limit) return true;
        counter.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
};

}  // namespace porthop::relay
