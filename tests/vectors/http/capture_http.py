#!/usr/bin/env python3
"""Sends each probe of PROBES to a running nginx over a raw socket and keeps its answer byte for
byte: the golden files that tests/unit/wire/http_response_test.cpp compares
wire/http_response's output with. Run by make_http_vectors.sh, which starts the nginx.

    capture_http.py --plain PORT --tls PORT --out DIR
        writes DIR/NAME.req (the request), DIR/NAME.resp (nginx's answer) and DIR/cases.txt
    capture_http.py --plain PORT --tls PORT --check DIR
        captures again and compares with the files in DIR, the Date value masked (the unit test
        does not need the mask: it reads the Date from the file and passes that time in)

A probe's answer is everything nginx sends until it closes the connection or stays silent for
IDLE seconds (a keep-alive connection stays open: 75 s by default). Whether it closed is the
third column of cases.txt: nginx's keep-alive decision, which the C++ function reports too.
"""
import argparse
import os
import re
import socket
import sys

IDLE = 0.5

HOST = b"Host: example.test\r\n"


def get(target, version=b"HTTP/1.1", method=b"GET", headers=HOST):
    return method + b" " + target + b" " + version + b"\r\n" + headers + b"\r\n"


# (name, port, request). `plain` is nginx's plain-HTTP listener (the built-in site's role),
# `tls` its `ssl` listener, which gets plain HTTP here (the answer porthop gives a plain-HTTP
# client on its TLS port).
PROBES = [
    # The page: "/" through the index module, "/index.html" directly, and targets nginx
    # normalizes to one of them (query, fragment, percent-encoding, dot segments, slashes,
    # absolute URI with and without a path).
    ("get_root", "plain", get(b"/")),
    ("head_root", "plain", get(b"/", method=b"HEAD")),
    ("get_index", "plain", get(b"/index.html")),
    ("get_root_query", "plain", get(b"/?q=1#top")),
    ("get_encoded_dots", "plain", get(b"//a/./../%69ndex%2ehtml")),
    ("get_absolute", "plain", get(b"http://example.test/")),
    ("get_absolute_no_path", "plain", get(b"HTTP://example.test:8080?x")),
    ("get_absolute_literal", "plain", get(b"h2c://[::1]:/index.html")),
    ("get_root_close", "plain", get(b"/", headers=HOST + b"Connection: close\r\n")),
    ("get_root_http10", "plain", get(b"/", version=b"HTTP/1.0", headers=b"")),
    ("get_root_http10_keepalive", "plain",
     get(b"/", version=b"HTTP/1.0", headers=b"Connection: keep-alive\r\n")),
    ("get_root_lf_only", "plain", b"GET / HTTP/1.1\nHost: example.test\n\n"),
    # Everything else is missing: 404 whatever the method (try_files runs before the content
    # handlers). Targets that look like the page but are not.
    ("get_missing", "plain", get(b"/missing")),
    ("head_missing", "plain", get(b"/missing", method=b"HEAD")),
    ("get_missing_http10", "plain", get(b"/missing", version=b"HTTP/1.0", headers=b"")),
    ("get_index_slash", "plain", get(b"/index.html/")),
    ("get_encoded_query", "plain", get(b"/%3F")),
    ("get_index_upper", "plain", get(b"/INDEX.HTML")),
    ("post_missing", "plain", get(b"/missing", method=b"POST")),
    ("delete_missing", "plain", get(b"/missing", method=b"DELETE")),
    # The page under another method: 405 (the static module serves GET and HEAD only).
    ("post_root", "plain", get(b"/", method=b"POST")),
    ("post_index_http10", "plain", get(b"/index.html", method=b"POST", version=b"HTTP/1.0",
                                       headers=b"")),
    ("put_index", "plain", get(b"/index.html", method=b"PUT")),
    ("unknown_method_root", "plain", get(b"/", method=b"FOO_BAR")),
    # Refused before any file lookup, and the connection closed.
    ("trace_root", "plain", get(b"/", method=b"TRACE")),
    ("connect_root", "plain", get(b"/", method=b"CONNECT")),
    # Bad requests: 400 and close; a HEAD whose method nginx had read gets no body.
    ("bad_lowercase", "plain", b"get / HTTP/1.1\r\n\r\n"),
    ("bad_garbage", "plain", b"\x01\x9a\x33\xf0garbage\r\n\r\n"),
    ("bad_no_host", "plain", b"GET / HTTP/1.1\r\n\r\n"),
    ("head_no_host", "plain", b"HEAD / HTTP/1.1\r\n\r\n"),
    ("bad_dotdot", "plain", get(b"/../")),
    ("head_dotdot", "plain", get(b"/a/../..", method=b"HEAD")),
    ("bad_encoded_dotdot", "plain", get(b"/%2e%2E/x")),
    ("bad_percent", "plain", get(b"/%zz")),
    ("bad_percent_short", "plain", get(b"/%4")),
    ("bad_percent_nul", "plain", get(b"/a%00")),
    ("bad_absolute_host", "plain", get(b"http://ex@mple.test/")),
    ("bad_absolute_port", "plain", get(b"http://example.test:x/")),
    ("bad_absolute_empty_host", "plain", get(b"http:///")),
    ("bad_absolute_dots", "plain", get(b"http://a..b/")),
    # A version nginx does not speak: 505 at the first digit that makes the major above 1
    # (before the rest of the line, so a bad target after all), 400 for a major of 0.
    ("version_2", "plain", get(b"/", version=b"HTTP/2.0")),
    ("head_version_3", "plain", get(b"/", method=b"HEAD", version=b"HTTP/3.1")),
    ("version_10", "plain", get(b"/", version=b"HTTP/10.0")),
    ("version_2_after_dotdot", "plain", get(b"/../", version=b"HTTP/2x", headers=b"")),
    ("bad_version_02", "plain", get(b"/", version=b"HTTP/02.0")),
    ("bad_version_0", "plain", get(b"/", version=b"HTTP/0.9")),
    # Conditional requests for the page (nginx's not_modified filter, if_modified_since exact):
    # 304 when every condition given holds, 412 for a failed If-Match / If-Unmodified-Since.
    ("inm_match", "plain", get(b"/", headers=HOST + b'If-None-Match: "6968b398-140"\r\n')),
    ("inm_list_weak_http10", "plain", get(b"/index.html", method=b"HEAD", version=b"HTTP/1.0",
                                          headers=b'If-None-Match: "x", W/"6968b398-140"\t ,"y"\r\n')),
    ("inm_star", "plain", get(b"/", headers=HOST + b"If-None-Match: *\r\n")),
    ("inm_other", "plain", get(b"/", headers=HOST + b'If-None-Match: "6968b398-141"\r\n')),
    ("inm_prefix", "plain", get(b"/", headers=HOST + b'If-None-Match: "6968b398-140"x\r\n')),
    ("ims_equal", "plain", get(b"/", headers=HOST + b"If-Modified-Since: Thu, 15 Jan 2026 09:30:00 GMT\r\n")),
    ("ims_later", "plain", get(b"/", headers=HOST + b"If-Modified-Since: Thu, 15 Jan 2026 09:30:01 GMT\r\n")),
    ("ims_equal_inm_other", "plain",
     get(b"/", headers=HOST + b'If-Modified-Since: Thu, 15 Jan 2026 09:30:00 GMT\r\nIf-None-Match: "no"\r\n')),
    ("ims_garbage", "plain", get(b"/", headers=HOST + b"If-Modified-Since: yesterday\r\n")),
    ("if_match_other", "plain", get(b"/", headers=HOST + b'If-Match: "no"\r\n')),
    ("if_match_weak", "plain", get(b"/", headers=HOST + b'If-Match: W/"6968b398-140"\r\n')),
    ("if_match_ok_ims_equal", "plain",
     get(b"/", headers=HOST + b'If-Match: "6968b398-140"\r\nIf-Modified-Since: Thu, 15 Jan 2026 09:30:00 GMT\r\n')),
    ("ius_earlier", "plain", get(b"/", headers=HOST + b"If-Unmodified-Since: Thu, 15 Jan 2026 09:29:59 GMT\r\n")),
    ("ius_equal", "plain", get(b"/", headers=HOST + b"If-Unmodified-Since: Thu, 15 Jan 2026 09:30:00 GMT\r\n")),
    ("inm_missing", "plain", get(b"/missing", headers=HOST + b"If-None-Match: *\r\n")),
    ("inm_post", "plain", get(b"/", method=b"POST", headers=HOST + b"If-None-Match: *\r\n")),
    # Headers nginx takes once: a second one is a 400 (the parser checks only Host).
    ("dup_content_length", "plain", get(b"/missing", headers=HOST + b"Content-Length: 0\r\ncontent-length: 0\r\n")),
    ("dup_if_none_match", "plain", get(b"/", headers=HOST + b'If-None-Match: "a"\r\nIf-None-Match: "b"\r\n')),
    ("dup_authorization", "plain", get(b"/", method=b"HEAD", headers=HOST + b"Authorization: a\r\nAUTHORIZATION: b\r\n")),
    ("dup_user_agent", "plain", get(b"/", headers=HOST + b"User-Agent: a\r\nUser-Agent: b\r\n")),
    ("tls_dup_expect", "tls", get(b"/", headers=HOST + b"Expect: a\r\nExpect: b\r\n")),
    ("tls_inm_match", "tls", get(b"/", headers=HOST + b'If-None-Match: "6968b398-140"\r\n')),
    # Too large: a request line over 8 KiB gets 414; a header line over 8 KiB gets
    # 400 "Request Header Or Cookie Too Large" (nginx's large_client_header_buffers 4 8k).
    ("uri_too_long", "plain", get(b"/" + b"a" * 9000)),
    ("head_uri_too_long", "plain", get(b"/" + b"a" * 9000, method=b"HEAD")),
    ("header_too_long", "plain", get(b"/", headers=HOST + b"X-Pad: " + b"b" * 9000 + b"\r\n")),
    ("head_header_too_long", "plain",
     get(b"/", method=b"HEAD", headers=HOST + b"X-Pad: " + b"b" * 9000 + b"\r\n")),
    # Plain HTTP on the TLS port: 400 "The plain HTTP request was sent to HTTPS port" once the
    # head is read, unless the request is bad or TRACE/CONNECT, which are refused first.
    ("tls_get_root", "tls", get(b"/")),
    ("tls_head_root", "tls", get(b"/", method=b"HEAD")),
    ("tls_post_missing", "tls", get(b"/missing", method=b"POST")),
    ("tls_get_http10_keepalive", "tls",
     get(b"/", version=b"HTTP/1.0", headers=b"Connection: keep-alive\r\n")),
    ("tls_trace_root", "tls", get(b"/", method=b"TRACE")),
    ("tls_bad_garbage", "tls", b"hello\r\n\r\n"),
    ("tls_bad_no_host", "tls", b"GET / HTTP/1.1\r\n\r\n"),
    ("tls_bad_dotdot", "tls", get(b"/../")),
    ("tls_uri_too_long", "tls", get(b"/" + b"a" * 9000)),
    ("tls_version_2", "tls", get(b"/", version=b"HTTP/2.0")),
]


# More targets for the URI rules (normalization, escapes, absolute-URI authorities), as GET:
# target_NN, NN the position here.
TARGETS = [
    b"/.", b"/a/..", b"/a/b/../../index.html", b"///index.html", b"/%2Findex.html",
    b"/index.html?a=/../..", b"/index.html#/../..", b"http://a.b.:80/index.html", b"http://[::1]",
    b"/index.html/.", b"/index.html/x/..", b"/%25", b"/%23", b"/index.htm", b"/.index.html",
    b"/...", b"/\xc3\xa9", b"/..", b"/a/../../", b"/%2e%2e", b"/%", b"/%0", b"/%g0", b"/%00",
    b"http://.", b"http://a:1x/", b"http://a#/", b"http://[a/]/", b"http://[::1/", b"http://a_b/",
    b"http://A-Z.9/?", b"http://a:/index.html", b"/index%2Ehtml/%2e%2E/",
]
PROBES += [(f"target_{i:02d}", "plain", get(t)) for i, t in enumerate(TARGETS, 1)]

# If-Modified-Since dates against the page's time (Thu, 15 Jan 2026 09:30:00 GMT), as GET /:
# ims_date_NN. (nginx also reads RFC 850 and asctime dates; wire/http_response does not, so
# those are not here: http_response_test.cpp lists them as the difference.)
IMS_DATES = [
    b"Thu, 15 Jan 2026 09:30:00 GMT", b"Mon, 15 Jan 2026 09:30:00 GMT", b"Thu, 15 Jan 2026 09:30:00 UTC",
    b"Thursday,  15 Jan 2026 09:30:00 GMT", b"Thu, 15 jan 2026 09:30:00 GMT", b"Thu, 15 Jan 2026 9:30:00 GMT",
    b"Thu, 30 Feb 2026 09:30:00 GMT", b"Thu, 15 Jan 2026 24:30:00 GMT", b"Thu 15 Jan 2026 09:30:00 GMT",
]
PROBES += [(f"ims_date_{i:02d}", "plain", get(b"/", headers=HOST + b"If-Modified-Since: " + d + b"\r\n"))
           for i, d in enumerate(IMS_DATES, 1)]


def exchange(port, request):
    """Sends request, returns (answer, closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        s.settimeout(IDLE)
        answer = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return answer, False
            if not chunk:
                return answer, True
            answer += chunk


def mask_date(response):
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: *\r\n", response, count=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plain", type=int, required=True)
    ap.add_argument("--tls", type=int, required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out")
    mode.add_argument("--check")
    args = ap.parse_args()
    ports = {"plain": args.plain, "tls": args.tls}

    failed = 0
    cases = []
    for name, port, request in PROBES:
        answer, closed = exchange(ports[port], request)
        connection = "close" if closed else "keep-alive"
        cases.append(f"{name} {port} {connection}")
        if args.out:
            with open(os.path.join(args.out, name + ".req"), "wb") as f:
                f.write(request)
            # An answer that differs from the committed one only in its Date keeps the
            # committed file, so that a new capture changes only what nginx changed.
            kept = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".resp")
            if os.path.exists(kept):
                with open(kept, "rb") as f:
                    old = f.read()
                if mask_date(old) == mask_date(answer):
                    answer = old
            with open(os.path.join(args.out, name + ".resp"), "wb") as f:
                f.write(answer)
            continue
        with open(os.path.join(args.check, name + ".resp"), "rb") as f:
            golden = f.read()
        if mask_date(golden) == mask_date(answer):
            print(f"PASS: {name}")
        else:
            failed += 1
            print(f"FAIL: {name}: nginx now sends {mask_date(answer)[:300]!r}")
    if args.out:
        with open(os.path.join(args.out, "cases.txt"), "w") as f:
            f.write("# name listener connection-after-the-answer (written by capture_http.py)\n")
            f.write("\n".join(cases) + "\n")
    else:
        with open(os.path.join(args.check, "cases.txt")) as f:
            golden_cases = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        if golden_cases != cases:
            failed += 1
            print("FAIL: cases.txt differs:", sorted(set(cases) ^ set(golden_cases)))
        else:
            print("PASS: cases.txt (names, listeners, connection handling)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
