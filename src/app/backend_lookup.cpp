#include "porthop/app/backend_lookup.hpp"

#include <boost/asio/post.hpp>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include "porthop/app/server_setup.hpp"

namespace porthop::app {

// Shared by the loop and the lookup's thread, which may outlive the BackendLookup (and the
// loop): the thread only touches this, and posts to the loop only while not abandoned.
struct BackendLookup::Flight {
    std::mutex mutex;
    bool abandoned = false;
};

void BackendLookup::start(HostPort backend, Done done) {
    auto flight = std::make_shared<Flight>();
    current_ = flight;
    // Reports on the loop, unless abandoned by then. Used by the thread, and by start() itself
    // when no thread can be made.
    auto report = [this, flight](std::optional<net::Endpoint> address, std::string error, Done callback) {
        boost::asio::post(io_, [this, flight, address, error = std::move(error), callback = std::move(callback)] {
            {
                std::lock_guard still(flight->mutex);
                if (flight->abandoned) return;
            }
            current_.reset();
            callback(address, error);
        });
    };
    try {
        // Detached, not joined: a lookup in progress cannot be cancelled, and a DNS server that never
        // answers must not hold up a stop. What the thread uses it owns (flight, copies); it
        // reaches the loop only through `report`, under the lock that abandon() takes, so
        // either abandon() comes first and nothing is posted, or the handler finds itself
        // abandoned.
        std::thread([flight, report, backend = std::move(backend), done]() mutable {
            std::string error;
            std::optional<net::Endpoint> address;
            try {
                address = resolve_backend(backend, error);
            } catch (const std::exception& e) {  // e.g. no descriptor left for the resolver
                error = "cannot resolve backend '" + backend.host + "': " + e.what();
            }
            std::lock_guard lock(flight->mutex);
            if (!flight->abandoned) report(address, std::move(error), std::move(done));
        }).detach();
    } catch (const std::system_error& e) {
        // No thread to be had (a resource limit): the reload fails, the relay keeps running.
        report(std::nullopt, std::string("cannot start the backend lookup: ") + e.what(), std::move(done));
    }
}

void BackendLookup::abandon() {
    if (!current_) return;
    {
        std::lock_guard lock(current_->mutex);
        current_->abandoned = true;
    }
    current_.reset();
}

}  // namespace porthop::app
