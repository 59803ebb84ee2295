// The port schedule: which UDP port the hop link uses in each epoch. Both ends derive it from
// the key, so they agree without talking:
//
//   epoch(t)     = floor(unix_seconds(t) / hop_interval_seconds)
//   port(epoch)  = ports[schedule_prf(key, epoch) mod ports.size()]
//
// where `ports` is the configured UDP port set expanded, sorted ascending and deduplicated.
// Pure: the caller supplies the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "porthop/crypto/hop_key.hpp"

namespace porthop::hop {

// The default epoch length, on both ends. Five minutes: each hop starts a new UDP flow to the
// server, and a censor can count the distinct ports one client uses (issue 14: more than 8 in
// 10 minutes is a rule seen in the field); a hop every 5 minutes stays under that. A blocked
// port is still left within seconds: that does not wait for the schedule.
inline constexpr std::chrono::seconds kDefaultHopInterval{300};

// floor(unix_seconds / interval_seconds); times before 1970 count as epoch 0. `interval` must
// be at least one second (the config layer ensures it).
std::uint64_t epoch_at(std::chrono::system_clock::time_point t, std::chrono::seconds interval) noexcept;

class PortSchedule {
public:
    // `ports` may be unsorted and repeat; it must not be empty.
    PortSchedule(const crypto::HopKey& schedule_key, std::vector<std::uint16_t> ports);

    std::uint16_t port_for(std::uint64_t epoch) const noexcept;

    // Other ports to try in `epoch` when port_for(epoch) is dark, best first: the ports of
    // epochs epoch+1, epoch-1, epoch+2, epoch+3, ... (neighbours first, because a
    // moving-target server has those open), without repeats and without port_for(epoch),
    // at most `count` of them and at most ports().size() - 1.
    std::vector<std::uint16_t> alternates(std::uint64_t epoch, std::size_t count) const;

    // The ports a moving-target server opens in `epoch`: those of epoch-1, epoch, epoch+1
    // (one to three ports, sorted, no repeats).
    std::vector<std::uint16_t> moving_target_ports(std::uint64_t epoch) const;

    const std::vector<std::uint16_t>& ports() const noexcept { return ports_; }

private:
    crypto::HopKey key_;
    std::vector<std::uint16_t> ports_;
};

}  // namespace porthop::hop
