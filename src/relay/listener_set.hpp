// Private to the relay: one worker's listening sockets (UDP listeners and TCP acceptors), what
// opens and closes when the configuration changes, and the moving target's epoch timer. The set
// knows nothing of sessions or packets: it tells its owner (ListenerEvents) when a listener
// starts serving and when one is about to close, and the owner does what that means to them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "porthop/net/endpoint.hpp"
#include "porthop/net/listen.hpp"
#include "porthop/relay/server.hpp"

namespace porthop::relay {

// What a listener was configured as: reload compares these to decide what opens and closes.
struct ListenerKey {
    boost::asio::ip::address address;
    std::uint16_t port;  // as configured (0 = ephemeral, tests)
    friend bool operator==(const ListenerKey&, const ListenerKey&) = default;
};

// Listeners are shared with their pending handlers, so closing one on reload never leaves a
// handler with a dangling reference; `closed` tells such a handler to do nothing.
struct UdpListener {
    std::uint32_t id;  // never reused: part of the session key
    ListenerKey key;
    boost::asio::ip::udp::socket socket;
    net::Endpoint bound;
    std::shared_ptr<ListenerCounters> stats = std::make_shared<ListenerCounters>();
    bool closed = false;
};

struct TcpListener {
    ListenerKey key;
    boost::asio::ip::tcp::acceptor acceptor;
    net::Endpoint bound;
    boost::asio::steady_timer retry;  // re-arms accept after EMFILE instead of spinning
    std::shared_ptr<ListenerCounters> stats = std::make_shared<ListenerCounters>();
    bool closed = false;
};

// What the set tells the server it serves (Server::Impl; a fake in the unit test).
class ListenerEvents {
public:
    // A UDP socket was just bound and does not serve yet: per-socket receive options (GRO).
    virtual void listener_bound(UdpListener& listener) = 0;
    // The listener serves from now on: receiving (UDP) or accepting (TCP) starts.
    virtual void listener_serving(const std::shared_ptr<UdpListener>& listener) = 0;
    virtual void listener_serving(const std::shared_ptr<TcpListener>& listener) = 0;
    // A reload removes this UDP listener; it closes right after. The sessions whose replies
    // leave through it must stop using it. Returns how many sessions that closed (for the
    // reload's message).
    virtual std::size_t listener_removing(UdpListener& listener) = 0;
    // Moving target (follow_epochs): a new epoch began. The owner reloads with the options it
    // has, and calls follow_epochs again to wait for the next one.
    virtual void epoch_began() = 0;

protected:
    ~ListenerEvents() = default;
};

class ListenerSet {
public:
    // What a configuration asks to have open, computed once per start or reload, so the ports
    // opened and the ports kept are of one moment (moving target: of one epoch).
    struct Wanted {
        std::vector<ListenerKey> udp, tcp;
        // A "::" listener the host cannot open (no IPv6) is skipped, with a warning.
        bool tolerate_missing_ipv6 = true;
    };
    // listen x ports (the UDP ones: all, or in moving-target mode this epoch's few), or the
    // exact addresses of `options.binds`.
    static Wanted wanted(const ServerOptions& options);

    // What apply() changed, by bound address.
    struct Diff {
        std::vector<net::Endpoint> added_udp, added_tcp, removed_udp, removed_tcp;
        std::size_t sessions_closed = 0;  // the sum of what listener_removing returned
    };

    // Worker `group.worker`'s set: its sockets join each port's reuseport group.
    ListenerSet(boost::asio::io_context& io, net::ReuseportGroup group, ListenerEvents& events);
    ListenerSet(const ListenerSet&) = delete;
    ListenerSet& operator=(const ListenerSet&) = delete;

    // Opens the listeners of `wanted` that are not open yet; they do not serve until apply().
    // All or nothing: on failure, closes what this call opened and returns the message (which
    // names the protocol and address, and why).
    std::optional<std::string> open(const Wanted& wanted);
    // Closes the serving listeners that `wanted` no longer lists (each UDP one after
    // listener_removing), then makes those that open() opened serve (listener_serving).
    Diff apply(const Wanted& wanted);
    // Closes every listener and stops the epoch timer (shutdown: the sessions are the owner's).
    void close_all();

    // Moving target (options.moving_target with a hop key): epoch_began just after the next
    // epoch boundary. Otherwise nothing. Either way it replaces the wait armed before.
    void follow_epochs(const ServerOptions& options);

    bool empty() const noexcept { return udp_.empty() && tcp_.empty(); }
    // The open UDP listener bound to `bound` (the same address on every worker), or null.
    const std::shared_ptr<UdpListener>* udp_at(const net::Endpoint& bound) const noexcept;
    // The UDP listener with this id (Session keys name listeners by id), or null.
    const UdpListener* udp_by_id(std::uint32_t id) const noexcept;
    // Read-only views, oldest first (snapshots, the addresses other workers bind).
    const std::vector<std::shared_ptr<UdpListener>>& udp() const noexcept { return udp_; }
    const std::vector<std::shared_ptr<TcpListener>>& tcp() const noexcept { return tcp_; }

private:
    // The UDP ports to have open now: all of them, or in moving-target mode this epoch's few.
    static std::vector<std::uint16_t> udp_ports_now(const ServerOptions& options);
    boost::system::error_code open_udp(const ListenerKey& key);
    boost::system::error_code open_tcp(const ListenerKey& key);
    static void close(UdpListener& listener);
    static void close(TcpListener& listener);

    boost::asio::io_context& io_;
    net::ReuseportGroup group_;
    ListenerEvents& events_;
    std::vector<std::shared_ptr<UdpListener>> udp_;
    std::vector<std::shared_ptr<TcpListener>> tcp_;
    // The first udp_serving_ / tcp_serving_ of each list serve; those after them were opened by
    // open() and wait for apply().
    std::size_t udp_serving_ = 0;
    std::size_t tcp_serving_ = 0;
    std::uint32_t next_id_ = 0;
    boost::asio::steady_timer epoch_timer_;
};

}  // namespace porthop::relay
