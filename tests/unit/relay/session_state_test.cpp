// The restart state file (relay/session_state.hpp): what is written reads back the same, and
// anything else is refused with a reason rather than half-restored.
#include <catch2/catch.hpp>

#include "porthop/relay/session_state.hpp"

#include "../../support/endpoints.hpp"

using namespace porthop;
using porthop::test::endpoint;

namespace {

relay::SavedState sample() {
    relay::SavedState state;
    state.written = std::chrono::system_clock::time_point{std::chrono::seconds{1'800'000'000}};
    state.backend = endpoint("127.0.0.1", 51820);
    relay::SavedSession a;
    a.listener = endpoint("0.0.0.0", 443);
    a.client = endpoint("198.51.100.7", 40001);
    a.local.family = AF_INET;
    a.local.ifindex = 2;
    a.local.v4.s_addr = htonl(0xc0000201);  // 192.0.2.1
    a.upstream = endpoint("127.0.0.1", 41234);
    a.validated = true;
    relay::SavedSession b;
    b.listener = endpoint("::", 1194);
    b.client = endpoint("2001:db8::5", 5000);
    b.upstream = endpoint("::1", 50000);
    b.amplification = 3;
    b.opened_by_data = true;
    b.roamed = true;
    state.sessions = {a, b};
    state.agents = {{0x0123456789abcdef, 42, 1'800'000'001'234, 1'800'000'960},
                    {0x00000000000000ff, 1, 0, 1}};
    return state;
}

}  // namespace

TEST_CASE("session state: written state reads back the same", "[relay][restart]") {
    const auto state = sample();
    std::string why;
    const auto back = relay::parse_state(relay::format_state(state), why);
    REQUIRE(back);
    CHECK(back->written == state.written);
    CHECK(back->backend == state.backend);
    CHECK(back->sessions == state.sessions);
    CHECK(back->agents == state.agents);
    const auto none = relay::parse_state(relay::format_state({state.written, state.backend, {}, {}}), why);
    REQUIRE(none);
    CHECK(none->sessions.empty());
}

TEST_CASE("session state: anything else is refused with a reason", "[relay][restart]") {
    const std::string good = relay::format_state(sample());
    const auto refused = [](const std::string& text) {
        std::string why;
        const bool ok = relay::parse_state(text, why).has_value();
        CHECK_FALSE(why.empty());
        return !ok;
    };
    CHECK(refused(""));
    CHECK(refused("hello\n"));
    CHECK(refused("porthop-sessions 3 1800000000 127.0.0.1 51820\n"));
    CHECK(refused("porthop-sessions 0 1800000000 127.0.0.1 51820\n"));
    CHECK(refused("porthop-sessions 1 1800000000 localhost 51820\n"));
    const auto header_end = good.find('\n') + 1;
    const std::string header = good.substr(0, header_end);
    CHECK(refused(header + "tcp 0.0.0.0 443 1.2.3.4 5 - 0 127.0.0.1 4 1 1 0 0\n"));
    CHECK(refused(header + "udp 0.0.0.0 443 1.2.3.4 5 - 0 127.0.0.1 4 1 1 0\n"));        // a field short
    CHECK(refused(header + "udp 0.0.0.0 443 1.2.3.4 5 - 0 127.0.0.1 4 1 1 0 0 9\n"));    // one too many
    CHECK(refused(header + "udp 0.0.0.0 70000 1.2.3.4 5 - 0 127.0.0.1 4 1 1 0 0\n"));    // port range
    CHECK(refused(header + "udp 0.0.0.0 443 1.2.3.4 5 - 0 127.0.0.1 4 2 1 0 0\n"));      // not 0/1
    CHECK(refused(header + "udp 0.0.0.0 443 1.2.3.4 5 - 0 127.0.0.1 4 1 0 0 0\n"));      // factor 0
    CHECK(refused(header + "udp 0.0.0.0 443 1.2.3.4 5 nowhere 0 127.0.0.1 4 1 1 0 0\n"));
    CHECK(refused(good.substr(0, good.size() - 4)));  // cut short
    CHECK(refused(header + "agent 0123456789abcdef 42 1000\n"));              // a field short
    CHECK(refused(header + "agent 0123456789abcdef 42 1000 2000 5\n"));       // one too many
    CHECK(refused(header + "agent 0123456789abcde 42 1000 2000\n"));          // 15 digits
    CHECK(refused(header + "agent 0123456789abcdeg 42 1000 2000\n"));         // not hex
    CHECK(refused(header + "agent 0123456789ABCDEF 42 1000 2000\n"));         // one spelling
    CHECK(refused(header + "agent 0000000000000000 42 1000 2000\n"));         // session 0
    CHECK(refused(header + "agent 0123456789abcdef x 1000 2000\n"));
}

TEST_CASE("session state: a format 1 file (no agent lines) is still read", "[relay][restart]") {
    std::string why;
    const auto old = relay::parse_state(
        "porthop-sessions 1 1800000000 127.0.0.1 51820\n"
        "udp 0.0.0.0 443 198.51.100.7 40001 - 0 127.0.0.1 41234 1 1 0 0\n",
        why);
    REQUIRE(old);
    CHECK(old->sessions.size() == 1);
    CHECK(old->agents.empty());
    // Written files are format 2.
    CHECK(relay::format_state(sample()).rfind("porthop-sessions 2 ", 0) == 0);
}

TEST_CASE("session state: files are replaced whole and read back", "[relay][restart]") {
    const std::string path = "/tmp/porthop-state-unit-" + std::to_string(::getpid());
    std::string why;
    REQUIRE(relay::write_state_file(path, "one\n", why));
    REQUIRE(relay::write_state_file(path, "two\n", why));
    auto text = relay::read_state_file(path, why);
    REQUIRE(text);
    CHECK(*text == "two\n");
    ::unlink(path.c_str());
    CHECK_FALSE(relay::read_state_file(path, why));
    CHECK(why.empty());  // no file: nothing to say
    CHECK_FALSE(relay::write_state_file("/nonexistent-dir/state", "x", why));
    CHECK_THAT(why, Catch::Contains("/nonexistent-dir/state.tmp"));
}

namespace session_state_replace_test {

TEST_CASE("session state: only an empty file or a state file is overwritten", "[relay][session_state]") {
    using porthop::relay::may_replace_with_state;
    CHECK(may_replace_with_state(""));
    CHECK(may_replace_with_state(" \n\t\r\n"));
    CHECK(may_replace_with_state("porthop-sessions 2 1700000000 127.0.0.1:51820\n"));
    CHECK(may_replace_with_state("porthop-sessions 99 1 127.0.0.1:1\n"));  // another format: still ours
    // Negative: anything else is someone's file.
    CHECK_FALSE(may_replace_with_state("[server]\nlisten = \"0.0.0.0\"\n"));
    CHECK_FALSE(may_replace_with_state("porthop-sessionsX 2 1 127.0.0.1:1\n"));
    CHECK_FALSE(may_replace_with_state("# porthop-sessions\n"));
    CHECK_FALSE(may_replace_with_state(std::string_view("\0\1\2", 3)));
}

}  // namespace session_state_replace_test
