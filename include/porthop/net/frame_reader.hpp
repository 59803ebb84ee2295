// The receiving half of a framed stream (net/framed_stream.hpp), without the stream: a fixed
// buffer that reads land in and u16-length frames (wire/framing.hpp) are split off, in place.
//
// Sized once: room for the longest frame (header + max_frame) plus `slack`, so a partial frame
// at the front can always complete. Each read asks for at most `read_chunk` bytes, or for what
// the frame being assembled at the front still needs if that is more: the pages a connection
// touches follow its frames, not the largest possible one (the buffer is not zero-filled, so
// untouched pages cost no memory).
//
// Pure bookkeeping (no I/O): the stream reads into read_target(), then commit()s.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "porthop/wire/framing.hpp"

namespace porthop::net {

class FrameReader {
public:
    struct Limits {
        std::size_t max_frame;   // the longest payload a peer may announce (<= 65535)
        std::size_t read_chunk;  // bytes asked for per read (more only for a longer frame)
        std::size_t slack;       // room beyond one longest frame
    };

    explicit FrameReader(Limits limits) noexcept;

    // Allocates the buffer (not before: a connection that never starts costs nothing).
    void allocate();
    bool allocated() const noexcept { return buffer_ != nullptr; }

    // Where the next read lands; never empty while frames are consumed as they complete.
    std::span<std::byte> read_target() noexcept;
    void commit(std::size_t n) noexcept { length_ += n; }

    // The frame that starts `offset` bytes into the buffer.
    wire::FrameSplit split_at(std::size_t offset) const noexcept {
        return wire::split_frame({buffer_.get() + offset, length_ - offset}, limits_.max_frame);
    }
    // Drops the first `bytes` (frames done with); the rest moves to the front.
    void consume(std::size_t bytes) noexcept;

    std::size_t length() const noexcept { return length_; }
    std::size_t capacity() const noexcept { return capacity_; }
    const Limits& limits() const noexcept { return limits_; }

private:
    Limits limits_;
    std::size_t capacity_;
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t length_ = 0;
};

}  // namespace porthop::net
