#!/usr/bin/env python3
"""JA4, FoxIO's TLS client fingerprint, of ClientHellos (issue 15, plan 3.5). Standard library only.

    ja4.py --hex HEX [-r] [-o]            a ClientHello given as hex (a TLS record, or the bare
                                          handshake message)
    ja4.py FILE [-r] [-o]                 a file holding those bytes
    ja4.py PCAP [--server ADDR] [--port PORT] [-r] [-o] [--json]
                                          every TCP connection of a `tcpdump -w` capture: the
                                          client's bytes before the server's first payload (a
                                          connection whose SYN was not captured starts at its
                                          first payload, its sender taken as the client)
    ja4.py --self-test

One line per ClientHello: `JA4` and, with -o, `JA4_o` (original order, SNI and ALPN kept); with -r
the raw strings too (`JA4_r`, `JA4_ro`). For a capture, each line starts with the connection
`client -> server` and ends with `sni=NAME alpn=FIRST` ("-" when absent); a connection whose
first flight is not a whole ClientHello reads `no ClientHello (...)`. Exit status 0 if at least
one ClientHello was read, 1 if none, 2 on bad usage.

The algorithm, from FoxIO's technical_details/JA4.md (FoxIO-LLC/ja4):
  a: 't' (TLS over TCP), the version (the highest non-GREASE value of supported_versions
     (0x002b), else the ClientHello's own version; the record's version is ignored), 'd' if the
     SNI extension (0x0000) is present else 'i', the number of ciphers and of extensions as two
     digits (GREASE not counted, SNI and ALPN counted, 99 at most), then the first and last
     characters of the first ALPN value ('00' if there is none or it is empty);
  b: the first 12 hex digits of sha256 of the ciphers as 4-digit lower-case hex, sorted,
     comma-joined ('000000000000' if there are none);
  c: the same over the extensions sorted, without 0000 and 0010, then '_' and the signature
     algorithms (0x000d) in their order; no '_' when there are none ('000000000000' if no
     extension is left).
GREASE values (RFC 8701, 0x?a?a with equal bytes) are dropped everywhere, signature algorithms
included (FoxIO's "fix(rust): ignore grease in sigalgs"; their sigalg-grease test capture).
ALPN as JA4.md says: a one-character value is both first and last; if the first or the last
byte is not alphanumeric, the first and last characters of the value's hex are used instead.
(FoxIO's own Rust and Python code differ there today: "x" gives "x0" and a non-ASCII character
gives '9'. Only odd ALPN values are affected; this follows the spec.)
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fet_check import connections, synthetic_pcap  # noqa: E402

EXT_SNI, EXT_ALPN, EXT_SIGALGS, EXT_VERSIONS = 0x0000, 0x0010, 0x000D, 0x002B
VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
            0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
# A hello with post-quantum key shares is about 1.8 KiB; fet_check keeps 64 KiB per connection.
MAX_HELLO = 64 * 1024


def grease(v):
    return (v & 0x0F0F) == 0x0A0A and v >> 8 == v & 0xFF


class Malformed(Exception):
    pass


def handshake_message(data):
    """The ClientHello body from a TLS record stream (fragments across records joined) or a bare
    handshake message. Raises Malformed when it is not one, or not whole."""
    if data[:1] == b"\x16":
        hs, pos = b"", 0
        while pos + 5 <= len(data):
            ctype, _, rlen = struct.unpack("!BHH", data[pos : pos + 5])
            if ctype != 0x16:
                break
            hs += data[pos + 5 : pos + 5 + rlen]
            pos += 5 + rlen
            if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
                break
    elif data[:1] == b"\x01":
        hs = data
    else:
        raise Malformed(f"starts with {data[:3].hex() or 'nothing'}, not a handshake record")
    if len(hs) < 4 or hs[0] != 1:
        raise Malformed("not a ClientHello")
    n = int.from_bytes(hs[1:4], "big")
    if len(hs) < 4 + n:
        raise Malformed(f"ClientHello truncated: {len(hs) - 4} of {n} bytes")
    return hs[4 : 4 + n]


class Reader:
    def __init__(self, b):
        self.b, self.pos = b, 0

    def take(self, n):
        if self.pos + n > len(self.b):
            raise Malformed("field runs past its end")
        self.pos += n
        return self.b[self.pos - n : self.pos]

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("!H", self.take(2))[0]

    def vec(self, width):
        return self.take(self.u8() if width == 1 else self.u16())

    def done(self):
        return self.pos >= len(self.b)


def u16s(b):
    return [v for (v,) in struct.iter_unpack("!H", b[: len(b) & ~1])]


def parse_client_hello(data):
    """The fields JA4 reads: a dict with version, ciphers, extensions (types in order, GREASE
    included), sni, alpn (list of bytes values), versions, sigalgs."""
    r = Reader(handshake_message(data))
    hello = {"version": r.u16(), "sni": None, "alpn": None, "versions": None, "sigalgs": []}
    r.take(32)
    r.vec(1)  # session id
    hello["ciphers"] = u16s(r.vec(2))
    r.vec(1)  # compression methods
    hello["extensions"] = []
    if not r.done():  # a hello may end without extensions (SSL 3.0 style)
        exts = Reader(r.vec(2))
        while not exts.done():
            etype, body = exts.u16(), exts.vec(2)
            hello["extensions"].append(etype)
            e = Reader(body)
            if etype == EXT_SNI and body:
                names = Reader(e.vec(2))
                while not names.done():
                    kind, name = names.u8(), names.vec(2)
                    if kind == 0 and hello["sni"] is None:
                        hello["sni"] = name.decode("ascii", "replace")
            elif etype == EXT_ALPN and body:
                protos = Reader(e.vec(2))
                hello["alpn"] = []
                while not protos.done():
                    hello["alpn"].append(protos.vec(1))
            elif etype == EXT_VERSIONS and body:
                hello["versions"] = u16s(e.vec(1))
            elif etype == EXT_SIGALGS and body:
                hello["sigalgs"] = u16s(e.vec(2))
    return hello


def alpn_chars(alpn):
    if not alpn or not alpn[0]:
        return "00"
    v = alpn[0]
    if chr(v[0]).isalnum() and chr(v[-1]).isalnum() and v[0] < 0x80 and v[-1] < 0x80:
        return chr(v[0]) + chr(v[-1])
    h = v.hex()
    return h[0] + h[-1]


def hash12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def ja4(hello):
    """{'JA4', 'JA4_r', 'JA4_o', 'JA4_ro'} of a parsed ClientHello."""
    ciphers = [c for c in hello["ciphers"] if not grease(c)]
    exts = [e for e in hello["extensions"] if not grease(e)]
    sigalgs = [s for s in hello["sigalgs"] if not grease(s)]
    versions = [v for v in hello["versions"] or [] if not grease(v)]
    version = max(versions) if versions else hello["version"]
    a = ("t" + VERSIONS.get(version, "00") + ("d" if EXT_SNI in exts else "i")
         + f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}" + alpn_chars(hello["alpn"]))
    hexes = lambda vs: ",".join(f"{v:04x}" for v in vs)
    sigs = ("_" + hexes(sigalgs)) if sigalgs else ""
    b_sorted, b_orig = hexes(sorted(ciphers)), hexes(ciphers)
    c_sorted = hexes(sorted(e for e in exts if e not in (EXT_SNI, EXT_ALPN)))
    c_orig = hexes(exts)
    # An empty extension list hashes to zeros whatever the signature algorithms (there can be
    # none without extension 000d anyway).
    c_hash = lambda exts_s: hash12(exts_s + sigs) if exts_s else "000000000000"
    return {"JA4": f"{a}_{hash12(b_sorted)}_{c_hash(c_sorted)}",
            "JA4_r": f"{a}_{b_sorted}_{c_sorted}{sigs}",
            "JA4_o": f"{a}_{hash12(b_orig)}_{c_hash(c_orig)}",
            "JA4_ro": f"{a}_{b_orig}_{c_orig}{sigs}"}


def fields(raw, original):
    """The fingerprints printed, FoxIO's way: -o renames JA4 to JA4_o, -r adds the raw form."""
    keys = ["JA4_o" if original else "JA4"] + ([("JA4_ro" if original else "JA4_r")] if raw else [])
    return keys


def from_pcap(path, server, port, raw, original, as_json):
    conns, _ = connections(path, server, port, midstream=True)
    found, rows = 0, []
    for c in conns:
        data = c.stream(MAX_HELLO) if c.first_segment() is not None else b""
        row = {"client": c.client, "server": c.server}
        try:
            if not data:
                raise Malformed("start of stream not captured" if c.segments else "no client payload")
            hello = parse_client_hello(data)
        except Malformed as e:
            row["error"] = str(e)
            rows.append(row)
            continue
        found += 1
        fp = ja4(hello)
        row.update({k: fp[k] for k in fields(raw, original)})
        row["sni"] = hello["sni"]
        row["alpn"] = hello["alpn"][0].decode("ascii", "replace") if hello["alpn"] else None
        rows.append(row)
    if as_json:
        print(json.dumps(rows))
    else:
        for r in rows:
            if "error" in r:
                print(f"{r['client']} -> {r['server']} no ClientHello ({r['error']})")
            else:
                fps = " ".join(r[k] for k in fields(raw, original))
                print(f"{r['client']} -> {r['server']} {fps} sni={r['sni'] or '-'} alpn={r['alpn'] or '-'}")
    return 0 if found else 1


# ---- self-test ------------------------------------------------------------------------------

def build_hello(ciphers, exts, version=0x0303, record_split=None):
    """A ClientHello record. exts: (type, body bytes) in order; helpers below make the bodies
    JA4 reads. record_split: cut the handshake message into two records at that offset."""
    ext_bytes = b"".join(struct.pack("!HH", t, len(d)) + d for t, d in exts or [])
    body = (struct.pack("!H", version) + bytes(range(32)) + b"\x20" + bytes(32)
            + struct.pack("!H", 2 * len(ciphers)) + b"".join(struct.pack("!H", c) for c in ciphers)
            + b"\x01\x00" + (struct.pack("!H", len(ext_bytes)) + ext_bytes if exts is not None else b""))
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    parts = [hs] if record_split is None else [hs[:record_split], hs[record_split:]]
    return b"".join(b"\x16\x03\x01" + struct.pack("!H", len(p)) + p for p in parts)


def sni(name):
    n = b"\x00" + struct.pack("!H", len(name)) + name.encode()
    return (EXT_SNI, struct.pack("!H", len(n)) + n)


def alpn(*values):
    lst = b"".join(bytes([len(v)]) + v for v in values)
    return (EXT_ALPN, struct.pack("!H", len(lst)) + lst)


def versions(*vs):
    return (EXT_VERSIONS, bytes([2 * len(vs)]) + b"".join(struct.pack("!H", v) for v in vs))


def sigalgs(*vs):
    return (EXT_SIGALGS, struct.pack("!H", 2 * len(vs)) + b"".join(struct.pack("!H", v) for v in vs))


def other(t):
    return (t, b"\x00\x01\x02" if t != 0x0015 else bytes(16))  # bodies JA4 does not read


def self_test():
    failures = []

    def check(name, got, want):
        ok = got == want
        print(f"{'PASS' if ok else 'FAIL'}: {name}: {got}" + ("" if ok else f"\n      expected {want}"))
        if not ok:
            failures.append(name)

    def fp(record):
        return ja4(parse_client_hello(record))

    # 1. JA4.md's example (Chromium): its ciphers, extensions and signature algorithms in their
    # published original order (JA4_ro), with GREASE added where Chromium puts it.
    spec_ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
                    0x009C, 0x009D, 0x002F, 0x0035]
    spec_sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]

    def spec_exts(sig_ext):
        out = [(0x1A1A, b"")]
        for t in (0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005, 0x0023, 0x0012,
                  0x002B, 0xFF01, 0x000B, 0x000A, 0x0015):
            out.append({0x0000: sni("example.com"), 0x0010: alpn(b"h2", b"http/1.1"),
                        0x002B: versions(0x3A3A, 0x0304, 0x0303), 0x000D: sig_ext}.get(t) or other(t))
        return out + [(0x2A2A, b"\x00")]

    spec = build_hello([0x0A0A] + spec_ciphers, spec_exts(sigalgs(*spec_sigs)))
    got = fp(spec)
    check("JA4.md example, JA4", got["JA4"], "t13d1516h2_8daaf6152771_e5627efa2ab1")
    check("JA4.md example, JA4_r", got["JA4_r"],
          "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
          "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
          "0403,0804,0401,0503,0805,0501,0806,0601")
    check("JA4.md example, JA4_o", got["JA4_o"], "t13d1516h2_acb858a92679_18f69afefd3d")
    check("JA4.md example, JA4_ro", got["JA4_ro"],
          "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_"
          "001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_"
          "0403,0804,0401,0503,0805,0501,0806,0601")
    # JA4.md's "no signature algorithms" value: the same extensions, 000d's list empty.
    check("JA4.md example without signature algorithms, part c",
          fp(build_hello(spec_ciphers, spec_exts(sigalgs())))["JA4"].split("_")[2], "6d807ffa2a79")
    # The same hello cut into two records, and GREASE moved: the same JA4.
    check("JA4.md example over two records", fp(build_hello(spec_ciphers, spec_exts(sigalgs(*spec_sigs)),
                                                            record_split=50))["JA4"],
          "t13d1516h2_8daaf6152771_e5627efa2ab1")

    # 2. FoxIO's sigalg-grease capture (python/test/testdata/sigalg-grease.pcapng.json): a
    # Chromium hello whose signature algorithms start with GREASE 0x0a0a; published values.
    sg_exts = [(0x4A4A, b"")]
    for t in (0xFE0D, 0x0010, 0x0017, 0x0033, 0x44CD, 0xFF01, 0x000A, 0x000D, 0x0023, 0x002B, 0x000B, 0xCA34,
              0x002D, 0x0000, 0x0005, 0x001B, 0x0012):
        sg_exts.append({0x0000: sni("optimizationguide-pa.googleapis.com"), 0x0010: alpn(b"h2", b"http/1.1"),
                        0x002B: versions(0x5A5A, 0x0304, 0x0303),
                        0x000D: sigalgs(0x0A0A, 0x0904, 0x0905, 0x0906, *spec_sigs)}.get(t) or other(t))
    sg_exts.append((0x6A6A, b"\x00"))
    got = fp(build_hello([0x7A7A] + spec_ciphers, sg_exts))
    check("FoxIO sigalg-grease, JA4", got["JA4"], "t13d1517h2_8daaf6152771_cb7bf5808d99")
    check("FoxIO sigalg-grease, JA4_o", got["JA4_o"], "t13d1517h2_acb858a92679_88bf22a3e888")
    check("FoxIO sigalg-grease, JA4_r", got["JA4_r"],
          "t13d1517h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
          "0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,ca34,fe0d,ff01_"
          "0904,0905,0906,0403,0804,0401,0503,0805,0501,0806,0601")

    # 3. No SNI, no ALPN, no supported_versions (TLS 1.2 from the hello's version), no
    # signature algorithms: 'i', '00', '12', and part c without '_'. Hashes: sha256 of
    # "009c,c02f,c030" and of "000a,000b,ff01" (sha256sum).
    plain = build_hello([0xC02F, 0xC030, 0x009C], [other(0x000A), other(0x000B), other(0xFF01)])
    check("no SNI, no ALPN, TLS 1.2", fp(plain)["JA4"], "t12i030300_13bac7b83268_f8ec56bc740a")
    check("no SNI, no ALPN, TLS 1.2, raw", fp(plain)["JA4_r"], "t12i030300_009c,c02f,c030_000a,000b,ff01")
    # GREASE only in supported_versions besides TLS 1.2, and a bare handshake message.
    check("supported_versions GREASE + 0303, bare handshake", fp(build_hello(
        [0x1301], [versions(0xCACA, 0x0303)])[5:])["JA4"][:10], "t12i010100")
    check("no ciphers, no extensions", fp(build_hello([], None, version=0x0301))["JA4"],
          "t10i000000_000000000000_000000000000")

    # 4. ALPN characters, JA4.md's cases.
    for values, want in ([b"h2"], "h2"), ([b"http/1.1", b"h2"], "h1"), ([b"\xab"], "ab"), ([b"\xab\xcd"], "ad"), \
            ([b"\x30\xab"], "3b"), ([b"\x30\x31\xab\xcd"], "3d"), ([b"\x30\xab\xcd\x31"], "01"), ([b"x"], "xx"), \
            ([b""], "00"), ([], "00"):
        got = fp(build_hello([0x1301], [sni("a.test"), alpn(*values)]))["JA4"][8:10]
        check(f"ALPN {values!r}", got, want)

    # 5. Malformed input is refused, not fingerprinted.
    for name, data in (("truncated", spec[:-10]), ("not TLS", b"GET / HTTP/1.1\r\n"), ("empty", b"")):
        try:
            parse_client_hello(data)
            check(f"refuses {name}", "accepted", "Malformed")
        except Malformed:
            check(f"refuses {name}", "Malformed", "Malformed")

    # 6. A capture: the hello split across TCP segments, a second connection without SNI, one
    # that sends no TLS.
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "t.pcap")
        synthetic_pcap(pcap, [(40001, [("c", spec[:300]), ("c", spec[300:]), ("s", b"\x16\x03\x03")]),
                              (40002, [("c", plain)]), (40003, [("c", b"GET / HTTP/1.1\r\n\r\n")])])
        rows = []
        for c in connections(pcap, port=443)[0]:
            try:
                rows.append(ja4(parse_client_hello(c.stream(MAX_HELLO)))["JA4"])
            except Malformed:
                rows.append(None)
        check("pcap", rows, ["t13d1516h2_8daaf6152771_e5627efa2ab1", "t12i030300_13bac7b83268_f8ec56bc740a", None])

    if failures:
        print(f"self-test FAILED: {len(failures)} case(s): {', '.join(failures)}")
        return 1
    print("self-test passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", help="a pcap, or a file holding a ClientHello's bytes")
    ap.add_argument("--hex", help="a ClientHello as hex")
    ap.add_argument("--server", help="(pcap) keep only connections to this address")
    ap.add_argument("--port", type=int, help="(pcap) keep only connections to this port")
    ap.add_argument("-r", "--raw", action="store_true", help="print the raw strings too")
    ap.add_argument("-o", "--original", action="store_true", help="original order (JA4_o)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if a.hex is not None:
        data = bytes.fromhex(a.hex)
    elif a.file:
        with open(a.file, "rb") as f:
            data = f.read()
        if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
            return from_pcap(a.file, a.server, a.port, a.raw, a.original, a.json)
    else:
        ap.error("a file, --hex or --self-test is needed")
    try:
        hello = parse_client_hello(data)
    except Malformed as e:
        print(f"no ClientHello: {e}", file=sys.stderr)
        return 1
    fp = ja4(hello)
    out = {k: fp[k] for k in fields(a.raw, a.original)}
    if a.json:
        print(json.dumps({**out, "sni": hello["sni"]}))
    else:
        for k, v in out.items():
            print(f"{k} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
