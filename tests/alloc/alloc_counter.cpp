// The counting allocator behind alloc_counter.hpp. Every form of the global operator new and
// delete is replaced, and malloc, calloc, realloc, aligned_alloc and posix_memalign are
// interposed (glibc allows that from the executable); all of them allocate from glibc's own
// heap through its __libc_* entry points, so memory from any of them can be freed by any
// matching release, and an operator new is counted once, not again as the malloc under it.
#include "alloc_counter.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>

extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* pointer, std::size_t size) noexcept;
void* __libc_memalign(std::size_t alignment, std::size_t size) noexcept;
void __libc_free(void* pointer) noexcept;
}

namespace porthop::alloc {
namespace {

constexpr int kMaxFrames = 32;
constexpr std::size_t kMaxSites = 64;

// One allocation site: a distinct call stack, and how often it allocated in the window.
struct Site {
    std::uint64_t hash;
    void* frames[kMaxFrames];
    int depth;
    std::size_t first_size;
    std::uint64_t count, bytes;
};

// Constant-initialised: usable by allocations made before main() and by any thread.
thread_local bool t_counted = false;
thread_local bool t_inside = false;  // backtrace() may allocate (its first use loads libgcc_s)
std::atomic<bool> g_open{false};
std::atomic<std::uint64_t> g_allocations{0};
std::atomic<std::uint64_t> g_bytes{0};
std::atomic_flag g_sites_lock = ATOMIC_FLAG_INIT;  // two counted threads may allocate at once
std::size_t g_site_count = 0;
std::uint64_t g_unrecorded = 0;  // allocations from sites beyond kMaxSites
Site g_sites[kMaxSites];

// Not inlined: frame 0 of every stack is this function, frame 1 the allocation function.
[[gnu::noinline]] void note(std::size_t size) noexcept {
    if (!t_counted || t_inside || !g_open.load(std::memory_order_acquire)) return;
    t_inside = true;
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(size, std::memory_order_relaxed);
    void* frames[kMaxFrames];
    const int depth = ::backtrace(frames, kMaxFrames);
    std::uint64_t hash = 1469598103934665603ull;
    for (int i = 0; i < depth; ++i)
        hash = (hash ^ reinterpret_cast<std::uintptr_t>(frames[i])) * 1099511628211ull;
    while (g_sites_lock.test_and_set(std::memory_order_acquire)) {
    }
    Site* site = nullptr;
    for (std::size_t i = 0; i < g_site_count && !site; ++i)
        if (g_sites[i].hash == hash) site = &g_sites[i];
    if (!site && g_site_count < kMaxSites) {
        site = &g_sites[g_site_count++];
        site->hash = hash;
        std::memcpy(site->frames, frames, sizeof frames);
        site->depth = depth;
        site->first_size = size;
        site->count = site->bytes = 0;
    }
    if (site) {
        ++site->count;
        site->bytes += size;
    } else {
        ++g_unrecorded;
    }
    g_sites_lock.clear(std::memory_order_release);
    t_inside = false;
}

// backtrace()'s first call loads the unwinder (and allocates): do it before any window opens.
const bool g_unwinder_loaded = [] {
    void* frames[2];
    return ::backtrace(frames, 2) > 0;
}();

void* allocate(std::size_t size) noexcept {
    note(size);
    return __libc_malloc(size ? size : 1);
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment) noexcept {
    note(size);
    return __libc_memalign(static_cast<std::size_t>(alignment), size ? size : 1);
}

void* allocate_or_throw(std::size_t size) {
    if (void* p = allocate(size)) return p;
    throw std::bad_alloc();
}

void* allocate_aligned_or_throw(std::size_t size, std::align_val_t alignment) {
    if (void* p = allocate_aligned(size, alignment)) return p;
    throw std::bad_alloc();
}

}  // namespace

void count_this_thread(bool counted) noexcept { t_counted = counted; }

void open_window() noexcept {
    g_allocations.store(0);
    g_bytes.store(0);
    g_site_count = 0;
    g_unrecorded = 0;
    g_open.store(true, std::memory_order_seq_cst);
}

void close_window() noexcept { g_open.store(false, std::memory_order_seq_cst); }

Counts counts() noexcept { return Counts{g_allocations.load(), g_bytes.load()}; }

namespace {

// "function at file:line" for each address (inlined frames as extra lines), or "" when
// addr2line cannot say.
std::vector<std::string> addr2line(const std::string& object, const std::vector<std::uintptr_t>& addresses) {
    std::vector<std::string> out(addresses.size());
    std::string command = "addr2line -C -f -i -p -e '" + object + "'";
    char hex[32];
    for (auto a : addresses) {
        std::snprintf(hex, sizeof hex, " 0x%lx", static_cast<unsigned long>(a));
        command += hex;
    }
    command += " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    char line[4096];
    std::size_t i = 0;
    bool first = true;
    while (std::fgets(line, sizeof line, pipe)) {
        std::string text(line);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        if (text.rfind(" (inlined by) ", 0) == 0) {
            if (!first && i < out.size()) out[i] += "\n" + text.substr(1);
            continue;
        }
        if (!first) ++i;
        first = false;
        if (i >= out.size()) break;
        out[i] = text;
    }
    ::pclose(pipe);
    return out;
}

// "boost::asio::detail::wait_handler<...>::ptr::allocate(...) at f.hpp:36" ->
// "boost::asio::detail::wait_handler::ptr::allocate() at f.hpp:36": template arguments and
// parameter lists left out, so that a frame fits on a line.
std::string compact(const std::string& text) {
    const auto at = text.rfind(" at ");
    const std::string name = at == std::string::npos ? text : text.substr(0, at);
    std::string out;
    int angle = 0, paren = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool op = i >= 8 && name.compare(i - 8, 8, "operator") == 0;
        if (c == '<' && !op && paren == 0)
            ++angle;
        else if (c == '>' && angle > 0 && paren == 0)
            --angle;
        else if (c == '(' && angle == 0) {
            if (paren++ == 0) out += '(';
        } else if (c == ')' && angle == 0 && paren > 0) {
            if (--paren == 0) out += ')';
        } else if (angle == 0 && paren == 0) {
            out += c;
        }
    }
    if (at != std::string::npos) {
        std::string where = text.substr(at + 4);
        const auto slash = where.rfind('/', where.rfind(':'));
        const auto dir = where.rfind('/', slash == std::string::npos ? 0 : slash - 1);
        if (dir != std::string::npos && dir > 0) where = where.substr(dir + 1);  // dir/file:line
        out += " at " + where;
    }
    return out;
}

}  // namespace

std::vector<std::string> samples() {
    // Most frequent first.
    std::vector<const Site*> sites;
    for (std::size_t i = 0; i < g_site_count; ++i) sites.push_back(&g_sites[i]);
    std::stable_sort(sites.begin(), sites.end(),
                     [](const Site* a, const Site* b) { return a->count > b->count; });
    if (sites.size() > kMaxSamples) sites.resize(kMaxSamples);
    // Every frame as (object, address in that object), so addr2line runs once per object.
    struct Frame {
        std::string object;
        std::uintptr_t address;
        std::string symbol;
    };
    std::vector<std::vector<Frame>> stacks(sites.size());
    std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> by_object;
    std::map<std::string, std::vector<std::uintptr_t>> addresses;
    for (std::size_t s = 0; s < sites.size(); ++s) {
        const Site& site = *sites[s];
        char** symbols = ::backtrace_symbols(site.frames, site.depth);
        // Frame 0 is note(); from frame 1 (operator new, malloc, ...) on.
        for (int f = 1; f < site.depth; ++f) {
            Frame frame{"", 0, symbols ? symbols[f] : "?"};
            Dl_info info{};
            if (::dladdr(site.frames[f], &info) && info.dli_fname && info.dli_fbase) {
                // A return address points after the call: look up the call itself.
                auto address = reinterpret_cast<std::uintptr_t>(site.frames[f]) - 1;
                const auto* header = static_cast<const ElfW(Ehdr)*>(info.dli_fbase);
                if (header->e_type == ET_DYN) address -= reinterpret_cast<std::uintptr_t>(info.dli_fbase);
                frame.object = info.dli_fname;
                if (frame.object.empty() || frame.object[0] != '/') {  // the executable
                    char self[4096];
                    const auto len = ::readlink("/proc/self/exe", self, sizeof self - 1);
                    if (len > 0) frame.object.assign(self, static_cast<std::size_t>(len));
                }
                frame.address = address;
                by_object[frame.object].emplace_back(s, stacks[s].size());
                addresses[frame.object].push_back(address);
            }
            stacks[s].push_back(std::move(frame));
        }
        std::free(symbols);
    }
    for (const auto& [object, where] : by_object) {
        const auto lines = addr2line(object, addresses[object]);
        for (std::size_t i = 0; i < where.size(); ++i) {
            const auto& text = lines[i];
            if (text.empty() || text.rfind("??", 0) == 0) continue;
            // Innermost first: the inlined frames, then the function they were inlined into.
            std::string symbol;
            std::size_t from = 0;
            for (;;) {
                const auto nl = text.find('\n', from);
                auto part = text.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
                const auto inl = part.find("(inlined by) ");
                if (inl != std::string::npos) part = part.substr(inl + 13);
                symbol += (symbol.empty() ? "" : "\n       inlined in ") + compact(part);
                if (nl == std::string::npos) break;
                from = nl + 1;
            }
            stacks[where[i].first][where[i].second].symbol = symbol;
        }
    }
    std::vector<std::string> out;
    for (std::size_t s = 0; s < sites.size(); ++s) {
        std::string text = std::to_string(sites[s]->count) + " allocation(s), " +
                           std::to_string(sites[s]->bytes) + " bytes (the first of " +
                           std::to_string(sites[s]->first_size) + ") from:";
        for (std::size_t f = 0; f < stacks[s].size(); ++f)
            text += "\n    #" + std::to_string(f + 1) + " " + stacks[s][f].symbol;
        out.push_back(std::move(text));
    }
    if (g_site_count > sites.size() || g_unrecorded) out.push_back("(and more from other call stacks)");
    return out;
}

}  // namespace porthop::alloc

// ---- the replacements ---------------------------------------------------------------------

using porthop::alloc::allocate;
using porthop::alloc::allocate_aligned;
using porthop::alloc::allocate_aligned_or_throw;
using porthop::alloc::allocate_or_throw;

[[gnu::noinline]] void* operator new(std::size_t size) { return allocate_or_throw(size); }
[[gnu::noinline]] void* operator new[](std::size_t size) { return allocate_or_throw(size); }
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    return allocate(size);
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    return allocate(size);
}
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t alignment) {
    return allocate_aligned_or_throw(size, alignment);
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t alignment) {
    return allocate_aligned_or_throw(size, alignment);
}
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t alignment,
                                     const std::nothrow_t&) noexcept {
    return allocate_aligned(size, alignment);
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t alignment,
                                       const std::nothrow_t&) noexcept {
    return allocate_aligned(size, alignment);
}

void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(p); }

extern "C" {

[[gnu::noinline]] void* malloc(std::size_t size) noexcept {
    porthop::alloc::note(size);
    return __libc_malloc(size);
}

[[gnu::noinline]] void* calloc(std::size_t count, std::size_t size) noexcept {
    porthop::alloc::note(count * size);
    return __libc_calloc(count, size);
}

[[gnu::noinline]] void* realloc(void* pointer, std::size_t size) noexcept {
    porthop::alloc::note(size);
    return __libc_realloc(pointer, size);
}

[[gnu::noinline]] void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    porthop::alloc::note(size);
    return __libc_memalign(alignment, size);
}

[[gnu::noinline]] int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
    if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    porthop::alloc::note(size);
    void* p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

}  // extern "C"
