// LruList: the least-recently-used order the guard tables thread through their entries.
#include "porthop/guard/lru_list.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

using porthop::guard::LruList;

namespace {

struct Entry {
    std::uint32_t prev = LruList::kNone;
    std::uint32_t next = LruList::kNone;
};

// The list front to back, following `next`; checks that `prev` runs the same way back.
std::vector<std::uint32_t> order(const LruList& list, const std::vector<Entry>& entries) {
    std::vector<std::uint32_t> out;
    std::uint32_t previous = LruList::kNone;
    for (std::uint32_t i = list.front(); i != LruList::kNone; i = entries[i].next) {
        REQUIRE(entries[i].prev == previous);
        out.push_back(i);
        previous = i;
        REQUIRE(out.size() <= entries.size());  // no cycle
    }
    CHECK(list.back() == previous);
    return out;
}

using Order = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("LruList: most recent first, back() is the least recent", "[guard][lru]") {
    std::vector<Entry> entries(4);
    LruList list;
    CHECK(list.front() == LruList::kNone);
    CHECK(list.back() == LruList::kNone);
    CHECK(order(list, entries).empty());

    list.push_front(entries, 2);
    CHECK(order(list, entries) == Order{2});
    list.push_front(entries, 0);
    list.push_front(entries, 3);
    CHECK(order(list, entries) == Order{3, 0, 2});
    CHECK(list.back() == 2);
}

TEST_CASE("LruList: to_front moves an entry from anywhere, the front stays put", "[guard][lru]") {
    std::vector<Entry> entries(4);
    LruList list;
    for (std::uint32_t i : {0u, 1u, 2u, 3u}) list.push_front(entries, i);
    CHECK(order(list, entries) == Order{3, 2, 1, 0});
    list.to_front(entries, 0);  // the back
    CHECK(order(list, entries) == Order{0, 3, 2, 1});
    list.to_front(entries, 2);  // the middle
    CHECK(order(list, entries) == Order{2, 0, 3, 1});
    list.to_front(entries, 2);  // already the front
    CHECK(order(list, entries) == Order{2, 0, 3, 1});
}

TEST_CASE("LruList: unlink from the front, the middle, the back and the last entry", "[guard][lru]") {
    std::vector<Entry> entries(4);
    LruList list;
    for (std::uint32_t i : {0u, 1u, 2u, 3u}) list.push_front(entries, i);
    list.unlink(entries, 2);  // middle
    CHECK(order(list, entries) == Order{3, 1, 0});
    CHECK(entries[2].prev == LruList::kNone);
    CHECK(entries[2].next == LruList::kNone);
    list.unlink(entries, 3);  // front
    CHECK(order(list, entries) == Order{1, 0});
    list.unlink(entries, 0);  // back
    CHECK(order(list, entries) == Order{1});
    CHECK(list.back() == 1);
    list.unlink(entries, 1);  // the last one: the list is empty again
    CHECK(list.front() == LruList::kNone);
    CHECK(list.back() == LruList::kNone);
    // An unlinked entry can come back.
    list.push_front(entries, 2);
    CHECK(order(list, entries) == Order{2});
}
