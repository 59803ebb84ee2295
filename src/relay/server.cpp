#include "porthop/relay/server.hpp"

#include <netinet/tcp.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <cstring>

#include "porthop/net/offload.hpp"
#include "porthop/wire/hoplink.hpp"
#include "server_impl.hpp"
#include "tcp_connection.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using boost::system::error_code;

static_assert(hop::FrameCodec::kMaxHead <= net::SendItem::kMaxHead, "a data frame's header fits a SendItem");

Server::Impl::Impl(asio::io_context& io, ServerOptions options, Shared& shared, std::uint32_t worker)
    : io_(io),
      opt_(std::move(options)),
      sessions_(opt_.max_sessions),
      // The receive batch and the buffer a datagram handed by another worker lands in: TCP
      // queues copy what they send (frame_queue.hpp), so nothing else holds a pool buffer.
      pool_(opt_.max_datagram, net::kMaxBatch + 1),
      batch_(*opt_.syscalls),
      shared_(shared),
      worker_(worker),
      backend_(opt_.backend.to_udp()),
      sweep_timer_(io),
      guard_(guard_config(opt_), counters_),
      listeners_(io, net::ReuseportGroup{worker, shared.workers}, *this) {
    for (auto& buffer : rx_) buffer = pool_.get();
    if (opt_.hop_keys)
        codec_.emplace(*opt_.hop_keys, hop::FrameCodec::Side::server, hop::v2::Sealing::asking(opt_.mask));
    batch_.set_offload_counters({&counters_.offload_gso_datagrams, &counters_.offload_gso_messages,
                                 &counters_.offload_gro_datagrams, &counters_.offload_gro_messages,
                                 &counters_.offload_gso_fallbacks, &counters_.offload_gro_fallbacks});
}

void Server::Impl::set_sweep_interval() {
    // Expiry is checked a few times per idle_timeout, at most once a second.
    sweep_interval_ = std::clamp<std::chrono::milliseconds>(
        opt_.idle_timeout / 4, std::chrono::milliseconds{50}, std::chrono::seconds{1});
}

std::span<net::ReceiveSlot> Server::Impl::receive_slots() {
    for (std::size_t i = 0; i < rx_.size(); ++i) {
        slots_[i].data = rx_[i]->payload();
        slots_[i].capacity = rx_[i]->payload_capacity();
    }
    return {slots_.data(), rx_.size()};
}

// ---- client -> backend -------------------------------------------------------------------

void Server::Impl::arm_udp(const std::shared_ptr<UdpListener>& listener) {
    listener->socket.async_wait(asio::socket_base::wait_read, [this, listener](const error_code& ec) {
        if (ec || listener->closed) return;  // closed by stop or reload
        on_udp_readable(listener);
    });
}

void Server::Impl::on_udp_readable(const std::shared_ptr<UdpListener>& shared) {
    UdpListener& listener = *shared;
    const auto now = Clock::now();
    const int fd = listener.socket.native_handle();
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        const auto received = batch_.receive(fd, receive_slots());
        if (received.error) {
            warn_limited(warn_socket_, [&] {
                return std::string("receive on udp " + listener.bound.to_string() +
                                   " failed: " + std::strerror(received.error));
            });
            break;
        }
        if (received.count == 0) {
            arm_udp(shared);  // drained: wait for the next edge
            return;
        }
        Session* run = nullptr;  // consecutive datagrams of one session go out in one sendmmsg
        std::size_t run_length = 0;
        // A GRO-coalesced buffer holds several datagrams of one client: each is handled on its own.
        for (const net::ReceiveSlot& slot : net::datagrams({slots_.data(), received.count})) {
            if (slot.truncated) {
                Counters::add(counters_.drop_truncated);
                warn_limited(warn_input_, [&] {
                    return std::string("dropped a datagram from " + slot.peer.to_string() +
                                       " larger than max_datagram (" + std::to_string(opt_.max_datagram) +
                                       ")");
                });
                continue;
            }
            const Admitted admitted = admit_udp(listener, slot, now, false);
            if (admitted.attach) {
                // Never forwarded: hop-link control frames are checked, answered or dropped. An
                // attach may close a session, so the run goes out first.
                if (run) forward_to_backend(*run, {items_.data(), run_length});
                run = nullptr;
                run_length = 0;
                on_udp_attach(listener, slot, admitted.payload, now);
                continue;
            }
            Session* session = admitted.session;
            if (!session) continue;
            if (session != run || run_length == items_.size()) {
                if (run) forward_to_backend(*run, {items_.data(), run_length});
                run = session;
                run_length = 0;
            }
            items_[run_length++] = net::SendItem{admitted.payload.data(), admitted.payload.size(), nullptr, nullptr};
        }
        if (run) forward_to_backend(*run, {items_.data(), run_length});
        if (received.count < rx_.size()) {
            arm_udp(shared);
            return;
        }
    }
    // Still busy: let other sockets run, then continue draining (edge-triggered: we must).
    asio::post(io_, [this, shared] {
        if (!shared->closed) on_udp_readable(shared);
    });
}

Server::Impl::Admitted Server::Impl::admit_udp(UdpListener& listener, const net::ReceiveSlot& slot,
                                               Clock::time_point now, bool handed) {
    Session* session = sessions_.find_udp(UdpKey{listener.id, slot.peer});
    const auto flow = !session ? hop::Flow::unknown : session->agent ? hop::Flow::agent : hop::Flow::native;
    const hop::Ingress in = hop::decide(ingress_codec(), flow, {slot.data, slot.length});
    switch (in.route) {
        case hop::Route::drop:
            count_ingress_drop(in.drop);
            return {};
        case hop::Route::attach:
            return {nullptr, in.bytes, true};
        case hop::Route::stray_data:
            // An agent's data frame from an address this worker has no session for: its session
            // may be another worker's (the agent's address changed). Native datagrams are asked
            // about after the protocol checks (admit_native_udp), so that a flood of junk costs
            // no lookups. Owned by nobody: it is judged as what it claims not to be, native.
            if (!handed && multi_worker())
                if (auto to = other_owner(FlowKey{listener.bound, slot.peer})) {
                    hand_off(*to, listener, slot, {slot.data, slot.length});
                    return {};
                }
            [[fallthrough]];
        case hop::Route::native:
            session = admit_native_udp(listener, slot, in.bytes, session, now, handed);
            if (!session) return {};
            break;
        case hop::Route::agent_data:
            agent_links_.note_udp_data(*session, listener, slot);
            break;
    }
    session->last_from_client = now;
    // Replies leave from where the client sent to, if this is its path: an agent's data has
    // just made it so (note_udp_data); a native datagram that reached its session by roaming
    // without moving it (a straggler from the old address) must not change where they leave from.
    session->path.note_local(listener, slot.peer, slot.local);
    return {session, in.bytes, false};
}

void Server::Impl::count_ingress_drop(hop::Drop drop) noexcept {
    switch (drop) {
        case hop::Drop::none: return;
        case hop::Drop::empty: Counters::add(counters_.drop_empty); return;
        case hop::Drop::not_data: Counters::add(counters_.drop_agent_frame); return;
    }
}

// Every datagram forwarded is counted three times over: for the whole server, for its
// listener and for its session (the close log line). One place does it for each direction.
void Server::Impl::account_to_backend(Session& session, std::uint64_t packets, std::uint64_t bytes) {
    Counters::add(counters_.to_backend_packets, packets);
    Counters::add(counters_.to_backend_bytes, bytes);
    Counters::add(session.path.stats()->from_client_packets, packets);
    Counters::add(session.path.stats()->from_client_bytes, bytes);
    session.from_client_packets += packets;
    session.from_client_bytes += bytes;
}

void Server::Impl::account_to_client(Session& session, std::uint64_t packets, std::uint64_t bytes) {
    Counters::add(counters_.to_client_packets, packets);
    Counters::add(counters_.to_client_bytes, bytes);
    Counters::add(session.path.stats()->to_client_packets, packets);
    Counters::add(session.path.stats()->to_client_bytes, bytes);
    session.to_client_packets += packets;
    session.to_client_bytes += bytes;
}

void Server::Impl::count_tcp_push(const TcpConnection& connection, FrameQueue::Push pushed) noexcept {
    switch (pushed) {
        case FrameQueue::Push::queued: return;
        case FrameQueue::Push::closed: Counters::add(counters_.drop_send_to_client); return;
        case FrameQueue::Push::spent: Counters::add(counters_.drop_tcp_rotate_bytes); return;  // the agent moves on
        case FrameQueue::Push::too_slow: Counters::add(counters_.drop_tcp_backlog); break;
        case FrameQueue::Push::over_budget: Counters::add(counters_.drop_tcp_queue_memory); break;
    }
    warn_limited(warn_tcp_slow_, [&] {
        return std::string("TCP client ") + connection.peer().to_string() + " reads too slowly: dropping replies (" +
               (pushed == FrameQueue::Push::too_slow
                    ? "its queue is full, " + std::to_string(FrameQueue::kMaxBytes / 1024) + " KiB"
                    : "the worker's TCP queues hold " + std::to_string(tcp_budget_.limit >> 20) + " MiB") +
               ")";
    });
}

std::size_t Server::Impl::forward_to_backend(Session& session, std::span<const net::SendItem> items,
                                             bool hold_when_full) {
    const auto result = batch_.send(session.upstream.native_handle(), items);
    account_to_backend(session, result.sent, result.sent_bytes);
    const std::size_t held = (hold_when_full && result.full) ? items.size() - result.stopped_at : 0;
    const std::size_t dropped = result.failed - held;
    if (dropped) {
        Counters::add(counters_.drop_send_to_backend, dropped);
        warn_limited(warn_backend_, [&] {
            return std::string("sending to backend " + opt_.backend.to_string() +
                               " failed: " + std::strerror(result.error) +
                               (result.error == ECONNREFUSED ? " (is the VPN server running?)" : ""));
        });
    }
    return items.size() - held;
}

std::optional<asio::ip::udp::socket> Server::Impl::open_upstream(const net::Endpoint* bind_to) {
    asio::ip::udp::socket socket(io_);
    error_code ec;
    socket.open(backend_.protocol(), ec);
    if (!ec && bind_to) socket.bind(bind_to->to_udp(), ec);  // a restored session's old port
    // connect() fixes the peer (only the backend's datagrams are accepted) and the local port,
    // which is this client's stable identity at the backend.
    if (!ec) socket.connect(backend_, ec);
    if (!ec) socket.non_blocking(true, ec);
    if (ec) {
        Counters::add(counters_.drop_socket_error);
        warn_limited(warn_socket_, [&] {
            return std::string("cannot open a socket to the backend: " + ec.message() +
                               (ec.value() == EMFILE ? " (open-file limit reached)" : ""));
        });
        return std::nullopt;
    }
    // The backend's bursts may then arrive coalesced (a local wireguard-go sends with GSO).
    batch_.enable_gro(socket.native_handle(), pool_.payload_capacity());
    return socket;
}

void Server::Impl::log_opened(const Session& s, const char* note) {
    error_code ec;
    base::log(s.provisional ? base::LogLevel::debug : base::LogLevel::info,
             "session " + std::to_string(s.id) + " opened: udp " + s.path.client().to_string() + " -> port " +
                 (s.path.listener() ? std::to_string(s.path.listener()->bound.port()) : std::string("?")) + ", backend sees " +
                 net::Endpoint::from_asio(s.upstream.local_endpoint(ec)).to_string() + note);
}

SessionPtr Server::Impl::open_session(const UdpKey* key, Clock::time_point now, const std::function<std::string()>& refused,
                                      const net::Endpoint* bind_to, const std::function<bool()>& admit) {
    if (!reserve_or_evict()) {
        Counters::add(counters_.drop_session_limit);
        warn_limited(warn_session_limit_, [&] {
            return "session limit (max_sessions = " + std::to_string(opt_.max_sessions) + ") reached: " + refused();
        });
        return nullptr;
    }
    if (admit && !admit()) {
        unreserve_session();
        return nullptr;
    }
    auto upstream = open_upstream(bind_to);
    if (!upstream) {
        unreserve_session();
        return nullptr;
    }
    auto session = std::make_shared<Session>(new_session_id(), std::move(*upstream));
    session->opened = session->last_from_client = now;
    // The table's own limit follows max_sessions, which the reservation above already holds;
    // a refusal here would be a bug, but it must not leak the slot or the socket.
    if (!sessions_.insert(session, key)) {
        unreserve_session();
        Counters::add(counters_.drop_session_limit);
        return nullptr;
    }
    Counters::add(counters_.sessions_opened);
    arm_upstream(session);
    return session;
}

Session* Server::Impl::open_udp_session(UdpListener& listener, const net::ReceiveSlot& slot,
                                        Clock::time_point now, bool provisional, const net::Endpoint* bind_to) {
    const UdpKey key{listener.id, slot.peer};
    auto session = open_session(&key, now, [&] { return "dropping datagrams from new clients such as " + slot.peer.to_string(); },
                                bind_to);
    if (!session) return nullptr;
    session->path.open_udp(listener, slot.peer, slot.local, listener.stats);
    note_flow(*session, listener, slot.peer);
    // A provisional session is logged when the backend answers it (a flood of forgeries must
    // not become a flood of log lines); until then only at debug level.
    if (bind_to)
        log_opened(*session, " (restored: the session the previous process had)");
    else if (!provisional || base::log_level() == base::LogLevel::debug)
        log_opened(*session, provisional ? " (provisional: not a handshake)" : "");
    return session.get();
}

std::vector<SavedSession> Server::Impl::saved_sessions() const {
    std::vector<SavedSession> out;
    sessions_.for_each([&](const Session& s) {
        // Native UDP sessions: an agent re-attaches by itself, a TCP connection is gone anyway.
        if (s.closed || s.agent || s.path.via() != Via::udp || s.provisional) return;
        error_code ec;
        const auto upstream = s.upstream.local_endpoint(ec);
        if (ec) return;
        out.push_back(SavedSession{s.path.listener()->bound, s.path.client(), s.path.local(),
                                   net::Endpoint::from_asio(upstream),
                                   s.native.validated, s.native.amplification, s.native.opened_by_data,
                                   s.native.roamed});
    });
    return out;
}

bool Server::Impl::restore(const SavedSession& saved) {
    const auto* listener = listeners_.udp_at(saved.listener);
    if (!listener || sessions_.find_udp(UdpKey{(*listener)->id, saved.client})) return false;
    net::ReceiveSlot slot;
    slot.peer = saved.client;
    slot.local = saved.local;
    const auto now = Clock::now();
    Session* s = open_udp_session(**listener, slot, now, false, &saved.upstream);
    if (!s) return false;
    s->source = guard_.restore_source(saved.client, now);  // best effort: it was admitted before
    s->native.validated = saved.validated;
    s->native.amplification = saved.amplification;
    s->native.opened_by_data = saved.opened_by_data;
    s->native.roamed = saved.roamed;
    return true;
}

// ---- backend -> client -------------------------------------------------------------------

void Server::Impl::arm_upstream(const SessionPtr& session) {
    session->upstream.async_wait(asio::socket_base::wait_read, [this, session](const error_code& ec) {
        if (ec || session->closed) return;
        on_upstream_readable(session);
    });
}

void Server::Impl::on_upstream_readable(const SessionPtr& session) {
    Session& s = *session;
    const int fd = s.upstream.native_handle();
    const auto now = Clock::now();
    bool only_errors = true;
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        const auto received = batch_.receive(fd, receive_slots());
        if (received.error) {
            // ICMP port unreachable from the backend surfaces here as ECONNREFUSED. Reading
            // consumes the error; datagrams may still be queued behind it, so try again.
            Counters::add(counters_.backend_errors);
            warn_limited(warn_backend_, [&] {
                return std::string("backend " + opt_.backend.to_string() + ": " +
                                   std::strerror(received.error) +
                                   (received.error == ECONNREFUSED ? " (is the VPN server running?)" : ""));
            });
            continue;
        }
        only_errors = false;
        if (received.count == 0) {
            arm_upstream(session);
            return;
        }
        // One bulk padding per batch: equal datagrams stay equal, so GSO still coalesces them.
        if (s.agent && codec()) codec()->begin_burst();
        std::size_t n = 0;
        std::uint64_t pending = 0;  // bytes in items_ for the client (the amplification cap)
        const auto flush = [&] {
            if (n > 0 && s.path.listener()) {
                const auto result = batch_.send(s.path.listener()->socket.native_handle(), {items_.data(), n});
                // Payload bytes, as on every other path: a hop-link header is not the client's data.
                account_to_client(s, result.sent, result.sent_bytes - result.head_bytes);
                if (result.failed) Counters::add(counters_.drop_send_to_client, result.failed);
            } else if (n > 0) {
                Counters::add(counters_.drop_send_to_client, n);  // an agent whose port was closed
            }
            n = 0;
            pending = 0;
        };
        for (std::size_t i = 0; i < received.count; ++i) {
            // A GRO-coalesced buffer holds several datagrams: each goes on its own.
            for (const net::ReceiveSlot& slot : net::datagrams(slots_[i])) {
                if (slot.truncated || slot.length == 0) {
                    Counters::add(slot.truncated ? counters_.drop_truncated : counters_.drop_empty);
                    continue;
                }
                if (n == items_.size()) flush();
                if (s.provisional) {
                    leave_provisional(s);  // the backend answers it: an ordinary session from now on
                    if (s.path.listener()) log_opened(s, " (answered by the backend: a client that sent no handshake here)");
                }
                if (!s.agent && !s.path.tcp() && !admit_to_client(s, {slot.data, slot.length}, pending, now)) continue;
                if (s.path.via() == Via::tcp) {
                    count_tcp_push(*s.path.tcp(), s.path.tcp()->enqueue({slot.data, slot.length}));
                    continue;
                }
                if (s.agent) {
                    // A hop-link data frame: its header goes out in front of the datagram, which
                    // stays where it is (GRO packs datagrams back to back: no room in front), and
                    // the padding after it (a handshake's, a new flow's first frames', or this
                    // batch's bulk padding), from this item's own tail buffer, cut so that the
                    // frame stays within max_datagram.
                    const std::size_t frame = slot.length + hop::FrameCodec::data_overhead();
                    if (frame > opt_.max_datagram) {
                        Counters::add(counters_.drop_truncated);
                        continue;
                    }
                    const std::size_t k = n++;
                    net::SendItem& item = items_[k];
                    item = net::SendItem{slot.data, slot.length, &s.path.client(), &s.path.local()};
                    const auto tail = std::span(tails_[k]).first(std::min(tails_[k].size(), opt_.max_datagram - frame));
                    const auto sealed = codec()->seal_data(std::span(item.head).first<hop::FrameCodec::kMaxHead>(),
                                                           {slot.data, slot.length}, tail,
                                                           s.agent->reply_opening.next(s.path.flow()));
                    item.head_length = sealed.head;
                    item.tail = tails_[k].data();
                    item.tail_length = sealed.tail;
                    continue;
                }
                items_[n++] = net::SendItem{slot.data, slot.length, &s.path.client(), &s.path.local()};
            }
        }
        flush();
        if (s.closed) return;
        if (received.count < rx_.size()) {
            arm_upstream(session);
            return;
        }
    }
    if (only_errors) {  // a persistent error must not turn into a busy loop
        arm_upstream(session);
        return;
    }
    asio::post(io_, [this, session] {
        if (!session->closed) on_upstream_readable(session);
    });
}

// ---- TCP ---------------------------------------------------------------------------------

bool Server::Impl::admit_tcp(const net::Endpoint& peer, const std::optional<SourceKey>& source) {
    if (opt_.tcp_per_source && source) {
        const auto it = tcp_sources_.find(*source);
        if (it != tcp_sources_.end() && it->second >= opt_.tcp_per_source) {
            Counters::add(counters_.drop_tcp_source);
            warn_limited(warn_tcp_limit_, [&] {
                return "TCP connections per source (tcp_connections_per_source = " +
                       std::to_string(opt_.tcp_per_source) + ") reached: closing " + peer.to_string();
            });
            return false;
        }
    }
    if (Shared::take(shared_.tcp_connections, opt_.max_tcp_connections)) return true;
    // Every slot is taken. The newcomer holds one beyond the limit while a pending connection
    // is evicted, so the evicted one's slot passes straight to it: given back to the shared
    // count first, another worker's accept could take it in between and leave this newcomer
    // (a real client, say) refused although an eviction was made for it.
    shared_.tcp_connections.fetch_add(1, std::memory_order_relaxed);
    if (evict_pending_tcp()) return true;
    shared_.tcp_connections.fetch_sub(1, std::memory_order_relaxed);
    Counters::add(counters_.drop_tcp_limit);
    warn_limited(warn_tcp_limit_, [&] {
        return "TCP connection limit (max_tcp_connections = " + std::to_string(opt_.max_tcp_connections) +
               ") reached: closing " + peer.to_string();
    });
    return false;
}

bool Server::Impl::evict_pending_tcp() {
    const auto now = Clock::now();
    std::size_t looked = 0;
    for (auto it = pending_tcp_.begin(); it != pending_tcp_.end() && looked < kEvictionScan;) {
        const auto candidate = it->lock();
        if (!candidate || !candidate->pending() || candidate->closed()) {
            it = pending_tcp_.erase(it);  // gone, or past its first frame: never a candidate again
            continue;
        }
        if (now - candidate->waiting_since() < kEvictionGrace)
            return false;  // this one (so every one behind it) is too new: refuse the newcomer instead
        ++looked;
        if (candidate->has_unread_input()) {  // it has sent; this worker has not read it yet
            ++it;
            continue;
        }
        pending_tcp_.erase(it);
        Counters::add(counters_.drop_tcp_evicted);
        warn_limited(warn_tcp_limit_, [&] {
            return "TCP connection limit (max_tcp_connections = " + std::to_string(opt_.max_tcp_connections) +
                   ") reached: closing " + candidate->peer().to_string() +
                   ", the connection that waited longest for its first frame";
        });
        candidate->close();
        return true;
    }
    return false;
}

void Server::Impl::enter_tcp_source(SourceKey source) { ++tcp_sources_[source]; }

void Server::Impl::leave_tcp_source(SourceKey source) noexcept {
    const auto it = tcp_sources_.find(source);
    if (it != tcp_sources_.end() && --it->second == 0) tcp_sources_.erase(it);
}

void Server::Impl::track_pending(const std::shared_ptr<PendingConnection>& connection) {
    if (pending_tcp_.size() >= prune_pending_at_) {
        std::erase_if(pending_tcp_, [](const std::weak_ptr<PendingConnection>& weak) {
            const auto c = weak.lock();
            return !c || !c->pending();
        });
        prune_pending_at_ = std::max<std::size_t>(64, pending_tcp_.size() * 2);
    }
    pending_tcp_.push_back(connection);
}

SessionPtr Server::Impl::open_tcp_session(TcpConnection& connection) {
    const auto now = Clock::now();
    std::optional<SourceKey> source;
    auto session = open_session(
        nullptr, now, [&] { return "closing TCP connection from " + connection.peer().to_string(); }, nullptr,
        [&] { return (source = acquire_source(connection.peer(), now)).has_value(); });
    if (!session) {
        if (source) guard_.release_source(*source, now);
        return nullptr;
    }
    session->source = source;
    session->path.open_tcp(connection, connection.peer(), connection.stats());
    error_code ec;
    base::log_info("session " + std::to_string(session->id) + " opened: tcp " + connection.peer().to_string() +
                  " -> port " + std::to_string(connection.port()) + ", backend sees " +
                  net::Endpoint::from_asio(session->upstream.local_endpoint(ec)).to_string());
    return session;
}

// ---- lifetime ----------------------------------------------------------------------------

void Server::Impl::close_session(Session& session, CloseReason reason) {
    if (session.closed) return;
    session.closed = true;
    error_code ignored;
    session.upstream.close(ignored);
    const bool was_tcp = session.path.chosen() == Via::tcp;
    if (TcpConnection* connection = session.path.close()) connection->close();
    Counters::add(counters_.sessions_closed);
    if (session.agent && opt_.hop_keys) {
        // Its attaches stay refused after it is gone (hop/replay_ledger.hpp).
        const auto f = forgotten(session, hop::unix_ms(opt_.wall_clock()), std::chrono::milliseconds{0});
        const std::lock_guard lock(shared_.ledger_mutex);
        shared_.ledger.remember(f);
    }
    const bool was_provisional = session.provisional;
    release_native(session, Clock::now());
    unreserve_session();
    if (multi_worker()) shared_.directory.erase_session(owner(session));
    const auto lived =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - session.opened).count();
    if (!was_provisional || base::log_level() == base::LogLevel::debug)
        base::log(was_provisional ? base::LogLevel::debug : base::LogLevel::info, "session " + std::to_string(session.id) + " closed (" + to_string(reason) +
                  "): " + (session.agent ? "agent, last via " : "") + (was_tcp ? "tcp " : "udp ") +
                  session.path.client().to_string() + " after " + std::to_string(lived) + " s, from client " +
                  std::to_string(session.from_client_packets) + " pkts/" +
                  std::to_string(session.from_client_bytes) + " B, to client " +
                  std::to_string(session.to_client_packets) + " pkts/" +
                  std::to_string(session.to_client_bytes) + " B");
    sessions_.erase(session.id);  // may free `session`: nothing after this line
}

void Server::Impl::arm_sweep() {
    sweep_timer_.expires_after(sweep_interval_);
    sweep_timer_.async_wait([this](const error_code& ec) {
        if (ec || stopped_) return;
        sweep();
        arm_sweep();
    });
}

void Server::Impl::sweep() {
    const auto now = Clock::now();
    std::vector<std::pair<std::uint64_t, CloseReason>> expired;
    sessions_.for_each([&](const Session& s) {
        if (s.last_from_client + opt_.idle_timeout <= now) expired.emplace_back(s.id, CloseReason::idle);
    });
    for (auto [id, reason] : expired)
        if (auto session = sessions_.get(id)) close_session(*session, reason);
    if (worker_ == 0 && opt_.hop_keys) {  // one worker keeps the ledger short
        const std::lock_guard lock(shared_.ledger_mutex);
        shared_.ledger.expire(hop::unix_ms(opt_.wall_clock()) / 1000);
    }
}

}  // namespace porthop::relay
