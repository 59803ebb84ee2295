// The server's workers: one event loop each, each with its own socket on every port. Worker 0
// runs on the io_context the server is given and binds every port first; the others run on
// threads of their own and bind the same addresses after it, so each port's reuseport group
// lists the workers in order and the steering program (net/steering.hpp) can name them.
// A worker owns the sessions it opens; the directory (relay/directory.hpp) and the inboxes
// (handoff.hpp) make them reachable from the others. Configuration changes (reload, the moving
// target's epochs) are applied by worker 0 first and then, in order, by each other worker on
// its own thread, worker 0 waiting: they are rare, and no worker ever waits for worker 0.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>
#include <unistd.h>

#include "porthop/net/steering.hpp"
#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using boost::system::error_code;

// ---- one worker's side -------------------------------------------------------------------

std::optional<std::uint32_t> Server::Impl::other_owner(const FlowKey& key) const {
    const auto found = shared_.directory.flow(key);
    if (!found || found->worker == worker_) return std::nullopt;
    return found->worker;
}

std::optional<std::uint32_t> Server::Impl::other_owner(IdKind kind, std::uint64_t id) const {
    const auto found = shared_.directory.id(kind, id);
    if (!found || found->worker == worker_) return std::nullopt;
    return found->worker;
}

void Server::Impl::hand_off(std::uint32_t to, const UdpListener& listener, const net::ReceiveSlot& slot,
                            std::span<const std::byte> datagram) noexcept {
    const Inbox::Header header{listener.bound, slot.peer, slot.local, 0};
    if (shared_.inboxes[to]->push(header, datagram))
        Counters::add(counters_.handoffs);
    else
        Counters::add(counters_.drop_handoff);
}

void Server::Impl::note_flow(const Session& s, const UdpListener& listener, const net::Endpoint& peer) {
    if (multi_worker()) shared_.directory.set_flow(FlowKey{listener.bound, peer}, owner(s));
}

const std::shared_ptr<UdpListener>* Server::Impl::udp_listener_at(const net::Endpoint& bound) const noexcept {
    for (const auto& listener : udp_)
        if (listener->bound == bound && !listener->closed) return &listener;
    return nullptr;
}

bool Server::Impl::reserve_session() noexcept { return Shared::take(shared_.sessions, opt_.max_sessions); }

bool Server::Impl::reserve_or_evict() {
    return reserve_session() || (evict_provisional() && reserve_session());
}

void Server::Impl::unreserve_session() noexcept { shared_.sessions.fetch_sub(1, std::memory_order_relaxed); }

std::uint64_t Server::Impl::new_session_id() noexcept {
    return shared_.next_session_id.fetch_add(1, std::memory_order_relaxed);
}

void Server::Impl::arm_inbox() {
    inbox_wake_->async_wait(asio::posix::descriptor_base::wait_read, [this](const error_code& ec) {
        if (ec || stopped_) return;
        drain_inbox();
    });
}

void Server::Impl::drain_inbox() {
    // A bounded share per wakeup, like a socket's batches: the other sockets get their turn.
    constexpr int kPerWakeup = 256;
    Inbox& inbox = *shared_.inboxes[worker_];
    inbox.clear_wake();
    const auto now = Clock::now();
    net::PacketBuffer& buffer = *handoff_buffer_;
    Inbox::Header header;
    for (int i = 0; i < kPerWakeup; ++i) {
        if (!inbox.pop(header, {buffer.payload(), buffer.payload_capacity()})) {
            arm_inbox();
            return;
        }
        const auto* listener = udp_listener_at(header.listener);
        if (!listener || header.length == 0) {
            // Its port closed meanwhile, or it was longer than a buffer (pop returns length 0).
            Counters::add(counters_.drop_handoff);
            continue;
        }
        net::ReceiveSlot slot;
        slot.data = buffer.payload();
        slot.capacity = buffer.payload_capacity();
        slot.length = header.length;
        slot.peer = header.peer;
        slot.local = header.local;
        const Admitted admitted = admit_udp(**listener, slot, now, true);
        if (admitted.attach) {
            on_udp_attach(**listener, slot, admitted.payload, now, true);
        } else if (admitted.session) {
            const net::SendItem item{admitted.payload.data(), admitted.payload.size(), nullptr, nullptr};
            forward_to_backend(*admitted.session, {&item, 1});
        }
    }
    asio::post(io_, [this] {
        if (!stopped_) drain_inbox();
    });
}

std::optional<std::uint32_t> Server::Impl::attach_owner(std::span<const std::byte> frame) const {
    const auto fields = wire::hop::decode_control(frame);
    if (!fields || sessions_.find_agent(fields->session_id)) return std::nullopt;
    return other_owner(IdKind::hop_session, fields->session_id);
}

void Server::Impl::hand_over_tcp(std::uint32_t to, int fd, const net::Endpoint& peer, std::uint16_t port,
                                 std::vector<std::byte> bytes) {
    Counters::add(counters_.tcp_handovers);
    Impl* target = shared_.impls[to];
    // Once per connection: a posted function (its allocation) is fine here.
    asio::post(target->io_, [target, fd, peer, port, bytes = std::move(bytes)]() mutable {
        target->adopt_tcp(fd, peer, port, std::move(bytes));
    });
}

void Server::Impl::adopt_tcp(int fd, const net::Endpoint& peer, std::uint16_t port, std::vector<std::byte> bytes) {
    asio::ip::tcp::socket socket(io_);
    error_code ec;
    socket.assign(peer.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
    if (ec) ::close(fd);
    if (ec || stopped_) {  // the connection ends here, counted as closed like any other
        socket.close(ec);
        shared_.tcp_connections.fetch_sub(1, std::memory_order_relaxed);
        Counters::add(counters_.tcp_connections_closed);
        return;
    }
    std::shared_ptr<ListenerCounters> stats;
    for (const auto& l : tcp_)
        if (l->bound.port() == port && l->bound.is_v6() == peer.is_v6()) stats = l->stats;
    if (!stats) stats = std::make_shared<ListenerCounters>();  // its port closed meanwhile
    auto connection = std::make_shared<TcpConnection>(*this, std::move(socket), peer, stats, port);
    connection->start(bytes, true, SourceLimiter::key_of(peer));
}

// ---- the group ---------------------------------------------------------------------------

struct Server::Group {
    struct Worker {
        std::unique_ptr<asio::io_context> own;  // null for worker 0 (the caller's)
        asio::io_context* io = nullptr;
        std::unique_ptr<Impl> impl;  // destroyed before `own`: its sockets belong to it
        std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
        std::thread thread;
        std::future<void> finished;
    };

    Group(asio::io_context& io, ServerOptions options)
        : shared(std::max<std::uint32_t>(options.workers, 1),
                 std::max<std::size_t>(std::size_t{4} << 20, 16 * (std::size_t{options.max_datagram} + 256))) {
        for (std::uint32_t k = 0; k < shared.workers; ++k) {
            auto w = std::make_unique<Worker>();
            if (k == 0) {
                w->io = &io;
            } else {
                w->own = std::make_unique<asio::io_context>(1);
                w->io = w->own.get();
            }
            w->impl = std::make_unique<Impl>(*w->io, options, shared, k);
            workers.push_back(std::move(w));
        }
        for (std::uint32_t k = 1; k < shared.workers; ++k) {
            Worker& w = *workers[k];
            w.guard.emplace(w.io->get_executor());
            std::promise<void> done;
            w.finished = done.get_future();
            w.thread = std::thread([io = w.io, k, hook = options.worker_thread_start, done = std::move(done)]() mutable {
                if (hook) hook();
                try {
                    io->run();
                } catch (const std::exception& e) {
                    // A worker that stopped would leave its clients without a relay: fail loudly.
                    std::fprintf(stderr, "porthop: worker %u failed: %s\n", k, e.what());
                    std::abort();
                }
                done.set_value();
            });
        }
        for (const auto& w : workers) shared.impls.push_back(w->impl.get());
        if (shared.workers > 1) workers[0]->impl->after_listener_change_ = [this] { sync_others(); };
    }

    ~Group() {
        stop();
        for (std::size_t k = 1; k < workers.size(); ++k) {
            Worker& w = *workers[k];
            w.guard.reset();
            // Sockets closed by stop() finish on their own; a backend that leaves an operation
            // hanging (seen with io_uring) gets 3 s before the loop is stopped outright.
            if (w.finished.wait_for(std::chrono::seconds{3}) != std::future_status::ready) w.io->stop();
            w.thread.join();
        }
    }

    // Runs f(worker k's Impl) on worker k's thread and waits for it.
    template <typename F>
    auto on(std::size_t k, F&& f) -> std::invoke_result_t<F&, Impl&> {
        Impl& impl = *workers[k]->impl;
        if (k == 0) return f(impl);
        using Result = std::invoke_result_t<F&, Impl&>;
        std::packaged_task<Result()> task([&] { return f(impl); });
        auto result = task.get_future();
        asio::post(*workers[k]->io, [&task] { task(); });
        return result.get();
    }

    // Worker 0's options with its bound addresses: what every other worker must have open.
    ServerOptions mirrored() const {
        const Impl& first = *workers[0]->impl;
        ServerOptions m = first.opt_;
        m.binds.emplace();
        for (const auto& l : first.udp_) m.binds->udp.push_back(l->bound);
        for (const auto& l : first.tcp_) m.binds->tcp.push_back(l->bound);
        m.moving_target = false;  // worker 0 keeps the epoch timer and calls sync_others
        return m;
    }

    std::optional<std::string> start() {
        if (auto failure = workers[0]->impl->start()) return failure;
        const ServerOptions m = mirrored();
        for (std::size_t k = 1; k < workers.size(); ++k) {
            auto failure = on(k, [&](Impl& w) {
                w.opt_ = m;
                return w.start();
            });
            if (failure) {
                stop();
                return "worker " + std::to_string(k) + ": " + *failure;
            }
        }
        return std::nullopt;
    }

    void sync_others() {
        const ServerOptions m = mirrored();
        for (std::size_t k = 1; k < workers.size(); ++k)
            on(k, [&](Impl& w) {
                std::string ignored;
                if (auto failure = w.reconfigure(m, ignored))
                    base::log_warn("worker " + std::to_string(k) + " keeps its old ports: " + *failure);
            });
    }

    std::optional<std::string> reconfigure(ServerOptions next, std::string& changes) {
        if (auto failure = workers[0]->impl->reconfigure(std::move(next), changes)) return failure;
        sync_others();
        return std::nullopt;
    }

    void stop() {
        if (stopped) return;
        stopped = true;
        workers[0]->impl->stop();
        for (std::size_t k = 1; k < workers.size(); ++k) on(k, [](Impl& w) { w.stop(); });
    }

    std::optional<std::string> save_state(const std::string& path) {
        SavedState state;
        state.written = std::chrono::system_clock::now();
        state.backend = workers[0]->impl->opt_.backend;
        for (std::size_t k = 0; k < workers.size(); ++k) {
            auto part = on(k, [](Impl& w) { return w.saved_sessions(); });
            state.sessions.insert(state.sessions.end(), part.begin(), part.end());
        }
        std::string why;
        if (!write_state_file(path, format_state(state), why)) return why;
        return std::nullopt;
    }

    Server::Restored restore_state(const std::string& path) {
        Server::Restored out;
        const auto text = read_state_file(path, out.why_none);
        if (!text) return out;
        auto state = parse_state(*text, out.why_none);
        if (!state) return out;
        const ServerOptions& opt = workers[0]->impl->opt_;
        if (!(state->backend == opt.backend)) {
            out.why_none = "it was written for backend " + state->backend.to_string();
            return out;
        }
        const auto age = std::chrono::system_clock::now() - state->written;
        if (age > opt.idle_timeout || age < -std::chrono::minutes{1}) {
            out.why_none = "it is older than idle_timeout (its sessions would have expired)";
            return out;
        }
        for (const auto& saved : state->sessions) {
            // The worker the kernel steers this client to (net/steering.hpp), so its datagrams
            // find the session without a handoff.
            const std::size_t k = workers.size() > 1 ? net::steering_worker(saved.client, shared.workers) : 0;
            if (on(k, [&](Impl& w) { return w.restore(saved); }))
                ++out.restored;
            else
                ++out.skipped;
        }
        return out;
    }

    ServerSnapshot snapshot() {
        ServerSnapshot out = workers[0]->impl->snapshot();
        for (std::size_t k = 1; k < workers.size(); ++k) {
            const ServerSnapshot other = on(k, [](Impl& w) { return w.snapshot(); });
            out.worker_sessions.push_back(other.sessions);
            for (const auto& l : other.listeners) {
                auto it = std::find_if(out.listeners.begin(), out.listeners.end(), [&](const ListenerSnapshot& o) {
                    return std::string_view(o.proto) == l.proto && o.bound == l.bound;
                });
                if (it == out.listeners.end()) {
                    out.listeners.push_back(l);
                    continue;
                }
                it->sessions += l.sessions;
                it->from_client_packets += l.from_client_packets;
                it->from_client_bytes += l.from_client_bytes;
                it->to_client_packets += l.to_client_packets;
                it->to_client_bytes += l.to_client_bytes;
            }
        }
        out.sessions = shared.sessions.load(std::memory_order_relaxed);
        return out;
    }

    const Counters& counters() {
        if (workers.size() == 1) return workers[0]->impl->counters_;
        merged.reset();
        for (const auto& w : workers) merged.add_from(w->impl->counters_);
        return merged;
    }

    Shared shared;
    std::vector<std::unique_ptr<Worker>> workers;
    Counters merged;
    bool stopped = false;
};

// ---- public face -------------------------------------------------------------------------

Server::Server(asio::io_context& io, ServerOptions options)
    : group_(std::make_unique<Group>(io, std::move(options))) {}
Server::~Server() = default;
std::optional<std::string> Server::start() { return group_->start(); }
void Server::stop() { group_->stop(); }
std::optional<std::string> Server::reconfigure(ServerOptions next, std::string& changes) {
    return group_->reconfigure(std::move(next), changes);
}
ServerSnapshot Server::snapshot() const { return group_->snapshot(); }
std::optional<std::string> Server::save_state(const std::string& path) { return group_->save_state(path); }
Server::Restored Server::restore_state(const std::string& path) { return group_->restore_state(path); }
const Counters& Server::counters() const noexcept { return group_->counters(); }
std::size_t Server::session_count() const noexcept {
    return group_->shared.sessions.load(std::memory_order_relaxed);
}

std::vector<net::Endpoint> Server::udp_endpoints() const {
    std::vector<net::Endpoint> out;
    for (const auto& l : group_->workers[0]->impl->udp_) out.push_back(l->bound);
    return out;
}

std::vector<net::Endpoint> Server::tcp_endpoints() const {
    std::vector<net::Endpoint> out;
    for (const auto& l : group_->workers[0]->impl->tcp_) out.push_back(l->bound);
    return out;
}

}  // namespace porthop::relay
