// What a server-side TCP connection (tcp_connection.hpp) needs from the server it belongs to,
// and nothing more: the relay's side of the stream seam. Server::Impl implements it
// (tcp_host.cpp, which says which of its members each method stands for); the unit tests
// implement it with a fake (tests/unit/relay/tcp_connection_test.cpp), so the connection's
// logic runs over an in-memory stream without a server, a socket or a backend.
//
// Private to the relay. One event loop: every call is made on the connection's worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "porthop/hop/frame_codec.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/net/udp_batch.hpp"
#include "porthop/relay/counters.hpp"
#include "porthop/relay/guard_tables.hpp"
#include "porthop/relay/server.hpp"
#include "porthop/relay/session.hpp"
#include "porthop/wire/protocol.hpp"

namespace porthop::relay {

class TcpConnection;
class PendingConnection;

class StreamHost {
public:
    using Clock = Session::Clock;

    // ---- what a connection reads, counts and logs ----
    virtual const ServerOptions& options() const noexcept = 0;
    virtual Counters& counters() noexcept = 0;
    // The hop-link codec frames are opened with: null while the server has no key (no hop link
    // on this port). Replies to an agent are sealed with reply_codec(), which stays after a
    // reload removed the key, for the agents still connected (non-null once a key was set).
    virtual const hop::FrameCodec* codec() const noexcept = 0;
    virtual hop::FrameCodec* reply_codec() noexcept = 0;
    // Whether `peer`'s source may open another VPN or agent connection now (its handshake
    // rate, counted when refused): the TLS port's intake asks once it knows it is one.
    virtual bool allow_handshake(const net::Endpoint& peer) = 0;
    // A warning about a client's input, rate-limited together with the server's other input
    // warnings; `message` runs only when the line is logged.
    virtual void warn_input(const std::function<std::string()>& message) = 0;

    // ---- its lifetime ----
    // It started (accepted, and its TCP slot taken): counted in `source`'s TCP share (none:
    // not counted, or counted already); while it is pending, the server may close it to make
    // room (PendingConnection::close()). A TcpConnection, or the TLS port's intake before it.
    virtual void connection_started(const std::shared_ptr<PendingConnection>& connection,
                                    const std::optional<SourceKey>& source) = 0;
    // It closed: it leaves the server's TCP connection count and `source`'s share.
    virtual void connection_closed(const std::optional<SourceKey>& source) noexcept = 0;

    // ---- its first frame ----
    // A native client's first frame (`native`: how it classifies): the session it opens, or
    // null when the guard or a limit refuses it (counted).
    virtual SessionPtr open_native_session(TcpConnection& connection, const wire::Native& native,
                                           std::span<const std::byte> first_frame) = 0;
    // A hop-link attach that may name a session of another worker. True: that worker judges
    // it, and its answer comes back as TcpConnection::handed_over() (the session moves here if
    // accepted); false: the session is not elsewhere, the connection calls attach() itself.
    // `attach` is the control frame as the codec opened it, `length` the record as it came.
    virtual bool hand_over_attach(TcpConnection& connection, std::span<const std::byte> attach,
                                  std::size_t length) = 0;
    // A hop-link attach, or on an agent connection (`current`: its session) a keepalive: the
    // session it names (new or known), bound to this connection as its TCP path with the ack
    // queued on it; null when refused (counted, never answered).
    virtual SessionPtr attach(TcpConnection& connection, std::span<const std::byte> frame, std::size_t length,
                              const Session* current) = 0;

    // ---- every frame after it ----
    // A native client's frame: false when it is dropped (counted).
    virtual bool admit_native_frame(std::span<const std::byte> frame, const net::Endpoint& peer,
                                    Clock::time_point now) = 0;
    // A data frame on an agent connection: the session's replies follow it.
    virtual void note_agent_data(Session& session, TcpConnection& connection) noexcept = 0;
    // Sends `items` to the session's backend: how many are done with (sent, or dropped and
    // counted). With `hold_when_full` the ones a full socket refused are not dropped: the
    // connection keeps them and asks when_backend_writable().
    virtual std::size_t forward_to_backend(Session& session, std::span<const net::SendItem> items,
                                           bool hold_when_full) = 0;
    // Calls connection->backend_writable() once the session's backend socket takes data again.
    virtual void when_backend_writable(Session& session, std::shared_ptr<TcpConnection> connection) = 0;
    // Counts datagrams accepted for sending to the client (server and listener counters).
    virtual void account_to_client(Session& session, std::uint64_t packets, std::uint64_t bytes) = 0;

    // ---- its end ----
    // A native session ends with its connection (closing that too).
    virtual void close_session(Session& session, CloseReason reason) = 0;
    // An agent's connection ended; its session stays (replies fall back to its UDP path).
    virtual void detach(Session& session, TcpConnection& connection) noexcept = 0;

protected:
    ~StreamHost() = default;
};

}  // namespace porthop::relay
