// The listener set: opening listeners at start-up, closing them at shutdown, and changing the
// set on a live reload without disturbing the listeners (and so the sessions) on ports that stay.
#include "listener_set.hpp"

#include <algorithm>

#include "porthop/base/log.hpp"
#include "porthop/hop/schedule.hpp"

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
bool matches(const Listener& l, const ListenerKey& key) {
    return l.key.address == key.address && (l.key.port == key.port || l.bound.port() == key.port);
}

template <typename Listener>
bool is_open(const std::vector<std::shared_ptr<Listener>>& listeners, const ListenerKey& key) {
    return std::any_of(listeners.begin(), listeners.end(), [&](const auto& l) { return matches(*l, key); });
}

template <typename Listener>
bool is_wanted(const Listener& l, const std::vector<ListenerKey>& keys) {
    return std::any_of(keys.begin(), keys.end(), [&](const ListenerKey& key) { return matches(l, key); });
}

// listen x ports, or the exact addresses worker 0 bound (binds, for the other workers).
std::vector<ListenerKey> keys_of(const ServerOptions& options, const std::vector<std::uint16_t>& ports,
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

}  // namespace

ListenerSet::Wanted ListenerSet::wanted(const ServerOptions& options) {
    Wanted out;
    out.udp = keys_of(options, udp_ports_now(options), options.binds ? &options.binds->udp : nullptr);
    out.tcp = keys_of(options, options.tcp_ports, options.binds ? &options.binds->tcp : nullptr);
    out.tolerate_missing_ipv6 = options.tolerate_missing_ipv6;
    return out;
}

std::vector<std::uint16_t> ListenerSet::udp_ports_now(const ServerOptions& options) {
    if (!options.moving_target || !options.hop_keys || options.udp_ports.empty()) return options.udp_ports;
    const hop::PortSchedule schedule(options.hop_keys->schedule, options.udp_ports);
    return schedule.moving_target_ports(hop::epoch_at(options.wall_clock(), options.hop_interval));
}

ListenerSet::ListenerSet(asio::io_context& io, net::ReuseportGroup group, ListenerEvents& events)
    : io_(io), group_(group), events_(events), epoch_timer_(io) {}

error_code ListenerSet::open_udp(const ListenerKey& key) {
    asio::ip::udp::socket socket(io_);
    error_code ec = net::open_udp_listener(socket, asio::ip::udp::endpoint(key.address, key.port), group_);
    if (ec) return ec;
    auto bound = net::Endpoint::from_asio(socket.local_endpoint(ec));
    auto listener = std::make_shared<UdpListener>(UdpListener{next_id_++, key, std::move(socket), bound});
    events_.listener_bound(*listener);
    udp_.push_back(std::move(listener));
    return {};
}

error_code ListenerSet::open_tcp(const ListenerKey& key) {
    asio::ip::tcp::acceptor acceptor(io_);
    error_code ec = net::open_tcp_listener(acceptor, asio::ip::tcp::endpoint(key.address, key.port), group_, 1024);
    if (ec) return ec;
    auto bound = net::Endpoint::from_asio(acceptor.local_endpoint(ec));
    tcp_.push_back(
        std::make_shared<TcpListener>(TcpListener{key, std::move(acceptor), bound, asio::steady_timer(io_)}));
    return {};
}

std::optional<std::string> ListenerSet::open(const Wanted& wanted) {
    const std::size_t udp_before = udp_.size(), tcp_before = tcp_.size();
    bool skipped_ipv6 = false;
    std::optional<std::string> failure;
    const auto open_all = [&](const char* proto, const std::vector<ListenerKey>& keys, auto open_one,
                              const auto& listeners) {
        for (const auto& key : keys) {
            // Port 0 (tests) is "a new ephemeral port" every time, never one already open.
            if (key.port != 0 && is_open(listeners, key)) continue;
            const error_code ec = (this->*open_one)(key);
            if (!ec) continue;
            if (wanted.tolerate_missing_ipv6 && ipv6_unavailable(key.address, ec)) {
                skipped_ipv6 = true;  // the host has no IPv6
                continue;
            }
            failure = describe_bind_error(proto, key, ec);
            return;
        }
    };
    open_all("udp", wanted.udp, &ListenerSet::open_udp, udp_);
    if (!failure) open_all("tcp", wanted.tcp, &ListenerSet::open_tcp, tcp_);
    if (failure) {  // all or nothing: close what this call opened
        for (std::size_t i = udp_before; i < udp_.size(); ++i) close(*udp_[i]);
        for (std::size_t i = tcp_before; i < tcp_.size(); ++i) close(*tcp_[i]);
        udp_.resize(udp_before);
        tcp_.resize(tcp_before);
        return failure;
    }
    if (skipped_ipv6) base::log_warn("IPv6 is not available on this host: no IPv6 listeners");
    return std::nullopt;
}

ListenerSet::Diff ListenerSet::apply(const Wanted& wanted) {
    Diff diff;
    for (std::size_t i = udp_serving_; i < udp_.size(); ++i) diff.added_udp.push_back(udp_[i]->bound);
    for (std::size_t i = tcp_serving_; i < tcp_.size(); ++i) diff.added_tcp.push_back(tcp_[i]->bound);
    // Only serving listeners can be unwanted: those open() just opened are wanted by the same keys.
    std::vector<bool> drop_udp(udp_.size(), false), drop_tcp(tcp_.size(), false);
    for (std::size_t i = 0; i < udp_serving_; ++i) {
        if (is_wanted(*udp_[i], wanted.udp)) continue;
        drop_udp[i] = true;
        diff.removed_udp.push_back(udp_[i]->bound);
        diff.sessions_closed += events_.listener_removing(*udp_[i]);
    }
    for (std::size_t i = 0; i < tcp_serving_; ++i) {
        if (is_wanted(*tcp_[i], wanted.tcp)) continue;
        drop_tcp[i] = true;
        diff.removed_tcp.push_back(tcp_[i]->bound);
    }
    const auto sweep = [](auto& listeners, const std::vector<bool>& drop) {
        std::size_t kept = 0;
        for (std::size_t i = 0; i < listeners.size(); ++i) {
            if (drop[i])
                close(*listeners[i]);
            else
                listeners[kept++] = std::move(listeners[i]);
        }
        listeners.resize(kept);
    };
    sweep(udp_, drop_udp);
    sweep(tcp_, drop_tcp);
    const std::size_t udp_fresh = diff.added_udp.size(), tcp_fresh = diff.added_tcp.size();
    udp_serving_ = udp_.size();
    tcp_serving_ = tcp_.size();
    for (std::size_t i = udp_.size() - udp_fresh; i < udp_.size(); ++i) events_.listener_serving(udp_[i]);
    for (std::size_t i = tcp_.size() - tcp_fresh; i < tcp_.size(); ++i) events_.listener_serving(tcp_[i]);
    return diff;
}

void ListenerSet::close(UdpListener& listener) {
    listener.closed = true;
    error_code ignored;
    listener.socket.close(ignored);
}

void ListenerSet::close(TcpListener& listener) {
    listener.closed = true;
    error_code ignored;
    listener.acceptor.close(ignored);
    listener.retry.cancel();
}

void ListenerSet::close_all() {
    for (auto& listener : udp_) close(*listener);
    for (auto& listener : tcp_) close(*listener);
    epoch_timer_.cancel();
}

void ListenerSet::follow_epochs(const ServerOptions& options) {
    epoch_timer_.cancel();  // a reload may have changed the interval, or turned it off
    if (!options.moving_target || !options.hop_keys) return;
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(options.hop_interval);
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::milliseconds>(options.wall_clock().time_since_epoch());
    const auto into = since_epoch % interval;
    // Just after the boundary, so the new epoch's ports are computed in the new epoch.
    epoch_timer_.expires_after(interval - into + std::chrono::milliseconds{5});
    epoch_timer_.async_wait([this](const error_code& ec) {
        if (!ec) events_.epoch_began();
    });
}

const std::shared_ptr<UdpListener>* ListenerSet::udp_at(const net::Endpoint& bound) const noexcept {
    for (const auto& listener : udp_)
        if (listener->bound == bound && !listener->closed) return &listener;
    return nullptr;
}

const UdpListener* ListenerSet::udp_by_id(std::uint32_t id) const noexcept {
    for (const auto& listener : udp_)
        if (listener->id == id) return listener.get();
    return nullptr;
}

}  // namespace porthop::relay
