// A UDP hop on loopback between an agent and a relay that passes every frame on unchanged and
// reads a copy of each with the key: how the bulk data went each way (light or full), which
// frames carried flag bit 2 ("asks for full mode"), and the relay's control frames as they
// were sent. A test can also send a frame of its own to the agent, as if from the relay.
//
//   auto& relay = start_relay(options);            // one UDP port, IPv4
//   HopTap tap(options.udp_ports.front(), crypto::derive_hop_keys(key));
//   auto agent_options = agent_for(options, key);
//   agent_options.udp_ports = {tap.port()};        // the agent talks to the tap
//
// The agent accepts the tap's frames: they come from the server's address (loopback) and from
// a port in its own list.
#pragma once

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
        : relay_port_(relay_port), from_agent_(keys, hop::v2::Side::server), from_relay_(keys, hop::v2::Side::agent) {
        thread_ = std::thread([this] { run(); });
    }
    ~HopTap() {
        stop_ = true;
        thread_.join();
    }
    HopTap(const HopTap&) = delete;
    HopTap& operator=(const HopTap&) = delete;

    // The port the agent sends to.
    std::uint16_t port() const { return front_.port(); }

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
    // Sends `frame` to the agent from the tap's port; false before the agent has sent anything.
    bool to_agent(const Bytes& frame) {
        const std::uint16_t agent = agent_port_;
        if (agent == 0) return false;
        front_.send_to(agent, frame);
        return true;
    }

private:
    void run() {
        while (!stop_) {
            if (auto got = front_.receive(1ms)) {
                agent_port_ = got->second;
                note(got->first, from_agent_, up_, false);
                back_.send_to(relay_port_, got->first);
            }
            if (auto got = back_.receive(1ms)) {
                note(got->first, from_relay_, down_, true);
                to_agent(got->first);
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

    UdpClient front_{false};  // the agent's side
    UdpClient back_{false};   // the relay's side
    std::uint16_t relay_port_;
    std::atomic<std::uint16_t> agent_port_{0};
    hop::FrameCodecV2 from_agent_;
    hop::FrameCodecV2 from_relay_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    Seen up_, down_;
    std::vector<Bytes> acks_;
    std::thread thread_;
};

}  // namespace porthop::test
