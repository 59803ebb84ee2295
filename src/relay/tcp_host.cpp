// Which member of Server::Impl each StreamHost method stands for.
#include "tcp_host.hpp"

#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

namespace asio = boost::asio;

const ServerOptions& TcpHost::options() const noexcept { return impl_.opt_; }
const hop::FrameCodec* TcpHost::codec() const noexcept { return impl_.ingress_codec(); }
hop::FrameCodec* TcpHost::reply_codec() noexcept { return impl_.codec(); }

Counters& TcpHost::counters() noexcept { return impl_.counters_; }

bool TcpHost::allow_handshake(const net::Endpoint& peer) { return impl_.allow_handshake(peer, Clock::now()); }

bool TcpHost::admit_connection(const net::Endpoint& peer, std::optional<SourceKey>& source, bool rate) {
    // A connection costs a socket and, once it names a VPN, a session: the source's handshake
    // rate applies before anything is read from it (on a TLS port: once it is known to be one).
    if (rate && !impl_.allow_handshake(peer, Clock::now())) return false;  // counted
    source = SourceLimiter::key_of(peer);
    return impl_.admit_tcp(peer, source);  // counted
}

net::QueueBudget& TcpHost::stream_budget() noexcept { return impl_.tcp_budget_; }

std::shared_ptr<const TlsFront> TcpHost::tls_front() const noexcept { return impl_.opt_.tls; }

void TcpHost::connection_accepted() noexcept { Counters::add(impl_.counters_.tcp_connections_opened); }

void TcpHost::accept_failed(const TcpListener& listener, const boost::system::error_code& ec) {
    impl_.warn_limited(impl_.warn_socket_, [&] {
        return std::string("accept on tcp " + listener.bound.to_string() + " failed: " + ec.message());
    });
}

void TcpHost::warn_input(const std::function<std::string()>& message) {
    impl_.warn_limited(impl_.warn_input_, message);
}

void TcpHost::connection_started(const std::shared_ptr<PendingConnection>& connection,
                                 const std::optional<SourceKey>& source) {
    if (source) impl_.enter_tcp_source(*source);
    impl_.track_pending(connection);
}

void TcpHost::connection_closed(const std::optional<SourceKey>& source) noexcept {
    if (source) impl_.leave_tcp_source(*source);
    impl_.shared_.tcp_connections.fetch_sub(1, std::memory_order_relaxed);
    Counters::add(impl_.counters_.tcp_connections_closed);
}

SessionPtr TcpHost::open_native_session(TcpConnection& connection, const wire::Native& native,
                                        std::span<const std::byte> first_frame) {
    if (!impl_.passes_filters(native, first_frame)) return nullptr;  // counted (bad mac1)
    return impl_.open_tcp_session(connection);
}

bool TcpHost::hand_over_attach(TcpConnection& connection, std::span<const std::byte> attach,
                               std::size_t length) {
    return impl_.request_session(connection, attach, length);
}

SessionPtr TcpHost::attach(TcpConnection& connection, std::span<const std::byte> frame, std::size_t length,
                           const Session* current) {
    return impl_.attach_tcp(connection, frame, length, current);
}

bool TcpHost::admit_native_frame(std::span<const std::byte> frame, const net::Endpoint& peer,
                                 Clock::time_point now) {
    return impl_.admit_native_frame(frame, peer, now);
}

void TcpHost::note_agent_data(Session& session, TcpConnection& connection) noexcept {
    impl_.agent_links().note_tcp_data(session, connection);
}

std::size_t TcpHost::forward_to_backend(Session& session, std::span<const net::SendItem> items,
                                        bool hold_when_full) {
    return impl_.forward_to_backend(session, items, hold_when_full);
}

void TcpHost::when_backend_writable(Session& session, std::shared_ptr<TcpConnection> connection) {
    session.upstream.async_wait(asio::socket_base::wait_write,
                                [connection = std::move(connection)](const boost::system::error_code& ec) {
                                    if (!ec && !connection->closed()) connection->backend_writable();
                                });
}

void TcpHost::account_to_client(Session& session, std::uint64_t packets, std::uint64_t bytes) {
    impl_.account_to_client(session, packets, bytes);
}

void TcpHost::close_session(Session& session, CloseReason reason) { impl_.close_session(session, reason); }

void TcpHost::detach(Session& session, TcpConnection& connection) noexcept {
    impl_.agent_links().detach_tcp(session, connection);
}

}  // namespace porthop::relay
