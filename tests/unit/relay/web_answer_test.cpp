// The web answer on TCP 443 (src/relay/web_answer.hpp) over real loopback sockets, plain TCP and
// TLS (the server end from net::make_server_context with tests/vectors/tls/): the built-in site
// on a connection (keep-alive, preread bytes, pipelining, bodies dropped, 400 and close, nginx's
// timeouts and closes, close_notify or not), plain HTTP on the TLS port, and the decoy splice
// (bytes both ways, the decoy unreachable, close() in the middle). The answers' bytes are
// wire::http_response's (tested against nginx's captures in unit.wire); here they are expected
// whole, from the same functions, with the Date pinned.
#include "../../../src/relay/web_answer.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "porthop/crypto/tls_credentials.hpp"
#include "porthop/net/tls_context.hpp"
#include "porthop/wire/http_response.hpp"
#include "../../fixtures/fixture.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation unit.
namespace web_answer_test {

using namespace std::chrono_literals;
using namespace porthop;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using relay::WebMode;
using relay::WebOptions;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = ssl::stream<tcp::socket>;

constexpr std::int64_t kNow = 1768469400;  // the pinned Date: Thu, 15 Jan 2026 09:30:00 GMT
std::chrono::system_clock::time_point pinned_now() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
}

const std::string kPage = "<html><body>porthop web answer test page</body></html>\n";

bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto until = SteadyClock::now() + limit;
    while (!done() && SteadyClock::now() < until) {
        io.restart();
        io.run_for(10ms);
    }
    return done();
}

// Runs the loop for a while whatever happens (for "nothing happens" checks).
void run_for(asio::io_context& io, std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// The built-in site's answer to `request` (one whole head), as the connection must send it.
std::string site_answer(const std::string& request) {
    const auto input = as_bytes(request);
    return wire::builtin_site_response(wire::parse_request_head(input), input,
                                       wire::SitePage{kPage, pinned_now() - 24h}, pinned_now())
        .bytes;
}

std::string get(const std::string& path = "/", const std::string& extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n" + extra + "\r\n";
}

WebOptions options() {
    WebOptions o;
    o.page = wire::SitePage{kPage, pinned_now() - 24h};
    o.wall_clock = &pinned_now;
    return o;
}

std::pair<tcp::socket, tcp::socket> connected(asio::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket client(io), server(io);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    return {std::move(server), std::move(client)};
}

// The loop, and the TLS contexts (the server's as the relay makes it).
struct Env {
    asio::io_context io;
    std::shared_ptr<ssl::context> server_tls;
    ssl::context client_tls{ssl::context::tls_client};
    Env() {
        const auto dir = test::fixtures_dir().parent_path() / "vectors" / "tls";
        crypto::CredentialsError error;
        auto credentials =
            crypto::Credentials::load_pem((dir / "chain.pem").string(), (dir / "leaf.key").string(), error);
        REQUIRE(credentials);
        auto made = net::make_server_context(*credentials);
        REQUIRE(made.ok());
        server_tls = made.context;
        client_tls.set_verify_mode(ssl::verify_none);  // the certificate is not the point here
    }
};

struct Plain {
    using Stream = tcp::socket;
    static constexpr bool tls = false;
    static std::pair<Stream, Stream> make(Env& env) { return connected(env.io); }
};

struct Tls {
    using Stream = TlsStream;
    static constexpr bool tls = true;
    static std::pair<Stream, Stream> make(Env& env) {
        auto [s, c] = connected(env.io);
        Stream server(std::move(s), *env.server_tls), client(std::move(c), env.client_tls);
        std::optional<boost::system::error_code> server_shook, client_shook;
        server.async_handshake(ssl::stream_base::server, [&](const auto& ec) { server_shook = ec; });
        client.async_handshake(ssl::stream_base::client, [&](const auto& ec) { client_shook = ec; });
        REQUIRE(run_until(env.io, [&] { return server_shook && client_shook; }));
        REQUIRE_FALSE(*server_shook);
        REQUIRE_FALSE(*client_shook);
        return {std::move(server), std::move(client)};
    }
};

// The client end: reads all the time into `received`, until the stream ends (`ended`: eof
// for a FIN on TCP or a close_notify on TLS, ssl::error::stream_truncated for TLS without it),
// then closes its socket.
template <class Stream>
struct Client : std::enable_shared_from_this<Client<Stream>> {
    explicit Client(Stream s) : stream(std::move(s)) {}
    Stream stream;
    std::string received;
    std::optional<boost::system::error_code> ended;
    std::array<char, 4096> chunk{};

    void read() {
        stream.async_read_some(asio::buffer(chunk),
                               [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                   if (ec) {
                                       // As a browser does: the server's end closes it here too
                                       // (which ends a lingering close on the server's side).
                                       self->ended = ec;
                                       boost::system::error_code ignored;
                                       self->stream.lowest_layer().close(ignored);
                                       return;
                                   }
                                   self->received.append(self->chunk.data(), n);
                                   self->read();
                               });
    }
    void send(asio::io_context& io, const std::string& bytes) {
        bool done = false;
        boost::system::error_code result;
        asio::async_write(stream, asio::buffer(bytes), [&](const boost::system::error_code& ec, std::size_t) {
            result = ec;
            done = true;
        });
        REQUIRE(run_until(io, [&] { return done; }));
        REQUIRE_FALSE(result);
    }
};

template <class Stream>
std::shared_ptr<Client<Stream>> client_of(Stream s) {
    auto c = std::make_shared<Client<Stream>>(std::move(s));
    c->read();
    return c;
}

// What the client's end of stream says about the server's close.
template <class T>
bool ended_with_close_notify(const std::optional<boost::system::error_code>& ended) {
    // Plain TCP has no close_notify: a FIN reads as eof.
    return ended && *ended == asio::error::eof;
}
bool ended_silently_tls(const std::optional<boost::system::error_code>& ended) {
    return ended && *ended == ssl::error::stream_truncated;
}

// Everything a site test sets up: the pair, the client end, the connection, on_closed's count.
template <class T>
struct Site {
    Env env;
    std::shared_ptr<Client<typename T::Stream>> client;
    std::shared_ptr<relay::WebConnection> connection;
    int closed = 0;

    explicit Site(const std::string& preread = "", WebOptions o = options(), WebMode mode = WebMode::site,
                  std::chrono::milliseconds first_head = 5s) {
        auto [server, c] = T::make(env);
        client = client_of(std::move(c));
        connection = relay::serve_site(std::move(server), as_bytes(preread), o, mode, SteadyClock::now() + first_head,
                                       [this] { ++closed; });
    }
    ~Site() {
        connection->close();
        run_for(env.io, 10ms);
    }
    bool wait_for(const std::string& expected) {
        return run_until(env.io, [&] { return client->received.size() >= expected.size() || client->ended; });
    }
    bool wait_end() { return run_until(env.io, [&] { return client->ended.has_value() && closed > 0; }); }
};

TEMPLATE_TEST_CASE("web answer: GET / gets the page, keep-alive, Connection: close ends it",
                   "[relay][web_answer]", Plain, Tls) {
    Site<TestType> site;
    const std::string first = get();
    site.client->send(site.env.io, first);
    const std::string expected1 = site_answer(first);
    REQUIRE(expected1.starts_with("HTTP/1.1 200 OK\r\n"));
    REQUIRE(expected1.ends_with(kPage));
    REQUIRE(site.wait_for(expected1));
    CHECK(site.client->received == expected1);
    // Negative: after a keep-alive answer the connection stays open.
    run_for(site.env.io, 50ms);
    CHECK_FALSE(site.client->ended);
    CHECK(site.closed == 0);

    const std::string second = get("/index.html", "Connection: close\r\n");
    const std::string expected2 = site_answer(second);
    REQUIRE(expected2.find("\r\nConnection: close\r\n") != std::string::npos);
    site.client->send(site.env.io, second);
    REQUIRE(site.wait_end());
    CHECK(site.client->received == expected1 + expected2);
    // nginx ends a TLS connection it closes after an answer with close_notify.
    CHECK(ended_with_close_notify<TestType>(site.client->ended));
    CHECK(site.closed == 1);
    site.connection->close();  // idempotent: on_closed does not run again
    CHECK(site.closed == 1);
}

TEMPLATE_TEST_CASE("web answer: the preread bytes are the start of the first head", "[relay][web_answer]", Plain,
                   Tls) {
    const std::string request = get("/", "User-Agent: probe\r\n");
    const std::size_t half = request.size() / 2;
    Site<TestType> site(request.substr(0, half));
    // Negative: half a head gets no answer.
    run_for(site.env.io, 100ms);
    CHECK(site.client->received.empty());
    CHECK_FALSE(site.client->ended);
    site.client->send(site.env.io, request.substr(half));
    const std::string expected = site_answer(request);
    REQUIRE(site.wait_for(expected));
    CHECK(site.client->received == expected);

    SECTION("a whole head in the preread is answered without any read") {
        Site<TestType> whole(request);
        REQUIRE(whole.wait_for(expected));
        CHECK(whole.client->received == expected);
    }
}

TEMPLATE_TEST_CASE("web answer: pipelined requests in one write are answered in order", "[relay][web_answer]",
                   Plain, Tls) {
    Site<TestType> site;
    const std::string a = get("/");
    const std::string b = get("/missing");  // 404, keep-alive
    const std::string c = "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    site.client->send(site.env.io, a + b + c);
    REQUIRE(site.wait_end());
    const std::string expected = site_answer(a) + site_answer(b) + site_answer(c);
    REQUIRE(site_answer(b).starts_with("HTTP/1.1 404 "));
    CHECK(site.client->received == expected);
    CHECK(ended_with_close_notify<TestType>(site.client->ended));
    CHECK(site.closed == 1);
}

TEMPLATE_TEST_CASE("web answer: bad bytes get 400 and the connection closes", "[relay][web_answer]", Plain, Tls) {
    Site<TestType> site;
    // More than the bad line: the rest is unread when the answer goes, so the close lingers
    // and the answer still arrives whole (no reset).
    const std::string garbage = "\x16\x03\x01 garbage\r\nmore: bytes\r\n\r\n" + get();
    site.client->send(site.env.io, garbage);
    REQUIRE(site.wait_end());
    const auto input = as_bytes(garbage);
    const auto expected = wire::builtin_site_response(wire::parse_request_head(input), input,
                                                      wire::SitePage{kPage, pinned_now()}, pinned_now());
    REQUIRE(expected.status == 400);
    CHECK(site.client->received == expected.bytes);  // negative: the GET after it is not answered
    CHECK(ended_with_close_notify<TestType>(site.client->ended));
    CHECK(site.closed == 1);
}

TEMPLATE_TEST_CASE("web answer: a request body is dropped, the next request answered", "[relay][web_answer]",
                   Plain, Tls) {
    Site<TestType> site;
    // The body is itself a request head: were it not dropped, it would be answered.
    const std::string body = get("/from-the-body");
    const std::string last = get("/", "Connection: close\r\n");
    SECTION("Content-Length, the body in parts after the answer") {
        const std::string post = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) +
                                 "\r\n\r\n";
        site.client->send(site.env.io, post + body.substr(0, 5));
        REQUIRE(site.wait_for(site_answer(post)));
        CHECK(site.client->received == site_answer(post));
        REQUIRE(site_answer(post).starts_with("HTTP/1.1 405 "));
        site.client->send(site.env.io, body.substr(5) + last);
        REQUIRE(site.wait_end());
        CHECK(site.client->received == site_answer(post) + site_answer(last));
    }
    SECTION("chunked, with an extension and a trailer, in one write with the next request") {
        const std::string post = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        const std::string chunked = "5;ext=1\r\n" + body.substr(0, 5) + "\r\n" +
                                    [&] {
                                        char size[16];
                                        std::snprintf(size, sizeof size, "%zX", body.size() - 5);
                                        return std::string(size);
                                    }() +
                                    "\r\n" + body.substr(5) + "\r\n0\r\nX-Trailer: 1\r\n\r\n";
        site.client->send(site.env.io, post + chunked + last);
        REQUIRE(site.wait_end());
        CHECK(site.client->received == site_answer(post) + site_answer(last));
    }
    SECTION("negative: a Content-Length that is not a number: answered, then closed") {
        const std::string post = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n";
        site.client->send(site.env.io, post + last);
        REQUIRE(site.wait_end());
        CHECK(site.client->received == site_answer(post));
    }
    CHECK(site.closed == 1);
}

TEMPLATE_TEST_CASE("web answer: timeouts close as nginx does", "[relay][web_answer]", Plain, Tls) {
    WebOptions o = options();
    o.header_timeout = 200ms;
    o.keepalive_timeout = 200ms;
    SECTION("part of the first head by the deadline: closed silently (no close_notify)") {
        Site<TestType> site("GET / HTTP/1.1\r\n", o, WebMode::site, 200ms);
        REQUIRE(site.wait_end());
        CHECK(site.client->received.empty());
        if constexpr (TestType::tls)
            CHECK(ended_silently_tls(site.client->ended));
        else
            CHECK(*site.client->ended == asio::error::eof);
        CHECK(site.closed == 1);
    }
    SECTION("nothing of a request by the deadline: close_notify, nothing else") {
        Site<TestType> site("", o, WebMode::site, 200ms);
        REQUIRE(site.wait_end());
        CHECK(site.client->received.empty());
        CHECK(ended_with_close_notify<TestType>(site.client->ended));
        CHECK(site.closed == 1);
    }
    SECTION("idle after an answer for keepalive_timeout: close_notify") {
        Site<TestType> site(get(), o, WebMode::site, 200ms);
        REQUIRE(site.wait_end());
        CHECK(site.client->received == site_answer(get()));  // negative: the answer came first
        CHECK(ended_with_close_notify<TestType>(site.client->ended));
        CHECK(site.closed == 1);
    }
    SECTION("a later head that stops: closed silently") {
        o.keepalive_timeout = 5s;  // the later head's header_timeout ends it, not this
        Site<TestType> site(get() + "GET /", o, WebMode::site, 5s);
        REQUIRE(site.wait_end());
        CHECK(site.client->received == site_answer(get()));
        if constexpr (TestType::tls) CHECK(ended_silently_tls(site.client->ended));
        CHECK(site.closed == 1);
    }
}

TEST_CASE("web answer: plain HTTP on the TLS port", "[relay][web_answer]") {
    const std::string request = get();
    const auto input = as_bytes(request);
    const auto expected = wire::plain_http_on_tls_port(wire::parse_request_head(input), input, pinned_now());
    REQUIRE(expected.status == 400);
    REQUIRE(expected.close);
    SECTION("a head: nginx's 400, then closed") {
        Site<Plain> site(request.substr(0, 3), options(), WebMode::plain_http_on_tls_port);
        site.client->send(site.env.io, request.substr(3));
        REQUIRE(site.wait_end());
        CHECK(site.client->received == expected.bytes);
        CHECK(site.closed == 1);
    }
    SECTION("negative: part of a head by the deadline gets nothing") {
        Site<Plain> site(request.substr(0, 3), options(), WebMode::plain_http_on_tls_port, 200ms);
        REQUIRE(site.wait_end());
        CHECK(site.client->received.empty());
        CHECK(site.closed == 1);
    }
}

TEMPLATE_TEST_CASE("web answer: close() ends a waiting connection once", "[relay][web_answer]", Plain, Tls) {
    Site<TestType> site("GET / HTTP/1.1\r\n");
    run_for(site.env.io, 50ms);
    CHECK(site.closed == 0);  // negative: nothing ended it before
    site.connection->close();
    CHECK(site.closed == 1);  // within close()
    site.connection->close();
    REQUIRE(run_until(site.env.io, [&] { return site.client->ended.has_value(); }));
    CHECK(site.closed == 1);
    CHECK(site.client->received.empty());
}

// ---------------------------------------------------------------------------------------------
// The decoy splice.

// A decoy web server: one connection; records what it receives and, for each "\r\n\r\n" it
// sees, answers `answer`. It closes when told.
struct Decoy : std::enable_shared_from_this<Decoy> {
    explicit Decoy(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)), socket(io) {}
    tcp::acceptor acceptor;
    tcp::socket socket;
    bool accepted = false;
    std::string received;
    std::size_t answered = 0;  // heads answered
    std::optional<boost::system::error_code> ended;
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ndecoy";
    std::array<char, 4096> chunk{};

    net::Endpoint endpoint() const { return net::Endpoint::from_asio(acceptor.local_endpoint()); }
    void start() {
        acceptor.async_accept(socket, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            self->accepted = true;
            self->read();
        });
    }
    void read() {
        socket.async_read_some(asio::buffer(chunk),
                               [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                   if (ec) {
                                       self->ended = ec;
                                       return;
                                   }
                                   self->received.append(self->chunk.data(), n);
                                   std::size_t heads = 0;
                                   for (std::size_t at = 0; (at = self->received.find("\r\n\r\n", at)) != std::string::npos;
                                        at += 4)
                                       ++heads;
                                   for (; self->answered < heads; ++self->answered)
                                       asio::async_write(self->socket, asio::buffer(self->answer),
                                                         [self](const boost::system::error_code&, std::size_t) {});
                                   self->read();
                               });
    }
};

template <class T>
struct Splice {
    Env env;
    std::shared_ptr<Decoy> decoy = std::make_shared<Decoy>(env.io);
    std::shared_ptr<Client<typename T::Stream>> client;
    std::shared_ptr<relay::WebConnection> connection;
    std::vector<std::string> warnings;
    int closed = 0;

    Splice(const std::string& preread, std::optional<net::Endpoint> to = std::nullopt, WebOptions o = options()) {
        decoy->start();
        o.decoy = to ? *to : decoy->endpoint();
        o.warn = [this](const std::string& w) { warnings.push_back(w); };
        auto [server, c] = T::make(env);
        client = client_of(std::move(c));
        connection = relay::splice_to_decoy(std::move(server), as_bytes(preread), o, [this] { ++closed; });
    }
    ~Splice() {
        connection->close();
        run_for(env.io, 10ms);
    }
};

TEMPLATE_TEST_CASE("web answer: the decoy gets the preread bytes first, then the rest; its answer comes back",
                   "[relay][web_answer]", Plain, Tls) {
    const std::string request = get("/x", "User-Agent: probe\r\n");
    Splice<TestType> splice(request.substr(0, 10));
    REQUIRE(run_until(splice.env.io, [&] { return splice.decoy->received.size() == 10; }));
    CHECK(splice.decoy->received == request.substr(0, 10));
    CHECK(splice.client->received.empty());  // negative: no answer to half a head
    splice.client->send(splice.env.io, request.substr(10));
    REQUIRE(run_until(splice.env.io, [&] { return splice.client->received == splice.decoy->answer; }));
    CHECK(splice.decoy->received == request);
    // A second request on the same connection goes the same way.
    splice.client->send(splice.env.io, request);
    REQUIRE(run_until(splice.env.io, [&] { return splice.client->received.size() == 2 * splice.decoy->answer.size(); }));
    CHECK(splice.decoy->received == request + request);
    CHECK(splice.warnings.empty());
    CHECK(splice.closed == 0);

    SECTION("the decoy closes: so does the client's connection (TLS: close_notify), once") {
        splice.decoy->socket.close();
        REQUIRE(run_until(splice.env.io, [&] { return splice.client->ended && splice.closed == 1; }));
        CHECK(ended_with_close_notify<TestType>(splice.client->ended));
    }
    if constexpr (!TestType::tls) {
        // (Over TLS a half-close is a close_notify with the read side left open, which Asio's
        // stream cannot send alone; the splice treats both ends of stream alike.)
        SECTION("the client half-closes: the decoy sees its end, and its answer still comes back") {
            splice.client->stream.shutdown(asio::socket_base::shutdown_send);
            REQUIRE(run_until(splice.env.io, [&] { return splice.decoy->ended.has_value(); }));
            CHECK(*splice.decoy->ended == asio::error::eof);
            CHECK(splice.closed == 0);
            asio::write(splice.decoy->socket, asio::buffer(std::string("late")));
            REQUIRE(run_until(splice.env.io, [&] { return splice.client->received.ends_with("late"); }));
            CHECK_FALSE(splice.client->ended);
            splice.decoy->socket.close();
            REQUIRE(run_until(splice.env.io, [&] { return splice.closed == 1 && splice.client->ended; }));
        }
    }
    SECTION("close() in the middle: on_closed once, both ends see the end") {
        splice.connection->close();
        CHECK(splice.closed == 1);
        splice.connection->close();
        REQUIRE(run_until(splice.env.io, [&] { return splice.client->ended && splice.decoy->ended; }));
        CHECK(splice.closed == 1);
    }
}

TEMPLATE_TEST_CASE("web answer: an unreachable decoy: a warning, and the built-in site answers",
                   "[relay][web_answer]", Plain, Tls) {
    net::Endpoint gone;
    {
        asio::io_context io;
        tcp::acceptor a(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        gone = net::Endpoint::from_asio(a.local_endpoint());
    }  // closed: connecting is refused
    const std::string request = get();
    Splice<TestType> splice(request.substr(0, 7), gone);
    REQUIRE(run_until(splice.env.io, [&] { return !splice.warnings.empty(); }));
    REQUIRE(splice.warnings.size() == 1);
    CHECK(splice.warnings[0].find("decoy " + gone.to_string() + " unreachable") != std::string::npos);
    CHECK(splice.decoy->received.empty());  // negative: the other server got nothing
    splice.client->send(splice.env.io, request.substr(7));
    REQUIRE(run_until(splice.env.io, [&] { return splice.client->received.size() >= site_answer(request).size(); }));
    CHECK(splice.client->received == site_answer(request));
    CHECK(splice.closed == 0);
    // close() reaches the site that took over, and on_closed runs once.
    splice.connection->close();
    CHECK(splice.closed == 1);
    splice.connection->close();
    REQUIRE(run_until(splice.env.io, [&] { return splice.client->ended.has_value(); }));
    CHECK(splice.closed == 1);
    CHECK(splice.warnings.size() == 1);
}

// A decoy that does not accept within decoy_connect_timeout: its listen queue is full, so the
// kernel drops the SYNs and the connect hangs.
TEST_CASE("web answer: a decoy that does not answer in time: a warning, and the built-in site answers",
          "[relay][web_answer]") {
    asio::io_context io;
    tcp::acceptor full(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    full.listen(0);
    std::vector<tcp::socket> fillers;
    for (int i = 0; i < 4; ++i) {
        fillers.emplace_back(io);
        fillers.back().open(tcp::v4());
        fillers.back().non_blocking(true);
        // (The system call itself: Asio's connect() would wait for a SYN the kernel drops.)
        const auto to = full.local_endpoint();
        const int r = ::connect(fillers.back().native_handle(), to.data(), static_cast<socklen_t>(to.size()));
        REQUIRE((r == 0 || errno == EINPROGRESS));  // queued, or left waiting
    }
    WebOptions o = options();
    o.decoy_connect_timeout = 200ms;
    const std::string request = get();
    Splice<Plain> splice(request, net::Endpoint::from_asio(full.local_endpoint()), o);
    REQUIRE(run_until(splice.env.io, [&] { return !splice.warnings.empty(); }));
    CHECK(splice.warnings[0].find("unreachable (no connection within 200 ms)") != std::string::npos);
    REQUIRE(run_until(splice.env.io, [&] { return splice.client->received.size() >= site_answer(request).size(); }));
    CHECK(splice.client->received == site_answer(request));
    CHECK(splice.warnings.size() == 1);
}

}  // namespace web_answer_test
