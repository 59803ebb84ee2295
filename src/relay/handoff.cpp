#include "handoff.hpp"

namespace porthop::relay {

Shared::Shared(std::uint32_t worker_count, std::size_t inbox_bytes) : workers(worker_count) {
    if (worker_count > 1)
        for (std::uint32_t i = 0; i < worker_count; ++i) inboxes.push_back(std::make_unique<Inbox>(inbox_bytes));
}

}  // namespace porthop::relay
