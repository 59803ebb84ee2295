// Packet buffers with headroom, from a pool. A datagram is received at `kHeadroom` bytes into
// its buffer so that a header (the TCP length, later the hop-link header) can be written in
// front of it in place: the payload is never copied between receive and send.
//
// The pool only allocates while it warms up; in steady state get/put are a vector push/pop.
// Not thread-safe: one pool per event loop.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace porthop::net {

inline constexpr std::size_t kHeadroom = 64;

class PacketBuffer {
public:
    explicit PacketBuffer(std::size_t payload_capacity)
        : storage_(new std::byte[kHeadroom + payload_capacity]), capacity_(payload_capacity) {}

    // Receive target: the payload area after the headroom.
    std::byte* payload() noexcept { return storage_.get() + kHeadroom; }
    const std::byte* payload() const noexcept { return storage_.get() + kHeadroom; }
    std::size_t payload_capacity() const noexcept { return capacity_; }

    std::size_t length = 0;  // payload bytes held

    // The payload with `header` bytes of headroom in front of it (header <= kHeadroom).
    std::span<std::byte> with_header(std::size_t header) noexcept {
        return {payload() - header, header + length};
    }

private:
    std::unique_ptr<std::byte[]> storage_;
    std::size_t capacity_;
};

class PacketPool {
public:
    // `limit` bounds how many buffers may exist at once (in use or free).
    PacketPool(std::size_t payload_capacity, std::size_t limit)
        : capacity_(payload_capacity), limit_(limit) {}

    // nullptr when `limit` buffers are in use: the caller drops or waits, never blocks.
    std::unique_ptr<PacketBuffer> get() {
        if (!free_.empty()) {
            auto buffer = std::move(free_.back());
            free_.pop_back();
            buffer->length = 0;
            return buffer;
        }
        if (created_ >= limit_) return nullptr;
        ++created_;
        free_.reserve(created_);  // so put() never allocates
        return std::make_unique<PacketBuffer>(capacity_);
    }

    void put(std::unique_ptr<PacketBuffer> buffer) {
        if (buffer) free_.push_back(std::move(buffer));
    }

    std::size_t payload_capacity() const noexcept { return capacity_; }
    std::size_t created() const noexcept { return created_; }
    std::size_t available() const noexcept { return free_.size(); }

private:
    std::size_t capacity_;
    std::size_t limit_;
    std::size_t created_ = 0;
    std::vector<std::unique_ptr<PacketBuffer>> free_;
};

}  // namespace porthop::net
