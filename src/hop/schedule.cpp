#include "porthop/hop/schedule.hpp"

#include <algorithm>
#include <stdexcept>

namespace porthop::hop {

std::uint64_t epoch_at(std::chrono::system_clock::time_point t, std::chrono::seconds interval) noexcept {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
    if (seconds < 0) return 0;
    // A zero or negative interval is a caller bug; one second keeps the result defined.
    const auto step = std::max<std::chrono::seconds::rep>(interval.count(), 1);
    return static_cast<std::uint64_t>(seconds / step);
}

PortSchedule::PortSchedule(const crypto::HopKey& schedule_key, std::vector<std::uint16_t> ports)
    : key_(schedule_key), ports_(std::move(ports)) {
    // Both ends must index the same list whatever order their configs list the ports in.
    std::sort(ports_.begin(), ports_.end());
    ports_.erase(std::unique(ports_.begin(), ports_.end()), ports_.end());
    if (ports_.empty()) throw std::invalid_argument("PortSchedule: the port set is empty");
}

std::uint16_t PortSchedule::port_for(std::uint64_t epoch) const noexcept {
    return ports_[crypto::schedule_prf(key_, epoch) % ports_.size()];
}

std::vector<std::uint16_t> PortSchedule::alternates(std::uint64_t epoch, std::size_t count) const {
    const std::size_t n = ports_.size();
    const std::size_t want = std::min(count, n - 1);
    std::vector<std::uint16_t> out;
    if (want == 0) return out;
    out.reserve(want);
    std::vector<bool> taken(n, false);
    auto index_of = [&](std::uint16_t port) {
        return static_cast<std::size_t>(std::lower_bound(ports_.begin(), ports_.end(), port) -
                                        ports_.begin());
    };
    taken[index_of(port_for(epoch))] = true;
    auto take = [&](std::uint64_t e) {
        const std::size_t i = index_of(port_for(e));
        if (taken[i]) return;
        taken[i] = true;
        out.push_back(ports_[i]);
    };

    take(epoch + 1);
    if (out.size() < want && epoch > 0) take(epoch - 1);
    // The PRF may keep landing on ports already taken (with n ports, collecting all of them
    // takes about n ln n epochs); 64 n epochs is far beyond that, and the cap guarantees an end.
    const std::uint64_t walk_limit = std::uint64_t{64} * n;
    for (std::uint64_t k = 2; out.size() < want && k <= walk_limit; ++k) take(epoch + k);
    for (std::size_t i = 0; out.size() < want && i < n; ++i) {
        if (taken[i]) continue;
        taken[i] = true;
        out.push_back(ports_[i]);
    }
    return out;
}

std::vector<std::uint16_t> PortSchedule::moving_target_ports(std::uint64_t epoch) const {
    std::vector<std::uint16_t> out;
    out.reserve(3);
    if (epoch > 0) out.push_back(port_for(epoch - 1));
    out.push_back(port_for(epoch));
    out.push_back(port_for(epoch + 1));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace porthop::hop
