// The receiving half of a framed stream (net/framed_stream.hpp), without the stream: a fixed
// buffer that reads land in and u16-length frames (wire/framing.hpp) are split off, in place.
//
// Sized once: room for the longest frame (header + max_frame) plus `slack`, so a partial frame
// at the front can always complete. Each read asks for at most `read_chunk` bytes, or for what
// the frame being assembled at the front still needs if that is more: the pages a connection
// touches follow its frames, not the largest possible one (the buffer is not zero-filled, so
// untouched pages cost no memory).
//
// Record lengths (docs/PROTOCOL.md, "TCP framing") come in three forms:
//   plain   the u16 in clear: native clients, and every stream of a server without a key;
//   masked  a porthop agent's records (crypto/length_mask.hpp): the length is unmasked with
//           the 8 bytes of salt that follow it, so a record is split only once 10 bytes are in;
//   either  a server connection's first record, before anything says what the client is. The
//           owner's FirstRecord rule judges each complete reading: a masked one (no longer than
//           a control frame) that is an agent's attach is taken first, then a clear one that
//           is a native client's first datagram, then a complete clear one the rule refused
//           (the owner refuses it); otherwise the reader waits while either reading may still
//           complete. Judged readings, not their order, decide: a native client whose first
//           record arrives in pieces is not cut short by a masked reading of its first bytes,
//           and an agent is not taken for a native client by its random clear reading.
//           The split says which form it read (FrameSplit::masked); the owner then fixes the
//           form (read_plain or read_masked) for the rest of the stream.
//
// Pure bookkeeping (no I/O): the stream reads into read_target(), then commit()s.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "porthop/crypto/length_mask.hpp"
#include "porthop/wire/framing.hpp"

namespace porthop::net {

class FrameReader {
public:
    struct Limits {
        std::size_t max_frame;   // the longest payload a peer may announce (<= 65535)
        std::size_t read_chunk;  // bytes asked for per read (more only for a longer frame)
        std::size_t slack;       // room beyond one longest frame
    };

    // How `either` judges the readings of a first record (the server's TcpConnection).
    class FirstRecord {
    public:
        // A masked reading that is a porthop agent's first frame (an attach under the key).
        virtual bool agent(std::span<const std::byte> payload) const noexcept = 0;
        // A clear reading that is a native client's first datagram (a VPN handshake).
        virtual bool native(std::span<const std::byte> payload) const noexcept = 0;

    protected:
        ~FirstRecord() = default;
    };

    explicit FrameReader(Limits limits) noexcept;

    // The form of the records from the next split on (plain until told otherwise). `rule` must
    // outlive the reader or the next form change.
    void read_plain() noexcept;
    void read_masked(const crypto::LengthMask& mask) noexcept;
    // `max_masked`: the longest masked first record (an agent's first frame is an attach: a
    // control frame, at most FrameCodec::kMaxControl), so that random bytes rarely read as the
    // start of one and make the reader wait.
    void read_either(const crypto::LengthMask& mask, const FirstRecord& rule, std::size_t max_masked) noexcept;

    // Allocates the buffer (not before: a connection that never starts costs nothing).
    void allocate();
    bool allocated() const noexcept { return buffer_ != nullptr; }

    // Where the next read lands; never empty while frames are consumed as they complete.
    std::span<std::byte> read_target() noexcept;
    void commit(std::size_t n) noexcept { length_ += n; }
    // Copies bytes read elsewhere to the end (allocated first); false, copying nothing, if
    // they do not fit.
    bool append(std::span<const std::byte> bytes) noexcept;

    // The record that starts `offset` bytes into the buffer, in the current form.
    wire::FrameSplit split_at(std::size_t offset) const noexcept;
    // Drops the first `bytes` (frames done with); the rest moves to the front.
    void consume(std::size_t bytes) noexcept;

    std::size_t length() const noexcept { return length_; }
    std::size_t capacity() const noexcept { return capacity_; }
    const Limits& limits() const noexcept { return limits_; }

private:
    enum class Form : std::uint8_t { plain, masked, either };
    wire::FrameSplit split_masked(std::span<const std::byte> buffer, std::size_t max_length) const noexcept;
    wire::FrameSplit split_either(std::span<const std::byte> buffer) const noexcept;
    // The length a masked record announces (at least kFrameHeaderSize + salt bytes in `buffer`).
    std::size_t masked_length(std::span<const std::byte> buffer) const noexcept;

    Limits limits_;
    Form form_ = Form::plain;
    std::optional<crypto::LengthMask> mask_;
    const FirstRecord* rule_ = nullptr;
    std::size_t max_masked_first_ = 0;
    std::size_t capacity_;
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t length_ = 0;
};

}  // namespace porthop::net
