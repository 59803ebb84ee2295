// Resolves the backend's host name on a thread of its own and hands the result back to an
// event loop, so a slow DNS server never stalls the traffic of that loop (SIGHUP reload; at
// start-up nothing runs yet and the name is resolved in place). One lookup at a time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "porthop/app/config.hpp"
#include "porthop/net/endpoint.hpp"

namespace porthop::app {

class BackendLookup {
public:
    // The address, or nullopt and why not.
    using Done = std::function<void(std::optional<net::Endpoint> backend, const std::string& error)>;

    explicit BackendLookup(boost::asio::io_context& io) : io_(io) {}
    ~BackendLookup() { abandon(); }
    BackendLookup(const BackendLookup&) = delete;
    BackendLookup& operator=(const BackendLookup&) = delete;

    // All calls, and `done`, on the loop thread of `io`.
    bool busy() const { return static_cast<bool>(current_); }
    // Starts resolving `backend` (requires !busy()); `done` runs on the loop once the resolver
    // returns, unless the lookup was abandoned first.
    void start(HostPort backend, Done done);
    // Drops the lookup in flight, if any: `done` will not run. Returns at once: the thread ends
    // by itself whenever the resolver returns, so stopping never waits for a DNS server.
    void abandon();

private:
    struct Flight;
    boost::asio::io_context& io_;
    std::shared_ptr<Flight> current_;
};

}  // namespace porthop::app
