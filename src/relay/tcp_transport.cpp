#include "tcp_transport.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "porthop/net/tls_context.hpp"

#include "listener_set.hpp"
#include "tcp_connection.hpp"
#include "tcp_intake.hpp"

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
    auto front = host.tls_front();
    if (!host.admit_connection(peer, source, !front)) return;  // counted; the socket closes as it goes out of scope
    no_delay(socket);
    host.connection_accepted();
    if (front) {
        std::make_shared<TcpIntake>(host, std::move(socket), peer, listener.stats, listener.bound.port(),
                                    std::move(front))
            ->start(source);  // its first bytes decide (tcp_intake.hpp)
        return;
    }
    auto connection = std::make_shared<TcpConnection>(host.stream_host(), std::move(socket), host.stream_budget(),
                                                      peer, listener.stats, listener.bound.port());
    connection->start(source);  // its first frame decides what it is (tcp_connection.hpp)
}

class Connecting final : public OutgoingStream, public std::enable_shared_from_this<Connecting> {
public:
    Connecting(asio::io_context& io, net::FrameHandler& handler, net::FrameReader::Limits limits,
               net::QueueBudget& budget, StreamConnected done, const TlsClient* tls)
        : socket_(io),
          timer_(io),
          handler_(handler),
          limits_(limits),
          budget_(budget),
          done_(std::move(done)),
          tls_config_(tls ? std::optional<TlsClient>(*tls) : std::nullopt) {}

    void start(const tcp::endpoint& server) {
        socket_.async_connect(server, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (self->cancelled_) return;
            if (ec) {
                self->finish("connect: " + ec.message(), nullptr, ec);
                return;
            }
            no_delay(self->socket_);
            if (self->tls_config_) {
                self->handshake();
                return;
            }
            using Stream = net::FramedStream<tcp::socket>;
            self->finish({}, std::make_unique<Stream>(std::move(self->socket_), self->handler_,
                                                      Stream::Options{self->limits_, false}, self->budget_));
        });
    }

    void cancel() noexcept override {
        cancelled_ = true;
        done_ = nullptr;  // it holds its owner: let go of it now, not when the aborted connect ends
        timer_.cancel();
        boost::system::error_code ignored;
        auto& socket = tls_ ? tls_->lowest_layer() : socket_;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

private:
    using Tls = asio::ssl::stream<tcp::socket>;

    void handshake() {
        tls_.emplace(std::move(socket_), *tls_config_->context);
        if (auto problem = net::prepare_client_tls(tls_->native_handle(), tls_config_->name); !problem.empty()) {
            finish("TLS: " + problem, nullptr);
            return;
        }
        // A server (or a middlebox) that takes the connection and never answers the hello.
        timer_.expires_after(tls_config_->handshake_timeout);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->cancelled_ || !self->done_) return;
            self->timed_out_ = true;
            boost::system::error_code ignored;
            self->tls_->lowest_layer().close(ignored);
        });
        tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](const boost::system::error_code& ec) {
            self->timer_.cancel();
            if (self->cancelled_) return;
            if (ec) {
                std::string why = net::tls_verify_failure(self->tls_->native_handle());
                if (why.empty()) why = self->timed_out_ ? "no handshake within " +
                                                              std::to_string(self->tls_config_->handshake_timeout.count()) + " ms"
                                                        : ec.message();
                self->finish("TLS: " + why, nullptr);
                return;
            }
            using Stream = net::FramedStream<Tls>;
            self->finish({}, std::make_unique<Stream>(std::move(*self->tls_), self->handler_,
                                                      Stream::Options{self->limits_, false}, self->budget_));
        });
    }

    void finish(const std::string& error, std::unique_ptr<net::FrameChannel> stream,
                const boost::system::error_code& connect_error = {}) {
        auto done = std::move(done_);
        done_ = nullptr;
        if (done) done(error, connect_error, std::move(stream));
    }

    tcp::socket socket_;  // until connected; then the stream's
    std::optional<Tls> tls_;
    asio::steady_timer timer_;
    net::FrameHandler& handler_;
    net::FrameReader::Limits limits_;
    net::QueueBudget& budget_;
    StreamConnected done_;
    std::optional<TlsClient> tls_config_;
    bool cancelled_ = false;
    bool timed_out_ = false;
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
                                               net::QueueBudget& budget, StreamConnected done,
                                               const TlsClient* tls) {
    auto connecting = std::make_shared<Connecting>(io, handler, limits, budget, std::move(done), tls);
    connecting->start(server);
    return connecting;
}

}  // namespace porthop::relay
