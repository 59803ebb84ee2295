#include "tcp_transport.hpp"

#include <chrono>

#include "listener_set.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Nagle would hold small tunnelled packets back for up to hundreds of milliseconds.
void no_delay(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
}

void on_accept(TcpListener& listener, AcceptHost& host, tcp::socket socket) {
    boost::system::error_code ec;
    const auto peer = net::Endpoint::from_asio(socket.remote_endpoint(ec));
    std::optional<SourceKey> source;
    if (!host.admit_connection(peer, source)) return;  // counted; the socket closes as it goes out of scope
    no_delay(socket);
    auto connection = std::make_shared<TcpConnection>(host.stream_host(), std::move(socket), host.stream_budget(),
                                                      peer, listener.stats, listener.bound.port());
    host.connection_accepted();
    connection->start(source);  // its first frame decides what it is (tcp_connection.hpp)
}

class Connecting final : public OutgoingStream, public std::enable_shared_from_this<Connecting> {
public:
    Connecting(asio::io_context& io, net::FrameHandler& handler, net::FrameReader::Limits limits,
               net::QueueBudget& budget, StreamConnected done)
        : socket_(io), handler_(handler), limits_(limits), budget_(budget), done_(std::move(done)) {}

    void start(const tcp::endpoint& server) {
        socket_.async_connect(server, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (self->cancelled_) return;
            auto done = std::move(self->done_);
            if (ec) {
                done(ec, nullptr);
                return;
            }
            no_delay(self->socket_);
            using Stream = net::FramedStream<tcp::socket>;
            done(ec, std::make_unique<Stream>(std::move(self->socket_), self->handler_,
                                              Stream::Options{self->limits_, false}, self->budget_));
        });
    }

    void cancel() noexcept override {
        cancelled_ = true;
        done_ = nullptr;  // it holds its owner: let go of it now, not when the aborted connect ends
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

private:
    tcp::socket socket_;  // until connected; then the stream's
    net::FrameHandler& handler_;
    net::FrameReader::Limits limits_;
    net::QueueBudget& budget_;
    StreamConnected done_;
    bool cancelled_ = false;
};

}  // namespace

void accept_connections(const std::shared_ptr<TcpListener>& listener, AcceptHost& host) {
    listener->acceptor.async_accept([listener, &host](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || listener->closed) return;
        if (ec) {
            host.accept_failed(*listener, ec);
            listener->retry.expires_after(std::chrono::milliseconds{100});
            listener->retry.async_wait([listener, &host](const boost::system::error_code& wait_ec) {
                if (!wait_ec && !listener->closed) accept_connections(listener, host);
            });
            return;
        }
        on_accept(*listener, host, std::move(socket));
        accept_connections(listener, host);
    });
}

std::shared_ptr<OutgoingStream> connect_stream(asio::io_context& io, const tcp::endpoint& server,
                                               net::FrameHandler& handler, net::FrameReader::Limits limits,
                                               net::QueueBudget& budget, StreamConnected done) {
    auto connecting = std::make_shared<Connecting>(io, handler, limits, budget, std::move(done));
    connecting->start(server);
    return connecting;
}

}  // namespace porthop::relay
