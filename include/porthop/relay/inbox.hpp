// The workers' inbox: when a worker receives a datagram that belongs to another worker's
// session (the directory says so), it copies it into the owner's inbox and wakes the owner
// through an eventfd (src/relay/handoff.hpp: what the workers share). Public so that tests and
// benchmarks reach it without a private header. It stays in relay, built per event backend,
// because its header carries net::Endpoint and net::LocalAddress, whose headers bring in Asio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"

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

}  // namespace porthop::relay
