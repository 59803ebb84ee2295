// The server's listening sockets: opening them at start-up, closing them at shutdown, and
// changing the set on a live reload without disturbing the sessions on ports that stay.
#include <boost/asio/ip/v6_only.hpp>

#include "porthop/hop/schedule.hpp"
#include "porthop/net/listen.hpp"
#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::string describe_bind_error(const char* proto, const ListenerKey& key, const error_code& ec) {
    std::string message =
        std::string("cannot listen on ") + proto + " " +
        net::Endpoint::from_asio(asio::ip::udp::endpoint(key.address, key.port)).to_string() + ": " +
        ec.message();
    if (ec == asio::error::access_denied && key.port < 1024)
        message += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    if (ec == asio::error::address_in_use) message += " (another program, or another porthop, uses it)";
    return message;
}

bool ipv6_unavailable(const asio::ip::address& address, const error_code& ec) {
    return address.is_v6() && address.is_unspecified() &&
           (ec == asio::error::address_family_not_supported || ec.value() == EADDRNOTAVAIL);
}

// A listener answers to its configured port and to the port it actually got (the same unless
// it was configured as 0, ephemeral, which tests do and then name the port they got).
template <typename Listener>
bool matches(const Listener& l, const asio::ip::address& address, std::uint16_t port) {
    return l.key.address == address && (l.key.port == port || l.bound.port() == port);
}

template <typename Listener>
bool has_key(const std::vector<std::shared_ptr<Listener>>& listeners, const ListenerKey& key) {
    for (const auto& l : listeners)
        if (matches(*l, key.address, key.port)) return true;
    return false;
}

error_code errno_code(int err) { return err ? error_code(err, boost::system::system_category()) : error_code{}; }

error_code join_group(int fd, bool v6, std::uint32_t worker, std::uint32_t workers, bool before_bind) {
    return errno_code(net::join_reuseport_group(fd, v6, worker, workers, before_bind));
}

error_code probe_free(const ListenerKey& key, bool tcp) {
    const auto endpoint = asio::ip::udp::endpoint(key.address, key.port);
    return errno_code(net::probe_port_free(endpoint.data(), static_cast<socklen_t>(endpoint.size()), tcp));
}

// What a set of options asks to have open: listen x ports, or the exact addresses worker 0
// bound (binds, for the other workers).
std::vector<ListenerKey> wanted_keys(const ServerOptions& options, const std::vector<std::uint16_t>& ports,
                                     const std::vector<net::Endpoint>* binds) {
    std::vector<ListenerKey> keys;
    if (binds) {
        for (const auto& e : *binds) keys.push_back(ListenerKey{e.to_udp().address(), e.port()});
        return keys;
    }
    for (const auto& address : options.listen)
        for (auto port : ports) keys.push_back(ListenerKey{address, port});
    return keys;
}

template <typename Listener>
bool is_wanted(const Listener& l, const std::vector<ListenerKey>& keys) {
    for (const auto& key : keys)
        if (matches(l, key.address, key.port)) return true;
    return false;
}

std::string describe_ports(const char* proto, const std::vector<net::Endpoint>& endpoints) {
    std::string out;
    for (const auto& e : endpoints) out += std::string(" ") + proto + " " + e.to_string();
    return out;
}

}  // namespace

error_code Server::Impl::open_udp(const ListenerKey& key) {
    if (worker_ == 0 && multi_worker())
        if (auto busy = probe_free(key, false)) return busy;
    asio::ip::udp::socket socket(io_);
    error_code ec;
    socket.open(key.address.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    // Separate IPv4 and IPv6 sockets on the same port; "::" alone means IPv6 only.
    if (!ec && key.address.is_v6()) socket.set_option(asio::ip::v6_only(true), ec);
    if (!ec) ec = join_group(socket.native_handle(), key.address.is_v6(), worker_, shared_.workers, true);
    if (!ec) socket.bind(asio::ip::udp::endpoint(key.address, key.port), ec);
    if (!ec) ec = join_group(socket.native_handle(), key.address.is_v6(), worker_, shared_.workers, false);
    if (!ec) socket.non_blocking(true, ec);
    // A wildcard socket must learn each datagram's destination address so that the reply
    // leaves from the same address the client sent to.
    if (!ec && key.address.is_unspecified()) {
        if (int err = net::enable_pktinfo(socket.native_handle(), key.address.is_v6()); err != 0)
            ec = error_code(err, boost::system::system_category());
    }
    if (ec) return ec;
    batch_.enable_gro(socket.native_handle(), pool_.payload_capacity());  // refused: just off
    auto bound = net::Endpoint::from_asio(socket.local_endpoint(ec));
    udp_.push_back(
        std::make_shared<UdpListener>(UdpListener{next_listener_id_++, key, std::move(socket), bound}));
    return {};
}

error_code Server::Impl::open_tcp(const ListenerKey& key) {
    if (worker_ == 0 && multi_worker())
        if (auto busy = probe_free(key, true)) return busy;
    asio::ip::tcp::acceptor acceptor(io_);
    error_code ec;
    acceptor.open(key.address.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), ec);
    if (!ec && key.address.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    // Restarting the relay must not wait for TIME_WAIT connections of the previous run.
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) ec = join_group(acceptor.native_handle(), key.address.is_v6(), worker_, shared_.workers, true);
    if (!ec) acceptor.bind(asio::ip::tcp::endpoint(key.address, key.port), ec);
    if (!ec) acceptor.listen(1024, ec);
    if (!ec) ec = join_group(acceptor.native_handle(), key.address.is_v6(), worker_, shared_.workers, false);
    if (ec) return ec;
    auto bound = net::Endpoint::from_asio(acceptor.local_endpoint(ec));
    tcp_.push_back(
        std::make_shared<TcpListener>(TcpListener{key, std::move(acceptor), bound, asio::steady_timer(io_)}));
    return {};
}

std::optional<std::string> Server::Impl::open_missing(const ServerOptions& options, std::size_t& fresh_udp,
                                                      std::size_t& fresh_tcp) {
    const std::size_t udp_before = udp_.size(), tcp_before = tcp_.size();
    const auto udp_keys = wanted_keys(options, udp_ports_now(options), options.binds ? &options.binds->udp : nullptr);
    const auto tcp_keys = wanted_keys(options, options.tcp_ports, options.binds ? &options.binds->tcp : nullptr);
    bool skipped_ipv6 = false;
    std::optional<std::string> failure;
    const auto open_all = [&](const char* proto, const std::vector<ListenerKey>& keys, auto& open, auto& listeners) {
        for (const auto& key : keys) {
            // Port 0 (tests) is "a new ephemeral port" every time, never one already open.
            if (key.port != 0 && has_key(listeners, key)) continue;
            const error_code ec = (this->*open)(key);
            if (!ec) continue;
            if (options.tolerate_missing_ipv6 && ipv6_unavailable(key.address, ec)) {
                skipped_ipv6 = true;  // the host has no IPv6
                continue;
            }
            failure = describe_bind_error(proto, key, ec);
            return;
        }
    };
    auto open_u = &Impl::open_udp;
    auto open_t = &Impl::open_tcp;
    open_all("udp", udp_keys, open_u, udp_);
    if (!failure) open_all("tcp", tcp_keys, open_t, tcp_);
    if (failure) {  // all or nothing: close what this call opened
        error_code ignored;
        for (std::size_t i = udp_before; i < udp_.size(); ++i) udp_[i]->socket.close(ignored);
        for (std::size_t i = tcp_before; i < tcp_.size(); ++i) tcp_[i]->acceptor.close(ignored);
        udp_.resize(udp_before);
        tcp_.resize(tcp_before);
        return failure;
    }
    if (skipped_ipv6) base::log_warn("IPv6 is not available on this host: no IPv6 listeners");
    fresh_udp = udp_.size() - udp_before;
    fresh_tcp = tcp_.size() - tcp_before;
    return std::nullopt;
}

std::optional<std::string> Server::Impl::start() {
    if (auto failure = guard_.configure(guard_config(opt_))) return failure;
    std::size_t fresh_udp = 0, fresh_tcp = 0;
    if (auto failure = open_missing(opt_, fresh_udp, fresh_tcp)) {
        stop();
        return failure;
    }
    if (udp_.empty() && tcp_.empty()) {
        stop();
        return std::string("no listener could be opened");
    }
    for (const auto& listener : udp_) arm_udp(listener);
    for (const auto& listener : tcp_) arm_accept(listener);
    if (multi_worker()) {  // datagrams other workers hand over (workers.cpp)
        inbox_wake_.emplace(io_, ::dup(shared_.inboxes[worker_]->wake_fd()));
        handoff_buffer_ = pool_.get();
        arm_inbox();
    }
    set_sweep_interval();
    arm_sweep();
    arm_moving_target();
    return std::nullopt;
}

void Server::Impl::close_udp_listener(UdpListener& listener) {
    listener.closed = true;
    error_code ignored;
    listener.socket.close(ignored);
}

void Server::Impl::close_tcp_listener(TcpListener& listener) {
    listener.closed = true;
    error_code ignored;
    listener.acceptor.close(ignored);
    listener.retry.cancel();
}

void Server::Impl::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& listener : udp_) close_udp_listener(*listener);
    for (auto& listener : tcp_) close_tcp_listener(*listener);
    sweep_timer_.cancel();
    epoch_timer_.cancel();
    if (inbox_wake_) {
        error_code ignored;
        inbox_wake_->close(ignored);
    }
    std::vector<std::uint64_t> ids;
    sessions_.for_each([&](const Session& s) { ids.push_back(s.id); });
    for (auto id : ids)
        if (auto session = sessions_.get(id)) close_session(*session, CloseReason::shutdown);
    // Connections still waiting for their first frame belong to no session.
    for (const auto& weak : std::exchange(pending_tcp_, {}))
        if (const auto c = weak.lock(); c && c->mode() == TcpConnection::Mode::pending) c->close();
}

std::optional<std::string> Server::Impl::reconfigure(ServerOptions next, std::string& changes) {
    changes.clear();
    if (stopped_) return std::string("the server is stopped");
    if (next.max_datagram != opt_.max_datagram) {
        changes += " max_datagram stays " + std::to_string(opt_.max_datagram) + " until a restart;";
        next.max_datagram = opt_.max_datagram;  // buffers are sized for it
    }
    if (next.workers != opt_.workers) {
        changes += " workers stays " + std::to_string(opt_.workers) + " until a restart;";
        next.workers = opt_.workers;  // the threads and reuseport groups are made at start-up
    }
    const std::size_t udp_before = udp_.size(), tcp_before = tcp_.size();
    std::size_t fresh_udp = 0, fresh_tcp = 0;
    // Fails (leaving everything as it was) only where start-up would have failed too.
    if (next.wg_public_key != opt_.wg_public_key)
        if (auto failure = guard_.configure(guard_config(next))) return failure;
    if (auto failure = open_missing(next, fresh_udp, fresh_tcp)) return failure;
    guard_.configure(guard_config(next));  // the mac1 key was made above: this cannot fail now

    // Everything needed is open: now close what the new configuration no longer lists.
    const auto udp_keys = wanted_keys(next, udp_ports_now(next), next.binds ? &next.binds->udp : nullptr);
    const auto tcp_keys = wanted_keys(next, next.tcp_ports, next.binds ? &next.binds->tcp : nullptr);
    std::vector<net::Endpoint> added_udp, added_tcp, removed_udp, removed_tcp;
    for (std::size_t i = udp_before; i < udp_.size(); ++i) added_udp.push_back(udp_[i]->bound);
    for (std::size_t i = tcp_before; i < tcp_.size(); ++i) added_tcp.push_back(tcp_[i]->bound);
    std::vector<std::uint64_t> orphaned;  // native UDP sessions whose reply path closes
    std::vector<std::uint64_t> agents;    // porthop clients: they lose a path, not the session
    sessions_.for_each([&](const Session& s) {
        if (s.agent) agents.push_back(s.id);
    });
    for (std::size_t i = 0; i < udp_before; ++i) {
        auto& listener = *udp_[i];
        if (is_wanted(listener, udp_keys)) continue;
        removed_udp.push_back(listener.bound);
        sessions_.for_each([&](const Session& s) {
            if (s.path.listener() == &listener && !s.agent) orphaned.push_back(s.id);
        });
        for (auto id : agents) {
            sessions_.remove_listener_paths(id, listener.id);
            if (auto session = sessions_.get(id))
                session->path.clear_listener(listener);  // replies wait for the agent's next path
        }
    }
    for (auto id : orphaned)
        if (auto session = sessions_.get(id)) close_session(*session, CloseReason::listener_removed);
    for (std::size_t i = 0; i < tcp_before; ++i)
        if (!is_wanted(*tcp_[i], tcp_keys)) removed_tcp.push_back(tcp_[i]->bound);
    std::erase_if(udp_, [&](const auto& l) {
        const bool remove = !is_wanted(*l, udp_keys);
        if (remove) close_udp_listener(*l);
        return remove;
    });
    std::erase_if(tcp_, [&](const auto& l) {
        const bool remove = !is_wanted(*l, tcp_keys);
        if (remove) close_tcp_listener(*l);
        return remove;
    });
    for (std::size_t i = udp_.size() - fresh_udp; i < udp_.size(); ++i) arm_udp(udp_[i]);
    for (std::size_t i = tcp_.size() - fresh_tcp; i < tcp_.size(); ++i) arm_accept(tcp_[i]);

    changes += describe_ports("+udp", added_udp) + describe_ports("+tcp", added_tcp) +
               describe_ports("-udp", removed_udp) + describe_ports("-tcp", removed_tcp);
    if (!orphaned.empty())
        changes += "; " + std::to_string(orphaned.size()) + " sessions on removed ports closed";
    if (next.backend != opt_.backend) {
        changes += "; backend " + next.backend.to_string() + " for new sessions";
        backend_ = next.backend.to_udp();
    }
    if (next.max_sessions != opt_.max_sessions)
        changes += "; max_sessions " + std::to_string(next.max_sessions);
    if (next.max_tcp_connections != opt_.max_tcp_connections)
        changes += "; max_tcp_connections " + std::to_string(next.max_tcp_connections);
    if (next.tcp_per_source != opt_.tcp_per_source)
        changes += "; tcp_connections_per_source " + std::to_string(next.tcp_per_source);
    if (next.idle_timeout != opt_.idle_timeout)
        changes += "; idle_timeout " + std::to_string(next.idle_timeout.count()) + " ms";
    if (next.protocol != opt_.protocol)
        changes += std::string("; protocol ") + wire::to_string(next.protocol);
    if (next.wg_public_key != opt_.wg_public_key)
        changes += next.wg_public_key ? "; mac1 checked with a new WireGuard public key" : "; mac1 no longer checked";
    if (next.source_limits.handshakes_per_second != opt_.source_limits.handshakes_per_second ||
        next.source_limits.burst != opt_.source_limits.burst ||
        next.source_limits.sessions_per_source != opt_.source_limits.sessions_per_source)
        changes += "; per-source limits " + std::to_string(next.source_limits.handshakes_per_second) + "/s burst " +
                   std::to_string(next.source_limits.burst) + ", " +
                   std::to_string(next.source_limits.sessions_per_source) + " sessions";
    sessions_.set_limit(next.max_sessions);  // sessions above a lowered limit stay; new ones wait
    opt_ = std::move(next);
    // A new key seals from now on. A key removed keeps its codec for the replies to agent
    // sessions that are still open (they end when idle); ingress no longer opens hop link.
    if (opt_.hop_keys) codec_.emplace(*opt_.hop_keys);
    set_sweep_interval();
    if (changes.empty()) changes = " nothing changed";
    return std::nullopt;
}

ServerSnapshot Server::Impl::snapshot() const {
    ServerSnapshot out;
    const auto add = [&](const char* proto, const net::Endpoint& bound, const ListenerCounters& c) {
        out.listeners.push_back(ListenerSnapshot{proto, bound, c.sessions.load(std::memory_order_relaxed),
                                                 c.from_client_packets.load(std::memory_order_relaxed),
                                                 c.from_client_bytes.load(std::memory_order_relaxed),
                                                 c.to_client_packets.load(std::memory_order_relaxed),
                                                 c.to_client_bytes.load(std::memory_order_relaxed)});
    };
    for (const auto& l : udp_) add("udp", l->bound, *l->stats);
    for (const auto& l : tcp_) add("tcp", l->bound, *l->stats);
    out.sessions = sessions_.size();
    out.worker_sessions = {sessions_.size()};
    out.tcp_connections = shared_.tcp_connections.load(std::memory_order_relaxed);
    out.max_sessions = opt_.max_sessions;
    out.max_tcp_connections = opt_.max_tcp_connections;
    return out;
}

// ---- moving target: the UDP ports of this epoch (needs the hop key's schedule) ----------

std::vector<std::uint16_t> Server::Impl::udp_ports_now(const ServerOptions& options) const {
    if (!options.moving_target || !options.hop_keys || options.udp_ports.empty()) return options.udp_ports;
    const hop::PortSchedule schedule(options.hop_keys->schedule, options.udp_ports);
    return schedule.moving_target_ports(hop::epoch_at(options.wall_clock(), options.hop_interval));
}

void Server::Impl::arm_moving_target() {
    if (!opt_.moving_target || !opt_.hop_keys) return;
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(opt_.hop_interval);
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::milliseconds>(opt_.wall_clock().time_since_epoch());
    const auto into = since_epoch % interval;
    // Just after the boundary, so the new epoch's ports are computed in the new epoch.
    epoch_timer_.expires_after(interval - into + std::chrono::milliseconds{5});
    epoch_timer_.async_wait([this](const error_code& ec) {
        if (ec || stopped_) return;
        std::string changes;
        if (auto failure = reconfigure(opt_, changes))
            base::log_warn("moving target: " + *failure + "; keeping the ports that are open");
        else
            base::log_debug("moving target: epoch " + std::to_string(epoch_now()) + ":" + changes);
        if (after_listener_change_) after_listener_change_();
        arm_moving_target();
    });
}

}  // namespace porthop::relay
