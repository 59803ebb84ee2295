#!/usr/bin/env python3
"""Bounded attack loads for the attack system tests (issue 12). Every load has a count and a
time limit; every result is one JSON line on stdout. Sources are consecutive IPv4 addresses
from FIRST (127.x.y.z on a namespace's loopback needs no setup); addresses ending in .0 or
.255 are skipped.

  forge DST PORT FIRST NSRC PER_SRC RATE [LISTEN]
        PER_SRC forged WireGuard transport messages (type 4, 32 bytes, random receiver index
        and counter) from each of NSRC sources, each from a new source port, in rounds over
        all sources, RATE messages a second in all; then listens LISTEN s (default 1; 0: the
        sockets are closed at once) for anything sent back.
  tcp-hold PORT FIRST NSRC PER_SRC SECONDS MODE
        keeps NSRC x PER_SRC TCP connections open for SECONDS; MODE "silent" sends nothing,
        "initiation" sends one framed 148-byte WireGuard initiation first. A connection the
        relay closes is opened again (at most 1000 re-opens a second in all).
  tcp-probe PORT COUNT       a real client: one connection a second, COUNT times, each sends
                             one framed datagram and must get it echoed within 1.5 s
  tcp-noread PORT FIRST NSRC PER_SRC SECONDS SIZE PER_S
        NSRC x PER_SRC connections (small receive buffer) each send PER_S framed datagrams
        of SIZE bytes a second for SECONDS and never read
  tcp-steady PORT COUNT PER_S  a well-behaved client: COUNT framed datagrams with ids, PER_S a
                             second on one connection, reading replies; waits 3 s at the end
  echo PORT                  UDP echo backend like tools.py's, with 32 MB socket buffers
                             (SO_RCVBUFFORCE, root): bursts from hundreds of connections must
                             not be dropped by the test's own backend
  rss PID SECONDS            samples VmRSS every 0.2 s; prints the first and the highest (kB)
"""
import ipaddress
import json
import os
import random
import selectors
import socket
import struct
import sys
import time

from tools import recv_exact  # tests/system/tools.py, beside this file


def sources(first, n):
    out, a = [], int(ipaddress.IPv4Address(first))
    while len(out) < n:
        if a & 0xFF not in (0, 255):
            out.append(str(ipaddress.IPv4Address(a)))
        a += 1
    return out


def forged_transport():
    # type 4, three reserved zero bytes, receiver index, counter, then a 16-byte "tag".
    return (struct.pack("<I", 4) + struct.pack("<I", random.getrandbits(32))
            + struct.pack("<Q", random.getrandbits(48)) + os.urandom(16))


def forge(dst, port, first, nsrc, per_src, rate, listen=1.0):
    # Every message from a socket (a source port) of its own, as a forger that wants sessions
    # sends them: a relay that opens a session per (address, port) opens one for each.
    srcs = sources(first, nsrc)
    kept = []
    sent = sent_bytes = errors = 0
    t0 = time.monotonic()
    for _ in range(per_src):
        for a in srcs:
            # Paced at RATE a second, so that the relay's receive buffer is not what drops them.
            time.sleep(max(0.0, t0 + (sent + errors) / rate - time.monotonic()))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((a, 0))
            s.setblocking(False)
            m = forged_transport()
            try:
                s.sendto(m, (dst, port))
                sent += 1
                sent_bytes += len(m)
            except OSError:
                errors += 1
            if listen > 0:
                kept.append(s)
            else:
                s.close()
    back = back_bytes = 0
    sel = selectors.DefaultSelector()
    for s in kept:
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + listen
    while (left := end - time.monotonic()) > 0 and kept:
        for key, _ in sel.select(left):
            try:
                while True:
                    back_bytes += len(key.fileobj.recv(65536))
                    back += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
    print(json.dumps({"sent": sent, "sent_bytes": sent_bytes, "send_errors": errors,
                      "back": back, "back_bytes": back_bytes}))


def initiation_frame():
    body = struct.pack("<I", 1) + struct.pack("<I", random.getrandbits(32)) + os.urandom(140)
    return struct.pack(">H", len(body)) + body


def tcp_hold(port, first, nsrc, per_src, seconds, mode):
    sel = selectors.DefaultSelector()
    want = [(a, i) for a in sources(first, nsrc) for i in range(per_src)]
    pending = list(want)  # slots to (re)open
    opened = closed = failed = peak = 0
    live = {}
    end = time.monotonic() + seconds
    budget_t, budget = time.monotonic(), 0
    first_round = True
    while time.monotonic() < end:
        now = time.monotonic()
        if now - budget_t >= 1:
            budget_t, budget = now, 0
        # The first round opens everything (paced by the kernel only); re-opens are capped.
        while pending and (first_round or budget < 1000):
            a, i = pending.pop()
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.bind((a, 0))
                s.connect_ex(("127.0.0.1", port))
            except OSError:
                s.close()
                failed += 1
                pending.insert(0, (a, i))
                break
            live[s] = (a, i, mode == "initiation")
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            opened += 1
            budget += 1
        first_round = False
        peak = max(peak, len(live))
        for key, ev in sel.select(0.05):
            s = key.fileobj
            a, i, to_send = live[s]
            if ev & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and to_send:
                    try:
                        s.send(initiation_frame())
                    except OSError:
                        pass
                live[s] = (a, i, False)
                sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:  # the relay closed it (or refused it): take the slot again
                    sel.unregister(s)
                    s.close()
                    del live[s]
                    closed += 1
                    pending.insert(0, (a, i))
    for s in list(live):
        s.close()
    print(json.dumps({"opened": opened, "closed_by_relay": closed, "bind_or_connect_failed": failed,
                      "peak_open": peak}))


def tcp_probe(port, count):
    served, log, why = 0, [], []
    t0 = time.monotonic()
    for k in range(count):
        time.sleep(max(0.0, t0 + k - time.monotonic()))
        payload = os.urandom(100)
        start = time.monotonic()
        ok, stage = False, "connect"
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1.5)
            stage = "reply"
            s.settimeout(max(0.1, 1.5 - (time.monotonic() - start)))
            s.sendall(struct.pack(">H", len(payload)) + payload)
            h = recv_exact(s, 2)
            ok = len(h) == 2 and recv_exact(s, struct.unpack(">H", h)[0]) == payload
            s.close()
            if not ok:
                why.append("%d: closed or wrong reply after %.2f s" % (k, time.monotonic() - start))
        except OSError as e:
            why.append("%d: %s failed after %.2f s (%s)" % (k, stage, time.monotonic() - start, e))
        served += ok
        log.append("1" if ok else "0")
    print(json.dumps({"attempts": count, "served": served, "timeline": "".join(log), "failures": why}))


def tcp_noread(port, first, nsrc, per_src, seconds, size, per_s):
    frame = struct.pack(">H", size) + os.urandom(size)

    def connect(a):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window: the replies back up into the relay sooner.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind((a, 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            return None
        s.setblocking(False)
        return s

    def closed(s):
        try:
            return s.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    # The relay admits 20 new connections a second per source (burst 5): one per source every
    # 60 ms, and again for those it closed anyway (a few rounds at most).
    slots = {(a, i): None for a in sources(first, nsrc) for i in range(per_src)}
    for _round in range(4):
        todo = [k for k, s in slots.items() if s is None]
        if not todo:
            break
        for i in range(per_src):
            for (a, j) in todo:
                if j == i:
                    slots[(a, j)] = connect(a)
            time.sleep(0.06)
        time.sleep(0.3)
        for k, s in slots.items():
            if s is not None and closed(s):
                s.close()
                slots[k] = None
    conns = [s for s in slots.values() if s is not None]
    failed = len(slots) - len(conns)
    sent = blocked = dead = 0
    end = time.monotonic() + seconds
    tick = 0.1
    per_tick = max(1, int(per_s * tick))
    alive = set(conns)
    while time.monotonic() < end and alive:
        t = time.monotonic()
        for s in list(alive):
            try:
                n = s.send(frame * per_tick)
                sent += n // len(frame)
                if n < len(frame) * per_tick:
                    blocked += 1
            except BlockingIOError:
                blocked += 1
            except OSError:
                alive.discard(s)
                dead += 1
        time.sleep(max(0.0, tick - (time.monotonic() - t)))
    print(json.dumps({"connections": len(conns), "connect_failed": failed, "frames_sent": sent,
                      "sends_blocked": blocked, "closed_by_relay": dead}))
    for s in conns:
        s.close()


def tcp_steady(port, count, per_s):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    got, buf = set(), b""
    t0 = time.monotonic()
    out = b""
    i = 0
    end = None
    while True:
        now = time.monotonic()
        while i < count and now >= t0 + i / per_s:
            payload = struct.pack(">I", i) + bytes(96)
            out += struct.pack(">H", len(payload)) + payload
            i += 1
        if out:
            try:
                out = out[s.send(out):]
            except BlockingIOError:
                pass
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        except BlockingIOError:
            pass
        while len(buf) >= 2:
            n = struct.unpack(">H", buf[:2])[0]
            if len(buf) < 2 + n:
                break
            got.add(struct.unpack(">I", buf[2:6])[0])
            buf = buf[2 + n:]
        if i == count and not out and end is None:
            end = now + 3
        if end is not None and (now >= end or len(got) == count):
            break
        time.sleep(0.002)
    print(json.dumps({"sent": i, "received": len(got), "lost": i - len(got)}))


def echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE
    s.setsockopt(socket.SOL_SOCKET, 32, 32 << 20)  # SO_SNDBUFFORCE
    s.bind(("127.0.0.1", port))
    while True:
        data, peer = s.recvfrom(65535)
        try:
            s.sendto(data, peer)
        except OSError:
            pass


def rss(pid, seconds):
    first = peak = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
                        first = first or kb
                        peak = max(peak, kb)
        except OSError:
            break
        time.sleep(0.2)
    print(json.dumps({"first_kb": first, "peak_kb": peak}))


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "forge":
        forge(a[0], int(a[1]), a[2], int(a[3]), int(a[4]), float(a[5]), *(float(x) for x in a[6:]))
    elif cmd == "tcp-hold":
        tcp_hold(int(a[0]), a[1], int(a[2]), int(a[3]), float(a[4]), a[5])
    elif cmd == "tcp-probe":
        tcp_probe(int(a[0]), int(a[1]))
    elif cmd == "tcp-noread":
        tcp_noread(int(a[0]), a[1], int(a[2]), int(a[3]), float(a[4]), int(a[5]), float(a[6]))
    elif cmd == "tcp-steady":
        tcp_steady(int(a[0]), int(a[1]), float(a[2]))
    elif cmd == "echo":
        echo(int(a[0]))
    elif cmd == "rss":
        rss(int(a[0]), float(a[1]))
    else:
        sys.exit(__doc__)
