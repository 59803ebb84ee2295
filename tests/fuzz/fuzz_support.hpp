// Shared by the libFuzzer targets: a contract check that aborts (libFuzzer reports the input),
// and allocation counting on the fuzzing thread through the sanitizer's malloc hooks, for the
// targets that check a hot-path function never allocates.
#pragma once

#include <sanitizer/allocator_interface.h>

#include <cstddef>
#include <cstdlib>
#include <type_traits>

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

}  // namespace porthop::fuzz
