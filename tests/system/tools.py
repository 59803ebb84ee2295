#!/usr/bin/env python3
"""Small network tools for the system tests (loopback only, every wait bounded).

  tools.py free-ports N            N ports free for both UDP and TCP on 127.0.0.1
  tools.py echo PORT               UDP echo backend on 127.0.0.1:PORT (runs until killed)
  tools.py udp N PORT [SIZE]       send N datagrams from one socket, print how many echoes came back
  tools.py tcp N PORT [SIZE]       send N u16-framed datagrams on one connection, print echoes
  tools.py stream PORT SECONDS PPS print "port=P sent=S received=R max_rtt_ms=M" after a paced
                                   UDP stream (M: the slowest echo's round trip)
  tools.py http METHOD URL         print the status code, then the body
  tools.py hold-udp PORT SECONDS   keep a UDP port bound (to make a bind fail)
  tools.py slow-dns ADDRESS DELAY  DNS server on ADDRESS:53 (UDP): slow.porthop.test answers
                                   127.0.0.1 after DELAY seconds, hang.porthop.test never,
                                   every other name NXDOMAIN at once (runs until killed)
  tools.py sessions N PORT         one datagram from each of N loopback addresses (127.1.x.y):
                                   N sessions at a relay on PORT; prints N
"""
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.request


def free_ports(n):
    ports, holders = [], []
    while len(ports) < n:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            continue
        holders += [u, t]
        ports.append(port)
    print(" ".join(map(str, ports)))


def echo(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)


def udp(n, port, size=100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    got = 0
    for i in range(n):
        payload = bytes([i % 256]) * size
        s.sendto(payload, ("127.0.0.1", port))
        try:
            data, peer = s.recvfrom(65535)
            got += data == payload and peer[1] == port
        except socket.timeout:
            pass
    print(got)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def tcp(n, port, size=100):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    got = 0
    for i in range(n):
        payload = bytes([i % 256]) * size
        s.sendall(struct.pack(">H", size) + payload)
        try:
            header = recv_exact(s, 2)
            if len(header) == 2:
                got += recv_exact(s, struct.unpack(">H", header)[0]) == payload
        except socket.timeout:
            pass
    s.close()
    print(got)


def stream(port, seconds, pps):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    sent = received = 0
    max_rtt = 0.0
    end = time.monotonic() + seconds
    next_send = time.monotonic()
    while time.monotonic() < end + 0.5:  # half a second to collect the last echoes
        now = time.monotonic()
        if now < end and now >= next_send:
            s.sendto(struct.pack(">Id", sent, now), ("127.0.0.1", port))
            sent += 1
            next_send += 1.0 / pps
        try:
            while True:
                data, _ = s.recvfrom(100)
                received += 1
                if len(data) == 12:
                    max_rtt = max(max_rtt, time.monotonic() - struct.unpack(">Id", data)[1])
        except BlockingIOError:
            pass
        time.sleep(0.002)
    print(f"port={s.getsockname()[1]} sent={sent} received={received} max_rtt_ms={int(max_rtt * 1000)}")


def dns_answer(query, delay):
    """The reply to one DNS query (or None for no reply), after the name's delay."""
    if len(query) < 17:
        return None
    labels, at = [], 12
    while at < len(query) and query[at] != 0:
        labels.append(query[at + 1:at + 1 + query[at]].decode(errors="replace").lower())
        at += 1 + query[at]
    question = query[12:at + 5]
    qtype = struct.unpack(">H", query[at + 1:at + 3])[0] if at + 3 <= len(query) else 0
    name = ".".join(labels)
    if name == "hang.porthop.test":
        return None
    rcode, answers = 3, b""  # NXDOMAIN
    if name == "slow.porthop.test":
        time.sleep(delay)
        rcode = 0
        if qtype == 1:  # A: 127.0.0.1; AAAA and the rest: no record
            answers = struct.pack(">HHHIH4s", 0xC00C, 1, 1, 0, 4, socket.inet_aton("127.0.0.1"))
    header = struct.pack(">HHHHHH", struct.unpack(">H", query[:2])[0], 0x8180 | rcode, 1,
                         1 if answers else 0, 0, 0)
    return header + question + answers


def slow_dns(address, delay):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 53))

    def answer(query, peer):
        reply = dns_answer(query, delay)
        if reply:
            s.sendto(reply, peer)

    while True:
        query, peer = s.recvfrom(4096)
        threading.Thread(target=answer, args=(query, peer), daemon=True).start()


def http(method, url):
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            print(response.status)
            print(response.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code)
        print(e.read().decode())


def hold_udp(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    time.sleep(seconds)


def sessions(n, port):
    # A new source address per datagram, so each opens its own session whatever the relay's
    # per-source session cap; 127.1.0.1 on are all loopback addresses on Linux.
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.1.{i // 250}.{i % 250 + 1}", 0))
        s.sendto(bytes([4, 0, 0, 0]) + bytes(60), ("127.0.0.1", port))
        s.close()
        if i % 25 == 24:
            time.sleep(0.01)  # a new session costs the relay a socket: do not overrun its queue
    print(n)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free-ports":
        free_ports(int(args[0]))
    elif cmd == "echo":
        echo(int(args[0]))
    elif cmd == "udp":
        udp(int(args[0]), int(args[1]), *(int(a) for a in args[2:]))
    elif cmd == "tcp":
        tcp(int(args[0]), int(args[1]), *(int(a) for a in args[2:]))
    elif cmd == "stream":
        stream(int(args[0]), float(args[1]), float(args[2]))
    elif cmd == "http":
        http(args[0], args[1])
    elif cmd == "slow-dns":
        slow_dns(args[0], float(args[1]))
    elif cmd == "sessions":
        sessions(int(args[0]), int(args[1]))
    elif cmd == "hold-udp":
        hold_udp(int(args[0]), float(args[1]))
    else:
        sys.exit(__doc__)
