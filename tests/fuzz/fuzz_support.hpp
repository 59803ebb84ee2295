// Shared by the libFuzzer targets: a contract check that aborts (libFuzzer reports the input),
// and allocation counting on the fuzzing thread through the sanitizer's malloc hooks, for the
// targets that check a hot-path function never allocates; the hop link's vector key.
#pragma once

#include <sanitizer/allocator_interface.h>

#include <cstddef>
#include <cstdlib>
#include <type_traits>

#include "porthop/crypto/hop_key.hpp"

namespace porthop::fuzz {

inline void check(bool ok) {
    if (!ok) std::abort();
}

// Only this thread's allocations count: libFuzzer's own threads may allocate at any time.
inline thread_local bool counting = false;
inline thread_local std::size_t allocations = 0;

// Call once, from LLVMFuzzerInitialize.
inline void install_allocation_hooks() {
    __sanitizer_install_malloc_and_free_hooks(
        [](const volatile void*, std::size_t) {
            if (counting) ++allocations;
        },
        [](const volatile void*) {});
}

// Runs `f`, checks that it did not allocate, and returns what it returned.
template <typename F>
auto no_alloc(F&& f) {
    counting = true;
    allocations = 0;
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        counting = false;
        check(allocations == 0);
    } else {
        auto r = f();
        counting = false;
        check(allocations == 0);
        return r;
    }
}

// The hop-link test vectors' key (bytes 0x00..0x1f, docs/PROTOCOL.md) and its subkeys, derived
// once (first by init_hop_target).
inline const crypto::HopKeys& vector_keys() {
    static const crypto::HopKeys k = [] {
        crypto::HopKey key{};
        for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(i);
        return crypto::derive_hop_keys(key);
    }();
    return k;
}

// LLVMFuzzerInitialize of the hop-link targets: libsodium, the allocation hooks, the keys.
inline void init_hop_target() {
    check(crypto::init_sodium());
    install_allocation_hooks();
    vector_keys();
}

}  // namespace porthop::fuzz
