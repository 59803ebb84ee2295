// The metrics endpoint: a minimal HTTP/1.1 server (Boost.Beast) on the relay's event loop that
// answers GET /metrics with the Prometheus text (and, for the client, GET /status with a JSON
// status document) and nothing else. Bounded: at most
// kMaxConnections at once, kRequestTimeout per request, small request size; one request per
// connection.
// stop() closes the listening socket and every open connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "porthop/net/endpoint.hpp"

namespace porthop::app {

class MetricsHttpServer {
public:
    static constexpr std::size_t kMaxConnections = 16;
    // A request, and then its response, must be done within this (a scraper's is milliseconds).
    static constexpr std::chrono::milliseconds kRequestTimeout{5000};
    using Render = std::function<std::string()>;

    // `request_timeout`: kRequestTimeout; tests pass a shorter one.
    MetricsHttpServer(boost::asio::io_context& io, Render render, Render status = {},
                      std::chrono::milliseconds request_timeout = kRequestTimeout);
    ~MetricsHttpServer();

    // Binds and starts accepting; on failure returns a message naming the address.
    std::optional<std::string> start(const boost::asio::ip::tcp::endpoint& endpoint);
    void stop();  // also closes the connections still open
    net::Endpoint endpoint() const;

    class Connection;  // internal
    struct State;      // internal, shared with pending handlers

private:
    std::shared_ptr<State> state_;
};

}  // namespace porthop::app
