// Micro-benchmarks for the pure wire layer, and for the server's per-datagram checks on native
// clients (src/relay/native_guard.cpp; docs/BENCHMARKS.md, "Protocol-aware checks (issue 5)").
// Run: build/bench/bench_wire.
#include <benchmark/benchmark.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "../tests/fixtures/fixture.hpp"
#include "porthop/crypto/mac1.hpp"
#include "porthop/crypto/stream_random.hpp"
#include "porthop/hop/frame_codec.hpp"
#include "porthop/hop/frame_codec_v2.hpp"
#include "porthop/hop/ingress.hpp"
#include "porthop/net/endpoint.hpp"
#include "porthop/guard/native_roaming.hpp"
#include "porthop/guard/source_limiter.hpp"
#include "porthop/crypto/length_mask.hpp"
#include "porthop/net/frame_reader.hpp"
#include "porthop/wire/framing.hpp"
#include "porthop/wire/protocol.hpp"

namespace {

namespace wire = porthop::wire;
namespace wg = porthop::wire::wg;
namespace ovpn = porthop::wire::ovpn;
using porthop::crypto::Mac1Verifier;
using porthop::net::Endpoint;
using porthop::guard::Move;
using porthop::guard::NativeRoaming;
using porthop::guard::SourceKey;
using porthop::guard::SourceLimiter;

// Splitting a read buffer full of back-to-back frames, as the TCP path does per read.
void BM_SplitFrames(benchmark::State& state) {
    const auto payload = static_cast<std::size_t>(state.range(0));
    std::vector<std::byte> buffer;
    for (int i = 0; i < 64; ++i) {
        buffer.push_back(static_cast<std::byte>(payload >> 8));
        buffer.push_back(static_cast<std::byte>(payload & 0xFF));
        buffer.insert(buffer.end(), payload, std::byte{0x42});
    }
    for (auto _ : state) {
        std::size_t offset = 0, frames = 0;
        for (;;) {
            auto split = porthop::wire::split_frame({buffer.data() + offset, buffer.size() - offset}, 65535);
            if (split.status != porthop::wire::FrameStatus::complete) break;
            offset += split.consumed;
            ++frames;
        }
        benchmark::DoNotOptimize(frames);
    }
    state.SetItemsProcessed(state.iterations() * 64);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(buffer.size()));
}
BENCHMARK(BM_SplitFrames)->Arg(64)->Arg(1400);

// The same over an agent's records, whose lengths are masked (net/frame_reader.hpp, masked
// form): one ChaCha20 block per record to unmask its length, on top of the split.
void BM_SplitMaskedRecords(benchmark::State& state) {
    const auto payload = static_cast<std::size_t>(state.range(0));
    const porthop::crypto::LengthMask mask(porthop::crypto::HopKey{}, porthop::crypto::MaskDirection::agent_to_server);
    porthop::net::FrameReader reader({65535, 1 << 20, 1 << 20});
    reader.allocate();
    reader.read_masked(mask);
    std::size_t total = 0;
    for (int i = 0; i < 64; ++i) {
        std::vector<std::byte> frame(payload, std::byte{0x42});
        frame[0] = static_cast<std::byte>(i);  // a salt of its own
        const auto length = static_cast<std::uint16_t>(payload ^ mask(std::span(frame).first<8>()));
        auto target = reader.read_target();
        target[0] = static_cast<std::byte>(length >> 8);
        target[1] = static_cast<std::byte>(length & 0xFF);
        std::copy(frame.begin(), frame.end(), target.begin() + 2);
        reader.commit(2 + payload);
        total += 2 + payload;
    }
    for (auto _ : state) {
        std::size_t offset = 0, frames = 0;
        for (;;) {
            const auto split = reader.split_at(offset);
            if (split.status != porthop::wire::FrameStatus::complete) break;
            offset += split.consumed;
            ++frames;
        }
        benchmark::DoNotOptimize(frames);
    }
    state.SetItemsProcessed(state.iterations() * 64);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(total));
}
BENCHMARK(BM_SplitMaskedRecords)->Arg(64)->Arg(1400);

// ==== The checks on native clients (issue 5) ===================================================
//
// Inputs are the captured datagrams in tests/fixtures (real wireguard-go and OpenVPN 2.6
// traffic). The tables are sized as the server sizes them (max_sessions / max_sources 16384, the
// defaults) and hold 10,000 sessions or sources; benchmarks over a table visit its entries in a
// shuffled order, so the figures include the cache misses of a table that does not fit in L1/L2
// (and about 1 ns of loop bookkeeping). `now` is a fixed or stepped time_point: the server reads
// the clock once per batch, not per check, so no clock read is measured here.

using Clock = std::chrono::steady_clock;
const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours{1000};
constexpr std::size_t kTable = 10'000;

struct Samples {
    std::vector<std::byte> wg_initiation;    // wg_handshake_initiation.hex, 148 bytes
    std::vector<std::byte> wg_transport;     // wg_transport_full_mtu.hex, 1452 bytes
    std::vector<std::byte> ovpn_data_v2;     // first client P_DATA_V2 of ovpn_udp_packets.txt, 72 bytes
    std::vector<std::byte> junk;             // a TLS ClientHello's first 64 bytes: neither protocol
    std::string responder_public_key;        // the key the initiation's mac1 is made with
};

// Loaded once; throws with a clear message if a fixture is missing or not what it should be.
const Samples& samples() {
    static const Samples s = [] {
        Samples out;
        const auto initiation = porthop::test::load_fixture("wg_handshake_initiation.hex");
        out.wg_initiation = initiation.packet;
        out.responder_public_key = initiation.at("responder_public_key");
        out.wg_transport = porthop::test::load_fixture("wg_transport_full_mtu.hex").packet;
        for (const auto& c : porthop::test::load_ovpn_capture()) {
            if (c.wrapping == "none" && c.direction == "c2s" && ovpn::classify(c.bytes).kind == ovpn::Kind::data_v2) {
                out.ovpn_data_v2 = c.bytes;
                break;
            }
        }
        // TLS record header (handshake, TLS 1.0 record version, length 0x0200), ClientHello.
        out.junk = {std::byte{0x16}, std::byte{0x03}, std::byte{0x01}, std::byte{0x02}, std::byte{0x00},
                    std::byte{0x01}, std::byte{0x00}, std::byte{0x01}, std::byte{0xfc}, std::byte{0x03},
                    std::byte{0x03}};
        std::mt19937 rng(1);
        while (out.junk.size() < 64) out.junk.push_back(static_cast<std::byte>(rng()));

        if (wg::classify(out.wg_initiation).kind != wg::Kind::initiation)
            throw std::runtime_error("wg_handshake_initiation.hex is not an initiation");
        if (wg::classify(out.wg_transport).kind != wg::Kind::transport)
            throw std::runtime_error("wg_transport_full_mtu.hex is not transport data");
        if (out.ovpn_data_v2.empty()) throw std::runtime_error("no client P_DATA_V2 in ovpn_udp_packets.txt");
        const auto junk = wire::classify_native(out.junk, wire::Protocol::any);
        if (junk.is_wireguard() || junk.is_openvpn()) throw std::runtime_error("the junk sample classifies");
        return out;
    }();
    return s;
}

// samples(), or nullptr after marking the benchmark as failed.
const Samples* samples_or_skip(benchmark::State& state) {
    try {
        return &samples();
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return nullptr;
    }
}

std::vector<std::uint32_t> shuffled(std::size_t n, std::uint32_t seed) {
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::mt19937 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
}

Endpoint v4(std::uint32_t address, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(address);
    sa.sin_port = htons(port);
    return Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
}

// ---- wire::classify_native: every native datagram (both directions) ---------------------------

enum class Sample { wg_transport, wg_initiation, ovpn_data_v2, junk };

void BM_ClassifyNative(benchmark::State& state, Sample which, wire::Protocol protocol) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    const std::vector<std::byte>& bytes = which == Sample::wg_transport    ? s->wg_transport
                                          : which == Sample::wg_initiation ? s->wg_initiation
                                          : which == Sample::ovpn_data_v2  ? s->ovpn_data_v2
                                                                           : s->junk;
    const std::span<const std::byte> datagram(bytes);
    for (auto _ : state) {
        auto native = wire::classify_native(datagram, protocol);
        benchmark::DoNotOptimize(native);
    }
}
BENCHMARK_CAPTURE(BM_ClassifyNative, wg_transport_any, Sample::wg_transport, wire::Protocol::any);
BENCHMARK_CAPTURE(BM_ClassifyNative, wg_transport_wireguard, Sample::wg_transport, wire::Protocol::wireguard);
BENCHMARK_CAPTURE(BM_ClassifyNative, wg_initiation_any, Sample::wg_initiation, wire::Protocol::any);
BENCHMARK_CAPTURE(BM_ClassifyNative, wg_initiation_wireguard, Sample::wg_initiation, wire::Protocol::wireguard);
BENCHMARK_CAPTURE(BM_ClassifyNative, ovpn_data_v2_any, Sample::ovpn_data_v2, wire::Protocol::any);
BENCHMARK_CAPTURE(BM_ClassifyNative, ovpn_data_v2_openvpn, Sample::ovpn_data_v2, wire::Protocol::openvpn);
BENCHMARK_CAPTURE(BM_ClassifyNative, junk_any, Sample::junk, wire::Protocol::any);
BENCHMARK_CAPTURE(BM_ClassifyNative, junk_wireguard, Sample::junk, wire::Protocol::wireguard);
BENCHMARK_CAPTURE(BM_ClassifyNative, junk_openvpn, Sample::junk, wire::Protocol::openvpn);

// Hop link v2 codecs and a seeded generator for the benchmarks below.
porthop::hop::FrameCodecV2 v2_codec(porthop::hop::v2::Side side) {
    porthop::crypto::HopKey key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(i);
    return porthop::hop::FrameCodecV2(porthop::crypto::derive_hop_keys(key), side);
}

porthop::crypto::StreamRandom v2_random() {
    std::array<std::byte, porthop::crypto::StreamRandom::kSeedSize> seed{};
    return porthop::crypto::StreamRandom(seed);
}

// ---- hop::decide: the agent-or-native decision on a server that has a hop key ----------------
// Every datagram on a shared port asks it first; this is what it costs a native client's
// datagram (and an agent's, for comparison) before the native checks above.

void BM_IngressDecide(benchmark::State& state, Sample which, porthop::hop::Flow flow) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    using porthop::hop::FrameCodec;
    const auto keys = porthop::crypto::derive_hop_keys(porthop::crypto::HopKey{});
    const FrameCodec codec(keys, FrameCodec::Side::server, v2_random());
    const std::vector<std::byte> native = which == Sample::wg_transport ? s->wg_transport : s->ovpn_data_v2;
    std::vector<std::byte> wire = native;
    if (flow == porthop::hop::Flow::agent) {  // the same datagram as an agent's data frame
        FrameCodec agent(keys, FrameCodec::Side::agent, v2_random());
        std::array<std::byte, FrameCodec::kMaxHead> head{};
        std::vector<std::byte> payload = native;
        const auto sealed = agent.seal_data(head, payload, {});
        wire.assign(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(sealed.head));
        wire.insert(wire.end(), payload.begin(), payload.end());
    }
    std::vector<std::byte> bytes = wire;
    for (auto _ : state) {
        // An agent's frame is unmasked in place: each round starts from the received bytes (a
        // copy the native rows pay too, so the rows compare).
        std::copy(wire.begin(), wire.end(), bytes.begin());
        auto in = porthop::hop::decide(&codec, flow, bytes);
        benchmark::DoNotOptimize(in);
    }
}
BENCHMARK_CAPTURE(BM_IngressDecide, native_wg_transport, Sample::wg_transport, porthop::hop::Flow::native);
BENCHMARK_CAPTURE(BM_IngressDecide, native_ovpn_data_v2, Sample::ovpn_data_v2, porthop::hop::Flow::native);
BENCHMARK_CAPTURE(BM_IngressDecide, agent_wg_transport, Sample::wg_transport, porthop::hop::Flow::agent);

// ---- hop link v2 (the draft codec, issue 14): what the agent-or-native decision will cost -------
// A native datagram on a shared port must be refused by FrameCodecV2::open (one ChaCha20 block
// for the header's copy, then its checks; at least 1023 in 1024 random headers fail them) before the
// native checks; an agent's bulk data frame is unmasked in light mode (one block whatever its
// size) or full mode (a block per 64 bytes), and sealed the same way.

void BM_V2OpenNative(benchmark::State& state, Sample which) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    std::vector<std::byte> bytes = which == Sample::wg_transport ? s->wg_transport : s->ovpn_data_v2;
    const auto codec = v2_codec(porthop::hop::v2::Side::server);
    std::size_t accepted = 0;
    for (auto _ : state) {
        auto opened = codec.open(bytes);
        // (A native datagram the header checks let through by chance would be restored.)
        if (opened.kind != porthop::wire::hop::Kind::other) {
            ++accepted;
            codec.restore(bytes);
        }
        benchmark::DoNotOptimize(opened);
    }
    state.counters["accepted"] = static_cast<double>(accepted);
}
BENCHMARK_CAPTURE(BM_V2OpenNative, native_wg_transport, Sample::wg_transport);
BENCHMARK_CAPTURE(BM_V2OpenNative, native_ovpn_data_v2, Sample::ovpn_data_v2);

// Seal then open an agent's 1400-byte WireGuard transport message: light mode (the default), or
// full mode, as the agent seals bulk data once a server with mask = "full" asked (bulk data is
// padded by the same rule in either mode; the full row is unpadded). The light rows with a
// padding shape give the sealer a tail (in the frame buffer, after the datagram, so that open()
// sees the whole frame): bulk draws a new burst every frame (the worst case, as at a packet per
// wakeup; a batch shares one) and up to 31 padding bytes; opening draws a length and up to 52
// bytes (the frame is 1411 unpadded, so it ranges up to 1452).
void BM_V2SealOpenData(benchmark::State& state, bool light, porthop::hop::DataShape shape) {
    using porthop::hop::FrameCodecV2;
    std::vector<std::byte> datagram(1400, std::byte{0x5a});
    datagram[0] = std::byte{4};
    datagram[1] = datagram[2] = datagram[3] = std::byte{0};
    auto agent = v2_codec(porthop::hop::v2::Side::agent);
    agent.set_sealing({light ? porthop::hop::v2::Mode::light : porthop::hop::v2::Mode::full, false});
    const auto server = v2_codec(porthop::hop::v2::Side::server);
    auto random = v2_random();
    const std::size_t room = shape == porthop::hop::DataShape::plain ? 0 : FrameCodecV2::kMaxTail;
    std::vector<std::byte> frame(porthop::hop::v2::kOverhead + datagram.size() + room);
    std::array<std::byte, FrameCodecV2::kMaxHead> head{};
    std::size_t padded = 0;
    for (auto _ : state) {
        auto body = std::span(frame).subspan(porthop::hop::v2::kOverhead, datagram.size());
        std::copy(datagram.begin(), datagram.end(), body.begin());
        FrameCodecV2::BulkPadding bulk{shape, {}};
        if (shape == porthop::hop::DataShape::bulk) bulk.burst = porthop::hop::BulkBurst::draw(random);
        const auto tail = std::span(frame).subspan(porthop::hop::v2::kOverhead + datagram.size(), room);
        const auto sealed = agent.seal_data(head, body, tail, random, bulk);
        padded += sealed.tail;
        std::copy_n(head.begin(), sealed.head, frame.begin());
        auto opened = server.open(std::span(frame).first(sealed.head + datagram.size() + sealed.tail));
        benchmark::DoNotOptimize(opened);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(datagram.size()));
    state.counters["padding"] = benchmark::Counter(static_cast<double>(padded), benchmark::Counter::kAvgIterations);
}
BENCHMARK_CAPTURE(BM_V2SealOpenData, light_1400, true, porthop::hop::DataShape::plain);
BENCHMARK_CAPTURE(BM_V2SealOpenData, light_bulk_1400, true, porthop::hop::DataShape::bulk);
BENCHMARK_CAPTURE(BM_V2SealOpenData, light_opening_1400, true, porthop::hop::DataShape::opening);
BENCHMARK_CAPTURE(BM_V2SealOpenData, full_1400, false, porthop::hop::DataShape::plain);

// ---- Mac1Verifier::verify: every WireGuard handshake message (with wg_public_key set) -----------

void BM_Mac1Verify(benchmark::State& state, bool forged) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    std::string why;
    auto verifier = Mac1Verifier::from_base64(s->responder_public_key, why);
    if (!verifier) {
        state.SkipWithError(why.c_str());
        return;
    }
    std::vector<std::byte> message = s->wg_initiation;
    // Forged: one bit of the ephemeral key flipped, so the full MAC is computed and does not match.
    if (forged) message[8] ^= std::byte{0x01};
    if (verifier->verify(message) == forged) {
        state.SkipWithError(forged ? "the forged initiation verifies" : "the captured initiation does not verify");
        return;
    }
    for (auto _ : state) {
        bool ok = verifier->verify(message);
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK_CAPTURE(BM_Mac1Verify, valid_initiation, false);
BENCHMARK_CAPTURE(BM_Mac1Verify, forged_initiation, true);

// ---- SourceLimiter ------------------------------------------------------------------------------

SourceLimiter::Limits limiter_limits() {
    SourceLimiter::Limits l;  // the defaults: 20/s, burst 5, 64 sessions, 16384 sources
    l.seed = 12345;
    return l;
}

// A handshake-like datagram of a source the table knows (every handshake message of an existing
// session; every datagram that would open a session). range(0) sources are known and visited in
// a shuffled order, `now` stepping so that every call is allowed (a token each).
void BM_SourceLimiter_AllowKnown(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    SourceLimiter limiter(limiter_limits());
    std::vector<Endpoint> sources;
    for (std::size_t i = 0; i < n; ++i) sources.push_back(v4(0x0a000000u + static_cast<std::uint32_t>(i), 40000));
    auto now = t0;
    for (const auto& e : sources) limiter.allow_handshake(e, now);
    // One token per 50 ms per source: each source comes round every n * step >= 60 ms.
    const auto step = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds{60}) / static_cast<Clock::rep>(n);
    const auto order = shuffled(n, 7);
    const auto before = limiter.stats().handshakes_allowed;
    std::size_t k = 0;
    for (auto _ : state) {
        now += step;
        bool ok = limiter.allow_handshake(sources[order[k]], now);
        benchmark::DoNotOptimize(ok);
        if (++k == n) k = 0;
    }
    if (limiter.stats().handshakes_allowed - before != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("a known source was refused");
}
BENCHMARK(BM_SourceLimiter_AllowKnown)->Arg(1)->Arg(kTable);

// A flood of fresh sources into a full table whose sources are all recently active: every call
// is refused without touching the table (fail closed, refused_table_full).
void BM_SourceLimiter_AllowFreshTableFull(benchmark::State& state) {
    SourceLimiter limiter(limiter_limits());
    const std::size_t max = limiter.limits().max_sources;
    for (std::size_t i = 0; i < max; ++i) limiter.allow_handshake(v4(0x0a000000u + static_cast<std::uint32_t>(i), 40000), t0);
    if (limiter.sources() != max) {
        state.SkipWithError("could not fill the source table");
        return;
    }
    constexpr std::size_t kFresh = 1 << 16;
    std::vector<Endpoint> fresh;
    for (std::size_t i = 0; i < kFresh; ++i) fresh.push_back(v4(0xac100000u + static_cast<std::uint32_t>(i), 40000));
    const auto before = limiter.stats().refused_table_full;
    std::size_t k = 0;
    for (auto _ : state) {
        bool ok = limiter.allow_handshake(fresh[k], t0);
        benchmark::DoNotOptimize(ok);
        if (++k == kFresh) k = 0;
    }
    if (limiter.stats().refused_table_full - before != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("a fresh source was not refused");
}
BENCHMARK(BM_SourceLimiter_AllowFreshTableFull);

// acquire_session + release_session of a known source, one pair per iteration (opening and
// closing a native session), over 10,000 known sources in a shuffled order.
void BM_SourceLimiter_AcquireRelease(benchmark::State& state) {
    SourceLimiter limiter(limiter_limits());
    std::vector<Endpoint> sources;
    for (std::size_t i = 0; i < kTable; ++i) sources.push_back(v4(0x0a000000u + static_cast<std::uint32_t>(i), 40000));
    for (const auto& e : sources) limiter.allow_handshake(e, t0);
    const auto order = shuffled(kTable, 8);
    const auto before = limiter.stats().sessions_acquired;
    std::size_t k = 0;
    for (auto _ : state) {
        const auto source = limiter.acquire_session(sources[order[k]], t0);
        if (source) limiter.release_session(*source, t0);
        if (++k == kTable) k = 0;
    }
    if (limiter.stats().sessions_acquired - before != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("a session was refused");
}
BENCHMARK(BM_SourceLimiter_AcquireRelease);

// ---- NativeRoaming, with 10,000 sessions --------------------------------------------------------

NativeRoaming::Limits roaming_limits() {
    NativeRoaming::Limits l;  // the defaults: 16384 sessions
    l.seed = 99;
    return l;
}

// 10,000 WireGuard sessions (ids 1..10000), each with the index the backend gave it in its
// handshake response, and a counter per session for the client's transport.
struct WgTable {
    NativeRoaming roaming{roaming_limits()};
    std::vector<std::uint32_t> index;    // per session
    std::vector<std::uint64_t> counter;  // per session: the last counter sent
    std::vector<std::uint32_t> order = shuffled(kTable, 9);

    WgTable() {
        std::mt19937 rng(3);
        std::unordered_set<std::uint32_t> used;
        while (index.size() < kTable)
            if (const auto i = static_cast<std::uint32_t>(rng()); used.insert(i).second) index.push_back(i);
        counter.assign(kTable, 0);
        for (std::size_t s = 0; s < kTable; ++s)
            roaming.learn_wg(s + 1, wg::Packet{wg::Kind::response, index[s], 0x11111111u, 0}, t0);
    }
    bool complete() const { return roaming.sessions() == kTable && roaming.stats().wg_indices_learned == kTable; }
    // The client's next transport message of session slot `s` (as wg::classify returns it).
    wg::Packet next_transport(std::size_t s) { return {wg::Kind::transport, 0, index[s], ++counter[s]}; }
};

// Client -> backend transport on the session's current path: every client datagram of a
// WireGuard session.
void BM_Roaming_ObserveWg(benchmark::State& state) {
    WgTable t;
    if (!t.complete()) {
        state.SkipWithError("could not fill the roaming table");
        return;
    }
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t s = t.order[k];
        t.roaming.observe_wg(s + 1, t.next_transport(s), t0);
        if (++k == kTable) k = 0;
    }
    if (!t.roaming.find_wg(wg::Packet{wg::Kind::transport, 0, t.index[0], 0}, t0))
        state.SkipWithError("a session's index was lost");
}
BENCHMARK(BM_Roaming_ObserveWg);

// Backend -> client transport: every backend datagram of a WireGuard session (learn_wg looks at
// handshake messages only).
void BM_Roaming_LearnWgTransport(benchmark::State& state) {
    WgTable t;
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t s = t.order[k];
        t.roaming.learn_wg(s + 1, wg::Packet{wg::Kind::transport, 0, 0x11111111u, ++t.counter[s]}, t0);
        if (++k == kTable) k = 0;
    }
}
BENCHMARK(BM_Roaming_LearnWgTransport);

// Backend -> client handshake response with a new index (a rekey: every 2 minutes per session):
// the oldest of the session's three indices is dropped and the new one inserted.
void BM_Roaming_LearnWgNewIndex(benchmark::State& state) {
    WgTable t;
    const auto before = t.roaming.stats().wg_indices_learned;
    std::size_t k = 0;
    std::uint32_t next = 0;
    for (auto _ : state) {
        const std::size_t s = t.order[k];
        // A bijection of a counter: indices never repeat within 2^32 iterations.
        t.roaming.learn_wg(s + 1, wg::Packet{wg::Kind::response, ++next * 0x9E3779B1u, 0x11111111u, 0}, t0);
        if (++k == kTable) k = 0;
    }
    if (t.roaming.stats().wg_indices_learned - before != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("an index was not learned");
}
BENCHMARK(BM_Roaming_LearnWgNewIndex);

// A transport message from an unknown address that carries a live index with a counter that
// moves forward: find_wg, then accept_wg_move (accepted). Only a roaming packet pays this.
void BM_Roaming_FindWgAcceptMove(benchmark::State& state) {
    WgTable t;
    const auto accepted = [&] { return t.roaming.stats().moves[static_cast<std::size_t>(Move::accepted)]; };
    const auto before = accepted();
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t s = t.order[k];
        const auto packet = t.next_transport(s);
        if (const auto id = t.roaming.find_wg(packet, t0)) {
            Move move = t.roaming.accept_wg_move(*id, packet, t0);
            benchmark::DoNotOptimize(move);
        }
        if (++k == kTable) k = 0;
    }
    if (accepted() - before != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a move was not accepted");
}
BENCHMARK(BM_Roaming_FindWgAcceptMove);

// A transport message from an unknown address whose index no session has: find_wg finds nothing
// (the datagram then opens a new session, if the source limiter lets it).
void BM_Roaming_FindWgUnknown(benchmark::State& state) {
    WgTable t;
    std::unordered_set<std::uint32_t> known(t.index.begin(), t.index.end());
    std::vector<std::uint32_t> unknown;
    std::mt19937 rng(4);
    while (unknown.size() < kTable)
        if (const auto i = static_cast<std::uint32_t>(rng()); !known.contains(i)) unknown.push_back(i);
    std::size_t k = 0, found = 0;
    for (auto _ : state) {
        const auto id = t.roaming.find_wg(wg::Packet{wg::Kind::transport, 0, unknown[k], 1}, t0);
        found += id.has_value();
        if (++k == kTable) k = 0;
    }
    if (found != 0) state.SkipWithError("an unknown index was found");
}
BENCHMARK(BM_Roaming_FindWgUnknown);

// 10,000 OpenVPN sessions (ids 1..10000), each with the peer-id s its backend gave it and its
// packet ids proven to be in clear (5 consecutive P_DATA_V2 from its current path). Datagrams
// are the captured client P_DATA_V2 with the peer-id and packet id rewritten.
struct OvpnTable {
    NativeRoaming roaming{roaming_limits()};
    std::vector<std::uint32_t> packet_id;  // per session: the last one sent
    std::vector<std::uint32_t> order = shuffled(kTable, 10);
    std::vector<std::byte> datagram;

    explicit OvpnTable(const Samples& s) : packet_id(kTable, 0), datagram(s.ovpn_data_v2) {
        for (std::size_t i = 0; i < kTable; ++i) {
            roaming.learn_ovpn(i + 1, packet(i), t0);  // the backend's own P_DATA_V2 (same peer-id)
            for (int n = 0; n < 5; ++n) {
                const auto p = next(i);
                roaming.observe_ovpn(i + 1, p, datagram, t0);
            }
        }
    }
    bool complete() {
        for (std::size_t i = 0; i < kTable; ++i)
            if (roaming.find_ovpn(packet(i)) != i + 1) return false;
        return true;
    }
    // Session slot i's P_DATA_V2 as ovpn::classify returns it.
    static ovpn::Packet packet(std::size_t i) {
        return {ovpn::Kind::data_v2, ovpn::Opcode::data_v2, 0, 0, static_cast<std::uint32_t>(i)};
    }
    // Writes session slot i's peer-id (bytes 1..3) and next packet id (bytes 4..7, where an AEAD
    // cipher puts it) into `datagram` and returns its classification.
    ovpn::Packet next(std::size_t i) {
        const std::uint32_t id = ++packet_id[i];
        datagram[1] = static_cast<std::byte>(i >> 16);
        datagram[2] = static_cast<std::byte>(i >> 8);
        datagram[3] = static_cast<std::byte>(i);
        datagram[4] = static_cast<std::byte>(id >> 24);
        datagram[5] = static_cast<std::byte>(id >> 16);
        datagram[6] = static_cast<std::byte>(id >> 8);
        datagram[7] = static_cast<std::byte>(id);
        return packet(i);
    }
};

// Client -> backend P_DATA_V2 on the session's current path: every client datagram of an
// OpenVPN session.
void BM_Roaming_ObserveOvpn(benchmark::State& state) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    OvpnTable t(*s);
    if (!t.complete()) {
        state.SkipWithError("could not fill the roaming table");
        return;
    }
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = t.order[k];
        t.roaming.observe_ovpn(i + 1, t.next(i), t.datagram, t0);
        if (++k == kTable) k = 0;
    }
}
BENCHMARK(BM_Roaming_ObserveOvpn);

// Backend -> client P_DATA_V2: every backend datagram of an OpenVPN session (its peer-id is
// already bound to the session: a lookup and an LRU touch).
void BM_Roaming_LearnOvpnData(benchmark::State& state) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    OvpnTable t(*s);
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = t.order[k];
        t.roaming.learn_ovpn(i + 1, OvpnTable::packet(i), t0);
        if (++k == kTable) k = 0;
    }
    if (!t.complete()) state.SkipWithError("a peer-id was lost");
}
BENCHMARK(BM_Roaming_LearnOvpnData);

// A P_DATA_V2 from an unknown address: find_ovpn by peer-id (every datagram without a session
// that is P_DATA_V2).
void BM_Roaming_FindOvpn(benchmark::State& state) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    OvpnTable t(*s);
    if (!t.complete()) {
        state.SkipWithError("could not fill the roaming table");
        return;
    }
    std::size_t k = 0, found = 0;
    for (auto _ : state) {
        const std::size_t i = t.order[k];
        const auto id = t.roaming.find_ovpn(OvpnTable::packet(i));
        found += id.has_value();
        if (++k == kTable) k = 0;
    }
    if (found != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a peer-id was not found");
}
BENCHMARK(BM_Roaming_FindOvpn);

// A roaming P_DATA_V2 with a packet id that moves forward: find_ovpn, then accept_ovpn_move
// (accepted).
void BM_Roaming_FindOvpnAcceptMove(benchmark::State& state) {
    const Samples* s = samples_or_skip(state);
    if (!s) return;
    OvpnTable t(*s);
    const auto accepted = [&] { return t.roaming.stats().moves[static_cast<std::size_t>(Move::accepted)]; };
    const auto before = accepted();
    std::size_t k = 0;
    for (auto _ : state) {
        const std::size_t i = t.order[k];
        const auto packet = t.next(i);
        if (const auto id = t.roaming.find_ovpn(packet)) {
            Move move = t.roaming.accept_ovpn_move(*id, packet, t.datagram, t0);
            benchmark::DoNotOptimize(move);
        }
        if (++k == kTable) k = 0;
    }
    if (accepted() - before != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("a move was not accepted");
}
BENCHMARK(BM_Roaming_FindOvpnAcceptMove);

}  // namespace
