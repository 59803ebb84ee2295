// A connection on a TCP port of a server with TLS (ServerOptions::tls, issue 15), from its
// accept until it is a TcpConnection (a VPN's or a porthop agent's path) or has been answered
// like a web server. Its first bytes decide, read with MSG_PEEK so that whoever takes the
// connection reads them again (wire/stream_start.hpp):
//
//   TLS handshake record  -> TLS handshake (OpenSSL, the front's certificate), then the first
//                            application bytes (first_bytes.hpp): an agent's attach makes a
//                            TcpConnection over the TLS stream (the bytes read handed to it);
//                            anything else goes, with those bytes, to the decoy (spliced) or
//                            the built-in site (web_answer.hpp).
//   HTTP request          -> nginx's "plain HTTP request was sent to HTTPS port" answer.
//   anything else         -> native_tcp: a TcpConnection over the plain socket, as without
//                            TLS (native clients, agents with tls = false);
//                            else what nginx does: OpenSSL gets it if its first byte is 0x16
//                            or has the high bit set (the handshake fails as it would there),
//                            otherwise the HTTP answer (400 at the first byte nginx refuses).
//   nothing               -> closed without a byte after the silence nginx allows
//                            (header_timeout; first_frame_timeout while native_tcp, as before).
//
// It holds the connection's TCP slot from the accept (PendingConnection: evictable while it
// serves nobody, closed at stop) and passes it to the TcpConnection it becomes; a web answer
// keeps it until the connection ends.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "pending_connection.hpp"
#include "porthop/relay/server.hpp"
#include "porthop/wire/stream_start.hpp"
#include "tcp_transport.hpp"

namespace porthop::relay {

class WebConnection;

class TcpIntake final : public PendingConnection, public std::enable_shared_from_this<TcpIntake> {
public:
    using Clock = Session::Clock;

    TcpIntake(AcceptHost& host, boost::asio::ip::tcp::socket socket, net::Endpoint peer,
              std::shared_ptr<ListenerCounters> stats, std::uint16_t port, std::shared_ptr<const TlsFront> front);
    TcpIntake(const TcpIntake&) = delete;
    TcpIntake& operator=(const TcpIntake&) = delete;

    // `source`: its share of the per-source TCP cap (the slot admit_connection took).
    void start(std::optional<SourceKey> source);

    // PendingConnection
    bool pending() const noexcept override { return stage_ != Stage::handed && stage_ != Stage::closed; }
    bool closed() const noexcept override { return stage_ == Stage::closed; }
    Clock::time_point waiting_since() const noexcept override { return accepted_; }
    bool has_unread_input() const noexcept override;
    const net::Endpoint& peer() const noexcept override { return peer_; }
    void close() override;

private:
    using Tls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
    enum class Stage : std::uint8_t { sniff, handshake, judge, web, handed, closed };

    void sniff();
    void on_readable(const boost::system::error_code& ec);
    void route(wire::StreamStart start, std::byte first);
    void handshake();
    void read_first();
    void on_first(const boost::system::error_code& ec, std::size_t n);
    void to_connection_plain();
    void to_connection_tls();
    void to_web_plain();
    // `timed_out`: the header timeout passed before the bytes decided (the site closes it as
    // nginx would, decoy or not).
    void to_web_tls(bool timed_out = false);
    void arm(Clock::time_point deadline);
    void finish();  // closes whatever is left and gives the slot back, once
    StreamHost& streams() noexcept;

    AcceptHost& host_;
    boost::asio::ip::tcp::socket socket_;  // until TLS or a taker has it
    std::optional<Tls> tls_;
    net::Endpoint peer_;
    std::shared_ptr<ListenerCounters> stats_;
    std::uint16_t port_;
    std::shared_ptr<const TlsFront> front_;
    boost::asio::steady_timer timer_;
    Clock::time_point accepted_{};
    Clock::time_point deadline_{};
    std::optional<SourceKey> source_;
    Stage stage_ = Stage::sniff;
    std::array<std::byte, wire::kStreamStartDecisive> peek_{};
    std::vector<std::byte> first_;  // application bytes read inside TLS
    std::size_t first_length_ = 0;
    bool timed_out_ = false;  // the header timeout passed while judging
    std::shared_ptr<WebConnection> web_;
};

}  // namespace porthop::relay
