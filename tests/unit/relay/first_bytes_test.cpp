// The judge of a TLS connection's first application bytes (relay/first_bytes.hpp): an agent's
// attach in a masked record, or a web client, from as few bytes as possible and never more
// than kFirstBytesDecisive.
#include "../../../src/relay/first_bytes.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "../../support/hop_vectors.hpp"

namespace first_bytes_test {

using namespace porthop;
using relay::FirstBytes;

std::vector<std::byte> bytes_of(const std::string& text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return {p, p + text.size()};
}

constexpr std::uint64_t kEpoch = 1000;
const crypto::HopKeys kKeys = crypto::derive_hop_keys(test::counting_key());

FirstBytes judge(std::span<const std::byte> bytes, const hop::FrameCodec* codec, std::uint64_t epoch = kEpoch) {
    return relay::judge_first_bytes(bytes, codec, &kKeys, epoch);
}

std::vector<std::byte> attach_record(hop::FrameCodec& agent) {
    const wire::hop::Control attach{wire::hop::Type::attach, 0xfeed, 1, kEpoch, 0};
    return test::masked_record(agent.sent_lengths(), test::sealed_control(agent, attach));
}

TEST_CASE("first bytes: an agent's attach record, whole or with more behind it", "[relay][first_bytes]") {
    auto agent = test::counting_codec(hop::FrameCodec::Side::agent);
    const auto server = test::counting_codec(hop::FrameCodec::Side::server);
    auto record = attach_record(agent);
    const auto copy = record;
    CHECK(judge(record, &server) == FirstBytes::agent);
    CHECK(record == copy);  // judged on a copy: the bytes stay as they came
    // Every prefix waits (the masked length promises the rest), none is taken for the web.
    for (std::size_t n = 0; n < record.size(); ++n) {
        INFO(n);
        CHECK(judge(std::span(record).first(n), &server) == FirstBytes::need_more);
    }
    auto more = record;
    const auto data = test::masked_record(agent.sent_lengths(), test::sealed_data(agent, test::wg_transport(200)));
    more.insert(more.end(), data.begin(), data.end());
    CHECK(judge(more, &server) == FirstBytes::agent);
}

TEST_CASE("first bytes: what is not an attach is the web's", "[relay][first_bytes]") {
    auto agent = test::counting_codec(hop::FrameCodec::Side::agent);
    const auto server = test::counting_codec(hop::FrameCodec::Side::server);
    SECTION("no key on the server") {
        CHECK(judge(attach_record(agent), nullptr) == FirstBytes::web);
        CHECK(relay::judge_first_bytes(attach_record(agent), &server, nullptr, kEpoch) == FirstBytes::web);
    }
    SECTION("an attach from two epochs ago (stale)") {
        CHECK(judge(attach_record(agent), &server, kEpoch + 2) == FirstBytes::web);
        CHECK(judge(attach_record(agent), &server, kEpoch + 1) == FirstBytes::agent);  // a neighbour passes
    }
    SECTION("an attach under another key") {
        auto other = hop::FrameCodec(crypto::derive_hop_keys(crypto::HopKey{}), hop::FrameCodec::Side::agent,
                                     test::seeded_random(1));
        CHECK(judge(attach_record(other), &server) == FirstBytes::web);
    }
    SECTION("a data frame first (no attach)") {
        const auto data = test::masked_record(agent.sent_lengths(), test::sealed_data(agent, test::wg_transport(200)));
        CHECK(judge(data, &server) == FirstBytes::web);
    }
    SECTION("an attach with one byte changed") {
        auto record = attach_record(agent);
        record[20] ^= std::byte{1};  // inside the sealed control fields (the tail may be padding)
        CHECK(judge(record, &server) == FirstBytes::web);
    }
    SECTION("a complete HTTP request head, whatever its masked reading") {
        CHECK(judge(bytes_of("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &server) == FirstBytes::web);
        CHECK(judge(bytes_of("GET /x HTTP/1.0\n\n"), &server) == FirstBytes::web);
    }
    SECTION("an incomplete head whose masked length is out of an attach's range: decided at 10 bytes") {
        // Over many heads, every one is decided by the time its masked reading is out of range
        // or its head is complete; none waits beyond kFirstBytesDecisive.
        int waiting = 0;
        for (int i = 0; i < 200; ++i) {
            const auto head = bytes_of("GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: example");
            const auto verdict = judge(head, &server);
            CHECK(verdict != FirstBytes::agent);
            if (verdict == FirstBytes::need_more) ++waiting;
        }
        CHECK(waiting < 40);  // about 1 in 32 masked readings is in range
    }
    SECTION("random bytes") {
        auto random = test::seeded_random(9);
        int agents = 0, waited = 0;
        for (int i = 0; i < 500; ++i) {
            std::vector<std::byte> junk(64);
            random.fill(junk);
            const auto verdict = judge(junk, &server);
            agents += verdict == FirstBytes::agent;
            waited += verdict == FirstBytes::need_more;
        }
        CHECK(agents == 0);
        CHECK(waited < 40);
    }
}

TEST_CASE("first bytes: never more than kFirstBytesDecisive bytes undecided", "[relay][first_bytes]") {
    const auto server = test::counting_codec(hop::FrameCodec::Side::server);
    auto random = test::seeded_random(3);
    for (int i = 0; i < 300; ++i) {
        std::vector<std::byte> junk(relay::kFirstBytesDecisive);
        random.fill(junk);
        CHECK(judge(junk, &server) != FirstBytes::need_more);
    }
}

}  // namespace first_bytes_test
