// The built-in site and the decoy splice (web_answer.hpp): the per-connection state machines
// over a plain TCP socket or a TLS stream. The answers themselves are wire::http_response's;
// what is here is when to read, answer, wait and close, as nginx 1.22.1 does (its behaviour on
// timeouts and closes was probed against it: web_answer.hpp).
#include "web_answer.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace porthop::relay {

// A namespace of its own: with unity builds the relay's sources share translation units.
namespace web_answer_detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// nginx's defaults for what follows an answer: lingering_timeout and lingering_time (a body
// being discarded, a lingering close), send_timeout, and ngx_ssl_shutdown's 3 s for sending
// close_notify.
constexpr auto kLingeringTimeout = 5s;
constexpr auto kLingeringTime = 30s;
constexpr auto kSendTimeout = 60s;
constexpr auto kShutdownTimeout = 3s;
// The head buffer: the largest head the parser takes, and room for what follows it in a read.
constexpr std::size_t kHeadBuffer = wire::kMaxRequestHead + 1024;
// The splice's buffer, per direction.
constexpr std::size_t kSpliceChunk = 16384;

template <class S>
struct IsTls : std::false_type {};
template <class S>
struct IsTls<asio::ssl::stream<S>> : std::true_type {};

// The end of a stream, as opposed to a failure: a FIN (plain TCP, or TLS without close_notify)
// or a close_notify.
bool is_end_of_stream(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// What follows a request head, from its Content-Length and Transfer-Encoding fields.
struct BodyFraming {
    enum class Kind : std::uint8_t { none, length, chunked, unknown } kind = Kind::none;
    std::uint64_t length = 0;
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view a, std::string_view lower_b) {
    if (a.size() != lower_b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower_b[i]) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// `head`: a complete head (parse_request_head's head_length bytes). nginx takes both fields
// once (a second one is a 400 the wire layer gives, with close); Content-Length must be
// decimal digits, and Transfer-Encoding exactly "chunked" without Content-Length, else nginx
// answers 400 or 501, which is not modelled: the framing is then unknown.
BodyFraming body_framing(std::string_view head) {
    bool have_length = false, have_chunked = false, unknown = false;
    std::uint64_t length = 0;
    bool request_line_seen = false;
    while (!head.empty()) {
        const std::size_t end = head.find('\n');
        const std::string_view line = head.substr(0, end);
        head.remove_prefix(end == std::string_view::npos ? head.size() : end + 1);
        if (trim(line).empty()) {
            if (request_line_seen) break;  // the end of the head
            continue;                      // empty lines before the request line
        }
        if (!request_line_seen) {
            request_line_seen = true;
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (equals_lower(name, "content-length")) {
            have_length = true;
            if (value.empty() || value.size() > 18) unknown = true;  // nginx: 400 (or an overflow)
            for (const char c : value) {
                if (c < '0' || c > '9') {
                    unknown = true;
                    break;
                }
                length = length * 10 + static_cast<std::uint64_t>(c - '0');
            }
        } else if (equals_lower(name, "transfer-encoding")) {
            if (equals_lower(value, "chunked"))
                have_chunked = true;
            else
                unknown = true;  // nginx: 501
        }
    }
    if (unknown || (have_length && have_chunked)) return {BodyFraming::Kind::unknown, 0};
    if (have_chunked) return {BodyFraming::Kind::chunked, 0};
    if (have_length && length > 0) return {BodyFraming::Kind::length, length};
    return {};
}

// Reads past a chunked body: sizes in hex, each chunk's data and its line end, the last chunk
// (size 0) and the trailer lines up to the empty one. Extensions and trailers are skipped, not
// checked.
class ChunkedSkipper {
public:
    bool done() const noexcept { return state_ == State::done; }
    bool bad() const noexcept { return state_ == State::bad; }

    // How many of `in`'s bytes belong to the body.
    std::size_t feed(std::span<const std::byte> in) {
        std::size_t i = 0;
        while (i < in.size() && state_ != State::done && state_ != State::bad) {
            if (state_ == State::data) {
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size_, in.size() - i));
                i += n;
                size_ -= n;
                if (size_ == 0) state_ = State::data_end;
                continue;
            }
            const char c = static_cast<char>(in[i++]);
            switch (state_) {
            case State::size:
                if (const int d = hex(c); d >= 0) {
                    if (size_ >> 56) {  // more than nginx's off_t would take
                        state_ = State::bad;
                        break;
                    }
                    size_ = size_ * 16 + static_cast<std::uint64_t>(d);
                    digits_ = true;
                } else if (!digits_) {
                    state_ = State::bad;
                } else if (c == '\n') {
                    size_line_done();
                } else if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
                    state_ = State::extension;
                } else {
                    state_ = State::bad;
                }
                break;
            case State::extension:
                if (c == '\n') size_line_done();
                break;
            case State::data_end:
                if (c == '\n') {
                    state_ = State::size;
                    size_ = 0;
                    digits_ = false;
                } else if (c != '\r') {
                    state_ = State::bad;
                }
                break;
            case State::trailer_start:
                if (c == '\n')
                    state_ = State::done;
                else if (c != '\r')
                    state_ = State::trailer;
                break;
            case State::trailer:
                if (c == '\n') state_ = State::trailer_start;
                break;
            default:
                break;
            }
        }
        return i;
    }

private:
    enum class State : std::uint8_t { size, extension, data, data_end, trailer_start, trailer, done, bad };

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    void size_line_done() { state_ = size_ == 0 ? State::trailer_start : State::data; }

    State state_ = State::size;
    std::uint64_t size_ = 0;
    bool digits_ = false;
};

// ---------------------------------------------------------------------------------------------
// The built-in site on one connection.

template <class Stream>
class SiteConnection final : public WebConnection, public std::enable_shared_from_this<SiteConnection<Stream>> {
public:
    SiteConnection(Stream&& stream, std::span<const std::byte> preread, const WebOptions& options, WebMode mode,
                   std::function<void()> on_closed)
        : stream_(std::move(stream)),
          timer_(stream_.get_executor()),
          buffer_(std::max(kHeadBuffer, preread.size())),
          size_(preread.size()),
          options_(options),
          mode_(mode),
          on_closed_(std::move(on_closed)) {
        if (!preread.empty()) std::memcpy(buffer_.data(), preread.data(), preread.size());
    }

    void start(SteadyClock::time_point deadline) {
        arm(deadline);
        next();
    }

    void close() override { finish(); }

private:
    enum class Phase : std::uint8_t { head, write, body, closing, linger };

    // The TCP socket under the stream (for TLS: its next layer, read raw only when lingering).
    tcp::socket& socket() {
        if constexpr (IsTls<Stream>::value)
            return stream_.next_layer();
        else
            return stream_;
    }

    // Arms the one timer; a wait it replaces ends as cancelled and is ignored.
    void arm(SteadyClock::time_point when) {
        timer_.expires_at(when);
        timer_.async_wait([self = this->shared_from_this(), generation = ++timer_generation_](
                              const boost::system::error_code& ec) {
            if (ec || self->closed_ || generation != self->timer_generation_) return;
            self->timed_out();
        });
    }

    void timed_out() {
        if (phase_ == Phase::head && size_ == 0) {
            // Waiting for a request with nothing of it read: nginx closes with close_notify.
            // The read in flight is cancelled first; its handler starts the shutdown.
            idle_expired_ = true;
            boost::system::error_code ignored;
            socket().cancel(ignored);
            return;
        }
        // Part of a head, an answer the client does not take, a body that stops, a close that
        // does not finish: silent (nginx's quiet shutdown of a timed-out connection).
        finish();
    }

    // Answers the head in the buffer, or reads more of it.
    void next() {
        phase_ = Phase::head;
        if (size_ == 0) {
            read_head();
            return;
        }
        const std::span<const std::byte> input(buffer_.data(), size_);
        const wire::HttpHead head = wire::parse_request_head(input);
        if (head.status == wire::HttpHeadStatus::need_more) {
            if (size_ >= buffer_.size()) {  // cannot happen: the parser gives up within the buffer
                finish();
                return;
            }
            read_head();
            return;
        }
        answer(head, input);
    }

    void read_head() {
        stream_.async_read_some(
            asio::buffer(buffer_.data() + size_, buffer_.size() - size_),
            [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                if (self->closed_) return;
                if (self->idle_expired_) {
                    self->end_gracefully(false);
                    return;
                }
                if (ec) {  // the client closed or failed: nothing to answer
                    self->finish();
                    return;
                }
                if (self->size_ == 0 && !self->first_) {
                    // The next request's first bytes: header_timeout from now replaces the
                    // keep-alive wait (nginx re-arms its timer here).
                    self->arm(SteadyClock::now() + self->options_.header_timeout);
                }
                self->size_ += n;
                self->next();
            });
    }

    void answer(const wire::HttpHead& head, std::span<const std::byte> input) {
        const auto now = options_.wall_clock();
        wire::HttpResponse response = mode_ == WebMode::site
                                          ? wire::builtin_site_response(head, input, options_.page, now)
                                          : wire::plain_http_on_tls_port(head, input, now);
        if (response.status == 0) {  // not for a complete or bad head; nothing sensible to send
            finish();
            return;
        }
        close_after_ = response.close;
        if (head.status == wire::HttpHeadStatus::complete) {
            consumed_ = head.head_length;
            body_ = body_framing(std::string_view(reinterpret_cast<const char*>(input.data()), head.head_length));
            if (body_.kind == BodyFraming::Kind::unknown) close_after_ = true;
        } else {
            consumed_ = size_;
            body_ = {};
            close_after_ = true;
        }
        out_ = std::move(response.bytes);
        phase_ = Phase::write;
        arm(SteadyClock::now() + kSendTimeout);
        asio::async_write(stream_, asio::buffer(out_),
                          [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                              if (self->closed_) return;
                              if (ec) {
                                  self->finish();
                                  return;
                              }
                              self->written();
                          });
    }

    void written() {
        first_ = false;
        out_.clear();
        out_.shrink_to_fit();
        if (close_after_) {
            // nginx lingers (FIN, then reads and drops) when the client's bytes are still coming,
            // so that its last answer is not lost to a reset; else it closes at once.
            boost::system::error_code ignored;
            const bool unread = size_ > consumed_ || socket().available(ignored) > 0 ||
                                body_.kind != BodyFraming::Kind::none;
            end_gracefully(unread);
            return;
        }
        drop(consumed_);
        consumed_ = 0;
        if (body_.kind != BodyFraming::Kind::none) {
            phase_ = Phase::body;
            body_deadline_ = SteadyClock::now() + kLingeringTime;
            chunks_ = ChunkedSkipper{};
            discard_body();
            return;
        }
        next_request();
    }

    void next_request() {
        // Pipelined bytes: the next head is due header_timeout from now; none: the connection
        // may idle keepalive_timeout.
        arm(SteadyClock::now() + (size_ > 0 ? options_.header_timeout : options_.keepalive_timeout));
        next();
    }

    void drop(std::size_t n) {
        n = std::min(n, size_);
        std::memmove(buffer_.data(), buffer_.data() + n, size_ - n);
        size_ -= n;
    }

    // Reads and drops the request body (from the buffer first), then goes on with the next
    // request.
    void discard_body() {
        if (body_.kind == BodyFraming::Kind::length) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(body_.length, size_));
            drop(n);
            body_.length -= n;
            if (body_.length == 0) body_.kind = BodyFraming::Kind::none;
        } else {
            drop(chunks_.feed(std::span<const std::byte>(buffer_.data(), size_)));
            if (chunks_.bad()) {  // nginx: "client sent invalid chunked body", closed
                finish();
                return;
            }
            if (chunks_.done()) body_.kind = BodyFraming::Kind::none;
        }
        if (body_.kind == BodyFraming::Kind::none) {
            next_request();
            return;
        }
        // The buffer is empty here: all of it was body.
        arm(std::min(SteadyClock::now() + kLingeringTimeout, body_deadline_));
        stream_.async_read_some(asio::buffer(buffer_),
                                [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                    if (self->closed_) return;
                                    if (ec) {
                                        self->finish();
                                        return;
                                    }
                                    self->size_ = n;
                                    self->discard_body();
                                });
    }

    // close_notify on TLS (sent, not waited for: nginx's no_wait_shutdown), then a lingering
    // close or none.
    void end_gracefully(bool linger) {
        phase_ = Phase::closing;
        if constexpr (IsTls<Stream>::value) {
            SSL* ssl = stream_.native_handle();
            SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
            arm(SteadyClock::now() + kShutdownTimeout);
            stream_.async_shutdown([self = this->shared_from_this(), linger](const boost::system::error_code& ec) {
                if (self->closed_) return;
                if (ec) {
                    self->finish();
                    return;
                }
                self->linger_or_finish(linger);
            });
        } else {
            linger_or_finish(linger);
        }
    }

    void linger_or_finish(bool linger) {
        if (!linger) {
            finish();
            return;
        }
        phase_ = Phase::linger;
        boost::system::error_code ignored;
        socket().shutdown(asio::socket_base::shutdown_send, ignored);
        linger_deadline_ = SteadyClock::now() + kLingeringTime;
        linger_read();
    }

    // Reads what the client still sends (on TLS the raw records: nothing of it is used) until
    // it closes, stops for kLingeringTimeout, or kLingeringTime is over.
    void linger_read() {
        arm(std::min(SteadyClock::now() + kLingeringTimeout, linger_deadline_));
        socket().async_read_some(asio::buffer(buffer_),
                                 [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                                     if (self->closed_) return;
                                     if (ec) {
                                         self->finish();
                                         return;
                                     }
                                     self->linger_read();
                                 });
    }

    void finish() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        boost::system::error_code ignored;
        socket().close(ignored);
        if (auto done = std::exchange(on_closed_, nullptr)) done();
    }

    Stream stream_;
    asio::steady_timer timer_;
    std::uint64_t timer_generation_ = 0;
    std::vector<std::byte> buffer_;
    std::size_t size_ = 0;      // bytes in buffer_
    std::size_t consumed_ = 0;  // of them, the head being answered
    std::string out_;           // the answer being written
    WebOptions options_;
    WebMode mode_;
    std::function<void()> on_closed_;
    Phase phase_ = Phase::head;
    BodyFraming body_;
    ChunkedSkipper chunks_;
    SteadyClock::time_point body_deadline_{};
    SteadyClock::time_point linger_deadline_{};
    bool first_ = true;  // the first request (its head is due by the caller's deadline)
    bool close_after_ = false;
    bool idle_expired_ = false;
    bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// The decoy splice.

template <class Stream>
class DecoySplice final : public WebConnection, public std::enable_shared_from_this<DecoySplice<Stream>> {
public:
    DecoySplice(Stream&& stream, std::span<const std::byte> preread, const WebOptions& options,
                std::function<void()> on_closed)
        : client_(std::move(stream)),
          decoy_(client_.get_executor()),
          timer_(client_.get_executor()),
          preread_(preread.begin(), preread.end()),
          options_(options),
          on_closed_(std::move(on_closed)) {}

    void start() {
        if (!options_.decoy || !options_.decoy->valid()) {
            fall_back("none configured");
            return;
        }
        const auto udp = options_.decoy->to_udp();
        const tcp::endpoint to(udp.address(), udp.port());
        arm(SteadyClock::now() + options_.decoy_connect_timeout);
        decoy_.async_connect(to, [self = this->shared_from_this()](const boost::system::error_code& ec) {
            if (self->closed_) return;
            if (ec) {
                self->fall_back(self->connect_timed_out_
                                    ? "no connection within " +
                                          std::to_string(self->options_.decoy_connect_timeout.count()) + " ms"
                                    : ec.message());
                return;
            }
            self->connected();
        });
    }

    void close() override {
        if (fallback_) {
            fallback_->close();
            return;
        }
        finish();
    }

private:
    void arm(SteadyClock::time_point when) {
        timer_.expires_at(when);
        timer_.async_wait([self = this->shared_from_this(), generation = ++timer_generation_](
                              const boost::system::error_code& ec) {
            if (ec || self->closed_ || generation != self->timer_generation_) return;
            self->timed_out();
        });
    }

    void timed_out() {
        if (!connected_) {
            connect_timed_out_ = true;
            boost::system::error_code ignored;
            decoy_.close(ignored);  // the connect ends as aborted; its handler falls back
            return;
        }
        finish();  // the client half-closed and the decoy did not end in time, or close_notify hung
    }

    void fall_back(const std::string& why) {
        ++timer_generation_;
        timer_.cancel();
        boost::system::error_code ignored;
        decoy_.close(ignored);
        if (options_.warn) {
            const std::string name = options_.decoy ? options_.decoy->to_string() : std::string("(none)");
            options_.warn("decoy " + name + " unreachable (" + why + "); the built-in site answers instead");
        }
        closed_ = true;  // this object is done; the site owns the stream and on_closed now
        fallback_ = serve_site<Stream>(std::move(client_), preread_, options_, WebMode::site,
                                       SteadyClock::now() + options_.header_timeout, std::move(on_closed_));
        preread_.clear();
        preread_.shrink_to_fit();
    }

    void connected() {
        connected_ = true;
        ++timer_generation_;
        timer_.cancel();
        boost::system::error_code ignored;
        decoy_.set_option(tcp::no_delay(true), ignored);
        buffers_ = std::make_unique<std::byte[]>(2 * kSpliceChunk);
        pump_down();
        asio::async_write(decoy_, asio::buffer(preread_),
                          [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                              if (self->closed_) return;
                              if (ec) {
                                  self->finish();
                                  return;
                              }
                              self->preread_.clear();
                              self->preread_.shrink_to_fit();
                              self->pump_up();
                          });
    }

    // Client to decoy.
    void pump_up() {
        std::byte* up = buffers_.get();
        client_.async_read_some(
            asio::buffer(up, kSpliceChunk),
            [self = this->shared_from_this(), up](const boost::system::error_code& ec, std::size_t n) {
                if (self->closed_ || self->ending_) return;
                if (ec) {
                    if (!is_end_of_stream(ec)) {
                        self->finish();
                        return;
                    }
                    // The client is done sending: the decoy sees the same, and its answer still
                    // goes back, for a while.
                    boost::system::error_code ignored;
                    self->decoy_.shutdown(asio::socket_base::shutdown_send, ignored);
                    self->arm(SteadyClock::now() + self->options_.keepalive_timeout);
                    return;
                }
                asio::async_write(self->decoy_, asio::buffer(up, n),
                                  [self](const boost::system::error_code& wec, std::size_t) {
                                      if (self->closed_ || self->ending_) return;
                                      if (wec) {
                                          self->finish();
                                          return;
                                      }
                                      self->pump_up();
                                  });
            });
    }

    // Decoy to client.
    void pump_down() {
        std::byte* down = buffers_.get() + kSpliceChunk;
        decoy_.async_read_some(
            asio::buffer(down, kSpliceChunk),
            [self = this->shared_from_this(), down](const boost::system::error_code& ec, std::size_t n) {
                if (self->closed_ || self->ending_) return;
                if (ec) {  // the decoy is done (or failed): nothing of it is left to write
                    self->end_client();
                    return;
                }
                asio::async_write(self->client_, asio::buffer(down, n),
                                  [self](const boost::system::error_code& wec, std::size_t) {
                                      if (self->closed_ || self->ending_) return;
                                      if (wec) {
                                          self->finish();
                                          return;
                                      }
                                      self->pump_down();
                                  });
            });
    }

    // The decoy closed: so does the client's connection, with close_notify on TLS as a web
    // server's would, not waited for.
    void end_client() {
        ending_ = true;
        boost::system::error_code ignored;
        decoy_.close(ignored);
        if constexpr (IsTls<Stream>::value) {
            SSL* ssl = client_.native_handle();
            SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
            arm(SteadyClock::now() + kShutdownTimeout);
            client_.async_shutdown([self = this->shared_from_this()](const boost::system::error_code&) {
                self->finish();
            });
        } else {
            finish();
        }
    }

    void finish() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        boost::system::error_code ignored;
        decoy_.close(ignored);
        client_.lowest_layer().close(ignored);
        if (auto done = std::exchange(on_closed_, nullptr)) done();
    }

    Stream client_;
    tcp::socket decoy_;
    asio::steady_timer timer_;
    std::uint64_t timer_generation_ = 0;
    std::vector<std::byte> preread_;  // until the decoy has it
    WebOptions options_;
    std::function<void()> on_closed_;
    std::unique_ptr<std::byte[]> buffers_;  // up, then down; kSpliceChunk each
    std::shared_ptr<WebConnection> fallback_;
    bool connected_ = false;
    bool connect_timed_out_ = false;
    bool ending_ = false;
    bool closed_ = false;
};

}  // namespace web_answer_detail

template <class Stream>
std::shared_ptr<WebConnection> serve_site(Stream stream, std::span<const std::byte> preread, const WebOptions& options,
                                          WebMode mode, std::chrono::steady_clock::time_point deadline,
                                          std::function<void()> on_closed) {
    auto connection = std::make_shared<web_answer_detail::SiteConnection<Stream>>(std::move(stream), preread, options,
                                                                                  mode, std::move(on_closed));
    connection->start(deadline);
    return connection;
}

template <class Stream>
std::shared_ptr<WebConnection> splice_to_decoy(Stream stream, std::span<const std::byte> preread,
                                               const WebOptions& options, std::function<void()> on_closed) {
    auto connection = std::make_shared<web_answer_detail::DecoySplice<Stream>>(std::move(stream), preread, options,
                                                                               std::move(on_closed));
    connection->start();
    return connection;
}

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
template std::shared_ptr<WebConnection> serve_site<boost::asio::ip::tcp::socket>(
    boost::asio::ip::tcp::socket, std::span<const std::byte>, const WebOptions&, WebMode,
    std::chrono::steady_clock::time_point, std::function<void()>);
template std::shared_ptr<WebConnection> serve_site<TlsStream>(TlsStream, std::span<const std::byte>, const WebOptions&,
                                                              WebMode, std::chrono::steady_clock::time_point,
                                                              std::function<void()>);
template std::shared_ptr<WebConnection> splice_to_decoy<boost::asio::ip::tcp::socket>(
    boost::asio::ip::tcp::socket, std::span<const std::byte>, const WebOptions&, std::function<void()>);
template std::shared_ptr<WebConnection> splice_to_decoy<TlsStream>(TlsStream, std::span<const std::byte>,
                                                                   const WebOptions&, std::function<void()>);

}  // namespace porthop::relay
