// The client agent's event loop: local VPN client <-> hop link. The path manager decides, this
// file carries out: attaches, acks, data frames, the TCP path, and the log line per change.
#include "porthop/relay/agent.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>

#include "agent_tcp.hpp"
#include "porthop/base/log.hpp"
#include "porthop/crypto/hop_auth.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/attach_check.hpp"
#include "porthop/hop/flow_padding.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/hop/replay_ledger.hpp"
#include "porthop/net/offload.hpp"
#include "porthop/net/packet_pool.hpp"

namespace porthop::relay {

namespace asio = boost::asio;
using boost::system::error_code;
namespace hopw = wire::hop;

class Agent::Impl final : public AgentTcpPath::Handler {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr int kBatchesPerWakeup = 4;
    static constexpr std::size_t kSentRing = 64;  // attaches remembered for round-trip times

    Impl(asio::io_context& io, AgentOptions options)
        : io_(io),
          opt_(std::move(options)),
          keys_(crypto::derive_hop_keys(opt_.key)),
          codec_(keys_, hop::FrameCodec::Side::agent),
          schedule_(keys_.schedule, opt_.udp_ports),
          paths_(schedule_, opt_.tcp_port, opt_.timers, crypto::random_nonzero_u64()),
          pool_(opt_.max_datagram, net::kMaxBatch),  // the receive batch; the TCP path copies
          batch_(*opt_.syscalls),
          local_(io),
          remote_(io),
          timer_(io) {
        for (auto& buffer : rx_) buffer = pool_.get();
    }

    std::optional<std::string> start() {
        if (!crypto::init_sodium()) return std::string("libsodium cannot initialise");
        error_code ec;
        const auto local = opt_.listen.to_udp();
        local_.open(local.protocol(), ec);
        if (!ec) local_.bind(local, ec);
        if (!ec) local_.non_blocking(true, ec);
        if (ec) return "cannot listen on udp " + opt_.listen.to_string() + ": " + ec.message();
        remote_.open(opt_.server.is_v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
        if (!ec) remote_.non_blocking(true, ec);
        if (ec) return "cannot open a UDP socket towards the server: " + ec.message();
        // Bursts may then arrive coalesced (a local wireguard-go sends with GSO); refused: just off.
        batch_.enable_gro(local_.native_handle(), pool_.payload_capacity());
        batch_.enable_gro(remote_.native_handle(), pool_.payload_capacity());
        // A random, non-zero id: the server finds this session by it on every path.
        session_id_ = crypto::random_nonzero_u64();
        arm(local_, &Impl::on_local_readable);
        arm(remote_, &Impl::on_remote_readable);
        drive();
        return std::nullopt;
    }

    void stop() {
        if (stopped_) return;
        stopped_ = true;
        timer_.cancel();
        error_code ignored;
        local_.close(ignored);
        remote_.close(ignored);
        close_tcp_paths();
    }

    AgentStatus status() const {
        AgentStatus s = counters_;
        const auto ps = paths_.status(Clock::now());
        s.path = hop::to_string(ps.active);
        s.hops = ps.hops;
        s.fallbacks = ps.fallbacks;
        s.climbs = ps.climbs;
        s.rtt_ms = ps.rtt.count() < 0 ? -1.0 : static_cast<double>(ps.rtt.count()) / 1000.0;
        s.dark_ports = ps.dark_ports;
        s.local_client = have_local_peer_ ? local_peer_.to_string() : std::string();
        s.session_id = session_id_;
        s.mask = hop::v2::to_string(codec_.sealing().bulk);
        s.port_silent = ps.blocking.port_silent;
        s.udp_silent = ps.blocking.udp_silent;
        s.tcp_no_answer = ps.blocking.tcp_no_answer;
        s.recoveries = ps.recoveries;
        // A path gone dark carries nothing while the next is looked for.
        if (ps.lost) s.path = "none";
        s.rung = ps.lost                                  ? "none"
                 : ps.active.kind == hop::Path::Kind::udp ? "udp"
                 : ps.active.kind == hop::Path::Kind::tcp ? (opt_.tls ? "tls" : "tcp")
                                                          : "none";
        return s;
    }

    net::Endpoint local_endpoint() const {
        error_code ec;
        return net::Endpoint::from_asio(local_.local_endpoint(ec));
    }

    // ---- AgentTcpPath::Handler ----
    // Three connections at most: tcp_ (the path the path manager knows), tcp_next_ (its
    // replacement being set up: hop/tcp_rotation.hpp) and tcp_old_ (a replaced one, read until
    // it closes, for what the server had already put on it).
    void on_tcp_up(AgentTcpPath& path) override {
        if (&path == tcp_next_.get()) {
            send_attach(hop::Path{hop::Path::Kind::tcp, opt_.tcp_port}, Clock::now(), &path);
            path.mark_attached();
            return;
        }
        if (&path != tcp_.get()) return;
        paths_.on_tcp_up(Clock::now());
        drive();
    }
    void on_tcp_frame(AgentTcpPath& path, std::span<std::byte> frame) override {
        // The server writes on a new connection only once it accepted its attach (the ack
        // comes first): the session's TCP path is that connection from then on.
        if (&path == tcp_next_.get()) promote_next();
        const hop::Path tcp{hop::Path::Kind::tcp, opt_.tcp_port};
        from_server(frame, tcp, Clock::now());
    }
    void on_tcp_frames_done(AgentTcpPath&) override {
        flush_to_local();
        drive();
    }
    void on_tcp_down(AgentTcpPath& path, const std::string& why, TcpEnd end) override {
        // A certificate the agent refuses is a setup problem the operator must see (a wrong
        // pin, an expired certificate): warned once per reason, not per retry.
        if (why.starts_with("TLS: ") && why != last_tls_warning_) {
            base::log_warn("tcp/" + std::to_string(opt_.tcp_port) + ": " + why);
            last_tls_warning_ = why;
        } else {
            base::log_debug("tcp/" + std::to_string(opt_.tcp_port) + ": " + why);
        }
        if (&path == tcp_next_.get()) {  // the replacement failed: the old one goes on, retried later
            count_failure(end);
            tcp_next_.reset();
            rotate_after_ = Clock::now() + opt_.rotation.stall;
            return;
        }
        if (&path == tcp_old_.get()) {
            tcp_old_.reset();
            return;
        }
        if (&path != tcp_.get()) return;
        // The server closes the connection an attach on the replacement superseded, which
        // may reach us before the replacement's ack: that is the move, not a failure.
        if (tcp_next_ && tcp_next_->attached()) {
            promote_next();
            return;
        }
        count_failure(end);
        tcp_.reset();
        paths_.on_tcp_down(Clock::now());
        drive();
    }

private:
    template <typename Socket>
    void arm(Socket& socket, void (Impl::*handler)()) {
        socket.async_wait(asio::socket_base::wait_read, [this, handler](const error_code& ec) {
            if (ec || stopped_) return;
            (this->*handler)();
        });
    }

    std::span<net::ReceiveSlot> receive_slots() {
        for (std::size_t i = 0; i < rx_.size(); ++i) {
            slots_[i].data = rx_[i]->payload();
            slots_[i].capacity = rx_[i]->payload_capacity();
        }
        return {slots_.data(), rx_.size()};
    }

    // Local VPN client -> server, on the active path.
    void on_local_readable() {
        const auto now = Clock::now();
        const hop::Path active = paths_.active();
        if (active.kind == hop::Path::Kind::udp && active.port != active_endpoint_.port())
            active_endpoint_ = net::Endpoint::from_asio(asio::ip::udp::endpoint(opt_.server, active.port));
        std::size_t sent = 0;
        bool drained = false;
        for (int round = 0; round < kBatchesPerWakeup && !drained; ++round) {
            const auto received = batch_.receive(local_.native_handle(), receive_slots());
            if (received.error) {
                base::log_debug(std::string("local receive: ") + std::strerror(received.error));
                break;
            }
            drained = received.count < rx_.size();
            codec_.begin_burst();  // one bulk padding per batch: equal datagrams stay equal (GSO)
            std::size_t n = 0;
            const auto flush = [&] {
                if (n == 0) return;
                const auto result = batch_.send(remote_.native_handle(), {items_.data(), n});
                count_to_server(result.sent, result.sent_bytes - result.head_bytes);
                counters_.dropped_send += result.failed;
                sent += result.sent;
                n = 0;
            };
            for (std::size_t i = 0; i < received.count; ++i) {
                // A GRO-coalesced buffer holds several datagrams: each goes on its own.
                for (const net::ReceiveSlot& slot : net::datagrams(slots_[i])) {
                    if (slot.truncated || slot.length == 0) continue;
                    // Replies go to whoever spoke last: the VPN client may restart on another port.
                    local_peer_ = slot.peer;
                    have_local_peer_ = true;
                    if (active.kind != hop::Path::Kind::none &&
                        slot.length + codec_.data_overhead() > opt_.max_datagram) {
                        ++counters_.dropped_send;  // no room for the frame's header
                        continue;
                    }
                    if (active.kind == hop::Path::Kind::udp) {
                        if (n == items_.size()) flush();
                        // The frame header goes out in front of the datagram, which stays in place
                        // (GRO packs datagrams back to back: no room in front of them), and the
                        // padding after it, from this item's own tail buffer (a handshake's, a new
                        // flow's first frames', or the light bulk padding of this batch).
                        const std::size_t k = n++;
                        net::SendItem& item = items_[k];
                        item = net::SendItem{slot.data, slot.length, &active_endpoint_, nullptr};
                        const auto sealed = codec_.seal_data(std::span(item.head).first<hop::FrameCodec::kMaxHead>(),
                                                             {slot.data, slot.length}, tail_room(k, slot.length),
                                                             opening_.next(flow_of(active)));
                        item.head_length = sealed.head;
                        item.tail = tails_[k].data();
                        item.tail_length = sealed.tail;
                    } else if (active.kind == hop::Path::Kind::tcp && tcp_ && tcp_->up()) {
                        std::array<std::byte, hop::FrameCodec::kMaxHead> head{};
                        const auto sealed = codec_.seal_data(head, {slot.data, slot.length}, tail_room(0, slot.length),
                                                             opening_.next(flow_of(active)));
                        if (tcp_->send_data({head.data(), sealed.head}, {slot.data, slot.length},
                                            {tails_[0].data(), sealed.tail})) {
                            count_to_server(1, slot.length);
                            ++sent;
                        } else {
                            ++counters_.dropped_send;
                        }
                    } else {
                        ++counters_.dropped_no_path;
                    }
                }
            }
            flush();
        }
        if (sent > 0) paths_.on_data_sent(now);
        if (drained) {
            arm(local_, &Impl::on_local_readable);
        } else {
            asio::post(io_, [this] {
                if (!stopped_) on_local_readable();
            });
        }
        drive();
    }

    // Server -> local VPN client (UDP paths).
    void on_remote_readable() {
        const auto now = Clock::now();
        bool drained = false;
        for (int round = 0; round < kBatchesPerWakeup && !drained; ++round) {
            const auto received = batch_.receive(remote_.native_handle(), receive_slots());
            if (received.error) {  // ICMP unreachable from a filtered port, typically
                base::log_debug(std::string("server receive: ") + std::strerror(received.error));
                continue;
            }
            drained = received.count < rx_.size();
            // A GRO-coalesced buffer holds several frames of one sender: each is handled on its own.
            for (const net::ReceiveSlot& slot : net::datagrams({slots_.data(), received.count})) {
                const auto from = slot.peer.to_udp();
                // Only the server's own ports speak for the server.
                if (slot.truncated || from.address() != opt_.server ||
                    !std::binary_search(schedule_.ports().begin(), schedule_.ports().end(), from.port())) {
                    ++counters_.rejected_frames;
                    continue;
                }
                from_server({slot.data, slot.length}, hop::Path{hop::Path::Kind::udp, from.port()}, now);
            }
            flush_to_local();
        }
        if (drained) {
            arm(remote_, &Impl::on_remote_readable);
        } else {
            asio::post(io_, [this] {
                if (!stopped_) on_remote_readable();
            });
        }
        drive();
    }

    // One frame from the server on `path`: an ack goes to the path manager, a data frame's
    // datagram is queued for the local client (flush_to_local sends the batch).
    void from_server(std::span<std::byte> frame, hop::Path path, Clock::time_point now) {
        const auto opened = codec_.open(frame);
        if (opened.kind == hopw::Kind::control) {
            const auto checked = hop::check_ack(keys_, opened.body, epoch(), session_id_, acks_);
            if (checked.verdict != hop::Verdict::accept) {
                ++counters_.rejected_frames;
                return;
            }
            // The server's mask setting (flag bit 2) is heeded here only, after the ack's tag,
            // epoch and replay checks: never from a data frame, which has no tag. The bit
            // itself is not covered by the tag (docs/PROTOCOL.md, "Mask setting").
            codec_.set_sealing({opened.ask_full ? hop::v2::Mode::full : hop::v2::Mode::light, false});
            const auto& sent = sent_[checked.control.echo % kSentRing];
            const auto rtt = sent.counter == checked.control.echo
                                 ? std::chrono::duration_cast<std::chrono::microseconds>(now - sent.at)
                                 : std::chrono::microseconds{-1};
            paths_.on_ack(now, path, rtt);
            return;
        }
        if (opened.kind != hopw::Kind::data || opened.body.empty()) {
            ++counters_.rejected_frames;
            return;
        }
        paths_.on_data_received(now, path);
        if (!have_local_peer_) {
            ++counters_.dropped_no_local;
            return;
        }
        if (out_count_ == out_.size()) flush_to_local();
        out_[out_count_++] = net::SendItem{opened.body.data(), opened.body.size(), &local_peer_, nullptr};
    }

    // The flow data on `path` goes in, for the first frames' padding (hop/flow_padding.hpp): a
    // UDP port, or the TCP connection (a new connection is a new flow on the same port).
    std::uint64_t flow_of(hop::Path path) const noexcept {
        return path.kind == hop::Path::Kind::tcp ? (std::uint64_t{1} << 32) + tcp_connections_ : path.port;
    }

    // Item k's padding buffer, no longer than what keeps a frame of a `length`-byte datagram
    // within max_datagram.
    std::span<std::byte> tail_room(std::size_t k, std::size_t length) noexcept {
        const std::size_t frame = length + codec_.data_overhead();
        const std::size_t room = opt_.max_datagram > frame ? opt_.max_datagram - frame : 0;
        return std::span(tails_[k]).first(std::min(room, tails_[k].size()));
    }

    void flush_to_local() {
        if (out_count_ == 0) return;
        const auto result = batch_.send(local_.native_handle(), {out_.data(), out_count_});
        counters_.from_server_packets += result.sent;
        counters_.from_server_bytes += result.sent_bytes;
        counters_.dropped_send += result.failed;
        out_count_ = 0;
    }

    void count_to_server(std::uint64_t packets, std::uint64_t bytes) {
        counters_.to_server_packets += packets;
        counters_.to_server_bytes += bytes;
    }

    std::uint64_t epoch() const { return hop::epoch_at(opt_.wall_clock(), opt_.hop_interval); }

    // Runs the path manager's timers and carries out what it asks for.
    void drive() {
        if (stopped_) return;
        const auto now = Clock::now();
        actions_.clear();
        const auto next = paths_.poll(now, epoch(), actions_);
        note_blocking();
        for (const auto& action : actions_) execute(action, now);
        maybe_rotate(now);
        // Re-arm only for an earlier deadline: the path manager's next wakeup moves later with
        // every packet, and re-arming per batch would cost a timer operation (and handler
        // memory) per batch. A timer that fires early just runs drive() and arms the right time.
        if (armed_for_ == Clock::time_point{} || next < armed_for_) {
            armed_for_ = next;
            timer_.expires_at(next);
            timer_.async_wait([this](const error_code& ec) {
                if (ec) return;
                armed_for_ = {};
                drive();
            });
        }
    }

    void execute(const hop::PathAction& action, Clock::time_point now) {
        using Kind = hop::PathAction::Kind;
        switch (action.kind) {
            case Kind::send_attach:
                send_attach(action.path, now);
                break;
            case Kind::connect_tcp:
                close_tcp_paths();
                tcp_ = make_tcp_path();
                ++tcp_connections_;
                tcp_->connect(asio::ip::tcp::endpoint(opt_.server, action.path.port));
                break;
            case Kind::close_tcp:
                close_tcp_paths();
                break;
            case Kind::switch_path:  // active() already says so; data follows it (on_local_readable)
                base::log_info("path: " + action.reason);
                note_change(action);
                break;
        }
    }

    // For /status: the recent changes, since when the path is in use, and since when UDP is
    // found silent (until a UDP path is in use again).
    void note_change(const hop::PathAction& action) {
        const double at = std::chrono::duration<double>(opt_.wall_clock().time_since_epoch()).count();
        auto& changes = counters_.recent_changes;
        if (changes.size() == AgentStatus::kRecentChanges) changes.erase(changes.begin());
        changes.push_back(AgentPathChange{at, hop::to_string(action.path), action.reason});
        counters_.path_since = at;
        if (action.path.kind == hop::Path::Kind::udp) counters_.udp_blocked_since = 0;
    }

    // What the path manager's last poll found (counted there), before its actions run (a dark
    // TCP path's connection is still tcp_ then): no UDP port answering (UDP is blocked from
    // now until a UDP path carries the tunnel again), or the TCP path silent (its connection
    // froze, unless a stalled rotation already counted it).
    void note_blocking() {
        const auto& seen = paths_.blocking();
        if (seen.udp_silent != blocking_seen_.udp_silent && counters_.udp_blocked_since == 0)
            counters_.udp_blocked_since = std::chrono::duration<double>(opt_.wall_clock().time_since_epoch()).count();
        if (seen.tcp_silent != blocking_seen_.tcp_silent && tcp_ && tcp_->first_freeze()) ++counters_.tcp_freeze;
        blocking_seen_ = seen;
        // Also a late answer from a UDP path given up on (no switch): UDP works.
        if (paths_.active().kind == hop::Path::Kind::udp && !paths_.lost()) counters_.udp_blocked_since = 0;
    }

    // A connection of the TCP path (or its replacement) that failed, as blocking: refused,
    // reset or unreachable; a TLS handshake that failed. Not the replaced ones' ends.
    void count_failure(TcpEnd end) {
        if (end == TcpEnd::refused || end == TcpEnd::reset) ++counters_.tcp_reset;
        if (end == TcpEnd::tls_failed) ++counters_.tls_failed;
    }

    // On `path`, or on TCP through `via` (a replacement connection) instead of tcp_.
    void send_attach(hop::Path path, Clock::time_point now, AgentTcpPath* via = nullptr) {
        // Its issued time never goes back (a clock stepped back keeps the last one): a server
        // that forgot this session (restart) reopens it only for attaches issued after it did.
        issued_ = std::max(issued_, hop::unix_ms(opt_.wall_clock()));
        const hopw::Control attach{hopw::Type::attach, session_id_, ++counter_, epoch(), issued_};
        const auto frame = codec_.seal_control(attach, frame_);
        sent_[counter_ % kSentRing] = Sent{counter_, now};
        if (path.kind == hop::Path::Kind::tcp) {
            AgentTcpPath* on = via ? via : tcp_.get();
            if (!on || !on->send_control(frame)) ++counters_.dropped_send;
            return;
        }
        const auto to = net::Endpoint::from_asio(asio::ip::udp::endpoint(opt_.server, path.port));
        const net::SendItem item{frame.data(), frame.size(), &to, nullptr};
        // A refused send (e.g. ICMP unreachable reported on the socket) is just an unanswered
        // attach: the path manager's timers handle it.
        batch_.send(remote_.native_handle(), {&item, 1});
    }

    // A replacement for the active TCP connection when it stalls or used its byte budget
    // (hop/tcp_rotation.hpp); the path manager goes on seeing one TCP path.
    void maybe_rotate(Clock::time_point now) {
        if (paths_.active().kind != hop::Path::Kind::tcp || !tcp_ || !tcp_->up() || tcp_next_ ||
            now < rotate_after_ || now < last_rotation_ + opt_.rotation.min_interval)
            return;
        const auto due = hop::rotation_due(opt_.rotation, tcp_->activity(), now);
        if (due == hop::Rotation::none) return;
        const auto& a = tcp_->activity();
        // A stall is news; a budget's rotation is routine (several a second under a freezing
        // censor): debug only, counted in tcp_rotations.
        (due == hop::Rotation::stalled ? base::log_info : base::log_debug)("path: tcp/" + std::to_string(opt_.tcp_port) +
                       (due == hop::Rotation::stalled
                            ? " silent for " + std::to_string((now - a.last_received) / std::chrono::milliseconds{1}) +
                                  " ms while waiting for an answer"
                            : " received " + std::to_string(a.received_bytes) + " bytes (tcp_rotate_bytes)") +
                       " -> a new connection");
        ++counters_.tcp_rotations;
        if (due == hop::Rotation::stalled) {
            if (tcp_->first_freeze()) ++counters_.tcp_freeze;
            counters_.last_freeze_bytes = a.received_bytes;
        }
        last_rotation_ = now;
        tcp_next_ = make_tcp_path();
        tcp_next_->connect(asio::ip::tcp::endpoint(opt_.server, opt_.tcp_port));
        // Not again before this one had its chance (it reports down if it fails).
        rotate_after_ = now + opt_.rotation.stall;
    }

    void promote_next() {
        rotate_after_ = {};  // the next one may come as soon as this one is due
        if (tcp_old_) tcp_old_->close();
        tcp_old_ = std::exchange(tcp_, std::exchange(tcp_next_, nullptr));
        ++tcp_connections_;  // a new flow for the first frames' padding
        // The old one may still bring what the server queued before it moved: read it a
        // little longer (a frozen one brings nothing and just closes then).
        old_timer_.expires_after(opt_.timers.tcp_linger);
        old_timer_.async_wait([this, old = std::weak_ptr<AgentTcpPath>(tcp_old_)](const error_code& ec) {
            if (ec) return;
            if (auto p = old.lock(); p && p == tcp_old_) {
                tcp_old_->close();
                tcp_old_.reset();
            }
        });
    }

    std::shared_ptr<AgentTcpPath> make_tcp_path() {
        return std::make_shared<AgentTcpPath>(
            io_, *this, opt_.max_datagram, codec_.sent_lengths(), codec_.read_lengths(),
            opt_.tls ? std::optional<TlsClient>(TlsClient{opt_.tls, opt_.tls_name}) : std::nullopt);
    }

    void close_tcp_paths() {
        for (auto* p : {&tcp_, &tcp_next_, &tcp_old_}) {
            if (*p) (*p)->close();
            p->reset();
        }
        old_timer_.cancel();
    }

    struct Sent {
        std::uint64_t counter = 0;
        Clock::time_point at{};
    };

    asio::io_context& io_;
    AgentOptions opt_;
    crypto::HopKeys keys_;
    hop::FrameCodec codec_;
    hop::PortSchedule schedule_;
    hop::PathManager paths_;
    net::PacketPool pool_;
    net::UdpBatch batch_;
    asio::ip::udp::socket local_;
    asio::ip::udp::socket remote_;
    asio::steady_timer timer_;
    Clock::time_point armed_for_{};
    std::shared_ptr<AgentTcpPath> tcp_;
    std::shared_ptr<AgentTcpPath> tcp_next_;
    std::shared_ptr<AgentTcpPath> tcp_old_;
    asio::steady_timer old_timer_{io_};
    Clock::time_point rotate_after_{};
    Clock::time_point last_rotation_{};
    std::string last_tls_warning_;
    hop::Blocking blocking_seen_;  // paths_.blocking() as note_blocking last saw it
    std::uint64_t tcp_connections_ = 0;  // connections made: names the TCP path's flow
    hop::FlowPadding opening_;           // the first data frames on each new flow
    std::vector<hop::PathAction> actions_;

    std::uint64_t session_id_ = 0;
    std::uint64_t counter_ = 0;
    std::uint64_t issued_ = 0;  // the last attach's issued time (unix ms)
    hop::ReplayWindow acks_;
    std::array<Sent, kSentRing> sent_{};
    std::array<std::byte, hop::FrameCodec::kMaxControl> frame_{};

    net::Endpoint local_peer_;
    bool have_local_peer_ = false;
    net::Endpoint active_endpoint_;
    AgentStatus counters_;
    bool stopped_ = false;

    std::array<std::unique_ptr<net::PacketBuffer>, net::kMaxBatch> rx_;
    std::array<net::ReceiveSlot, net::kMaxBatch> slots_;
    std::array<net::SendItem, net::kMaxBatch> items_;
    // The padding of items_[k] (FrameCodec::seal_data's tail); also the TCP path's, item 0.
    std::array<std::array<std::byte, hop::FrameCodec::kMaxTail>, net::kMaxBatch> tails_;
    std::array<net::SendItem, net::kMaxBatch> out_;
    std::size_t out_count_ = 0;
};

Agent::Agent(asio::io_context& io, AgentOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(options))) {}
Agent::~Agent() { impl_->stop(); }
std::optional<std::string> Agent::start() { return impl_->start(); }
void Agent::stop() { impl_->stop(); }
AgentStatus Agent::status() const { return impl_->status(); }
net::Endpoint Agent::local_endpoint() const { return impl_->local_endpoint(); }

}  // namespace porthop::relay
