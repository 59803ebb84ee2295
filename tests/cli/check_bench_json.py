#!/usr/bin/env python3
"""Checks the output of `porthop bench --json` (read from stdin): an array of exactly six
objects, one per path (native-udp, hoplink-udp, native-tcp) and size (64, 1400), each with
the keys path, size, pps, mbps, cpu_us_per_packet, and pps, mbps and cpu_us_per_packet
positive numbers. Mbit/s must agree with datagrams/s and the size. Prints what is wrong and
exits 1, or exits 0."""
import json
import math
import sys

EXPECTED = {(p, s) for p in ("native-udp", "hoplink-udp", "native-tcp") for s in (64, 1400)}
KEYS = ("path", "size", "pps", "mbps", "cpu_us_per_packet")


def problems(text):
    try:
        doc = json.loads(text)
    except ValueError as e:
        return [f"not JSON: {e}"]
    if not isinstance(doc, list):
        return ["not an array"]
    out = []
    if len(doc) != 6:
        out.append(f"{len(doc)} objects, not 6")
    seen = set()
    for i, item in enumerate(doc):
        if not isinstance(item, dict):
            out.append(f"item {i} is not an object")
            continue
        missing = [k for k in KEYS if k not in item]
        if missing:
            out.append(f"item {i} lacks {', '.join(missing)}")
            continue
        seen.add((item["path"], item["size"]))
        for k in ("pps", "mbps", "cpu_us_per_packet"):
            v = item[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                out.append(f"item {i} ({item['path']} {item['size']}): {k} = {v!r} is not a positive number")
        if isinstance(item["size"], int) and all(isinstance(item[k], (int, float)) for k in ("pps", "mbps")):
            want = item["pps"] * item["size"] * 8 / 1e6
            if abs(item["mbps"] - want) > max(0.01, want * 0.01):
                out.append(f"item {i}: mbps {item['mbps']} does not match pps x size ({want:.3f})")
    if seen != EXPECTED:
        out.append(f"cases {sorted(seen)} are not {sorted(EXPECTED)}")
    return out


if __name__ == "__main__":
    found = problems(sys.stdin.read())
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
