#include "tcp_intake.hpp"

#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <cerrno>

#include "first_bytes.hpp"
#include "porthop/hop/schedule.hpp"
#include "stream_host.hpp"
#include "tcp_connection.hpp"
#include "web_answer.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// A first byte that only starts a TLS header or a method ("G", "16 03") is followed by the
// rest in the same segment almost always; if not, the socket stays readable with the same
// bytes, so the next look waits a little instead of spinning on readiness.
constexpr std::chrono::milliseconds kPeekAgain{10};
// Room for the first TLS record a client sends (at most 2^14 bytes of plaintext).
constexpr std::size_t kFirstRead = 16384;
}  // namespace

TcpIntake::TcpIntake(AcceptHost& host, tcp::socket socket, net::Endpoint peer, std::shared_ptr<ListenerCounters> stats,
                     std::uint16_t port, std::shared_ptr<const TlsFront> front)
    : host_(host),
      socket_(std::move(socket)),
      peer_(peer),
      stats_(std::move(stats)),
      port_(port),
      front_(std::move(front)),
      timer_(socket_.get_executor()) {}

StreamHost& TcpIntake::streams() noexcept { return host_.stream_host(); }

void TcpIntake::start(std::optional<SourceKey> source) {
    source_ = source;
    accepted_ = Clock::now();
    streams().connection_started(shared_from_this(), source_);
    // A connection that says nothing is closed after the silence nginx allows; where the port
    // also takes framed records (native_tcp), after first_frame_timeout as it always was.
    arm(accepted_ + (front_->native_tcp ? streams().options().first_frame_timeout : front_->header_timeout));
    sniff();
}

void TcpIntake::arm(Clock::time_point deadline) {
    deadline_ = deadline;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || !self->pending() || self->stage_ == Stage::web) return;
        if (self->timer_.expiry() > Clock::now()) return;  // re-armed meanwhile (a peek wait)
        Counters::add(self->streams().counters().tcp_timeouts);
        if (self->stage_ == Stage::judge) {
            // Inside TLS, nginx ends a silent or unfinished request at its header timeout in
            // its own way (close_notify after nothing, a bare close after part of a head): the
            // site's answer does exactly that with its deadline passed, decoy or not. The read
            // in flight ends first (on_first): the stream moves only with nothing pending.
            self->timed_out_ = true;
            boost::system::error_code ignored;
            self->tls_->lowest_layer().cancel(ignored);
            return;
        }
        self->streams().warn_input([&] {
            return "closing TCP connection from " + self->peer_.to_string() + ": nothing it sent decided what it is in time";
        });
        self->close();
    });
}

bool TcpIntake::has_unread_input() const noexcept {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (stage_ == Stage::sniff)
        n = socket_.available(ec);
    else if (tls_ && (stage_ == Stage::handshake || stage_ == Stage::judge))
        n = tls_->lowest_layer().available(ec);
    return !ec && n > 0;
}

// ---- before any byte is taken: what the first bytes are --------------------------------------

void TcpIntake::sniff() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) { self->on_readable(ec); });
}

void TcpIntake::on_readable(const boost::system::error_code& ec) {
    if (stage_ != Stage::sniff) return;
    if (ec) {
        finish();
        return;
    }
    const ssize_t n = ::recv(socket_.native_handle(), peek_.data(), peek_.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        sniff();
        return;
    }
    if (n <= 0) {  // the client closed, or the connection broke, before a byte
        finish();
        return;
    }
    const std::span<const std::byte> peeked{peek_.data(), static_cast<std::size_t>(n)};
    const auto start = wire::sniff_stream_start(peeked);
    if (start != wire::StreamStart::need_more) {
        route(start, peeked.front());
        return;
    }
    // The same bytes stay readable: look again a little later (the deadline still runs).
    auto poll = std::make_shared<asio::steady_timer>(socket_.get_executor(), kPeekAgain);
    poll->async_wait([self = shared_from_this(), poll](const boost::system::error_code& wait_ec) {
        if (!wait_ec) self->sniff();
    });
}

void TcpIntake::route(wire::StreamStart start, std::byte first) {
    switch (start) {
        case wire::StreamStart::tls_handshake:
            handshake();
            return;
        case wire::StreamStart::http_request:
            to_web_plain();
            return;
        case wire::StreamStart::other:
        case wire::StreamStart::need_more:
            break;
    }
    if (front_->native_tcp)
        to_connection_plain();
    else if (wire::nginx_starts_tls(first))
        handshake();  // OpenSSL meets what is not TLS as it would in nginx: an alert or a close
    else
        to_web_plain();
}

// ---- TLS ------------------------------------------------------------------------------------

void TcpIntake::handshake() {
    stage_ = Stage::handshake;
    tls_.emplace(std::move(socket_), *front_->context);
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                              if (self->stage_ != Stage::handshake) return;
                              if (ec) {
                                  // OpenSSL has sent its alert, if it had one to send.
                                  Counters::add(self->streams().counters().tls_handshake_failures);
                                  self->finish();
                                  return;
                              }
                              Counters::add(self->streams().counters().tls_handshakes);
                              self->arm(Clock::now() + self->front_->header_timeout);
                              self->stage_ = Stage::judge;
                              self->first_.resize(kFirstRead);
                              self->read_first();
                          });
}

void TcpIntake::read_first() {
    tls_->async_read_some(asio::buffer(first_.data() + first_length_, first_.size() - first_length_),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                              self->on_first(ec, n);
                          });
}

void TcpIntake::on_first(const boost::system::error_code& ec, std::size_t n) {
    if (stage_ != Stage::judge) return;
    if (ec) {
        if (timed_out_) {
            to_web_tls(true);
            return;
        }
        finish();  // closed or broken before it said anything decisive: nothing to answer
        return;
    }
    first_length_ += n;
    const auto& options = streams().options();
    const auto keys = options.hop_keys ? &*options.hop_keys : nullptr;
    const auto epoch = hop::epoch_at(options.wall_clock(), options.hop_interval);
    switch (judge_first_bytes({first_.data(), first_length_}, streams().codec(), keys, epoch)) {
        case FirstBytes::agent:
            to_connection_tls();
            return;
        case FirstBytes::web:
            to_web_tls();
            return;
        case FirstBytes::need_more:
            // Decided by kFirstBytesDecisive bytes, far below the buffer: never full here.
            if (first_length_ < first_.size()) {
                read_first();
                return;
            }
            to_web_tls();
            return;
    }
}

// ---- where it goes --------------------------------------------------------------------------

void TcpIntake::to_connection_plain() {
    if (!streams().allow_handshake(peer_)) {  // counted; a VPN's connection, refused as before
        finish();
        return;
    }
    stage_ = Stage::handed;
    timer_.cancel();
    auto connection = std::make_shared<TcpConnection>(streams(), std::move(socket_), host_.stream_budget(), peer_,
                                                      stats_, port_);
    connection->start(source_, true);  // the slot is the connection's from here
}

void TcpIntake::to_connection_tls() {
    if (!streams().allow_handshake(peer_)) {  // counted; only an agent under the key gets here
        finish();
        return;
    }
    stage_ = Stage::handed;
    timer_.cancel();
    auto connection = std::make_shared<TcpConnection>(streams(), std::move(*tls_), host_.stream_budget(), peer_,
                                                      stats_, port_);
    tls_.reset();
    // The bytes read to judge it are its first records (they fit: a read is at most one TLS
    // record, the connection's buffer holds a longest datagram and 16 KiB more).
    connection->preload({first_.data(), first_length_});
    std::vector<std::byte>().swap(first_);
    connection->start(source_, true);
}

namespace {
WebOptions web_options(const TlsFront& front, StreamHost& host) {
    WebOptions options;
    options.decoy = front.decoy;
    options.page = wire::SitePage{front.site_page, front.site_modified};
    options.header_timeout = front.header_timeout;
    options.keepalive_timeout = front.keepalive_timeout;
    options.warn = [&host](const std::string& message) { host.warn_input([&] { return message; }); };
    return options;
}
}  // namespace

void TcpIntake::to_web_plain() {
    stage_ = Stage::web;
    timer_.cancel();  // the answer keeps nginx's deadlines itself
    Counters::add(streams().counters().web_plain_http);
    web_ = serve_site(std::move(socket_), {}, web_options(*front_, streams()), WebMode::plain_http_on_tls_port,
                      deadline_, [self = shared_from_this()] { self->finish(); });
}

void TcpIntake::to_web_tls(bool timed_out) {
    stage_ = Stage::web;
    timer_.cancel();
    const std::span<const std::byte> preread{first_.data(), first_length_};
    const auto options = web_options(*front_, streams());
    auto done = [self = shared_from_this()] { self->finish(); };
    if (front_->decoy && !timed_out) {
        Counters::add(streams().counters().web_decoy);
        web_ = splice_to_decoy(std::move(*tls_), preread, options, std::move(done));
    } else {
        Counters::add(streams().counters().web_site);
        web_ = serve_site(std::move(*tls_), preread, options, WebMode::site, deadline_, std::move(done));
    }
    tls_.reset();
    std::vector<std::byte>().swap(first_);
}

// ---- its end --------------------------------------------------------------------------------

void TcpIntake::close() {
    if (!pending()) return;
    if (const auto web = web_) {
        web->close();  // runs finish() through its on_closed
        if (stage_ == Stage::closed) return;
    }
    finish();
}

void TcpIntake::finish() {
    if (!pending()) return;
    stage_ = Stage::closed;
    timer_.cancel();
    boost::system::error_code ignored;
    if (tls_) {
        tls_->lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
        tls_->lowest_layer().close(ignored);
    }
    if (socket_.is_open()) socket_.close(ignored);
    web_.reset();
    streams().connection_closed(std::exchange(source_, std::nullopt));
}

}  // namespace porthop::relay
