// hop::authenticate / check_attach / check_ack: the acceptance rules of docs/PROTOCOL.md in
// their order (structure, tag, epoch, replay), each failure with its own verdict.
#include "porthop/hop/attach_check.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace crypto = porthop::crypto;
namespace wh = porthop::wire::hop;
using porthop::hop::authenticate;
using porthop::hop::check_ack;
using porthop::hop::check_attach;
using porthop::hop::ReplayWindow;
using porthop::hop::Verdict;

namespace {

using Frame = std::array<std::byte, wh::kControlSize>;

constexpr std::uint64_t kEpoch = 28000000;
constexpr std::uint64_t kSession = 0x0123456789abcdef;
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

crypto::HopKeys keys_from(std::uint8_t first) {
    crypto::HopKey k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(first + i);
    return crypto::derive_hop_keys(k);
}

const crypto::HopKeys& keys() {
    static const auto k = keys_from(0);
    return k;
}

Frame sealed(wh::Type type, std::uint64_t counter, std::uint64_t epoch = kEpoch,
             std::uint64_t session = kSession, const crypto::HopKeys& k = keys()) {
    Frame f{};
    crypto::seal_control(k, {type, session, counter, epoch, type == wh::Type::ack ? counter : 0}, f);
    return f;
}

Frame attach(std::uint64_t counter, std::uint64_t epoch = kEpoch, std::uint64_t session = kSession) {
    return sealed(wh::Type::attach, counter, epoch, session);
}

Frame ack(std::uint64_t counter, std::uint64_t epoch = kEpoch, std::uint64_t session = kSession) {
    return sealed(wh::Type::ack, counter, epoch, session);
}

// The server's session table, reduced to what check_attach needs.
struct Windows {
    std::map<std::uint64_t, ReplayWindow> by_session;
    porthop::hop::Checked check(std::span<const std::byte> frame, std::uint64_t epoch = kEpoch) {
        auto c = check_attach(keys(), frame, epoch, [&](std::uint64_t id) -> ReplayWindow* {
            auto it = by_session.find(id);
            return it == by_session.end() ? nullptr : &it->second;
        });
        // As the server does: a new session's window starts with the counter that created it.
        if (c.verdict == Verdict::accept && !by_session.count(c.control.session_id))
            by_session[c.control.session_id].accept(c.control.counter);
        return c;
    }
};

}  // namespace

TEST_CASE("attach check: authenticate accepts within one epoch either way", "[hop][attach]") {
    struct Row {
        std::uint64_t frame_epoch;
        std::uint64_t receiver_epoch;
        Verdict verdict;
    };
    const Row rows[] = {
        {kEpoch, kEpoch, Verdict::accept},
        {kEpoch + 1, kEpoch, Verdict::accept},
        {kEpoch - 1, kEpoch, Verdict::accept},
        {kEpoch + 2, kEpoch, Verdict::stale_epoch},
        {kEpoch - 2, kEpoch, Verdict::stale_epoch},
        {kEpoch + 1000, kEpoch, Verdict::stale_epoch},
        {0, kEpoch, Verdict::stale_epoch},
        {kMax, kEpoch, Verdict::stale_epoch},
        // No wrap-around at the ends of the range.
        {0, 0, Verdict::accept},
        {1, 0, Verdict::accept},
        {2, 0, Verdict::stale_epoch},
        {kMax, 0, Verdict::stale_epoch},
        {0, kMax, Verdict::stale_epoch},
        {kMax - 1, kMax, Verdict::accept},
        {kMax - 2, kMax, Verdict::stale_epoch},
    };
    for (const auto& row : rows) {
        for (wh::Type type : {wh::Type::attach, wh::Type::ack}) {
            INFO("frame epoch " << row.frame_epoch << ", receiver " << row.receiver_epoch << ", type "
                                << static_cast<int>(type));
            const auto f = sealed(type, 5, row.frame_epoch);
            const auto c = authenticate(keys(), f, type, row.receiver_epoch);
            CHECK(c.verdict == row.verdict);
            // The tag was valid, so the fields are there even for a stale frame (for the log).
            CHECK(c.control.epoch == row.frame_epoch);
            CHECK(c.control.counter == 5);
            CHECK(c.control.session_id == kSession);
        }
    }
}

TEST_CASE("attach check: malformed frames", "[hop][attach]") {
    const auto good = attach(1);
    REQUIRE(authenticate(keys(), good, wh::Type::attach, kEpoch).verdict == Verdict::accept);
    SECTION("every truncation and one byte more") {
        for (std::size_t n = 0; n < wh::kControlSize; ++n) {
            INFO("length " << n);
            const auto c =
                authenticate(keys(), std::span<const std::byte>(good).first(n), wh::Type::attach, kEpoch);
            CHECK(c.verdict == Verdict::malformed);
            CHECK(c.control == wh::Control{});
        }
        std::vector<std::byte> longer(good.begin(), good.end());
        longer.push_back(std::byte{0});
        CHECK(authenticate(keys(), longer, wh::Type::attach, kEpoch).verdict == Verdict::malformed);
    }
    SECTION("the other control type, with a valid tag") {
        CHECK(authenticate(keys(), attach(1), wh::Type::ack, kEpoch).verdict == Verdict::malformed);
        CHECK(authenticate(keys(), ack(1), wh::Type::attach, kEpoch).verdict == Verdict::malformed);
    }
    SECTION("counter 0, with a valid tag") {
        CHECK(authenticate(keys(), attach(0), wh::Type::attach, kEpoch).verdict == Verdict::malformed);
        CHECK(authenticate(keys(), ack(0), wh::Type::ack, kEpoch).verdict == Verdict::malformed);
    }
    SECTION("wrong type or version byte") {
        for (std::size_t at : {0, 1}) {
            for (int value : {0x00, 0x03, 0x04, 0xff}) {
                auto f = good;
                f[at] = static_cast<std::byte>(value);
                INFO("byte " << at << " = " << value);
                CHECK(authenticate(keys(), f, wh::Type::attach, kEpoch).verdict == Verdict::malformed);
            }
        }
    }
}

TEST_CASE("attach check: the checks run in order", "[hop][attach]") {
    const auto other = keys_from(100);
    // Structure before tag: counter 0 under the wrong key is malformed, not bad_tag.
    CHECK(authenticate(other, attach(0), wh::Type::attach, kEpoch).verdict == Verdict::malformed);
    // Tag before epoch: a stale frame under the wrong key is bad_tag, and reveals nothing.
    const auto c = authenticate(other, attach(1, kEpoch + 5), wh::Type::attach, kEpoch);
    CHECK(c.verdict == Verdict::bad_tag);
    CHECK(c.control == wh::Control{});
    // Epoch before replay: a stale repeat is stale_epoch and leaves the window alone.
    ReplayWindow w;
    REQUIRE(check_ack(keys(), ack(3), kEpoch, kSession, w).verdict == Verdict::accept);
    CHECK(check_ack(keys(), ack(3, kEpoch + 2), kEpoch, kSession, w).verdict == Verdict::stale_epoch);
    CHECK(check_ack(keys(), ack(4, kEpoch + 2), kEpoch, kSession, w).verdict == Verdict::stale_epoch);
    CHECK(check_ack(keys(), ack(4), kEpoch, kSession, w).verdict == Verdict::accept);  // 4 not marked
}

TEST_CASE("attach check: every single-bit flip fails", "[hop][attach]") {
    for (wh::Type type : {wh::Type::attach, wh::Type::ack}) {
        const auto good = sealed(type, 9);
        for (std::size_t bit = 0; bit < wh::kControlSize * 8; ++bit) {
            auto f = good;
            f[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
            INFO("type " << static_cast<int>(type) << ", bit " << bit);
            const auto c = authenticate(keys(), f, type, kEpoch);
            CHECK(c.verdict != Verdict::accept);
            if (bit >= 16) CHECK(c.verdict == Verdict::bad_tag);
            ReplayWindow w;
            if (type == wh::Type::ack)
                CHECK(check_ack(keys(), f, kEpoch, kSession, w).verdict != Verdict::accept);
            CHECK(w.highest() == 0);
        }
    }
}

TEST_CASE("attach check: wrong key is bad_tag", "[hop][attach]") {
    const auto other = keys_from(1);
    CHECK(authenticate(other, attach(1), wh::Type::attach, kEpoch).verdict == Verdict::bad_tag);
    CHECK(authenticate(other, ack(1), wh::Type::ack, kEpoch).verdict == Verdict::bad_tag);
    ReplayWindow w;
    CHECK(check_ack(other, ack(1), kEpoch, kSession, w).verdict == Verdict::bad_tag);
    Windows server;
    CHECK(check_attach(other, attach(1), kEpoch, [](std::uint64_t) -> ReplayWindow* {
              return nullptr;
          }).verdict == Verdict::bad_tag);
}

TEST_CASE("attach check: check_attach and the session's replay window", "[hop][attach]") {
    Windows server;
    SECTION("a new session is accepted; its counters after that once each") {
        CHECK(server.check(attach(1)).verdict == Verdict::accept);
        CHECK(server.check(attach(1)).verdict == Verdict::replay);
        CHECK(server.check(attach(2)).verdict == Verdict::accept);
        CHECK(server.check(attach(2)).verdict == Verdict::replay);
        // The replayed frame's fields are still reported (the tag was valid).
        const auto c = server.check(attach(1));
        CHECK(c.verdict == Verdict::replay);
        CHECK(c.control.counter == 1);
    }
    SECTION("too old after the window slides across 64") {
        for (std::uint64_t n = 1; n <= 70; ++n) REQUIRE(server.check(attach(n)).verdict == Verdict::accept);
        CHECK(server.check(attach(6)).verdict == Verdict::replay);       // 64 below 70
        CHECK(server.by_session.at(kSession).would_accept(7) == false);  // seen
        CHECK(server.check(attach(100)).verdict == Verdict::accept);
        CHECK(server.check(attach(37)).verdict == Verdict::replay);  // 63 below, already seen
        CHECK(server.check(attach(36)).verdict == Verdict::replay);  // 64 below
        CHECK(server.check(attach(99)).verdict == Verdict::accept);  // skipped earlier
    }
    SECTION("sessions have their own windows") {
        CHECK(server.check(attach(5, kEpoch, 1)).verdict == Verdict::accept);
        CHECK(server.check(attach(5, kEpoch, 2)).verdict == Verdict::accept);
        CHECK(server.check(attach(5, kEpoch, 1)).verdict == Verdict::replay);
    }
    SECTION("rejected frames do not touch the window") {
        CHECK(server.check(attach(1)).verdict == Verdict::accept);
        CHECK(server.check(attach(2, kEpoch + 2)).verdict == Verdict::stale_epoch);
        auto forged = attach(3);
        forged[wh::kTagOffset] ^= std::byte{1};
        CHECK(server.check(forged).verdict == Verdict::bad_tag);
        CHECK(server.by_session.at(kSession).highest() == 1);
        CHECK(server.check(attach(3)).verdict == Verdict::accept);
        CHECK(server.check(attach(2, kEpoch + 1)).verdict == Verdict::accept);
    }
    SECTION("an epoch change within tolerance keeps the session") {
        CHECK(server.check(attach(1), kEpoch).verdict == Verdict::accept);
        CHECK(server.check(attach(2, kEpoch + 1), kEpoch).verdict == Verdict::accept);
        CHECK(server.check(attach(3, kEpoch + 1), kEpoch + 1).verdict == Verdict::accept);
        CHECK(server.check(attach(4, kEpoch + 1), kEpoch + 2).verdict == Verdict::accept);
        CHECK(server.check(attach(5, kEpoch + 1), kEpoch + 3).verdict == Verdict::stale_epoch);
    }
}

TEST_CASE("attach check: check_ack", "[hop][attach]") {
    ReplayWindow w;
    SECTION("accepted once") {
        const auto c = check_ack(keys(), ack(1), kEpoch, kSession, w);
        CHECK(c.verdict == Verdict::accept);
        CHECK(c.control == wh::Control{wh::Type::ack, kSession, 1, kEpoch, 1});
        CHECK(check_ack(keys(), ack(1), kEpoch, kSession, w).verdict == Verdict::replay);
        CHECK(check_ack(keys(), ack(2, kEpoch - 1), kEpoch, kSession, w).verdict == Verdict::accept);
        CHECK(check_ack(keys(), ack(2, kEpoch - 1), kEpoch, kSession, w).verdict == Verdict::replay);
    }
    SECTION("another session's ack is not ours, and does not touch our window") {
        const auto c = check_ack(keys(), ack(1, kEpoch, kSession + 1), kEpoch, kSession, w);
        CHECK(c.verdict == Verdict::bad_tag);
        CHECK(w.highest() == 0);
        CHECK(check_ack(keys(), ack(1), kEpoch, kSession, w).verdict == Verdict::accept);
    }
    SECTION("too old, across a slide of 64") {
        for (std::uint64_t n = 1; n <= 64; ++n)
            REQUIRE(check_ack(keys(), ack(n), kEpoch, kSession, w).verdict == Verdict::accept);
        CHECK(check_ack(keys(), ack(130), kEpoch, kSession, w).verdict == Verdict::accept);
        CHECK(check_ack(keys(), ack(66), kEpoch, kSession, w).verdict == Verdict::replay);  // 64 below
        CHECK(check_ack(keys(), ack(67), kEpoch, kSession, w).verdict == Verdict::accept);  // 63 below
        CHECK(check_ack(keys(), ack(67), kEpoch, kSession, w).verdict == Verdict::replay);
    }
    SECTION("stale epochs, either way") {
        CHECK(check_ack(keys(), ack(1, kEpoch + 2), kEpoch, kSession, w).verdict == Verdict::stale_epoch);
        CHECK(check_ack(keys(), ack(1, kEpoch - 2), kEpoch, kSession, w).verdict == Verdict::stale_epoch);
        CHECK(check_ack(keys(), ack(1, kEpoch + 1), kEpoch, kSession, w).verdict == Verdict::accept);
    }
    SECTION("an attach is not an ack") {
        CHECK(check_ack(keys(), attach(1), kEpoch, kSession, w).verdict == Verdict::malformed);
        CHECK(check_ack(keys(), ack(0), kEpoch, kSession, w).verdict == Verdict::malformed);
        CHECK(w.highest() == 0);
    }
}

TEST_CASE("attach check: to_string names every verdict", "[hop][attach]") {
    CHECK(std::string(to_string(Verdict::accept)) == "accept");
    CHECK(std::string(to_string(Verdict::malformed)) == "malformed");
    CHECK(std::string(to_string(Verdict::bad_tag)) == "bad_tag");
    CHECK(std::string(to_string(Verdict::stale_epoch)) == "stale_epoch");
    CHECK(std::string(to_string(Verdict::replay)) == "replay");
}
