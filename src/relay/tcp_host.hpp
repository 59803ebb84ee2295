// Server::Impl as its TCP connections and its accept loops see it (stream_host.hpp,
// tcp_transport.hpp): each method stands for one or two members of the worker, named in
// tcp_host.cpp. Kept apart from Server::Impl so that the
// connection's view of the server stays this narrow, and tcp_connection.hpp needs nothing of
// server_impl.hpp.
#pragma once

#include "stream_host.hpp"
#include "tcp_transport.hpp"

namespace porthop::relay {

class TcpHost final : public StreamHost, public AcceptHost {
public:
    explicit TcpHost(Server::Impl& impl) noexcept : impl_(impl) {}

    // AcceptHost (tcp_transport.hpp)
    bool admit_connection(const net::Endpoint& peer, std::optional<SourceKey>& source, bool rate) override;
    StreamHost& stream_host() noexcept override { return *this; }
    net::QueueBudget& stream_budget() noexcept override;
    void connection_accepted() noexcept override;
    std::shared_ptr<const TlsFront> tls_front() const noexcept override;
    void accept_failed(const TcpListener& listener, const boost::system::error_code& ec) override;

    // StreamHost

    const ServerOptions& options() const noexcept override;
    bool allow_handshake(const net::Endpoint& peer) override;
    Counters& counters() noexcept override;
    const hop::FrameCodec* codec() const noexcept override;
    hop::FrameCodec* reply_codec() noexcept override;
    void warn_input(const std::function<std::string()>& message) override;
    void connection_started(const std::shared_ptr<PendingConnection>& connection,
                            const std::optional<SourceKey>& source) override;
    void connection_closed(const std::optional<SourceKey>& source) noexcept override;
    SessionPtr open_native_session(TcpConnection& connection, const wire::Native& native,
                                   std::span<const std::byte> first_frame) override;
    bool hand_over_attach(TcpConnection& connection, std::span<const std::byte> attach,
                          std::size_t length) override;
    SessionPtr attach(TcpConnection& connection, std::span<const std::byte> frame, std::size_t length,
                      const Session* current) override;
    bool admit_native_frame(std::span<const std::byte> frame, const net::Endpoint& peer,
                            Clock::time_point now) override;
    void note_agent_data(Session& session, TcpConnection& connection) noexcept override;
    std::size_t forward_to_backend(Session& session, std::span<const net::SendItem> items,
                                   bool hold_when_full) override;
    void when_backend_writable(Session& session, std::shared_ptr<TcpConnection> connection) override;
    void account_to_client(Session& session, std::uint64_t packets, std::uint64_t bytes) override;
    void close_session(Session& session, CloseReason reason) override;
    void detach(Session& session, TcpConnection& connection) noexcept override;

private:
    Server::Impl& impl_;
};

}  // namespace porthop::relay
