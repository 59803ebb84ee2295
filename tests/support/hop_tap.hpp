// A UDP hop on loopback between an agent and a relay that passes every frame on unchanged and
// reads a copy of each with the key: how the bulk data went each way (light or full), which
// frames carried flag bit 2 ("asks for full mode"), and the relay's control frames as they
// were sent. A test can also send a frame of its own to the agent, as if from the relay.
//
//   auto& relay = start_relay(options);            // one UDP port
//   HopTap tap(options.udp_ports.front(), crypto::derive_hop_keys(key));
//   auto agent_options = agent_for(options, key);
//   agent_options.udp_ports = {tap.port()};        // the agent talks to the tap
//
// The agent accepts the tap's frames: they come from the server's address (loopback) and from
// a port in its own list.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/frame_codec_v2.hpp"

namespace porthop::test {

class HopTap {
public:
    // What one direction carried since the start (or the last clear()).
    struct Seen {
        std::size_t light = 0, full = 0;  // data frames of VPN bulk data, by the mode they were sealed in
        std::size_t asking = 0;           // frames of any kind with flag bit 2
        std::size_t frames = 0;           // frames that opened
    };

    HopTap(std::uint16_t relay_port, const crypto::HopKeys& keys)
        : front_(::socket(AF_INET, SOCK_DGRAM, 0)),
          back_(::socket(AF_INET, SOCK_DGRAM, 0)),
          from_agent_(keys, hop::v2::Side::server),
          from_relay_(keys, hop::v2::Side::agent) {
        socklen_t len;
        auto any = loopback(false, 0, len);
        ::bind(front_.get(), reinterpret_cast<sockaddr*>(&any), len);
        sockaddr_storage bound{};
        socklen_t blen = sizeof bound;
        ::getsockname(front_.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
        port_ = net::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), blen).port();
        auto relay = loopback(false, relay_port, len);
        ::connect(back_.get(), reinterpret_cast<sockaddr*>(&relay), len);
        thread_ = std::thread([this] { run(); });
    }
    ~HopTap() {
        stop_ = true;
        thread_.join();
    }
    HopTap(const HopTap&) = delete;
    HopTap& operator=(const HopTap&) = delete;

    // The port the agent sends to.
    std::uint16_t port() const { return port_; }

    Seen up() {  // agent -> relay
        std::lock_guard lock(mutex_);
        return up_;
    }
    Seen down() {  // relay -> agent
        std::lock_guard lock(mutex_);
        return down_;
    }
    void clear() {
        std::lock_guard lock(mutex_);
        up_ = down_ = Seen{};
    }
    // The relay's control frames (acks), as they were on the wire.
    std::vector<Bytes> acks() {
        std::lock_guard lock(mutex_);
        return acks_;
    }
    // Sends `frame` to the agent from the tap's port (once the agent has sent something).
    bool to_agent(const Bytes& frame) {
        std::lock_guard lock(mutex_);
        if (agent_len_ == 0) return false;
        return ::sendto(front_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&agent_),
                        agent_len_) == static_cast<ssize_t>(frame.size());
    }

private:
    void run() {
        Bytes buf(70000);
        while (!stop_) {
            pollfd p[2] = {{front_.get(), POLLIN, 0}, {back_.get(), POLLIN, 0}};
            if (::poll(p, 2, 20) <= 0) continue;
            if (p[0].revents & POLLIN) {
                sockaddr_storage from{};
                socklen_t len = sizeof from;
                const auto n = ::recvfrom(front_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
                if (n >= 0) {
                    const Bytes frame(buf.begin(), buf.begin() + n);
                    {
                        std::lock_guard lock(mutex_);
                        agent_ = from;
                        agent_len_ = len;
                    }
                    note(frame, from_agent_, up_, false);
                    ::send(back_.get(), frame.data(), frame.size(), 0);
                }
            }
            if (p[1].revents & POLLIN) {
                const auto n = ::recv(back_.get(), buf.data(), buf.size(), 0);
                if (n >= 0) {
                    const Bytes frame(buf.begin(), buf.begin() + n);
                    note(frame, from_relay_, down_, true);
                    std::lock_guard lock(mutex_);
                    ::sendto(front_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&agent_),
                             agent_len_);
                }
            }
        }
    }

    // Opens a copy of `frame` (the original goes on as it came) and counts what it was.
    void note(const Bytes& frame, const hop::FrameCodecV2& codec, Seen& seen, bool keep_control) {
        Bytes copy = frame;
        const auto opened = codec.open(copy);
        if (opened.kind == wire::hop::Kind::other) return;
        std::lock_guard lock(mutex_);
        ++seen.frames;
        if (opened.ask_full) ++seen.asking;
        if (opened.kind == wire::hop::Kind::control) {
            if (keep_control) acks_.push_back(frame);
        } else if (hop::FrameCodecV2::is_bulk(opened.body)) {
            ++(opened.mode == hop::v2::Mode::full ? seen.full : seen.light);
        }
    }

    Fd front_;  // the agent's side
    Fd back_;   // connected to the relay's port
    std::uint16_t port_ = 0;
    hop::FrameCodecV2 from_agent_;
    hop::FrameCodecV2 from_relay_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    sockaddr_storage agent_{};
    socklen_t agent_len_ = 0;
    Seen up_, down_;
    std::vector<Bytes> acks_;
    std::thread thread_;
};

}  // namespace porthop::test
