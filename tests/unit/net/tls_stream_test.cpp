// The stream seam over real streams on loopback: a plain TCP socket and a TLS stream
// (boost::asio::ssl::stream, OpenSSL 3, a certificate made here), the AsyncStreams the relay
// uses or will. framed_stream_test.cpp covers the seam's logic over the in-memory stream.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "porthop/net/framed_stream.hpp"
#include "../../support/bytes.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using porthop::net::Frame;
using porthop::net::FramedStream;
using porthop::net::FrameQueue;
using porthop::net::QueueBudget;
using porthop::net::StreamEnd;
using porthop::test::Bytes;
using porthop::test::pattern;
using porthop::test::stream_frame;

// Both instantiations compile in full here, whatever the tests below use of them.
template class porthop::net::FramedStream<tcp::socket>;
template class porthop::net::FramedStream<ssl::stream<tcp::socket>>;

namespace {

template <class Stream>
struct TlsPeer : porthop::net::FrameHandler {
    std::unique_ptr<FramedStream<Stream>> stream;
    std::vector<Bytes> frames;
    std::optional<StreamEnd> ended;
    void on_frame(const Frame& f) override { frames.emplace_back(f.payload.begin(), f.payload.end()); }
    void on_frames_done() override {}
    void on_stream_end(StreamEnd why, const boost::system::error_code&) override { ended = why; }
};

template <class Stream>
std::shared_ptr<TlsPeer<Stream>> framed(Stream stream, QueueBudget& budget, std::size_t max_frame = 4000) {
    auto e = std::make_shared<TlsPeer<Stream>>();
    e->stream = std::make_unique<FramedStream<Stream>>(
        std::move(stream), *e, typename FramedStream<Stream>::Options{{max_frame, 16384, 16384}, false},
        budget);
    e->stream->start(e);
    return e;
}

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
        io.restart();
        io.run_for(10ms);
    }
    return done();
}

// A self-signed certificate and its key, for the server end.
struct Credentials {
    Credentials() {
        key = EVP_EC_gen("P-256");
        cert = X509_new();
        REQUIRE(key);
        REQUIRE(cert);
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), 0);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("porthop.test"), -1, -1, 0);
        X509_set_issuer_name(cert, name);
        REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    }
    ~Credentials() {
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
};

// A connected pair of sockets on loopback.
std::pair<tcp::socket, tcp::socket> connected(asio::io_context& io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket client(io), server(io);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    return {std::move(server), std::move(client)};
}

}  // namespace

TEST_CASE("framed stream over TCP: frames both ways, many per write", "[net][framed_stream][tcp]") {
    asio::io_context io;
    QueueBudget budget{std::size_t{4} << 20};
    auto [s, c] = connected(io);
    auto server = framed(std::move(s), budget);
    auto client = framed(std::move(c), budget);
    for (unsigned i = 0; i < 50; ++i)
        REQUIRE(client->stream->push({}, pattern(100 + 70 * i, i)) == FrameQueue::Push::queued);
    REQUIRE(run_until(io, [&] { return server->frames.size() == 50; }));
    for (unsigned i = 0; i < 50; ++i) CHECK(server->frames[i] == pattern(100 + 70 * i, i));
    REQUIRE(server->stream->push({}, pattern(3000, 9)) == FrameQueue::Push::queued);
    REQUIRE(run_until(io, [&] { return client->frames.size() == 1; }));
    CHECK(client->frames[0] == pattern(3000, 9));
    // Its end reaches the other side as the peer's end of stream.
    client->stream->close();
    REQUIRE(run_until(io, [&] { return server->ended.has_value(); }));
    CHECK(*server->ended == StreamEnd::closed_by_peer);
    server->stream->close();
    io.restart();
    io.run();
}

TEST_CASE("framed stream over TCP: unread_bytes counts what the kernel holds and no read has taken",
          "[net][framed_stream][tcp]") {
    asio::io_context io;
    QueueBudget budget{std::size_t{4} << 20};
    auto [s, c] = connected(io);
    auto server = std::make_shared<TlsPeer<tcp::socket>>();
    server->stream = std::make_unique<FramedStream<tcp::socket>>(
        std::move(s), *server, FramedStream<tcp::socket>::Options{{4000, 16384, 16384}, false}, budget);
    CHECK(server->stream->unread_bytes() == 0);  // nothing sent yet
    const auto frame = stream_frame(pattern(100));
    asio::write(c, asio::buffer(frame));
    // Loopback delivers at once, but let the kernel finish before asking.
    REQUIRE(run_until(io, [&] { return server->stream->unread_bytes() == frame.size(); }, 2s));
    server->stream->start(server);  // the read takes it
    REQUIRE(run_until(io, [&] { return server->frames.size() == 1; }));
    CHECK(server->stream->unread_bytes() == 0);
    asio::write(c, asio::buffer(frame));
    server->stream->close();
    CHECK(server->stream->unread_bytes() == 0);  // closed: nothing is waiting for this stream any more
    io.restart();
    io.run();
}

TEST_CASE("framed stream over TLS: frames both ways inside an OpenSSL stream", "[net][framed_stream][tls]") {
    asio::io_context io;
    QueueBudget budget{std::size_t{4} << 20};
    Credentials credentials;
    ssl::context server_ctx(ssl::context::tls_server), client_ctx(ssl::context::tls_client);
    REQUIRE(SSL_CTX_use_certificate(server_ctx.native_handle(), credentials.cert) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(server_ctx.native_handle(), credentials.key) == 1);
    client_ctx.set_verify_mode(ssl::verify_none);  // a throwaway certificate: the stream is the point
    auto [s, c] = connected(io);
    ssl::stream<tcp::socket> server_tls(std::move(s), server_ctx), client_tls(std::move(c), client_ctx);
    std::optional<boost::system::error_code> server_shook, client_shook;
    server_tls.async_handshake(ssl::stream_base::server, [&](const auto& ec) { server_shook = ec; });
    client_tls.async_handshake(ssl::stream_base::client, [&](const auto& ec) { client_shook = ec; });
    REQUIRE(run_until(io, [&] { return server_shook && client_shook; }));
    REQUIRE_FALSE(*server_shook);
    REQUIRE_FALSE(*client_shook);

    auto server = framed(std::move(server_tls), budget, 2000);
    auto client = framed(std::move(client_tls), budget, 2000);
    const std::byte type{0x03};
    for (unsigned i = 0; i < 20; ++i)
        REQUIRE(client->stream->push({&type, 1}, pattern(50 * i, i)) == FrameQueue::Push::queued);
    REQUIRE(run_until(io, [&] { return server->frames.size() == 20; }));
    for (unsigned i = 0; i < 20; ++i) {
        Bytes expected{type};
        const auto p = pattern(50 * i, i);
        expected.insert(expected.end(), p.begin(), p.end());
        CHECK(server->frames[i] == expected);
    }
    REQUIRE(server->stream->push({}, pattern(1999, 7)) == FrameQueue::Push::queued);
    REQUIRE(run_until(io, [&] { return client->frames.size() == 1; }));
    CHECK(client->frames[0] == pattern(1999, 7));

    SECTION("negative: a frame over the receiver's limit ends its stream there too") {
        REQUIRE(server->stream->push({}, pattern(2001, 8)) == FrameQueue::Push::queued);
        REQUIRE(run_until(io, [&] { return client->ended.has_value(); }));
        CHECK(*client->ended == StreamEnd::frame_too_large);
        CHECK(client->frames.size() == 1);
    }
    client->stream->close();
    server->stream->close();
    io.restart();
    io.run();
}
