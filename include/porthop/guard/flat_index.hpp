// A fixed-capacity hash index from a 64-bit key to a 32-bit value (a slot number in the owner's
// own record array). The relay's abuse tables (SourceLimiter, NativeRoaming) are keyed by
// things remote parties choose -- source addresses, WireGuard indices, OpenVPN ids -- and are
// written to on the packet path, so this index:
//  - allocates once, in the constructor, and never again (std::unordered_map allocates a node
//    per insert even after reserve(), so it would allocate per new source under a flood). The
//    slots come from calloc and an empty slot is all zero bits, so a page of the table becomes
//    resident only when a key lands in it: a server sized for 16384 sessions does not hold
//    megabytes of empty tables per worker while it has few clients (small routers);
//  - is open addressing with linear probing at a load factor of at most 1/2, and deletes by
//    backward shift (no tombstones, so a table that churns forever never degrades);
//  - hashes with a per-table random seed, so nobody can aim keys at one probe run without
//    knowing the seed; and caps probe runs at kMaxProbe anyway: an insert that would land
//    further from its home slot is refused, which its owner treats as "table full" (fail
//    closed). Every operation is therefore O(kMaxProbe) at worst, whatever the keys. With
//    random keys in a full table (load 1/2), 20000 simulated tables of 16384 keys had a
//    displacement of 64 or more twice and never more than 72, hence 128: honest keys are not
//    refused for it.
// Not thread-safe (its owners are used from one event loop).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>

namespace porthop::guard {

class FlatIndex {
public:
    static constexpr std::uint32_t kAbsent = 0xFFFFFFFF;  // find()'s "no such key"; not a valid value
    static constexpr std::size_t kMaxProbe = 128;

    // A seed nobody outside this process can know: the production tables' seed.
    static std::uint64_t random_seed() {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd();
    }

    // Room for `max_entries` keys. `seed` keys the hash (a random one in production, fixed in
    // tests that want a reproducible layout).
    FlatIndex(std::size_t max_entries, std::uint64_t seed)
        : count_(std::bit_ceil(std::max<std::size_t>(2, 2 * max_entries))),
          slots_(allocate(count_)),
          mask_(count_ - 1),
          seed_(seed),
          max_entries_(max_entries) {}

    std::size_t size() const noexcept { return size_; }
    std::size_t max_entries() const noexcept { return max_entries_; }
    std::size_t slots() const noexcept { return count_; }
    // Where `key` starts probing (its slot in an empty table); for tests.
    std::size_t slot_of(std::uint64_t key) const noexcept { return home(key); }

    std::uint32_t find(std::uint64_t key) const noexcept {
        std::size_t i = home(key);
        for (std::size_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.empty()) return kAbsent;
            if (s.key == key) return s.value();
        }
        return kAbsent;  // inserts never place a key further than kMaxProbe from home
    }

    // False if the key is already present, `value` is kAbsent, the index holds max_entries
    // keys, or the key's probe run is kMaxProbe long (an unlucky or aimed cluster).
    bool insert(std::uint64_t key, std::uint32_t value) noexcept {
        if (value == kAbsent || size_ >= max_entries_) return false;
        std::size_t i = home(key);
        for (std::size_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.empty()) {
                s = Slot{key, ~value};
                ++size_;
                return true;
            }
            if (s.key == key) return false;
        }
        return false;
    }

    // Changes the value of a present key; false if absent.
    bool assign(std::uint64_t key, std::uint32_t value) noexcept {
        if (value == kAbsent) return false;
        std::size_t i = home(key);
        for (std::size_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
            Slot& s = slots_[i];
            if (s.empty()) return false;
            if (s.key == key) {
                s.inverted = ~value;
                return true;
            }
        }
        return false;
    }

    bool erase(std::uint64_t key) noexcept {
        std::size_t i = home(key);
        for (std::size_t probe = 0;; ++probe, i = (i + 1) & mask_) {
            if (probe == kMaxProbe || slots_[i].empty()) return false;
            if (slots_[i].key == key) break;
        }
        // Backward shift (Knuth 6.4, Algorithm R): pull every later entry of the run that may
        // live at the hole (its home is not cyclically in (hole, j]) back into it, so lookups
        // that stop at the first empty slot stay correct. Entries only move closer to home,
        // so the kMaxProbe bound keeps holding.
        std::size_t hole = i;
        for (std::size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
            if (slots_[j].empty()) break;
            const std::size_t h = home(slots_[j].key);
            const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
            if (stays) continue;
            slots_[hole] = slots_[j];
            hole = j;
        }
        slots_[hole] = Slot{};
        --size_;
        return true;
    }

private:
    // The value is kept inverted so that an empty slot (value kAbsent) is all zero bits.
    struct Slot {
        std::uint64_t key = 0;
        std::uint32_t inverted = 0;
        bool empty() const noexcept { return inverted == 0; }
        std::uint32_t value() const noexcept { return ~inverted; }
    };
    struct Free {
        void operator()(Slot* p) const noexcept { std::free(p); }
    };
    static std::unique_ptr<Slot[], Free> allocate(std::size_t count) {
        // calloc, not new Slot[]: fresh zero pages stay untouched (not resident) until used.
        auto* p = static_cast<Slot*>(std::calloc(count, sizeof(Slot)));
        if (!p) throw std::bad_alloc();
        return std::unique_ptr<Slot[], Free>(p);
    }

    std::size_t home(std::uint64_t key) const noexcept {
        // The seed goes in before and between two rounds of a 64-bit finalizer (murmur3's
        // fmix64 constants): without it, where a key lands is unpredictable.
        std::uint64_t x = key ^ seed_;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x += seed_ >> 1 | 1;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return static_cast<std::size_t>(x) & mask_;
    }

    std::size_t count_;
    std::unique_ptr<Slot[], Free> slots_;
    std::size_t mask_;
    std::uint64_t seed_;
    std::size_t max_entries_;
    std::size_t size_ = 0;
};

}  // namespace porthop::guard
