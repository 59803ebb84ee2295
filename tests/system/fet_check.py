#!/usr/bin/env python3
"""Would the GFW's fully-encrypted-traffic (FET) filter let these TCP connections through?
(issue 15, plan 3.1). Standard library only.

    fet_check.py PCAP [--server ADDR] [--port PORT] [--min-connections N] [--reassemble BYTES]
                 [--json]
    fet_check.py --payload-hex HEX      judge one payload given as hex
    fet_check.py --self-test

For every TCP connection in a `tcpdump -w` capture (a 4-tuple from its SYN on; one whose SYN
was not captured is listed as "no SYN" and not judged), the client's first data segment is
judged by the five exemption rules below. One line per connection:

    10.77.1.1:40000 -> 10.77.2.1:443 len=517 pop=3.01 printable=0.38 run=12 exempt=Ex1,Ex5

then a line `summary: connections=.. judged=.. exempt=.. not_exempt=.. no_payload=.. no_syn=..
Ex1=.. Ex2=.. Ex3=.. Ex4=.. Ex5=..` (a connection counts under every rule that exempts it).
Exit status 0 only if every judged connection is exempt and at least --min-connections (default
1) were judged; 1 otherwise; 2 on bad usage.

--server/--port keep only connections to that address/port. --reassemble BYTES judges the
client's in-order bytes sent before the server's first payload, up to BYTES, instead of the
first segment (a censor that reassembles; the paper's censor looks at one packet).

The rules are Algorithm 1 of Wu et al., "How the Great Firewall of China Detects and Blocks
Fully Encrypted Traffic", USENIX Security 2023, applied to the first TCP data packet `pkt`
sent by the client (printable = a byte in [0x20, 0x7e]):
  Ex1  popcount(pkt) / len(pkt) <= 3.4 or >= 4.6
  Ex2  the first six (or more) bytes are printable
  Ex3  more than 50 % of the bytes are printable
  Ex4  more than 20 contiguous printable bytes
  Ex5  the first bytes match TLS, [\\x16-\\x17]\\x03[\\x00-\\x09], or HTTP, "GET ", "PUT ",
       "POST " or "HEAD "
Where these come from: Ex1-Ex4 and the thresholds as the authors' artifact states them
(gfw-report/usenixsecurity23-artifact, ae-appendix/usenix23-ae.tex, claims C2-C6, and its
Algorithm 1 simulator artifacts/utils/detect.py, which this follows, boundaries included:
`n >= 6 or l > 20 or p <= 3.4 or p >= 4.6 or f > 0.5`). The TLS pattern is the paper's
section 4.3 as quoted in that simulator's comment; the simulator's code itself accepts a third
byte up to 0x0f, and the stricter paper text is used here, so a verdict of "exempt" holds under
both. The HTTP verbs are the simulator's, case-sensitive (a case-insensitive match, which a
secondary summary reports, would only exempt more). The paper's own PDF was not reachable from
here: where the artifact is silent, this relies on the plan's summary (issue15-plan.md 3.1).
"""
import argparse
import json
import os
import random
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_fingerprint import endpoint, packets, transport  # noqa: E402

RULES = ("Ex1", "Ex2", "Ex3", "Ex4", "Ex5")
TLS_PREFIX = re.compile(rb"[\x16\x17]\x03[\x00-\x09]")
HTTP_PREFIXES = (b"GET ", b"PUT ", b"POST ", b"HEAD ")
SYN, ACK = 0x02, 0x10
# The client bytes kept per connection: a ClientHello fits many times over; bulk uploads do not pile up.
STREAM_CAP = 1 << 16


def printable(b):
    return 0x20 <= b <= 0x7E


def measures(p):
    """(average popcount per byte, printable fraction, longest printable run) of p."""
    run = longest = 0
    for b in p:
        run = run + 1 if printable(b) else 0
        longest = max(longest, run)
    return (sum(bin(b).count("1") for b in p) / len(p), sum(map(printable, p)) / len(p), longest)


def exemptions(p):
    """The rules that exempt payload p (empty: the censor would treat it as fully encrypted)."""
    if not p:
        return []
    ones = sum(bin(b).count("1") for b in p)
    out = []
    # Integer comparisons: 3.4 and 4.6 are not exact in binary, and the boundaries count.
    if 5 * ones <= 17 * len(p) or 5 * ones >= 23 * len(p):
        out.append("Ex1")
    if len(p) >= 6 and all(map(printable, p[:6])):
        out.append("Ex2")
    if 2 * sum(map(printable, p)) > len(p):
        out.append("Ex3")
    if measures(p)[2] > 20:
        out.append("Ex4")
    if TLS_PREFIX.match(p) or p.startswith(HTTP_PREFIXES):
        out.append("Ex5")
    return out


def tcp_fields(ip):
    """(seq, flags) of the TCP segment in an IP packet that transport() read as TCP."""
    off = (ip[0] & 15) * 4 if ip[0] >> 4 == 4 else 40
    seq = struct.unpack("!I", ip[off + 4 : off + 8])[0]
    return seq, ip[off + 13]


class Conn:
    """One TCP connection seen from its SYN: the client's first flight, the bytes it sent before
    the server's first payload that followed them (a server that speaks first does not end it)."""

    def __init__(self, client, server, isn):
        self.client, self.server, self.isn = client, server, isn
        self.segments = {}  # offset in the client's stream -> bytes of the first segment seen there
        self.server_spoke = False

    def add_client(self, seq, data):
        if self.server_spoke or not data:
            return
        off = (seq - self.isn - 1) % 2**32
        if off >= STREAM_CAP:  # past what any caller reads, or before the ISN (a stray segment)
            return
        self.segments.setdefault(off, data)

    def add_server(self, data):
        if data and self.segments:
            self.server_spoke = True

    def stream(self, limit):
        """The client's in-order bytes from offset 0 (retransmissions overlap; a gap stops it)."""
        out = bytearray()
        for o, d in sorted(self.segments.items()):
            if o > len(out) or len(out) >= limit:
                break
            out += d[len(out) - o :]
        return bytes(out[:limit])

    def first_segment(self):
        """The first data segment (the first captured at offset 0: a resend is the same bytes),
        or None when the capture missed the start of the stream."""
        return self.segments.get(0)


def connections(path, server=None, port=None, midstream=False):
    """(connections in SYN order, the number of 4-tuples with payload whose SYN was not seen).
    midstream: a 4-tuple whose SYN was not captured starts at its first payload instead, its
    sender taken as the client (ja4.py: a ClientHello tells for itself whether it is one)."""
    conns, current, unseen = [], {}, set()
    for _, ip in packets(path):
        t = transport(ip)
        if t is None or t[0] != "tcp":
            continue
        _, src, dst, sport, dport, payload = t
        seq, flags = tcp_fields(ip)
        a, b = endpoint(src, sport), endpoint(dst, dport)
        if flags & SYN and not flags & ACK:
            if (server is not None and dst != server) or (port is not None and dport != port):
                continue
            c = current.get((a, b))
            if c is None or c.isn != seq:  # a new connection, or the port reused
                c = Conn(a, b, seq)
                conns.append(c)
                current[(a, b)] = c
            c.add_client(seq + 1, payload)  # data on a SYN (TCP Fast Open) starts at isn + 1
            continue
        if (a, b) in current:
            current[(a, b)].add_client(seq, payload)
        elif (b, a) in current:
            current[(b, a)].add_server(payload)
        elif payload and (server is None or dst == server) and (port is None or dport == port):
            if midstream:
                current[(a, b)] = c = Conn(a, b, (seq - 1) % 2**32)
                conns.append(c)
                c.add_client(seq, payload)
            else:
                unseen.add((a, b))
    return conns, len(unseen)


def judge(conns, reassemble=None):
    """Per connection: (conn, the judged payload or None) in capture order."""
    out = []
    for c in conns:
        p = c.stream(reassemble) if reassemble else c.first_segment()
        if reassemble and c.first_segment() is None:
            p = None
        out.append((c, p or None))
    return out


def report(conns, no_syn, reassemble=None, min_connections=1, as_json=False, out=sys.stdout):
    """Prints the verdicts; returns the exit status."""
    counts = dict.fromkeys(RULES, 0)
    rows = []
    judged = exempt = no_payload = 0
    for c, p in judge(conns, reassemble):
        row = {"client": c.client, "server": c.server}
        if p is None:
            no_payload += 1
            row["verdict"] = "start of stream not captured" if c.segments else "no client payload"
            rows.append(row)
            continue
        judged += 1
        ex = exemptions(p)
        pop, frac, run = measures(p)
        for r in ex:
            counts[r] += 1
        exempt += bool(ex)
        row.update(len=len(p), first=p[:8].hex(), pop=round(pop, 3), printable=round(frac, 3), run=run,
                   exempt=ex)
        rows.append(row)
    summary = {"connections": len(conns), "judged": judged, "exempt": exempt, "not_exempt": judged - exempt,
               "no_payload": no_payload, "no_syn": no_syn, **counts}
    ok = judged == exempt and judged >= min_connections
    if as_json:
        print(json.dumps({"connections": rows, "summary": summary, "pass": ok}), file=out)
    else:
        for r in rows:
            if "len" not in r:
                print(f"{r['client']} -> {r['server']} {r['verdict']}", file=out)
                continue
            verdict = "exempt=" + ",".join(r["exempt"]) if r["exempt"] else "NOT EXEMPT"
            print(f"{r['client']} -> {r['server']} len={r['len']} first={r['first']} pop={r['pop']:.2f} "
                  f"printable={r['printable']:.2f} run={r['run']} {verdict}", file=out)
        print("summary: " + " ".join(f"{k}={v}" for k, v in summary.items()), file=out)
        if judged < min_connections:
            print(f"FAIL: {judged} connection(s) judged, fewer than --min-connections {min_connections}", file=out)
        elif not ok:
            print(f"FAIL: {judged - exempt} connection(s) not exempt", file=out)
    return 0 if ok else 1


# ---- self-test ------------------------------------------------------------------------------

def synthetic_pcap(path, flows):
    """Writes a raw-IP pcap. flows: list of (client port, [(direction 'c'/'s', bytes), ...]), each
    opened by a SYN from 10.0.0.1:port to 10.0.0.2:443; lets the self-tests reach the pcap path."""
    def seg(src, dst, sport, dport, seq, flags, data):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + data
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                         bytes(src), bytes(dst)) + tcp
        return struct.pack("<IIII", 1700000000, 0, len(ip), len(ip)) + ip
    cli, srv = (10, 0, 0, 1), (10, 0, 0, 2)
    recs = []
    for sport, steps in flows:
        cseq, sseq = 1000 + sport, 5000
        recs.append(seg(cli, srv, sport, 443, cseq, SYN, b""))
        recs.append(seg(srv, cli, 443, sport, sseq, SYN | ACK, b""))
        cseq, sseq = cseq + 1, sseq + 1
        for who, data in steps:
            if who == "c":
                recs.append(seg(cli, srv, sport, 443, cseq, ACK, data))
                cseq += len(data)
            elif who == "c-resend":  # a retransmission of the first segment
                recs.append(seg(cli, srv, sport, 443, cseq - len(data), ACK, data))
            else:
                recs.append(seg(srv, cli, 443, sport, sseq, ACK, data))
                sseq += len(data)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) + b"".join(recs))


def tls_client_hello_record():
    """A TLS 1.3 ClientHello record as a client sends it (built here; ja4.py's self-test checks
    its fields): what Ex5, and Ex1 through its many zero bytes, see."""
    rnd = random.Random(15)
    ext = lambda t, d: struct.pack("!HH", t, len(d)) + d
    sni = b"\x00" + struct.pack("!H", 6) + b"x.test"
    exts = (ext(0, struct.pack("!H", len(sni)) + sni) + ext(0x2B, b"\x04\x03\x04\x03\x03")
            + ext(0x0A, b"\x00\x04\x00\x1d\x00\x17") + ext(0x0D, b"\x00\x04\x04\x03\x08\x04")
            + ext(0x33, b"\x00\x26\x00\x1d\x00\x20" + rnd.randbytes(32)) + ext(0x15, bytes(200)))
    body = (b"\x03\x03" + rnd.randbytes(32) + b"\x20" + rnd.randbytes(32) + b"\x00\x06\x13\x01\x13\x02\x13\x03"
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def self_test():
    rnd = random.Random(20230809)
    failures = []

    def expect(name, payload, want):
        got = exemptions(payload)
        ok = got == want
        print(f"{'PASS' if ok else 'FAIL'}: {name}: exempt by {got or 'nothing'}"
              + ("" if ok else f", expected {want or 'nothing'}"))
        if not ok:
            failures.append(name)

    def random_fet(n):
        """Seeded random bytes that no rule exempts (a draw can hit Ex1/Ex5 by chance; skip those)."""
        while True:
            p = rnd.randbytes(n)
            if not exemptions(p):
                return p

    random200 = random_fet(200)
    expect("200 random bytes (seeded)", random200, [])
    pop = sum(bin(b).count("1") for b in random200) / 200
    hello = tls_client_hello_record()
    expect("a TLS ClientHello record", hello, ["Ex1", "Ex5"])
    expect("TLS application data header + random", b"\x17\x03\x03" + random200[3:], ["Ex5"])
    expect("TLS-like header, third byte 0x0a", b"\x16\x03\x0a" + random200[3:], [])
    expect("TLS-like header, first byte 0x15 (alert)", b"\x15\x03\x03" + random200[3:], [])
    get = b"GET / HTTP/1.1\r\nHost: x.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
    expect("an HTTP GET", get, ["Ex2", "Ex3", "Ex4", "Ex5"])
    expect("'POST ' then random", b"POST \x80" + random200[6:], ["Ex5"])
    expect("'get ' (lower case) then random", b"get \x80" + random200[5:], [])
    # Ex1's boundaries are inclusive: 3.4 and 4.6 bits per byte exactly (170 and 230 bits over
    # 50 non-printable bytes), and one bit more or less is not exempt.
    expect("popcount 3.40 exactly", random_bytes_pop(rnd, 50, 170), ["Ex1"])
    expect("popcount 3.42", random_bytes_pop(rnd, 50, 171), [])
    expect("popcount 4.60 exactly", random_bytes_pop(rnd, 50, 230), ["Ex1"])
    expect("popcount 4.58", random_bytes_pop(rnd, 50, 229), [])
    expect("low popcount (zero padding)", random200[:40] + bytes(160), ["Ex1"])
    expect("high popcount (0xff padding)", random200[:40] + b"\xff" * 160, ["Ex1"])
    # Ex2: six printable bytes at the start exempt, five do not.
    expect("six printable bytes first", b"abcdef" + random200[6:], ["Ex2"])
    expect("five printable bytes first", b"abcde\x00" + random200[6:], [])
    # Ex3: strictly more than half.
    expect("half printable, popcount mid", mid_pop_half(rnd, 100, printable_count=50), [])
    expect("half printable + 1, popcount mid", mid_pop_half(rnd, 100, printable_count=51), ["Ex3"])
    # Ex4: a run of 21 printable bytes exempts, 20 does not.
    expect("run of 20 printable", random200[:90] + b"A" * 20 + b"\x80" + random200[111:], [])
    expect("run of 21 printable", random200[:90] + b"A" * 21 + b"\x80" + random200[112:], ["Ex4"])

    # The pcap path: first segment, a resend, reassembly, the server's payload as the end.
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as quiet:
        pcap = os.path.join(tmp, "t.pcap")
        synthetic_pcap(pcap, [
            (40001, [("c", hello[:100]), ("c", hello[100:])]),  # a ClientHello in two segments
            (40002, [("c", random200), ("c-resend", random200), ("s", b"x" * 10)]),
            (40003, [("c", get), ("s", b"HTTP/1.1 200 OK\r\n\r\n"), ("c", random200)]),
            (40004, [("s", b"220 banner\r\n")]),  # the client never speaks
            (40005, [("s", b"220 banner\r\n"), ("c", get)]),  # the server speaks first
        ])
        conns, no_syn = connections(pcap, server="10.0.0.2", port=443)
        verdicts = [(c.client, exemptions(p) if p else None) for c, p in judge(conns)]
        # The first 100 bytes of the hello: record and handshake headers, then mostly random bytes.
        want = [("10.0.0.1:40001", ["Ex1", "Ex5"]), ("10.0.0.1:40002", []), ("10.0.0.1:40003", ["Ex2", "Ex3", "Ex4", "Ex5"]),
                ("10.0.0.1:40004", None), ("10.0.0.1:40005", ["Ex2", "Ex3", "Ex4", "Ex5"])]
        ok = verdicts == want and no_syn == 0
        print(f"{'PASS' if ok else 'FAIL'}: pcap, first segments: {verdicts}")
        if not ok:
            failures.append("pcap first segments")
        # Reassembled, the ClientHello is whole (Ex1 from its zero padding) and 40003 stops at
        # the server's reply (its later random bytes are not part of the first flight).
        got = {c.client: (len(p), exemptions(p)) for c, p in judge(conns, reassemble=1024) if p}
        want = {"10.0.0.1:40001": (len(hello), ["Ex1", "Ex5"]), "10.0.0.1:40002": (200, []),
                "10.0.0.1:40003": (len(get), ["Ex2", "Ex3", "Ex4", "Ex5"]),
                "10.0.0.1:40005": (len(get), ["Ex2", "Ex3", "Ex4", "Ex5"])}
        ok = got == want
        print(f"{'PASS' if ok else 'FAIL'}: pcap, reassembled: {got}")
        if not ok:
            failures.append("pcap reassembled")
        status = report(conns, no_syn, out=quiet)
        print(f"{'PASS' if status == 1 else 'FAIL'}: a capture with a random first payload fails (status {status})")
        if status != 1:
            failures.append("status")
        only_ok = [c for c in conns if c.client != "10.0.0.1:40002"]
        status = report(only_ok, 0, out=quiet)
        print(f"{'PASS' if status == 0 else 'FAIL'}: every judged connection exempt passes (status {status})")
        status2 = report(only_ok, 0, min_connections=4, out=quiet)
        print(f"{'PASS' if status2 == 1 else 'FAIL'}: --min-connections 4 with 3 judged fails (status {status2})")
        if status != 0 or status2 != 1:
            failures.append("status")
    print(f"(the 200 random bytes: popcount {pop:.3f} per byte)")
    if failures:
        print(f"self-test FAILED: {len(failures)} case(s): {', '.join(failures)}")
        return 1
    print("self-test passed")
    return 0


def random_bytes_pop(rnd, n, want):
    """n non-printable bytes with `want` set bits in all, so that only Ex1 can apply to them."""
    while True:
        # Bytes with 3, 4 or 5 bits set, none printable (high bit set, or below 0x20).
        pool = {k: [b for b in range(256) if bin(b).count("1") == k and not printable(b)] for k in (3, 4, 5)}
        ks = [rnd.choice((3, 4, 5)) for _ in range(n)]
        while sum(ks) != want:
            i = rnd.randrange(n)
            if sum(ks) < want and ks[i] < 5:
                ks[i] += 1
            elif sum(ks) > want and ks[i] > 3:
                ks[i] -= 1
        out = bytes(rnd.choice(pool[k]) for k in ks)
        if not TLS_PREFIX.match(out):
            return out


def mid_pop_half(rnd, n, printable_count):
    """n bytes, printable_count of them printable, alternating so no printable run passes 1 where
    possible, with 4 set bits per byte on average: only Ex3 can apply."""
    pr = [b for b in range(0x20, 0x7F) if bin(b).count("1") == 4]
    npr = [b for b in range(0x80, 0x100) if bin(b).count("1") == 4]
    out = [0] * n
    slots = list(range(1, n, 2))[:printable_count]
    slots += [i for i in range(0, n, 2)][: printable_count - len(slots)]
    for i in range(n):
        out[i] = rnd.choice(pr) if i in slots else rnd.choice(npr)
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pcap", nargs="?")
    ap.add_argument("--server", help="keep only connections to this address")
    ap.add_argument("--port", type=int, help="keep only connections to this port")
    ap.add_argument("--min-connections", type=int, default=1)
    ap.add_argument("--reassemble", type=int, metavar="BYTES",
                    help="judge the client's first flight (before the server's first payload), up to BYTES")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--payload-hex")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if a.payload_hex is not None:
        p = bytes.fromhex(a.payload_hex)
        ex = exemptions(p)
        pop, frac, run = measures(p) if p else (0, 0, 0)
        print(f"len={len(p)} pop={pop:.2f} printable={frac:.2f} run={run} "
              + ("exempt=" + ",".join(ex) if ex else "NOT EXEMPT"))
        return 0 if ex else 1
    if not a.pcap:
        ap.error("a pcap, --payload-hex or --self-test is needed")
    conns, no_syn = connections(a.pcap, a.server, a.port)
    return report(conns, no_syn, a.reassemble, a.min_connections, a.json)


if __name__ == "__main__":
    sys.exit(main())
