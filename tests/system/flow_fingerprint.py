#!/usr/bin/env python3
"""What a censor's classifier sees in a capture (issue 14): per flow to one server address,
nDPI's verdict (ndpiReader from Debian's libndpi-bin) and the first bytes the client sent; and
across flows, which of the first 16 byte offsets of those first payloads hold the same value
in every flow (a fixed byte a filter can match).

    flow_fingerprint.py PCAP SERVER_ADDR      prints one JSON object:
    {"flows": [{"proto": "udp", "client": "10.77.1.1:5000", "server": "10.77.2.1:443",
                "first": "0101...", "len": 58, "start": 1700000000.25, "ndpi": "WireGuard"},
               {"proto": "tcp", ..., "prefix": 236, "len": 238, ...}, ...],
     "ndpi": {"WireGuard": 1, "Unknown": 2}, "constant_offsets": [0, 1],
     "by_proto": {"udp": {"flows": 2, "constant_offsets": [0, 1]},
                  "tcp": {"flows": 1, "constant_offsets": [], "constant_offsets_after_prefix": [],
                          "prefix_is_length": 1}}}

A flow is a 5-tuple with the server as destination (UDP: datagrams; TCP: the segments with
payload, first one counted). "first" is the hex of the first payload's first 16 bytes, "len"
its length, "start" its capture time (unix seconds). constant_offsets needs two flows or more
(with one, every byte would be "constant"); an offset counts only where every first payload
is long enough to have it. It is computed over all flows together, and in by_proto per
transport (a filter usually matches one). For TCP, "prefix" is the first two bytes read as
u16 big-endian (OpenVPN's and the hop link's record length), constant_offsets counts them as
offsets 0 and 1 like any byte, constant_offsets_after_prefix is the same check over the bytes
after them (offsets 0-15 of the record), and prefix_is_length counts the flows whose first
payload is exactly one record (prefix == len - 2). Standard library only; pcap (Ethernet,
Linux cooked v1/v2, raw IP), IPv4 and IPv6 without extension headers.
"""
import json
import re
import socket
import struct
import subprocess
import sys

PROBE = 16


def packets(path):
    """Yields (capture time, the IP packet) of each record, skipping what is not IP."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end = ">"
        else:
            raise SystemExit(f"{path}: not a pcap file (pcapng is not supported: use tcpdump -w)")
        linktype = struct.unpack(end + "I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack(end + "IIII", rec)
            ts = sec + frac / (1e9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e6)
            frame = f.read(incl)
            if linktype == 1:  # Ethernet (one VLAN tag at most)
                etype, off = struct.unpack("!H", frame[12:14])[0], 14
                if etype == 0x8100:
                    etype, off = struct.unpack("!H", frame[16:18])[0], 18
            elif linktype == 113:  # Linux cooked v1
                etype, off = struct.unpack("!H", frame[14:16])[0], 16
            elif linktype == 276:  # Linux cooked v2
                etype, off = struct.unpack("!H", frame[0:2])[0], 20
            elif linktype in (101, 12, 14):  # raw IP
                etype, off = (0x86DD if frame[:1] and frame[0] >> 4 == 6 else 0x0800), 0
            else:
                raise SystemExit(f"{path}: link type {linktype} is not supported")
            if etype in (0x0800, 0x86DD):
                yield ts, frame[off:]


def transport(ip):
    """(proto, src, dst, sport, dport, payload) or None."""
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        proto, src, dst, body = ip[9], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[ihl:total]
        if struct.unpack("!H", ip[6:8])[0] & 0x1FFF:
            return None  # a later fragment: no transport header
    elif ip[0] >> 4 == 6:
        plen = struct.unpack("!H", ip[4:6])[0]
        proto = ip[6]
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        body = ip[40 : 40 + plen]
    else:
        return None
    if proto == 17 and len(body) >= 8:
        sport, dport, length = struct.unpack("!HHH", body[:6])
        return "udp", src, dst, sport, dport, body[8:length]
    if proto == 6 and len(body) >= 20:
        sport, dport = struct.unpack("!HH", body[:4])
        return "tcp", src, dst, sport, dport, body[(body[12] >> 4) * 4 :]
    return None


def endpoint(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def ndpi_verdicts(path):
    """{(proto, endpoint a, endpoint b) sorted: protocol name} from ndpiReader -v 2."""
    out = subprocess.run(["ndpiReader", "-i", path, "-v", "2"], capture_output=True, text=True, check=True).stdout
    verdicts = {}
    line_re = re.compile(r"^\s*\d+\s+(UDP|TCP)\s+(\S+)\s+<->\s+(\S+)\s+\[proto: [\d.]+/([^\]]+)\]")
    for line in out.splitlines():
        m = line_re.match(line)
        if m:
            verdicts[(m.group(1).lower(), *sorted((m.group(2), m.group(3))))] = m.group(4)
    return verdicts


def constant_offsets(firsts):
    """The offsets among the first PROBE that hold one value in every payload (two or more)."""
    if len(firsts) < 2:
        return []
    return [i for i in range(PROBE) if all(len(p) > i for p in firsts) and len({p[i] for p in firsts}) == 1]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    path, server = sys.argv[1], sys.argv[2]
    flows = {}
    starts = {}
    for ts, ip in packets(path):
        t = transport(ip)
        if t is None:
            continue
        proto, src, dst, sport, dport, payload = t
        if dst != server or not payload:
            continue
        key = (proto, endpoint(src, sport), endpoint(dst, dport))
        if key not in flows:
            flows[key], starts[key] = payload, ts
    verdicts = ndpi_verdicts(path)
    out = []
    for (proto, client, srv), first in flows.items():
        name = verdicts.get((proto, *sorted((client, srv))), "Unknown")
        flow = {"proto": proto, "client": client, "server": srv, "first": first[:PROBE].hex(), "len": len(first),
                "start": round(starts[(proto, client, srv)], 6), "ndpi": name}
        if proto == "tcp" and len(first) >= 2:
            flow["prefix"] = struct.unpack("!H", first[:2])[0]
        out.append(flow)
    counts = {}
    for f in out:
        counts[f["ndpi"]] = counts.get(f["ndpi"], 0) + 1
    by_proto = {}
    for proto in sorted({k[0] for k in flows}):
        firsts = [p for k, p in flows.items() if k[0] == proto]
        entry = {"flows": len(firsts), "constant_offsets": constant_offsets(firsts)}
        if proto == "tcp":
            entry["constant_offsets_after_prefix"] = constant_offsets([p[2:] for p in firsts])
            entry["prefix_is_length"] = sum(
                1 for p in firsts if len(p) >= 2 and struct.unpack("!H", p[:2])[0] == len(p) - 2)
        by_proto[proto] = entry
    result = {"flows": out, "ndpi": counts, "constant_offsets": constant_offsets(list(flows.values())),
              "by_proto": by_proto}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
