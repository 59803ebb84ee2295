// libsodium takes `unsigned char` pointers; porthop's byte spans hold std::byte. The cast in one
// place for the crypto layer's sources (private: on no include path outside src/crypto/). Not
// in each file's anonymous namespace: a unity build compiles several of these sources as one
// translation unit, where two such helpers would be one name defined twice.
#pragma once

#include <cstddef>

namespace porthop::crypto {

inline const unsigned char* u8(const std::byte* p) noexcept {
    return reinterpret_cast<const unsigned char*>(p);
}
inline unsigned char* u8(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }

}  // namespace porthop::crypto
