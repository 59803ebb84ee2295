// The metrics endpoint's bounds (app/metrics_http.hpp), on its own event loop: the connection
// cap, the request timeout, the request size limits, and stop() closing what is open.
// (What it serves is checked against real traffic by tests/system/metrics_test.sh.)
#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>

#include "porthop/app/metrics_http.hpp"
#include "../support/harness.hpp"

using namespace porthop;
using namespace porthop::test;

namespace {

// The endpoint on 127.0.0.1 (ephemeral port), served by a thread of its own.
class RunningMetrics {
public:
    explicit RunningMetrics(std::chrono::milliseconds timeout = app::MetricsHttpServer::kRequestTimeout)
        : server_(io_, [] { return std::string("porthop_test_metric 1\n"); }, {}, timeout) {
        error_ = server_.start(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
        thread_ = std::thread([this] { io_.run(); });
    }
    ~RunningMetrics() {
        stop();
        work_.reset();
        thread_.join();
    }
    const std::optional<std::string>& error() const { return error_; }
    std::uint16_t port() const { return server_.endpoint().port(); }
    void stop() {
        std::promise<void> done;
        boost::asio::post(io_, [&] {
            server_.stop();
            done.set_value();
        });
        done.get_future().wait();
    }

private:
    boost::asio::io_context io_{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
    app::MetricsHttpServer server_;
    std::optional<std::string> error_;
    std::thread thread_;
};

const Bytes kGet = bytes("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
const Bytes kPartial = bytes("GET /metrics HTTP/1.1\r\nHost: x\r\n");  // no blank line yet

// The first line of the answer to `request`, or "" when the connection closed without one.
std::string status_line(std::uint16_t port, const Bytes& request) {
    TcpClient client(false, port);
    if (!client.connected()) return "not connected";
    client.write_raw(request);
    const auto answer = client.read_exact(4096, 2000ms);
    const std::string text(reinterpret_cast<const char*>(answer.data()), answer.size());
    return text.substr(0, text.find("\r\n"));
}

}  // namespace

TEST_CASE("metrics endpoint: answers GET /metrics", "[metrics]") {
    RunningMetrics metrics;
    REQUIRE_FALSE(metrics.error());
    TcpClient client(false, metrics.port());
    client.write_raw(kGet);
    const auto answer = client.read_exact(4096, 2000ms);
    const std::string text(reinterpret_cast<const char*>(answer.data()), answer.size());
    CHECK(text.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK_THAT(text, Catch::EndsWith("\r\n\r\nporthop_test_metric 1\n"));
    CHECK(client.closed_by_peer(1000ms));  // one request per connection
}

TEST_CASE("metrics endpoint: at most kMaxConnections at once, the rest closed unanswered", "[metrics][limits]") {
    RunningMetrics metrics;
    REQUIRE_FALSE(metrics.error());
    std::vector<std::unique_ptr<TcpClient>> held;
    for (std::size_t i = 0; i < app::MetricsHttpServer::kMaxConnections; ++i) {
        held.push_back(std::make_unique<TcpClient>(false, metrics.port()));
        REQUIRE(held.back()->connected());
        held.back()->write_raw(kPartial);
    }
    // Accepted in order, so the held ones count before this one: closed without an answer.
    CHECK(status_line(metrics.port(), kGet).empty());
    // One held connection goes away: its slot is free again.
    held.pop_back();
    CHECK(eventually([&] { return status_line(metrics.port(), kGet) == "HTTP/1.1 200 OK"; }));
}

TEST_CASE("metrics endpoint: a request not complete within its timeout is dropped", "[metrics][limits][expiry]") {
    // The product's 5 s (kRequestTimeout) shortened to 500 ms: the same rule, a tenth of the wait.
    RunningMetrics metrics(500ms);
    REQUIRE_FALSE(metrics.error());
    TcpClient slow(false, metrics.port());
    slow.write_raw(kPartial);
    const auto sent = std::chrono::steady_clock::now();
    CHECK(slow.read_exact(1, 3000ms).empty());  // closed, not answered
    CHECK(slow.closed_by_peer(100ms));
    CHECK(std::chrono::steady_clock::now() - sent >= 450ms);  // not before its timeout
}

TEST_CASE("metrics endpoint: oversized requests are dropped unanswered", "[metrics][limits]") {
    RunningMetrics metrics;
    REQUIRE_FALSE(metrics.error());
    const std::string big_header = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(9000, 'a') + "\r\n\r\n";
    CHECK(status_line(metrics.port(), bytes(big_header)).empty());
    const std::string big_body = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b');
    CHECK(status_line(metrics.port(), bytes(big_body)).empty());
    // Just under the limits: answered (405 for the POST, as for any method but GET and HEAD).
    const std::string header_fits = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(7000, 'a') + "\r\n\r\n";
    CHECK(status_line(metrics.port(), bytes(header_fits)) == "HTTP/1.1 200 OK");
    const std::string body_fits = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n" + std::string(4000, 'b');
    CHECK(status_line(metrics.port(), bytes(body_fits)) == "HTTP/1.1 405 Method Not Allowed");
}

TEST_CASE("metrics endpoint: stop closes the connections still open", "[metrics]") {
    RunningMetrics metrics;
    REQUIRE_FALSE(metrics.error());
    TcpClient waiting(false, metrics.port());
    waiting.write_raw(kPartial);
    REQUIRE(eventually([&] { return status_line(metrics.port(), kGet) == "HTTP/1.1 200 OK"; }));  // accepted by now
    metrics.stop();
    CHECK(waiting.closed_by_peer(2000ms));  // not after its 5 s timeout
    TcpClient late(false, metrics.port());
    CHECK_FALSE(late.connected());
}
