#include "porthop/crypto/frame_mask.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "sodium_bytes.hpp"

namespace porthop::crypto {

namespace {

static_assert(kHopKeySize == crypto_stream_chacha20_ietf_KEYBYTES);
static_assert(kMaskSaltSize + 4 == crypto_stream_chacha20_ietf_NONCEBYTES);

// The IETF variant's 32-bit block counter. Callers have checked the bound (kMaskStreamMax), so
// the cast never wraps: a wrapped counter would repeat the keystream without a word.
std::uint32_t counter_of(std::uint64_t block_index) noexcept {
    return static_cast<std::uint32_t>(block_index);
}

}  // namespace

MaskStream::MaskStream(const HopKey& mask_key, std::span<const std::byte, kMaskSaltSize> salt,
                       MaskDirection direction) noexcept
    : key_(mask_key) {
    std::memcpy(nonce_.data(), salt.data(), kMaskSaltSize);
    nonce_[kMaskSaltSize] = static_cast<std::byte>(direction);  // the last 3 bytes stay zero
    // Block 0 straight into block_ (no XOR over zeros needed at counter 0).
    crypto_stream_chacha20_ietf(u8(block_.data()), block_.size(), u8(nonce_.data()), u8(key_.data()));
}

void MaskStream::load_block(std::uint64_t index) noexcept {
    block_.fill(std::byte{0});
    crypto_stream_chacha20_ietf_xor_ic(u8(block_.data()), u8(block_.data()), block_.size(), u8(nonce_.data()),
                                       counter_of(index), u8(key_.data()));
    block_index_ = index;
}

void MaskStream::apply(std::span<std::byte> data) noexcept {
    if (data.empty()) return;
    if (data.size() > kMaskStreamMax - position_) sodium_misuse();  // past 2^32 blocks: aborts

    // 1. The rest of the block that position_ lies in, from block_: at position 0 that is the
    //    block computed at construction, which is all the light mode ever needs.
    const std::uint64_t index = position_ / kMaskBlockSize;
    const std::size_t offset = static_cast<std::size_t>(position_ % kMaskBlockSize);
    if (index == block_index_ || offset != 0) {
        if (index != block_index_) load_block(index);  // a skip() ended inside a block
        const std::size_t n = std::min(data.size(), kMaskBlockSize - offset);
        for (std::size_t i = 0; i < n; ++i) data[i] ^= block_[offset + i];
        position_ += n;
        data = data.subspan(n);
        if (data.empty()) return;
    }

    // 2. position_ is now at a block boundary: everything left in one libsodium call from that
    //    block on (whole blocks vectorised; the tail's partial block handled inside). block_
    //    is not refreshed: an apply() that starts inside that tail block reloads it in step 1,
    //    one extra block, and only after a span that ran past the first block (full mode with
    //    a trailer in storage of its own, say).
    crypto_stream_chacha20_ietf_xor_ic(u8(data.data()), u8(data.data()), data.size(), u8(nonce_.data()),
                                       counter_of(position_ / kMaskBlockSize), u8(key_.data()));
    position_ += data.size();
}

void MaskStream::skip(std::size_t n) noexcept {
    // Clamped at the end of the stream, so that the next apply() aborts instead of wrapping.
    position_ = n > kMaskStreamMax - position_ ? kMaskStreamMax : position_ + n;
}

}  // namespace porthop::crypto
