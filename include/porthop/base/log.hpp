// Logging: one line per event that matters (start-up, sessions opened and closed, path changes),
// never one per packet. Warnings about dropped input go through RateLimitedWarning so an attacker
// or a broken peer cannot flood the log.
//
// The bottom layer `base`, below wire: every layer may log, so logging cannot live in app (the
// relay logs its session lines; app only sets the level from the configuration). Nothing here
// opens a socket. log() stamps its line with the wall clock (a log line
// is output, not a decision); the rate limiter, which decides, takes its clock reading as a parameter.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace porthop::base {

enum class LogLevel : std::uint8_t { debug, info, warn, error };

// The level names ("debug", "info", "warn", "error"): one table for the configuration's
// [log] level, the test runner's environment and the log line itself.
std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level);

void set_log_level(LogLevel level);
LogLevel log_level();
// Writes one line to stderr: "2026-11-21T12:00:00.123Z info  message".
void log(LogLevel level, std::string_view message);
inline void log_debug(std::string_view m) { log(LogLevel::debug, m); }
inline void log_info(std::string_view m) { log(LogLevel::info, m); }
inline void log_warn(std::string_view m) { log(LogLevel::warn, m); }
inline void log_error(std::string_view m) { log(LogLevel::error, m); }

// At most one line per `interval` for one kind of event; the next line that gets through says
// how many were suppressed in between. `now` is passed in so tests can drive it.
class RateLimitedWarning {
public:
    explicit RateLimitedWarning(std::chrono::steady_clock::duration interval) : interval_(interval) {}
    // Returns true when the caller should log now; `suppressed` then holds the count skipped.
    bool allow(std::chrono::steady_clock::time_point now, std::uint64_t& suppressed);

private:
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point next_{};
    std::uint64_t suppressed_ = 0;
};

}  // namespace porthop::base
