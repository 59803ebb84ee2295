#include "handoff.hpp"

#include <algorithm>

namespace porthop::relay {

Shared::Shared(std::uint32_t worker_count, std::size_t inbox_bytes, std::size_t ledger_capacity)
    : workers(worker_count), ledger(std::max(ledger_capacity, kLedgerCapacity)) {
    if (worker_count > 1)
        for (std::uint32_t i = 0; i < worker_count; ++i) inboxes.push_back(std::make_unique<Inbox>(inbox_bytes));
}

}  // namespace porthop::relay
