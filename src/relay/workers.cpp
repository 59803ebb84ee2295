// The server's workers: one event loop each, each with its own socket on every port. Worker 0
// runs on the io_context the server is given and binds every port first; the others run on
// threads of their own and bind the same addresses after it, so each port's reuseport group
// lists the workers in order and the steering program (net/steering.hpp) can name them.
// A worker owns the sessions it opens; the directory (relay/directory.hpp) and the inboxes
// (handoff.hpp) make them reachable from the others. Configuration changes (reload, the moving
// target's epochs) are applied by worker 0 first and then, in order, by each other worker on
// its own thread, worker 0 waiting: they are rare, and no worker ever waits for worker 0.
#include <algorithm>
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
        const auto* listener = listeners_.udp_at(header.listener);
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

// ---- a porthop client's TCP connection on another worker than its session ----------------
//
// The kernel steers a connection by the client's address, so an agent whose address changed
// may connect to another worker than the one holding its session. The session moves to the
// worker that holds the connection; the connection never moves. Why not the connection: a
// stream's state may live in user space (a TLS session), so a file descriptor plus the bytes
// read is not the whole connection (DESIGN.md, "Seams"). Why not relay its frames through the
// inboxes: every datagram would be copied twice (both directions), the back-pressure that a
// full backend socket puts on the TCP reader would be lost, and the connection's and the
// session's ends would have to be kept in step across threads for as long as both live.
// Moving the session is a one-time cost, after which everything is local again: its upstream
// socket is connected UDP, stateless in the kernel, so its descriptor can change event loops;
// its AgentLink and counters are plain data; the directory then leads its datagrams to the new
// owner, and its UDP paths are found again by the listeners' bound addresses (every worker has
// the same listeners). The owner judges the attach before anything moves (its replay window is
// the one that counts), so a forged or replayed attach never moves a session.
//
// Datagrams that reach the old owner in the moment between its letting go and the new owner's
// taking over find no session there and are dropped, as a lossy network would; the backend's
// datagrams wait in the upstream socket meanwhile.

struct SessionHandover {
    std::uint32_t asker = 0;  // the worker holding the connection
    std::uint64_t request = 0;
    std::vector<std::byte> attach;  // the control frame, opened, for the owner's check
    std::size_t length = 0;         // the record's length as it came (the ack is no longer)
    net::Endpoint peer;  // the connection's, for the owner's log line
    std::uint16_t port = 0;
    TcpConnection::Handover verdict = TcpConnection::Handover::gone;
    // When moved: the session (its upstream socket not yet open: the descriptor travels
    // separately and is adopted on the asker's thread), where its paths were, and the ack.
    SessionPtr session;
    int upstream = -1;
    std::optional<net::Endpoint> reply_listener;       // the bound address of its UDP reply path
    std::vector<std::pair<net::Endpoint, net::Endpoint>> udp_paths;  // (listener bound, client)
    std::vector<std::byte> ack;  // the owner's answer to the attach, to queue on the connection

    SessionHandover() = default;
    SessionHandover(const SessionHandover&) = delete;
    SessionHandover& operator=(const SessionHandover&) = delete;
    ~SessionHandover() {
        if (upstream >= 0) ::close(upstream);  // never adopted (its worker stopped first)
    }
};

bool Server::Impl::request_session(TcpConnection& connection, std::span<const std::byte> attach,
                                   std::size_t length) {
    if (!multi_worker()) return false;
    const auto to = attach_owner(attach);
    if (!to) return false;
    Counters::add(counters_.tcp_handovers);
    auto handover = std::make_unique<SessionHandover>();
    handover->asker = worker_;
    handover->request = ++next_handover_;
    handover->attach.assign(attach.begin(), attach.end());
    handover->length = length;
    handover->peer = connection.peer();
    handover->port = connection.port();
    awaiting_session_.emplace(handover->request, connection.shared_from_this());
    Impl* owner = shared_.impls[*to];
    // Once per connection: a posted function (its allocation) is fine here.
    asio::post(owner->io_, [owner, h = std::move(handover)]() mutable { owner->give_session(std::move(h)); });
    return true;
}

void Server::Impl::give_session(std::unique_ptr<SessionHandover> h) {
    Impl* asker = shared_.impls[h->asker];
    const auto fields = wire::hop::decode_control(h->attach);
    Session* s = (!stopped_ && fields) ? sessions_.find_agent(fields->session_id) : nullptr;
    if (!s) {
        h->verdict = TcpConnection::Handover::gone;  // closed, or moved on: the asker judges it
    } else if (!agent_links_.accept(h->attach, Clock::now(), {"tcp", h->peer, h->port, h->length})) {
        h->verdict = TcpConnection::Handover::refused;  // counted
    } else {
        const auto ack = agent_links_.ack();
        h->ack.assign(ack.begin(), ack.end());
        h->verdict = release_session(*s, *asker, *h) ? TcpConnection::Handover::moved
                                                      : TcpConnection::Handover::refused;
    }
    asio::post(asker->io_, [asker, h = std::move(h)]() mutable { asker->adopt_session(std::move(h)); });
}

bool Server::Impl::release_session(Session& s, Impl& to, SessionHandover& h) {
    error_code ec;
    const int fd = s.upstream.release(ec);  // cancels its wait here, leaves the descriptor open
    if (ec || fd < 0) return false;
    h.upstream = fd;
    // Its socket object is created for the new worker's loop; the descriptor joins it there.
    auto moved = std::make_shared<Session>(s.id, asio::ip::udp::socket(to.io_));
    // Everything but what points into this worker (listener, TCP connection, listener
    // counters): the new worker finds those again. Only agent sessions move, so the native
    // guard's state (source, provisional) is empty; it is carried all the same.
    s.path.carry_to(moved->path);
    moved->agent = std::move(s.agent);
    moved->opened = s.opened;
    moved->last_from_client = s.last_from_client;
    moved->source = s.source;
    moved->native = s.native;
    moved->provisional = s.provisional;
    moved->provisional_source = s.provisional_source;
    moved->from_client_packets = s.from_client_packets;
    moved->from_client_bytes = s.from_client_bytes;
    moved->to_client_packets = s.to_client_packets;
    moved->to_client_bytes = s.to_client_bytes;
    if (s.path.listener()) h.reply_listener = s.path.listener()->bound;
    for (const auto& key : sessions_.udp_paths(s.id))
        if (const UdpListener* l = listeners_.udp_by_id(key.listener)) h.udp_paths.emplace_back(l->bound, key.client);
    // Its TCP path here is superseded by the connection it moves to, as attach_tcp would; it
    // is no longer counted on a listener here.
    if (TcpConnection* old = s.path.close()) old->close();
    s.closed = true;  // what this worker still has of it (a wait, a posted read) does nothing
    {
        // Until the new worker installs it, no worker holds it: an attach of it that reaches
        // the new worker meanwhile meets the ledger, not an empty table (install forgets it).
        const auto f = forgotten(*moved, hop::unix_ms(opt_.wall_clock()), std::chrono::milliseconds{0});
        const std::lock_guard lock(shared_.ledger_mutex);
        shared_.ledger.remember(f);
    }
    shared_.directory.move_session(owner(s), Owner{to.worker_, s.id});
    h.session = std::move(moved);
    sessions_.erase(s.id);  // may free `s`: nothing after this line
    return true;
}

SessionPtr Server::Impl::install_session(SessionHandover& h, const TcpConnection* connection) {
    SessionPtr s = std::move(h.session);
    error_code ec;
    s->upstream.assign(backend_.protocol(), std::exchange(h.upstream, -1), ec);
    const auto* reply = h.reply_listener ? listeners_.udp_at(*h.reply_listener) : nullptr;
    // Counted on the listener its replies leave from (a TCP path's once it binds).
    std::shared_ptr<ListenerCounters> stats;
    if (reply)
        stats = (*reply)->stats;
    else if (connection && !connection->closed())
        stats = connection->stats();
    else
        stats = std::make_shared<ListenerCounters>();  // no path: counted on no listener yet
    s->path.resume(reply ? reply->get() : nullptr, std::move(stats));
    const bool installed =
        !ec && !stopped_ && sessions_.insert(s, nullptr) && sessions_.set_hop_id(s->id, s->agent->hop_id);
    if (!installed) {
        // It cannot live here (this worker stops, or a session of the same porthop client was
        // opened here meanwhile): closed like any session, its slot and directory entries freed.
        close_session(*s, stopped_ ? CloseReason::shutdown : CloseReason::superseded);
        return nullptr;
    }
    {
        const std::lock_guard lock(shared_.ledger_mutex);
        shared_.ledger.forget(s->agent->hop_id);  // remembered while it moved (release_session)
    }
    for (const auto& [bound, client] : h.udp_paths) {
        const auto* listener = listeners_.udp_at(bound);
        if (!listener) continue;  // its port closed meanwhile
        const UdpKey key{(*listener)->id, client};
        if (Session* holder = sessions_.find_udp(key); holder && holder != s.get()) continue;  // taken here
        sessions_.add_udp_path(s->id, key);
    }
    base::log_debug("session " + std::to_string(s->id) + " moved to worker " + std::to_string(worker_) +
                   ", where its porthop client's TCP connection is");
    arm_upstream(s);
    return s;
}

void Server::Impl::adopt_session(std::unique_ptr<SessionHandover> h) {
    std::shared_ptr<TcpConnection> connection;
    if (auto it = awaiting_session_.find(h->request); it != awaiting_session_.end()) {
        connection = std::move(it->second);
        awaiting_session_.erase(it);
    }
    auto verdict = h->verdict;
    SessionPtr session;
    if (verdict == TcpConnection::Handover::moved) {
        // Installed even if the connection closed meanwhile: the session lives on without a
        // path until its agent's next attach, as after any lost connection.
        session = install_session(*h, connection.get());
        if (!session) verdict = TcpConnection::Handover::refused;
    }
    if (!connection || connection->closed()) return;
    if (session) {
        agent_links_.adopt_ack(h->ack);
        bind_tcp_path(*session, *connection);
    }
    connection->handed_over(verdict, std::move(session));
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
                 std::max<std::size_t>(std::size_t{4} << 20, 16 * (std::size_t{options.max_datagram} + 256)),
                 2 * std::size_t{options.max_sessions}) {
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
        if (shared.workers > 1) workers[0]->impl->set_after_listener_change([this] { sync_others(); });
    }

    ~Group() {
        stop();
        // Sockets closed by stop() finish on their own; a backend that leaves an operation
        // hanging (io_uring) gets kStopGrace, all workers together, before its loop is stopped.
        const auto until = std::chrono::steady_clock::now() + Server::kStopGrace;
        for (std::size_t k = 1; k < workers.size(); ++k) {
            Worker& w = *workers[k];
            w.guard.reset();
            if (w.finished.wait_until(until) != std::future_status::ready) w.io->stop();
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
        ServerOptions m = first.options();
        m.binds.emplace();
        for (const auto& l : first.listeners().udp()) m.binds->udp.push_back(l->bound);
        for (const auto& l : first.listeners().tcp()) m.binds->tcp.push_back(l->bound);
        m.moving_target = false;  // worker 0 keeps the epoch timer and calls sync_others
        return m;
    }

    std::optional<std::string> start() {
        if (auto failure = workers[0]->impl->start()) return failure;
        const ServerOptions m = mirrored();
        for (std::size_t k = 1; k < workers.size(); ++k) {
            auto failure = on(k, [&](Impl& w) {
                w.mirror(m);
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

    std::optional<std::string> save_state(const std::string& path, std::chrono::milliseconds until_next) {
        SavedState state;
        state.written = std::chrono::system_clock::now();
        state.backend = workers[0]->impl->options().backend;
        for (std::size_t k = 0; k < workers.size(); ++k) {
            auto part = on(k, [](Impl& w) { return w.saved_sessions(); });
            state.sessions.insert(state.sessions.end(), part.begin(), part.end());
            auto agents = on(k, [&](Impl& w) { return w.saved_agents(until_next); });
            state.agents.insert(state.agents.end(), agents.begin(), agents.end());
        }
        {
            const std::lock_guard lock(shared.ledger_mutex);
            shared.ledger.expire(hop::unix_ms(workers[0]->impl->options().wall_clock()) / 1000);
            const auto forgotten = shared.ledger.entries();
            state.agents.insert(state.agents.end(), forgotten.begin(), forgotten.end());
        }
        std::string why;
        if (!write_state_file(path, format_state(state), why)) return why;
        return std::nullopt;
    }

    // Porthop clients' sessions are remembered whatever the backend and the file's age: their
    // attaches stay refused until each entry's own keep_until. Returns how many.
    std::size_t remember(const SavedState& state) {
        const std::uint64_t now_s = hop::unix_ms(workers[0]->impl->options().wall_clock()) / 1000;
        std::size_t n = 0;
        const std::lock_guard lock(shared.ledger_mutex);
        for (const auto& a : state.agents)
            if (a.keep_until >= now_s) {
                shared.ledger.remember(a);
                ++n;
            }
        return n;
    }

    Server::Restored remember_agents(const std::string& path) {
        Server::Restored out;
        const auto text = read_state_file(path, out.why_none);
        if (!text) return out;
        if (const auto state = parse_state(*text, out.why_none)) out.agents = remember(*state);
        return out;
    }

    Server::Restored restore_state(const std::string& path) {
        Server::Restored out;
        const auto text = read_state_file(path, out.why_none);
        if (!text) return out;
        auto state = parse_state(*text, out.why_none);
        if (!state) return out;
        const ServerOptions& opt = workers[0]->impl->options();
        out.agents = remember(*state);
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
        if (workers.size() == 1) return workers[0]->impl->counters();
        merged.reset();
        for (const auto& w : workers) merged.add_from(w->impl->counters());
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
std::optional<std::string> Server::save_state(const std::string& path, std::chrono::milliseconds until_next) {
    return group_->save_state(path, until_next);
}
void Server::on_agent_session_opened(std::function<void()> call) {
    group_->shared.agent_session_opened = std::move(call);
}
Server::Restored Server::restore_state(const std::string& path) { return group_->restore_state(path); }
Server::Restored Server::remember_agents(const std::string& path) { return group_->remember_agents(path); }
const Counters& Server::counters() const noexcept { return group_->counters(); }
std::size_t Server::session_count() const noexcept {
    return group_->shared.sessions.load(std::memory_order_relaxed);
}

std::vector<net::Endpoint> Server::udp_endpoints() const {
    std::vector<net::Endpoint> out;
    for (const auto& l : group_->workers[0]->impl->listeners().udp()) out.push_back(l->bound);
    return out;
}

std::vector<net::Endpoint> Server::tcp_endpoints() const {
    std::vector<net::Endpoint> out;
    for (const auto& l : group_->workers[0]->impl->listeners().tcp()) out.push_back(l->bound);
    return out;
}

}  // namespace porthop::relay
