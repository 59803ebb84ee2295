// Stopping closes every socket, and the loop ends once their cancelled operations have
// completed. A service manager (and a restart) waits for that, so it must never take long: if
// it takes more than Server::kStopGrace (it stalls on the io_uring backend after heavy
// traffic), the loop is stopped outright. Nothing is lost then: every session is already closed.
// Private to the long-running commands (server_process.cpp, client_process.cpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "porthop/base/log.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::app {

class ShutdownWatchdog {
public:
    static constexpr auto kGrace = relay::Server::kStopGrace;

    ShutdownWatchdog() = default;
    ShutdownWatchdog(const ShutdownWatchdog&) = delete;
    ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;
    ~ShutdownWatchdog() { loop_done(); }

    // After stop() was asked: from here the loop has kGrace to finish by itself.
    void arm(boost::asio::io_context& io) {
        if (thread_.joinable()) return;
        thread_ = std::thread([this, &io] {
            std::unique_lock lock(mutex_);
            if (wake_.wait_for(lock, kGrace, [this] { return done_; })) return;
            base::log_debug("the event loop still had work " + std::to_string(kGrace.count()) +
                            " ms after stopping (io_uring leaves an operation pending): stopped it");
            io.stop();
        });
    }

    // The loop's run() returned.
    void loop_done() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
};

}  // namespace porthop::app
