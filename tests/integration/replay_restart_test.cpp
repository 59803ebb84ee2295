// The replay rule across a restart (docs/PROTOCOL.md, "Replay"): an attach captured from a
// porthop client gets no answer and opens nothing once the server has forgotten its session,
// whether it forgot it by idle expiry or by a restart (through the state file), while the
// client itself, which keeps going, is let back in. Real servers on loopback; attaches sealed
// by a codec as the agent would, sent from a plain UDP socket, so a replay is the same bytes.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <thread>

#include "../support/agent_fixture.hpp"
#include "../support/hop_vectors.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/hop/replay_ledger.hpp"
#include "porthop/hop/schedule.hpp"
#include "porthop/relay/session_state.hpp"
#include "porthop/wire/hoplink.hpp"

namespace porthop::test::replay_restart_test {

constexpr std::uint64_t kSession = 0x5eed0123456789ab;

std::uint64_t now_ms() { return hop::unix_ms(FakeWallClock::now()); }

// An agent's attach as it goes on the wire.
struct Attacher {
    explicit Attacher(const crypto::HopKey& key)
        : codec(crypto::derive_hop_keys(key), hop::FrameCodec::Side::agent, seeded_random(0x21)) {}
    Bytes attach(std::uint64_t counter, std::uint64_t issued) {
        const wire::hop::Control c{wire::hop::Type::attach, kSession, counter,
                                   FakeWallClock::epoch(kAgentInterval), issued};
        return sealed_control(codec, c);
    }
    hop::FrameCodec codec;
};

// True when the server answered (an ack, or anything) within `wait`.
bool answered(UdpClient& client, std::uint16_t port, const Bytes& frame, std::chrono::milliseconds wait = 400ms) {
    client.send_to(port, frame);
    return client.receive(wait).has_value();
}

struct Paths {
    std::string state = "/tmp/porthop-replay-" + std::to_string(::getpid());
    ~Paths() { ::unlink(state.c_str()); }
};

TEST_CASE_METHOD(AgentFixture, "replay: a captured attach is refused after a restart, the agent is not",
                 "[restart][replay]") {
    auto options = server_options(false, 1);
    // With two workers the kernel may steer the replay to either: the ledger is the server's.
    options.workers = GENERATE(1u, 2u);
    INFO("workers: " << options.workers);
    const auto port = options.udp_ports[0];
    Paths paths;
    Attacher agent(key);
    UdpClient client(false);
    const std::uint64_t issued = now_ms();
    const Bytes captured = agent.attach(5, issued);
    {
        RunningRelay before(options);
        REQUIRE_FALSE(before.error());
        REQUIRE(answered(client, port, captured));
        REQUIRE(before.sessions() == 1);
        // Saved as a stopping server saves (nothing accepted after it).
        REQUIRE_FALSE(before.on_loop([&](relay::Server& s) { return s.save_state(paths.state); }));
    }

    SECTION("the restarted server remembers the session: the replay gets nothing") {
        RunningRelay after(options);
        REQUIRE_FALSE(after.error());
        CHECK(after.on_loop([&](relay::Server& s) { return s.restore_state(paths.state); }).agents == 1);
        // As the app does at start: the file is written again at once (what it remembers stays).
        REQUIRE_FALSE(after.on_loop([&](relay::Server& s) { return s.save_state(paths.state, 10s); }));
        CHECK_FALSE(answered(client, port, captured));
        CHECK(after.counter(&relay::Counters::agent_reject_replay) == 1);
        CHECK(after.counter(&relay::Counters::agent_sessions_opened) == 0);
        CHECK(after.sessions() == 0);
        CHECK(backend.datagrams() == 0);
        // An attach sent just before the stop (a higher counter the old process never saw,
        // issued before it forgot the session) is refused as well.
        CHECK_FALSE(answered(client, port, agent.attach(6, issued + 10)));
        CHECK(after.counter(&relay::Counters::agent_reject_replay) == 2);
        // The agent's next attach, issued now (more than the in-flight margin after the stop),
        // opens its session again, and later replays of it meet the session's own window.
        FakeWallClock::advance(1500ms);
        const Bytes next = agent.attach(7, now_ms());
        CHECK(answered(client, port, next));
        CHECK(after.counter(&relay::Counters::agent_sessions_opened) == 1);
        CHECK_FALSE(answered(client, port, next));
        CHECK_FALSE(answered(client, port, captured));
        CHECK(after.counter(&relay::Counters::agent_reject_replay) == 4);
    }
    SECTION("negative control: without the state file the replay opens a session") {
        RunningRelay after(options);
        REQUIRE_FALSE(after.error());
        CHECK(answered(client, port, captured));
        CHECK(after.counter(&relay::Counters::agent_sessions_opened) == 1);
    }
}

TEST_CASE_METHOD(AgentFixture, "replay: after a crash, attaches issued up to the next save stay refused",
                 "[restart][replay]") {
    const auto options = server_options(false, 1);
    const auto port = options.udp_ports[0];
    Paths paths;
    Attacher agent(key);
    UdpClient client(false);
    const std::uint64_t issued = now_ms();
    {
        RunningRelay before(options);
        REQUIRE_FALSE(before.error());
        REQUIRE(answered(client, port, agent.attach(5, issued)));
        // A periodic save: the next one would have come within 10 s; the process then dies
        // before it (nothing else is saved).
        REQUIRE_FALSE(before.on_loop([&](relay::Server& s) { return s.save_state(paths.state, 10s); }));
    }
    RunningRelay after(options);
    REQUIRE_FALSE(after.error());
    REQUIRE(after.on_loop([&](relay::Server& s) { return s.restore_state(paths.state); }).agents == 1);
    // Accepted by the dead process after its last save, unknown to the file: refused.
    CHECK_FALSE(answered(client, port, agent.attach(6, issued + 9'000)));
    CHECK(after.counter(&relay::Counters::agent_reject_replay) == 1);
    // Issued after the save's lease (10 s + the in-flight margin): the agent is back.
    FakeWallClock::advance(12s);
    CHECK(answered(client, port, agent.attach(7, now_ms())));
    CHECK(after.counter(&relay::Counters::agent_sessions_opened) == 1);
}

TEST_CASE_METHOD(AgentFixture, "replay: a session that expired idle stays closed to its captured attaches",
                 "[replay]") {
    auto options = server_options(false, 1);
    options.idle_timeout = 300ms;
    const auto port = options.udp_ports[0];
    Attacher agent(key);
    UdpClient client(false);
    RunningRelay relay(options);
    REQUIRE_FALSE(relay.error());
    const Bytes captured = agent.attach(5, now_ms());
    REQUIRE(answered(client, port, captured));
    REQUIRE(eventually([&] { return relay.sessions() == 0; }, 3000ms));
    CHECK_FALSE(answered(client, port, captured));
    CHECK(relay.counter(&relay::Counters::agent_reject_replay) == 1);
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 1);
    FakeWallClock::advance(1500ms);
    CHECK(answered(client, port, agent.attach(6, now_ms())));
    CHECK(relay.counter(&relay::Counters::agent_sessions_opened) == 2);
}

TEST_CASE_METHOD(AgentFixture, "replay: a real agent carries traffic again after its server restarts",
                 "[restart][replay][agent]") {
    const auto options = server_options(false, 1);
    Paths paths;
    auto& agent = start_agent(agent_for(options, key));
    UdpClient client(false);
    const auto round_trip = [&] {
        client.send_to(agent.port(), bytes("ping"));
        const auto r = client.receive(200ms);
        return r && r->first == bytes("ping");
    };
    {
        RunningRelay before(options);
        REQUIRE_FALSE(before.error());
        REQUIRE(eventually(round_trip, 5000ms));
        REQUIRE_FALSE(before.on_loop([&](relay::Server& s) { return s.save_state(paths.state); }));
    }
    RunningRelay after(options);
    REQUIRE_FALSE(after.error());
    REQUIRE(after.on_loop([&](relay::Server& s) { return s.restore_state(paths.state); }).agents == 1);
    // The agent's session comes back: its attaches are issued after the stop, and the new
    // process's acks (counters from its clock) are above the old one's in the agent's window.
    CHECK(eventually(round_trip, 8000ms));
    CHECK(after.counter(&relay::Counters::agent_sessions_opened) == 1);
    // It may have fallen back to TCP while the server was down (the fast timers give up on UDP
    // within about a second); it climbs back on an ack over UDP. Then quiet: only the keepalive
    // attaches' acks keep the path alive. Acks the agent refused would make it fall back again.
    // (Why the new process's acks are above the old one's: their counters start at the
    // server's clock in ms, agent_links_test; in a test this short the old process sent too
    // few acks for counters from 1 to fall below the agent's window.)
    REQUIRE(on_path(agent, udp_path(options.udp_ports[0]), 5000ms));
    const auto fallbacks = agent.status().fallbacks;
    std::this_thread::sleep_for(1500ms);
    CHECK(agent.status().fallbacks == fallbacks);
    CHECK(agent.status().path == udp_path(options.udp_ports[0]));
}

}  // namespace porthop::test::replay_restart_test
