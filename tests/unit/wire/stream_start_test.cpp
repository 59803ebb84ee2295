// wire/stream_start: what the first bytes of a TCP connection to port 443 are (TLS record
// header, HTTP request line start, or other), decided from as few bytes as possible.
#include "porthop/wire/stream_start.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include "../../support/bytes.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here must not meet another file's.
namespace stream_start_test {

using namespace porthop;
using test::Bytes;
using test::bytes;
using test::hex;
using wire::sniff_stream_start;
using wire::StreamStart;

const char* name(StreamStart s) {
    switch (s) {
        case StreamStart::need_more: return "need_more";
        case StreamStart::tls_handshake: return "tls_handshake";
        case StreamStart::http_request: return "http_request";
        case StreamStart::other: return "other";
    }
    return "?";
}

struct Case {
    const char* what;
    Bytes input;
    StreamStart expected;
    std::size_t decided_at;  // the shortest prefix with the final answer (input size if need_more)
};

// Every answer is given at `decided_at` bytes and kept for every longer prefix; every shorter
// prefix is need_more.
void check_case(const Case& c) {
    INFO(c.what << ": " << test::to_hex(c.input));
    for (std::size_t n = 0; n <= c.input.size(); ++n) {
        INFO("prefix " << n);
        const StreamStart got = sniff_stream_start(std::span(c.input).first(n));
        const StreamStart want = n < c.decided_at ? StreamStart::need_more : c.expected;
        CHECK(std::string(name(got)) == name(want));
    }
}

TEST_CASE("sniff_stream_start: TLS record headers", "[wire][stream_start]") {
    const Case cases[] = {
        // A ClientHello record header as OpenSSL and browsers write it (0x0301, 512 bytes):
        // the length's high byte 0x02 already proves the length in range.
        {"TLS 1.0 record version, length 512", hex("1603010200"), StreamStart::tls_handshake, 4},
        {"record version 0x0300 (SSL 3.0)", hex("16030000f0"), StreamStart::tls_handshake, 5},
        {"record version 0x0302", hex("1603020100"), StreamStart::tls_handshake, 4},
        {"record version 0x0303", hex("16030300c8"), StreamStart::tls_handshake, 5},
        {"record version 0x0304", hex("1603040100"), StreamStart::tls_handshake, 4},
        {"length 1 (the shortest)", hex("1603010001"), StreamStart::tls_handshake, 5},
        {"length 255", hex("16030100ff"), StreamStart::tls_handshake, 5},
        {"length 16639 (high byte 0x40)", hex("16030140ff"), StreamStart::tls_handshake, 4},
        {"length 16640 = 16384 + 256 (the longest)", hex("1603014100"), StreamStart::tls_handshake, 5},
        {"a record and what follows", hex("16030101fc010001f80303aabbcc"), StreamStart::tls_handshake, 4},
    };
    for (const auto& c : cases) check_case(c);
}

TEST_CASE("sniff_stream_start: refused TLS-like headers are other, at the byte that refuses",
          "[wire][stream_start]") {
    const Case cases[] = {
        {"major version 2", hex("1602010200"), StreamStart::other, 2},
        {"major version 4", hex("1604010200"), StreamStart::other, 2},
        {"minor version 5", hex("1603050200"), StreamStart::other, 3},
        {"minor version 0xff", hex("1603ff0200"), StreamStart::other, 3},
        {"length 0", hex("1603010000"), StreamStart::other, 5},
        {"length 16641", hex("1603014101"), StreamStart::other, 5},
        {"length high byte 0x42", hex("1603014200"), StreamStart::other, 4},
        {"length 0xffff", hex("160301ffff"), StreamStart::other, 4},
        // Not a handshake record: application data, alert, change cipher spec.
        {"application data record", hex("1703030100"), StreamStart::other, 1},
        {"alert record", hex("1503030002"), StreamStart::other, 1},
        {"change cipher spec record", hex("1403030001"), StreamStart::other, 1},
        // An SSLv2-style hello (high bit): nginx hands it to OpenSSL, but it is no TLS record.
        {"SSLv2 hello", hex("802b0103010012"), StreamStart::other, 1},
    };
    for (const auto& c : cases) check_case(c);
}

TEST_CASE("sniff_stream_start: HTTP request line starts", "[wire][stream_start]") {
    const Case cases[] = {
        {"GET", bytes("GET / HTTP/1.1\r\n"), StreamStart::http_request, 4},
        {"HEAD", bytes("HEAD / HTTP/1.1\r\n"), StreamStart::http_request, 5},
        {"POST", bytes("POST /login HTTP/1.1\r\n"), StreamStart::http_request, 5},
        {"PUT", bytes("PUT /x HTTP/1.1\r\n"), StreamStart::http_request, 4},
        {"DELETE", bytes("DELETE /x HTTP/1.1\r\n"), StreamStart::http_request, 7},
        {"OPTIONS", bytes("OPTIONS * HTTP/1.1\r\n"), StreamStart::http_request, 8},
        {"PATCH", bytes("PATCH /x HTTP/1.1\r\n"), StreamStart::http_request, 6},
        {"CONNECT", bytes("CONNECT example.net:443 HTTP/1.1\r\n"), StreamStart::http_request, 8},
        {"TRACE", bytes("TRACE / HTTP/1.1\r\n"), StreamStart::http_request, 6},
        {"HTTP/2 preface", bytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), StreamStart::http_request, 14},
        {"the method alone with its space", bytes("GET "), StreamStart::http_request, 4},
    };
    for (const auto& c : cases) check_case(c);
}

TEST_CASE("sniff_stream_start: what is not a known request line start is other", "[wire][stream_start]") {
    const Case cases[] = {
        {"a method without its space", bytes("GETX / HTTP/1.1"), StreamStart::other, 4},
        {"lower-case method", bytes("get / HTTP/1.1"), StreamStart::other, 1},
        {"tab after the method", bytes("GET\t/"), StreamStart::other, 4},
        {"unknown method (nginx would parse it)", bytes("FOO / HTTP/1.1"), StreamStart::other, 1},
        {"PROPFIND parts from POST at the third byte", bytes("PROPFIND / HTTP/1.1"), StreamStart::other, 3},
        {"PRI with the wrong version", bytes("PRI * HTTP/2.1\r\n"), StreamStart::other, 14},
        {"PRI as a method", bytes("PRI / HTTP/1.1"), StreamStart::other, 5},
        {"HEAD broken off", bytes("HEX / HTTP/1.1"), StreamStart::other, 3},
        {"a byte before the method", bytes(" GET / HTTP/1.1"), StreamStart::other, 1},
        {"CRLF before the request line", bytes("\r\nGET / HTTP/1.1"), StreamStart::other, 1},
    };
    for (const auto& c : cases) check_case(c);
}

TEST_CASE("sniff_stream_start: native and masked records are other at the first byte", "[wire][stream_start]") {
    const Case cases[] = {
        // OpenVPN tcp-client: u16 length, then P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7).
        {"OpenVPN hard reset", hex("000e38a1b2c3d4e5f6a7b8000000000000"), StreamStart::other, 1},
        // WireGuard over a u16 framing: length 148, then the initiation's type 1.
        {"WireGuard initiation", hex("009401000000"), StreamStart::other, 1},
        {"zero byte", hex("00"), StreamStart::other, 1},
        {"random bytes", hex("9f3c1a77e2"), StreamStart::other, 1},
        {"0x7f", hex("7f"), StreamStart::other, 1},
        {"0xff", hex("ff"), StreamStart::other, 1},
        {"0x16 then not 0x03 (a masked record may start so)", hex("16a0"), StreamStart::other, 2},
    };
    for (const auto& c : cases) check_case(c);
}

TEST_CASE("sniff_stream_start: prefixes that could still be either wait", "[wire][stream_start]") {
    const Case cases[] = {
        {"nothing", {}, StreamStart::need_more, 0},
        {"0x16", hex("16"), StreamStart::need_more, 1},
        {"16 03", hex("1603"), StreamStart::need_more, 2},
        {"16 03 01", hex("160301"), StreamStart::need_more, 3},
        {"16 03 01 00 (length below 256: the low byte decides)", hex("16030100"), StreamStart::need_more, 4},
        {"16 03 01 41 (length from 16640: the low byte decides)", hex("16030141"), StreamStart::need_more, 4},
        {"P (POST, PUT, PATCH, PRI)", bytes("P"), StreamStart::need_more, 1},
        {"PU", bytes("PU"), StreamStart::need_more, 2},
        {"OPTIONS without its space", bytes("OPTIONS"), StreamStart::need_more, 7},
        {"the longest wait", bytes("PRI * HTTP/2."), StreamStart::need_more, 13},
    };
    for (const auto& c : cases) check_case(c);
}

TEST_CASE("sniff_stream_start: kStreamStartDecisive bytes always decide", "[wire][stream_start]") {
    // The longest need_more prefix is one short of the constant.
    CHECK(sniff_stream_start(bytes("PRI * HTTP/2.")) == StreamStart::need_more);
    CHECK(wire::kStreamStartDecisive == std::string("PRI * HTTP/2.0").size());
    // Every first byte, completed to the decisive length in a few ways (zero bytes pad the
    // TLS-like one: a record of length 0).
    for (int first = 0; first < 256; ++first) {
        for (const char* rest : {"ET / HTTP/1.1 ", "RI * HTTP/2.0 ", "\x03\x01"}) {
            Bytes input{static_cast<std::byte>(first)};
            const Bytes tail = bytes(std::string(rest));
            input.insert(input.end(), tail.begin(), tail.end());
            input.resize(wire::kStreamStartDecisive);
            INFO(test::to_hex(input));
            CHECK(sniff_stream_start(input) != StreamStart::need_more);
        }
    }
}

TEST_CASE("nginx_starts_tls: nginx's first-byte rule", "[wire][stream_start]") {
    const std::pair<int, bool> cases[] = {
        {0x16, true}, {0x80, true}, {0xff, true}, {0x9f, true},      // OpenSSL
        {0x00, false}, {0x15, false}, {0x17, false}, {'G', false}, {0x7f, false},  // HTTP parser
    };
    for (const auto& [first, tls] : cases) {
        INFO(first);
        CHECK(wire::nginx_starts_tls(static_cast<std::byte>(first)) == tls);
    }
}

}  // namespace stream_start_test
