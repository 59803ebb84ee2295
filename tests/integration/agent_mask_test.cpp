// The server's `mask` setting end to end: a relay::Server with mask light or full, a
// relay::Agent, and a tap between them on the agent's UDP path (support/hop_tap.hpp) that
// reads every frame with the key. With "full" the relay seals its bulk data in full mode and
// sets flag bit 2 on every frame; the agent masks its own bulk data in full from the first ack
// that asks, and only from an ack whose checks passed: a data frame with the bit, or an ack
// that check_ack refuses, changes nothing.
#include <array>
#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "../support/agent_fixture.hpp"
#include "../support/hop_tap.hpp"
#include "porthop/crypto/hop_key.hpp"
#include "porthop/hop/frame_codec_v2.hpp"

// A namespace of its own: unity builds put the test files of a target in one translation unit.
namespace agent_mask_test {

using namespace porthop;
using namespace porthop::test;
namespace v2 = hop::v2;

// A WireGuard transport message of `size` bytes (bulk data: what the mask setting is about),
// numbered by its counter so that each one is distinct.
Bytes wg_transport(std::uint64_t counter, std::size_t size = 208) {
    Bytes d = pattern(size, static_cast<unsigned>(counter));
    d[0] = std::byte{4};
    d[1] = d[2] = d[3] = std::byte{0};
    for (std::size_t i = 0; i < 8; ++i) d[8 + i] = static_cast<std::byte>(counter >> (8 * i));
    return d;
}

// A relay with one UDP port and the mask `mask`, an agent that reaches it through a tap, and
// the local VPN client, up and on UDP.
struct Tapped : AgentFixture {
    RunningAgent& start(v2::Mode mask) {
        options = server_options(false, 1);
        options.mask = mask;
        relay = &start_relay(options);
        tap.emplace(options.udp_ports.front(), crypto::derive_hop_keys(key));
        auto agent_options = agent_for(options, key);
        agent_options.udp_ports = {tap->port()};
        auto& agent = start_agent(agent_options);
        REQUIRE(on_udp(agent));
        agent_port = agent.port();
        return agent;
    }

    // Sends `n` more round trips and checks that the agent sealed each of them in `mode`, and
    // says so in its status.
    void check_agent_seals(RunningAgent& agent, v2::Mode mode, std::size_t n = 10) {
        tap->clear();
        round_trips(n);
        const auto up = tap->up();
        CHECK(up.full == (mode == v2::Mode::full ? n : 0));
        CHECK(up.light == (mode == v2::Mode::light ? n : 0));
        CHECK(agent.status().mask == v2::to_string(mode));
    }

    // Sends `n` bulk datagrams through the agent and checks each echo; the tap has seen each
    // one both ways when this returns.
    void round_trips(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            const Bytes d = wg_transport(++counter);
            client.send_to(agent_port, d);
            auto reply = client.receive();
            REQUIRE(reply);
            CHECK(reply->first == d);
        }
    }

    relay::ServerOptions options;
    RunningRelay* relay = nullptr;
    std::optional<HopTap> tap;
    UdpClient client{false};
    std::uint16_t agent_port = 0;
    std::uint64_t counter = 0;
};

TEST_CASE_METHOD(Tapped, "agent mask: a server with mask full -> bulk data in full mode both ways",
                 "[agent][mask]") {
    auto& agent = start(v2::Mode::full);
    CHECK(agent.status().mask == "full");  // the ack that made the path asked for it
    CHECK(tap->down().asking == tap->down().frames);  // every frame the relay sent asks
    CHECK(tap->down().frames >= 1);
    tap->clear();

    round_trips(20);
    const auto up = tap->up();
    const auto down = tap->down();
    CHECK(up.full == 20);
    CHECK(up.light == 0);
    CHECK(up.asking == 0);  // the agent follows; it does not ask
    CHECK(down.full == 20);
    CHECK(down.light == 0);
    CHECK(down.asking == down.frames);
    CHECK(backend.received().size() == 20);  // the tunnel works: exact datagrams, checked above
    CHECK(agent.status().rejected_frames == 0);
}

TEST_CASE_METHOD(Tapped, "agent mask: a server with mask light (the default) -> bulk data in light mode",
                 "[agent][mask]") {
    auto& agent = start(v2::Mode::light);
    CHECK(agent.status().mask == "light");
    round_trips(20);
    const auto up = tap->up();
    const auto down = tap->down();
    CHECK(up.light == 20);
    CHECK(up.full == 0);
    CHECK(down.light == 20);
    CHECK(down.full == 0);
    CHECK(down.asking == 0);
    CHECK(down.frames >= 21);  // the acks and the echoes
}

TEST_CASE_METHOD(Tapped, "agent mask: a data frame with flag bit 2 does not switch the agent", "[agent][mask]") {
    auto& agent = start(v2::Mode::light);
    round_trips(1);  // the agent knows the local client now
    // A data frame that asks, sealed with the key as a server with mask full would: it opens,
    // and its datagram reaches the local client, but data frames carry no tag.
    hop::FrameCodecV2 forger(crypto::derive_hop_keys(key), v2::Side::server);
    forger.set_sealing(v2::Sealing::asking(v2::Mode::full));
    Bytes datagram = wg_transport(1000);
    const Bytes clear = datagram;
    std::array<std::byte, hop::FrameCodecV2::kMaxHead> head{};
    auto random = crypto::StreamRandom::from_os();
    const auto sealed = forger.seal_data(head, datagram, {}, random);
    Bytes frame(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(sealed.head));
    frame.insert(frame.end(), datagram.begin(), datagram.end());
    REQUIRE(tap->to_agent(frame));
    auto delivered = client.receive();
    REQUIRE(delivered);
    CHECK(delivered->first == clear);

    check_agent_seals(agent, v2::Mode::light);
}

TEST_CASE_METHOD(Tapped, "agent mask: an ack with flag bit 2 that check_ack refuses does not switch the agent",
                 "[agent][mask]") {
    auto& agent = start(v2::Mode::light);
    round_trips(1);
    const auto acks = tap->acks();
    REQUIRE_FALSE(acks.empty());
    // The relay's last ack again (a replay: the agent's window has its counter), with the masked
    // flag bit 2 flipped on the way, which needs no key: the tag still passes, the replay check
    // does not.
    Bytes replayed = acks.back();
    replayed[v2::kSaltSize] ^= std::byte{v2::kFlagAskFull};
    const auto rejected = agent.status().rejected_frames;
    REQUIRE(tap->to_agent(replayed));
    CHECK(eventually([&] { return agent.status().rejected_frames == rejected + 1; }));

    check_agent_seals(agent, v2::Mode::light);
}

TEST_CASE_METHOD(Tapped, "agent mask: a reload changes the relay's frames at once, and the agent's on its next ack",
                 "[agent][mask][reload]") {
    auto& agent = start(v2::Mode::light);
    round_trips(2);
    CHECK(tap->up().full == 0);

    for (const v2::Mode mask : {v2::Mode::full, v2::Mode::light}) {
        const std::string name = v2::to_string(mask);
        INFO("mask " << name);
        auto next = options;
        next.mask = mask;
        std::string changes;
        REQUIRE_FALSE(relay->reconfigure(next, &changes));
        CHECK(changes.find("mask " + name) != std::string::npos);
        // A quiet path is probed within the short test timers; the ack to the probe says it.
        CHECK(eventually([&] { return agent.status().mask == name; }));
        check_agent_seals(agent, mask, 5);
        CHECK((mask == v2::Mode::full ? tap->down().full : tap->down().light) == 5);
    }
}

}  // namespace agent_mask_test
