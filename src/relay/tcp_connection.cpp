#include "tcp_connection.hpp"

#include <algorithm>
#include <array>

#include "porthop/hop/ingress.hpp"
#include "porthop/wire/framing.hpp"
#include "porthop/wire/protocol.hpp"

namespace porthop::relay {

using Push = net::FrameQueue::Push;

void TcpConnection::start(std::optional<SourceKey> source, bool entered) {
    source_ = source;
    accepted_ = Session::Clock::now();
    host_.connection_started(shared_from_this(), entered ? std::nullopt : source_);
    // With a key, porthop agents may come: their records' lengths are masked.
    if (const hop::FrameCodec* codec = host_.codec())
        stream_->read_either(codec->read_lengths(), static_cast<const net::FrameReader::FirstRecord&>(*this),
                             hop::FrameCodec::kMaxControl);
    // Slowloris guard: the stream's first-frame deadline runs from here.
    stream_->start(shared_from_this());
}

bool TcpConnection::preload(std::span<const std::byte> bytes) { return stream_->preload(bytes); }

std::chrono::milliseconds TcpConnection::frame_timeout() const noexcept {
    return host_.options().first_frame_timeout;
}

bool TcpConnection::agent(std::span<const std::byte> payload) const noexcept {
    const hop::FrameCodec* codec = host_.codec();
    if (!codec || payload.size() > hop::FrameCodec::kMaxControl) return false;
    std::array<std::byte, hop::FrameCodec::kMaxControl> copy;
    std::copy(payload.begin(), payload.end(), copy.begin());
    return hop::decide(codec, hop::Flow::unknown, std::span(copy).first(payload.size())).route == hop::Route::attach;
}

bool TcpConnection::native(std::span<const std::byte> payload) const noexcept {
    const auto protocol = host_.options().protocol;
    const auto kind = wire::classify_native(payload, protocol);
    return wire::is_handshake(kind) && wire::carries(protocol, kind);
}

// ---- ingress: what a frame from the client is ----------------------------------------------
// The one place that classifies this connection's frames (the first frame's mode decision, then
// each frame by mode). `datagram` is set to what goes to the backend.
TcpConnection::Ingress TcpConnection::ingress(const net::Frame& frame, std::span<const std::byte>& datagram) {
    datagram = frame.payload;
    switch (mode_) {
        case Mode::pending:
            if (frame.payload.empty()) {  // not a VPN's first datagram, whatever the protocol
                reject("empty first frame");
                return Ingress::stop;
            }
            if (!decide(frame)) return Ingress::stop;
            return mode_ == Mode::agent ? Ingress::done : Ingress::forward;  // the attach itself goes nowhere
        case Mode::native:
            // A native client's stream carries only its VPN's frames: no codec is asked.
            return host_.admit_native_frame(frame.payload, peer_, Session::Clock::now()) ? Ingress::forward
                                                                                         : Ingress::done;
        case Mode::agent: {
            if (std::exchange(skip_attach_, false))
                return Ingress::done;  // judged by the worker it came from
            const auto in = hop::decide(host_.codec(), hop::Flow::agent, frame.payload);
            switch (in.route) {
                case hop::Route::attach:
                    host_.attach(*this, in.bytes, frame.payload.size(),
                                 session_.get());  // a keepalive; refused: dropped
                    return Ingress::done;
                case hop::Route::agent_data:
                    host_.note_agent_data(*session_, *this);
                    datagram = in.bytes;
                    return Ingress::forward;
                case hop::Route::drop:
                    Counters::add(in.drop == hop::Drop::empty ? host_.counters().drop_empty
                                                              : host_.counters().drop_agent_frame);
                    return Ingress::done;
                case hop::Route::stray_data:
                case hop::Route::native:
                    break;  // never on an agent flow (hop/ingress.hpp)
            }
            return Ingress::done;
        }
    }
    return Ingress::done;
}

// Decides the mode from the first frame; false when the connection was closed instead, or
// waits for another worker to judge its attach.
bool TcpConnection::decide(const net::Frame& first) {
    if (first.masked) return decide_agent(first);
    // A native client's first datagram is its VPN's handshake: an OpenVPN client's hard
    // reset (a tcp-client OpenVPN), or a WireGuard initiation (udp-over-tcp tools in front
    // of WireGuard). Anything else is refused where the port is not a blind relay: with a
    // hop-link key (the port must not answer probes) or a protocol set.
    const auto& opt = host_.options();
    const bool strict = opt.hop_keys || opt.protocol != wire::Protocol::any;
    if (strict && !native(first.payload)) {
        reject(opt.hop_keys ? "first frame is neither a hop-link attach nor a VPN handshake"
                            : "first frame is not a handshake of the listener's protocol");
        return false;
    }
    session_ = host_.open_native_session(*this, wire::classify_native(first.payload, opt.protocol), first.payload);
    if (!session_) {
        close();  // counted (a filter such as mac1, or a limit)
        return false;
    }
    mode_ = Mode::native;
    stream_->read_plain();  // a native client's records have their length in clear, all of them
    return true;
}

// A masked first record (a key is set): a porthop agent's attach, or nothing this port serves.
bool TcpConnection::decide_agent(const net::Frame& first) {
    const hop::FrameCodec* codec = host_.codec();  // null if a reload removed the key meanwhile
    const auto in = hop::decide(codec, hop::Flow::unknown, first.payload);
    if (!codec || in.route != hop::Route::attach) {
        reject("first frame is neither a hop-link attach nor a VPN handshake");
        return false;
    }
    // Whatever comes next on this connection is the agent's: masked both ways from here (the
    // ack is queued during attach()).
    stream_->read_masked(codec->read_lengths());
    stream_->write_masked(codec->sent_lengths());
    // A porthop client whose address changed may connect to another worker than the one
    // holding its session: that worker judges the attach and, if it accepts, hands the
    // session over. The frames stay held here until it answers (handed_over()). Asked
    // again only if the session moved on meanwhile (bounded): the held frame is masked
    // back, so that it opens again then.
    if (handovers_ < 2 && host_.hand_over_attach(*this, in.bytes, first.payload.size())) {
        ++handovers_;
        codec->restore(first.payload);
        stream_->hold(first.begin);
        return false;
    }
    session_ = host_.attach(*this, in.bytes, first.payload.size(), nullptr);
    if (!session_) {
        reject("hop-link attach refused");
        return false;
    }
    mode_ = Mode::agent;
    after_attach();
    return true;
}
// ---- end of ingress -------------------------------------------------------------------------

void TcpConnection::on_frame(const net::Frame& frame) {
    touched_ = true;
    std::span<const std::byte> datagram;
    if (ingress(frame, datagram) != Ingress::forward) return;
    if (datagram.empty()) {
        Counters::add(host_.counters().drop_empty);
        return;
    }
    starts_[batch_] = frame.begin;
    frames_[batch_] = frame.payload;  // opened in place if it is an agent's
    items_[batch_++] = net::SendItem{datagram.data(), datagram.size(), nullptr, nullptr};
    if (batch_ == items_.size()) flush();
}

void TcpConnection::on_frames_done() { flush(); }

void TcpConnection::after_attach() {
    // The agent moved here from a connection that had sent its budget: what was held for it
    // goes now, after the ack.
    if (const auto budget = host_.options().tcp_rotate_bytes; budget && host_.reply_codec()) drain_parked(budget);
}

void TcpConnection::flush() {
    const std::size_t batch = std::exchange(batch_, 0);
    const std::size_t done = batch ? host_.forward_to_backend(*session_, {items_.data(), batch}, true) : 0;
    if (session_ && std::exchange(touched_, false)) session_->last_from_client = Session::Clock::now();
    if (done < batch) {  // the backend socket is full: resume at the first frame not sent
        // An agent's frames were opened in place: the ones kept are delivered again, so they
        // are masked back to what came, to open again then.
        if (mode_ == Mode::agent)
            if (const hop::FrameCodec* codec = host_.codec())
                for (std::size_t k = done; k < batch; ++k) codec->restore(frames_[k]);
        stream_->hold(starts_[done]);
        host_.when_backend_writable(*session_, shared_from_this());
    }
}

void TcpConnection::backend_writable() {
    if (!closed_) stream_->resume();
}

void TcpConnection::handed_over(Handover result, SessionPtr session) {
    if (closed_) return;
    switch (result) {
        case Handover::moved:
            session_ = std::move(session);
            mode_ = Mode::agent;
            skip_attach_ = true;  // the held attach: accepted there, its ack queued here
            after_attach();
            break;
        case Handover::refused:
            reject("hop-link attach refused");
            return;
        case Handover::gone:
            break;  // the attach is judged here when it is delivered again
    }
    stream_->resume();
}

void TcpConnection::on_stream_end(net::StreamEnd why, const boost::system::error_code&) {
    switch (why) {
        case net::StreamEnd::closed_by_peer:
            end(CloseReason::tcp_closed);
            return;
        case net::StreamEnd::read_error:
        case net::StreamEnd::write_error:
            end(CloseReason::tcp_error);
            return;
        case net::StreamEnd::frame_too_short:
            Counters::add(host_.counters().drop_agent_frame);
            host_.warn_input([&] { return "closing TCP client " + peer_.to_string() + ": " + net::to_string(why); });
            end(CloseReason::tcp_error);
            return;
        case net::StreamEnd::frame_too_large: {
            // Nothing of this frame is forwarded; what came before it is (if it fits).
            if (const std::size_t batch = std::exchange(batch_, 0))
                host_.forward_to_backend(*session_, {items_.data(), batch}, false);
            Counters::add(host_.counters().drop_frame_too_large);
            host_.warn_input([&] {
                return "closing TCP client " + peer_.to_string() + ": frame longer than max_datagram (" +
                       std::to_string(host_.options().max_datagram) + ")";
            });
            end(CloseReason::frame_too_large);
            return;
        }
        case net::StreamEnd::frame_timeout:
            Counters::add(host_.counters().tcp_timeouts);
            host_.warn_input([&] {
                return "closing TCP connection from " + peer_.to_string() + ": no complete frame within " +
                       std::to_string(host_.options().first_frame_timeout.count()) + " ms";
            });
            if (mode_ == Mode::pending)
                close();
            else
                end(CloseReason::tcp_timeout);
            return;
    }
}

void TcpConnection::end(CloseReason reason) {
    if (mode_ == Mode::native && session_) {
        host_.close_session(*session_, reason);  // closes this connection too
        return;
    }
    if (mode_ == Mode::agent && session_) host_.detach(*session_, *this);
    close();
}

void TcpConnection::reject(const char* why) {
    // Not a byte back: to a prober this port behaves like a server that dropped a bad request.
    Counters::add(host_.counters().drop_tcp_rejected);
    host_.warn_input([&] { return "closing TCP connection from " + peer_.to_string() + ": " + why; });
    close();
}

Push TcpConnection::enqueue(std::span<std::byte> datagram) {
    if (mode_ != Mode::agent) return push_datagram(datagram, 0);
    if (!host_.reply_codec()) return Push::closed;  // set: an agent attached with a key
    const std::uint64_t budget = host_.options().tcp_rotate_bytes;
    // With a budget, replies parked while the agent moved go first, in order, as far as this
    // connection's budget goes; what does not fit waits for the next connection.
    if (budget && (!drain_parked(budget) || !fits(budget, datagram.size()))) return park(datagram);
    return push_datagram(datagram, budget);
}

bool TcpConnection::fits(std::uint64_t budget, std::size_t datagram) const noexcept {
    return sent_bytes_ + wire::kFrameHeaderSize + hop::FrameCodec::kMaxHead + datagram <= budget;
}

Push TcpConnection::push_datagram(std::span<std::byte> datagram, std::uint64_t budget) {
    std::array<std::byte, hop::FrameCodec::kMaxHead> head{};
    std::array<std::byte, hop::FrameCodec::kMaxTail> tail;  // written only as far as it is sent
    hop::FrameCodec::Sealed sealed;
    if (mode_ == Mode::agent) {
        // Padding never takes the record past the budget (fits() left room for the head).
        std::size_t room = tail.size();
        if (budget)
            room = std::min<std::uint64_t>(room, budget - sent_bytes_ - wire::kFrameHeaderSize -
                                                     hop::FrameCodec::kMaxHead - datagram.size());
        sealed = host_.reply_codec()->seal_data(head, datagram, std::span(tail).first(room),
                                                session_->agent->reply_opening.next(session_->path.flow()));
    }
    const auto pushed = stream_->push({head.data(), sealed.head}, datagram, {tail.data(), sealed.tail});
    if (pushed == Push::queued) {
        sent_bytes_ += wire::kFrameHeaderSize + sealed.head + datagram.size() + sealed.tail;
        // Counted when accepted for sending, like a datagram handed to the kernel on UDP.
        host_.account_to_client(*session_, 1, datagram.size());
    }
    return pushed;
}

Push TcpConnection::park(std::span<const std::byte> datagram) {
    auto& parked = session_->agent->parked_replies;
    if (parked.size() + wire::kFrameHeaderSize + datagram.size() > AgentLink::kMaxParkedReplies) return Push::spent;
    // Kept as stream frames (u16 length, datagram): the framing's own header and split.
    std::array<std::byte, wire::kFrameHeaderSize> header{};
    wire::write_frame_header(header, static_cast<std::uint16_t>(datagram.size()));
    parked.insert(parked.end(), header.begin(), header.end());
    parked.insert(parked.end(), datagram.begin(), datagram.end());
    return Push::queued;  // sent (and counted) on the agent's next connection
}

bool TcpConnection::drain_parked(std::uint64_t budget) {
    auto& parked = session_->agent->parked_replies;
    std::size_t at = 0;
    while (at < parked.size()) {
        const auto frame = wire::split_frame(std::span(parked).subspan(at), wire::kMaxFrameLength);
        if (frame.status != wire::FrameStatus::complete || !fits(budget, frame.payload.size())) break;
        // Mutable: the datagram is sealed in place, as any reply.
        const auto pushed =
            push_datagram(std::span(parked).subspan(at + wire::kFrameHeaderSize, frame.payload.size()), budget);
        if (pushed != Push::queued) Counters::add(host_.counters().drop_tcp_backlog);  // lost, as a reply the queue refuses
        at += frame.consumed;
    }
    parked.erase(parked.begin(), parked.begin() + static_cast<std::ptrdiff_t>(at));
    return parked.empty();
}

std::size_t drop_parked_replies(AgentLink& agent) noexcept {
    std::size_t dropped = 0;
    std::span<const std::byte> rest(agent.parked_replies);
    for (;;) {
        const auto frame = wire::split_frame(rest, wire::kMaxFrameLength);
        if (frame.status != wire::FrameStatus::complete) break;
        ++dropped;
        rest = rest.subspan(frame.consumed);
    }
    std::vector<std::byte>().swap(agent.parked_replies);  // the memory too, not only the bytes
    return dropped;
}

Push TcpConnection::enqueue_control(std::span<const std::byte> frame) { return stream_->push({}, frame); }

void TcpConnection::close() {
    if (closed_) return;
    closed_ = true;
    stream_->close();
    host_.connection_closed(std::exchange(source_, std::nullopt));
}

}  // namespace porthop::relay
