// Counts heap allocations made by chosen threads in a chosen window of time, for the
// allocation tests (alloc_test.cpp). alloc_counter.cpp replaces every form of global operator
// new/delete (plain, array, nothrow, aligned, sized) and interposes malloc/calloc/realloc;
// an allocation is counted when the calling thread was marked with count_this_thread() and the
// window is open. Counted allocations are grouped by call stack, so a failure says where they
// came from and how often.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace porthop::alloc {

inline constexpr std::size_t kMaxSamples = 16;  // call stacks reported, most frequent first

// Marks (or unmarks) the calling thread: its allocations count while the window is open.
// Post it to an io_context to mark the thread that runs it.
void count_this_thread(bool counted = true) noexcept;

// Opens the window (resetting the counts and samples) and closes it.
void open_window() noexcept;
void close_window() noexcept;

struct Counts {
    std::uint64_t allocations = 0;  // operator new (any form) and malloc/calloc/realloc
    std::uint64_t bytes = 0;
};
Counts counts() noexcept;

// The call stacks that allocated in the last window, most frequent first (at most kMaxSamples),
// each with its count, symbolised (function, file and line via addr2line when it is installed,
// else the dynamic symbol). Call with the window closed.
std::vector<std::string> samples();

}  // namespace porthop::alloc
