// wire/http_head: the built-in decoy site's request-head parser. Valid heads (every prefix
// asks for more, the whole gives the fields, bytes after the head change nothing); every
// refusal, each at the byte that causes it (every shorter prefix asks for more, longer inputs
// stay bad for the same reason); the 8 KiB bound on both sides.
#include "porthop/wire/http_head.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "../../support/bytes.hpp"

// A namespace of its own: with unity builds the files of a test target share a translation
// unit, so the local names here must not meet another file's.
namespace http_head_test {

using namespace porthop;
using namespace std::string_literals;
using test::Bytes;
using wire::HttpHead;
using wire::HttpHeadError;
using wire::HttpHeadStatus;
using wire::HttpVersion;
using wire::kMaxRequestHead;
using wire::parse_request_head;

const char* name(HttpHeadStatus s) {
    switch (s) {
        case HttpHeadStatus::need_more: return "need_more";
        case HttpHeadStatus::complete: return "complete";
        case HttpHeadStatus::bad: return "bad";
    }
    return "?";
}

const char* name(HttpHeadError e) {
    switch (e) {
        case HttpHeadError::none: return "none";
        case HttpHeadError::too_long: return "too_long";
        case HttpHeadError::method: return "method";
        case HttpHeadError::target: return "target";
        case HttpHeadError::version: return "version";
        case HttpHeadError::line_end: return "line_end";
        case HttpHeadError::header_name: return "header_name";
        case HttpHeadError::header_value: return "header_value";
        case HttpHeadError::obs_fold: return "obs_fold";
        case HttpHeadError::host_missing: return "host_missing";
        case HttpHeadError::host_duplicate: return "host_duplicate";
        case HttpHeadError::host_invalid: return "host_invalid";
    }
    return "?";
}

HttpHead parse(const std::string& s, std::size_t n) {
    return parse_request_head(std::as_bytes(std::span(s.data(), n)));
}

struct Valid {
    const char* what;
    std::string head;  // exactly one request head
    std::string_view method;
    std::string_view target;
    HttpVersion version;
    std::string_view host;
    bool keep_alive;
};

TEST_CASE("parse_request_head: valid heads", "[wire][http_head]") {
    const std::string chrome =
        "GET /index.html?q=1 HTTP/1.1\r\n"
        "Host: www.example.net\r\n"
        "Connection: keep-alive\r\n"
        "sec-ch-ua: \"Chromium\";v=\"120\", \"Not?A_Brand\";v=\"8\"\r\n"
        "Upgrade-Insecure-Requests: 1\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Accept-Language: en-US,en;q=0.9\r\n"
        "\r\n";
    const Valid cases[] = {
        {"curl", "GET / HTTP/1.1\r\nHost: example.net\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", "GET",
         "/", HttpVersion::http_1_1, "example.net", true},
        {"a browser's head", chrome, "GET", "/index.html?q=1", HttpVersion::http_1_1, "www.example.net", true},
        {"HTTP/1.0 without Host", "GET /a HTTP/1.0\r\n\r\n", "GET", "/a", HttpVersion::http_1_0, "", false},
        {"HTTP/1.0 keep-alive", "HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "HEAD", "/",
         HttpVersion::http_1_0, "", true},
        {"HTTP/1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "a", false},
        {"close wins, tokens in a list, two lines",
         "GET / HTTP/1.0\r\nConnection: keep-alive\r\nconnection: TE ,\tCLOSE\r\n\r\n", "GET", "/",
         HttpVersion::http_1_0, "", false},
        {"a token that only contains close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "a", true},
        {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", "GET", "/", HttpVersion::http_1_1, "a", true},
        {"mixed line ends", "GET / HTTP/1.1\r\nHost: a\n\r\n", "GET", "/", HttpVersion::http_1_1, "a", true},
        {"empty lines before the request line", "\r\n\n\rGET / HTTP/1.0\r\n\r\n", "GET", "/", HttpVersion::http_1_0,
         "", false},
        {"runs of spaces", "GET   /x  HTTP/1.1   \r\nHost:a\r\n\r\n", "GET", "/x", HttpVersion::http_1_1, "a", true},
        {"absolute URI", "GET http://example.net/p HTTP/1.1\r\nHost: example.net\r\n\r\n", "GET",
         "http://example.net/p", HttpVersion::http_1_1, "example.net", true},
        {"scheme with + . -", "GET s+v.1-x://h/ HTTP/1.0\r\n\r\n", "GET", "s+v.1-x://h/", HttpVersion::http_1_0, "",
         false},
        {"unknown method token", "FOO_BAR-X /x HTTP/1.1\r\nHost: a\r\n\r\n", "FOO_BAR-X", "/x",
         HttpVersion::http_1_1, "a", true},
        {"target with UTF-8 and escapes", "GET /caf\xc3\xa9?a=%20&b=\"x\" HTTP/1.1\r\nHost: a\r\n\r\n", "GET",
         "/caf\xc3\xa9?a=%20&b=\"x\"", HttpVersion::http_1_1, "a", true},
        {"Host with port, OWS trimmed", "GET / HTTP/1.1\r\nhOsT: \t example.net:8443 \t\r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "example.net:8443", true},
        {"Host IPv6 literal", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "[2001:db8::1]:443", true},
        {"Host with a trailing dot", "GET / HTTP/1.1\r\nHost: example.net.\r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "example.net.", true},
        {"a name nginx ignores, and an empty value", "GET / HTTP/1.1\r\nX(y)\xc3\xa9: z\r\nX-Empty:\r\nHost: a\r\n\r\n",
         "GET", "/", HttpVersion::http_1_1, "a", true},
        {"controls but NUL in a value pass", "GET / HTTP/1.1\r\nX: a\x01\x7f b\r\nHost: a\r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "a", true},
        {"a value with inner spaces and a colon", "GET / HTTP/1.1\r\nHost: a\r\nX: b c:d \r\n\r\n", "GET", "/",
         HttpVersion::http_1_1, "a", true},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        // Every proper prefix waits for more.
        for (std::size_t n = 0; n < c.head.size(); ++n) {
            INFO("prefix " << n);
            const HttpHead h = parse(c.head, n);
            REQUIRE(std::string(name(h.status)) == "need_more");
            CHECK(h.head_length == 0);
            CHECK(h.method.empty());
        }
        // The whole head, and the head followed by a body or the next request, give the same.
        for (const std::string& input : {c.head, c.head + "POST", c.head + "\x00\xff junk\r\n\r\n"s}) {
            const HttpHead h = parse(input, input.size());
            REQUIRE(std::string(name(h.status)) == "complete");
            CHECK(h.error == HttpHeadError::none);
            CHECK(h.head_length == c.head.size());
            CHECK(h.method == c.method);
            CHECK(h.target == c.target);
            CHECK(h.version == c.version);
            CHECK(h.host == c.host);
            CHECK(h.keep_alive == c.keep_alive);
            // The views point into the input: nothing was copied.
            CHECK(h.method.data() >= input.data());
            CHECK(h.target.data() + h.target.size() <= input.data() + h.head_length);
        }
    }
}

struct Refusal {
    const char* what;
    std::string input;  // ends with the byte that makes it bad
    HttpHeadError error;
};

TEST_CASE("parse_request_head: every refusal, at the byte that causes it", "[wire][http_head]") {
    const std::string line = "GET / HTTP/1.1\r\n";
    const Refusal cases[] = {
        // Method
        {"lower-case method", "GEt", HttpHeadError::method},
        {"a TLS record", "\x16", HttpHeadError::method},
        {"empty method", " ", HttpHeadError::method},
        {"control in the method", "GE\x01", HttpHeadError::method},
        {"tab after the method", "GET\t", HttpHeadError::method},
        {"NUL first", "\0"s, HttpHeadError::method},
        // Target
        {"asterisk (nginx refuses it too)", "OPTIONS *", HttpHeadError::target},
        {"authority form", "CONNECT example.net:4", HttpHeadError::target},
        {"scheme without //", "GET http:/x", HttpHeadError::target},
        {"scheme with a bad char", "GET ht_", HttpHeadError::target},
        {"control in the target", "GET /a\x01", HttpHeadError::target},
        {"DEL in the target", "GET /a\x7f", HttpHeadError::target},
        {"tab in the target", "GET /a\t", HttpHeadError::target},
        {"tab before the target", "GET \t", HttpHeadError::target},
        {"line end instead of a target", "GET \r", HttpHeadError::target},
        // Version
        {"missing version, CRLF (HTTP/0.9)", "GET /\r", HttpHeadError::version},
        {"missing version, LF", "GET /index.html\n", HttpHeadError::version},
        {"missing version after spaces", "GET /  \r", HttpHeadError::version},
        {"lower-case http", "GET / h", HttpHeadError::version},
        {"HTTP/2.0", "GET / HTTP/2", HttpHeadError::version},
        {"HTTP/1.2", "GET / HTTP/1.2", HttpHeadError::version},
        {"HTTP/1.10", "GET / HTTP/1.10", HttpHeadError::version},
        {"HTTPS/1.1", "GET / HTTPS", HttpHeadError::version},
        {"HTTP/1.x", "GET / HTTP/1.x", HttpHeadError::version},
        // Line ends
        {"bytes after the version", "GET / HTTP/1.1x", HttpHeadError::line_end},
        {"a word after the version", "GET / HTTP/1.1 x", HttpHeadError::line_end},
        {"CR not followed by LF (request line)", "GET / HTTP/1.1\rX", HttpHeadError::line_end},
        {"CR not followed by LF (value)", line + "Host: a\rb", HttpHeadError::line_end},
        {"CR CR LF", line + "Host: a\r\r", HttpHeadError::line_end},
        {"CR not followed by LF (end of head)", line + "Host: a\r\n\rX", HttpHeadError::line_end},
        // Header names
        {"line without a colon (CRLF)", line + "Host\r", HttpHeadError::header_name},
        {"line without a colon (LF)", line + "Host\n", HttpHeadError::header_name},
        {"empty name", line + ":", HttpHeadError::header_name},
        {"space in the name", line + "Ho ", HttpHeadError::header_name},
        {"space before the colon", line + "Host ", HttpHeadError::header_name},
        {"control in the name", line + "X\x01", HttpHeadError::header_name},
        {"DEL first in the name", line + "\x7f", HttpHeadError::header_name},
        {"NUL in the name", line + "X\0"s, HttpHeadError::header_name},
        // Header values
        {"NUL in the value", line + "X: a\0"s, HttpHeadError::header_value},
        {"NUL first in the value", line + "X:\0"s, HttpHeadError::header_value},
        // obs-fold
        {"continuation line with a space", line + "X: a\r\n ", HttpHeadError::obs_fold},
        {"continuation line with a tab", line + "X: a\n\t", HttpHeadError::obs_fold},
        {"space right after the request line", line + " ", HttpHeadError::obs_fold},
        // Host
        {"HTTP/1.1 without Host", line + "\r\n", HttpHeadError::host_missing},
        {"HTTP/1.1 without Host, LF", "GET / HTTP/1.1\nX: y\n\n", HttpHeadError::host_missing},
        {"two Host lines", line + "Host: a\r\nHost: a\r", HttpHeadError::host_duplicate},
        {"two Host lines, LF and case", line + "Host: a\nHOST: b\n", HttpHeadError::host_duplicate},
        {"empty Host", line + "Host: \r", HttpHeadError::host_invalid},
        {"empty Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost:\n", HttpHeadError::host_invalid},
        {"Host with a slash", line + "Host: a/b\r", HttpHeadError::host_invalid},
        {"Host with ..", line + "Host: a..b\r", HttpHeadError::host_invalid},
        {"Host with only a port", line + "Host: :80\r", HttpHeadError::host_invalid},
        {"Host of one dot", line + "Host: .\r", HttpHeadError::host_invalid},
        {"Host with a control", line + "Host: a\x01" "b\r", HttpHeadError::host_invalid},
    };
    for (const auto& c : cases) {
        INFO(c.what << ": " << test::to_hex(std::as_bytes(std::span(c.input))));
        for (std::size_t n = 0; n < c.input.size(); ++n) {
            INFO("prefix " << n);
            REQUIRE(std::string(name(parse(c.input, n).status)) == "need_more");
        }
        for (const std::string& input : {c.input, c.input + "\r\n\r\n", c.input + "Host: a\r\n\r\n"}) {
            const HttpHead h = parse(input, input.size());
            REQUIRE(std::string(name(h.status)) == "bad");
            CHECK(std::string(name(h.error)) == name(c.error));
            CHECK(h.head_length == 0);
            CHECK(h.method.empty());
        }
    }
}

TEST_CASE("parse_request_head: a verdict on a prefix stays, under one-byte changes", "[wire][http_head]") {
    // Valid heads with one byte replaced by a byte that matters to the grammar: whatever the
    // whole input gives, every prefix gives need_more or exactly that (same reason, same head).
    const std::string heads[] = {
        "GET / HTTP/1.1\r\nHost: a.b:80\r\nConnection: close\r\n\r\n",
        "GET http://h/x HTTP/1.0\nX: y\n\n",
    };
    const char replacements[] = {'\0', '\r', '\n', ' ', '\t', ':', '/', '.', 'A', 'a', '1', '\x7f', '\x80'};
    for (const std::string& head : heads) {
        for (std::size_t at = 0; at < head.size(); ++at) {
            for (const char r : replacements) {
                std::string input = head + "GET";
                input[at] = r;
                const HttpHead whole = parse(input, input.size());
                for (std::size_t n = 0; n < input.size(); ++n) {
                    const HttpHead part = parse(input, n);
                    if (part.status == HttpHeadStatus::need_more) continue;
                    INFO(test::to_hex(std::as_bytes(std::span(input))) << " prefix " << n);
                    REQUIRE(part.status == whole.status);
                    REQUIRE(part.error == whole.error);
                    REQUIRE(part.head_length == whole.head_length);
                    REQUIRE(part.method.data() == whole.method.data());
                    REQUIRE(part.host == whole.host);
                    REQUIRE(part.keep_alive == whole.keep_alive);
                }
            }
        }
    }
}

TEST_CASE("parse_request_head: the 8 KiB bound", "[wire][http_head]") {
    const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    const std::string end = "\r\n\r\n";
    // A head of exactly kMaxRequestHead bytes is complete, even with more bytes after it.
    const std::string fits = start + std::string(kMaxRequestHead - start.size() - end.size(), 'v') + end;
    REQUIRE(fits.size() == kMaxRequestHead);
    for (const std::string& input : {fits, fits + "GET / HTTP/1.1\r\n"}) {
        const HttpHead h = parse(input, input.size());
        CHECK(h.status == HttpHeadStatus::complete);
        CHECK(h.head_length == kMaxRequestHead);
    }
    // One byte more: bad, decided when kMaxRequestHead bytes are in without an end.
    const std::string over = start + std::string(kMaxRequestHead - start.size() - end.size() + 1, 'v') + end;
    CHECK(parse(over, kMaxRequestHead - 1).status == HttpHeadStatus::need_more);
    for (std::size_t n : {kMaxRequestHead, kMaxRequestHead + 1, over.size()}) {
        INFO(n);
        const HttpHead h = parse(over, n);
        CHECK(h.status == HttpHeadStatus::bad);
        CHECK(h.error == HttpHeadError::too_long);
    }
    // A request line alone longer than the bound, and empty lines that never end.
    const std::string long_target = "GET /" + std::string(kMaxRequestHead, 'a');
    CHECK(parse(long_target, kMaxRequestHead - 1).status == HttpHeadStatus::need_more);
    CHECK(parse(long_target, kMaxRequestHead).error == HttpHeadError::too_long);
    const std::string blank(kMaxRequestHead, '\n');
    CHECK(parse(blank, kMaxRequestHead - 1).status == HttpHeadStatus::need_more);
    CHECK(parse(blank, kMaxRequestHead).error == HttpHeadError::too_long);
}

}  // namespace http_head_test
