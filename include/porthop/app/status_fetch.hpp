// One HTTP GET to a local status endpoint (porthop's own /metrics and /status), for
// `porthop status`. Blocking, with a deadline: the command has nothing else to do meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace porthop::app {

// The body of a 200 answer to GET http://host:port/target, or nullopt with the reason in `why`
// ("connection refused", "no answer within 2 s", "HTTP 404").
std::optional<std::string> http_get(const std::string& host, std::uint16_t port, const std::string& target,
                                    std::chrono::milliseconds deadline, std::string& why);

}  // namespace porthop::app
