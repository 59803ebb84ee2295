#include "porthop/app/metrics_http.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <vector>

#include "porthop/base/log.hpp"

namespace porthop::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

struct MetricsHttpServer::State {
    State(asio::io_context& io, Render r, Render s, std::chrono::milliseconds t)
        : acceptor(io), retry(io), render(std::move(r)), status(std::move(s)), timeout(t) {}
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer retry;  // after an accept error (e.g. out of descriptors), wait, don't spin
    Render render;
    Render status;  // empty: no /status
    std::chrono::milliseconds timeout;  // per request, and again for its response
    std::size_t connections = 0;
    // Connections accepted (at most kMaxConnections alive; gone ones pruned at each accept), so
    // that stop() closes them instead of leaving the loop to their timeouts.
    std::vector<std::weak_ptr<Connection>> open;
    bool stopped = false;
};

// One request, one response, then close: scrapers open a connection per scrape anyway, and it
// keeps the server free of idle keep-alive connections.
class MetricsHttpServer::Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(std::shared_ptr<State> state, asio::ip::tcp::socket socket)
        : state_(std::move(state)), stream_(std::move(socket)) {
        ++state_->connections;
    }
    ~Connection() { --state_->connections; }
    void close() { stream_.close(); }

    void start() {
        parser_.header_limit(8192);
        parser_.body_limit(4096);
        stream_.expires_after(state_->timeout);
        http::async_read(
            stream_, buffer_, parser_,
            [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_request(ec); });
    }

private:
    void on_request(const error_code& ec) {
        if (ec) return;  // timeout, garbage or a closed connection: just drop it
        const auto& request = parser_.get();
        response_.version(request.version());
        response_.keep_alive(false);
        response_.set(http::field::server, "porthop");
        if (request.method() != http::verb::get && request.method() != http::verb::head) {
            response_.result(http::status::method_not_allowed);
            response_.set(http::field::allow, "GET, HEAD");
            response_.set(http::field::content_type, "text/plain; charset=utf-8");
            response_.body() = "only GET /metrics\n";
        } else if (request.target() == "/status" && state_->status) {
            response_.result(http::status::ok);
            response_.set(http::field::content_type, "application/json");
            response_.body() = state_->status();
        } else if (request.target() != "/metrics") {
            response_.result(http::status::not_found);
            response_.set(http::field::content_type, "text/plain; charset=utf-8");
            response_.body() = state_->status ? "porthop serves /metrics and /status\n"
                                              : "porthop serves its metrics at /metrics\n";
        } else {
            response_.result(http::status::ok);
            response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            response_.body() = state_->render();
        }
        response_.prepare_payload();
        if (request.method() == http::verb::head) response_.body().clear();  // length stays
        stream_.expires_after(state_->timeout);
        http::async_write(stream_, response_, [self = shared_from_this()](const error_code&, std::size_t) {
            error_code ignored;
            self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        });
    }

    std::shared_ptr<State> state_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{8192};
    http::request_parser<http::string_body> parser_;
    http::response<http::string_body> response_;
};

namespace {

void accept(const std::shared_ptr<MetricsHttpServer::State>& state);

}  // namespace

MetricsHttpServer::MetricsHttpServer(asio::io_context& io, Render render, Render status,
                                     std::chrono::milliseconds request_timeout)
    : state_(std::make_shared<State>(io, std::move(render), std::move(status), request_timeout)) {}

MetricsHttpServer::~MetricsHttpServer() { stop(); }

std::optional<std::string> MetricsHttpServer::start(const asio::ip::tcp::endpoint& endpoint) {
    error_code ec;
    auto& acceptor = state_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(64, ec);
    if (ec) {
        error_code ignored;
        acceptor.close(ignored);
        return "cannot serve metrics on " + net::Endpoint::from_asio(endpoint).to_string() + ": " +
               ec.message();
    }
    accept(state_);
    return std::nullopt;
}

void MetricsHttpServer::stop() {
    if (!state_ || state_->stopped) return;
    state_->stopped = true;
    error_code ignored;
    state_->acceptor.close(ignored);
    state_->retry.cancel();
    for (const auto& weak : std::exchange(state_->open, {}))
        if (const auto connection = weak.lock()) connection->close();
}

net::Endpoint MetricsHttpServer::endpoint() const {
    error_code ec;
    return net::Endpoint::from_asio(state_->acceptor.local_endpoint(ec));
}

namespace {

void accept(const std::shared_ptr<MetricsHttpServer::State>& state) {
    state->acceptor.async_accept([state](const error_code& ec, asio::ip::tcp::socket socket) {
        if (state->stopped || ec == asio::error::operation_aborted) return;
        if (ec) {
            state->retry.expires_after(std::chrono::milliseconds{100});
            state->retry.async_wait([state](const error_code& wait_ec) {
                if (!wait_ec && !state->stopped) accept(state);
            });
            return;
        }
        // Past the bound the connection is closed unanswered (it goes out of scope).
        if (state->connections < MetricsHttpServer::kMaxConnections) {
            std::erase_if(state->open, [](const auto& weak) { return weak.expired(); });
            auto connection = std::make_shared<MetricsHttpServer::Connection>(state, std::move(socket));
            state->open.push_back(connection);
            connection->start();
        }
        accept(state);
    });
}

}  // namespace

}  // namespace porthop::app
