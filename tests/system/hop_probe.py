#!/usr/bin/env python3
"""A prober's view of the hop link (DESIGN.md: "the server never answers a packet or a
connection that fails authentication"). Loopback only; every wait is bounded.

  hop_probe.py probe --key KEY --interval S --udp P1,P2,.. --tcp T [--host 127.0.0.1]
      positive controls (an attach built here from the spec gets a verifying ack no longer
      than the attach, on UDP and on TCP), then replays, a wrong key, stale epochs, forged or
      malformed frames and random datagrams, each from a fresh socket: none may get a single
      byte back. Prints PASS/FAIL lines; exit status 0 only if every check passed.
  hop_probe.py sink PORT [COUNTFILE]
      a silent UDP backend on 127.0.0.1:PORT that never answers (with an echo backend the
      relay's native-client path would echo the junk back, which is correct behaviour for a
      native client but would hide what the hop link itself answers). COUNTFILE, if given,
      holds the number of datagrams received so far.
  hop_probe.py attach --key KEY --interval S --udp P --session HEX --counter N [--issued-offset MS]
                      [--out FILE] [--expect ack|silence]
      one attach of session HEX with counter N, issued now (the agent's clock, unix ms, plus
      MS), from a fresh socket; it must get a verifying ack (or, with --expect silence, nothing).
      --out keeps the datagram sent, as hex, for replay.
  hop_probe.py replay --udp P --in FILE
      sends a kept datagram again, unchanged, from a fresh socket: it must get nothing back.
  hop_probe.py port KEY INTERVAL SPEC [EPOCH]
      the UDP port of the schedule for EPOCH (default: now); SPEC like "443,1194,40000-40099".

Frames (docs/PROTOCOL.md, hop link v2): salt(8) || masked header (flags, u16 padding length)
  || masked body || clear padding; mask = ChaCha20-IETF(mask subkey, salt || direction || 0^3),
  direction 1 agent -> server, 2 server -> agent. A control frame's body, 50 bytes:
  type(1) version(1) session_id(8) counter(8, BE) epoch(8, BE) echo(8, BE)
  tag(16) = BLAKE2b-128 keyed with the auth subkey over bytes [0, 34)
  subkeys = crypto_kdf_derive_from_key(32, id, "porthop1", key): auth 1, schedule 2, mask 3
  on TCP every frame is one record: its length as u16 big-endian XORed with the first two bytes of
  ChaCha20(mask key, salt || 0x10|direction || 000000), then the frame.
Everything here is computed with hashlib and the stdlib ChaCha20 of tests/vectors (RFC 8439),
not with porthop's code.
"""
import argparse
import base64
import hashlib
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
from make_mask_vectors import keystream, xor  # noqa: E402 (stdlib ChaCha20, RFC 8439)

ATTACH, ACK, DATA = 1, 2, 3
VERSION = 1
CONTROL_SIZE = 50
TAG_OFFSET = 34
SALT, HEADER = 8, 3
TO_SERVER, TO_AGENT = 1, 2


def kdf(key, subkey_id):
    # libsodium's crypto_kdf_derive_from_key (BLAKE2b): salt = u64le(id) || 0^8,
    # personal = context || 0^8, empty message.
    return hashlib.blake2b(b"", digest_size=32, key=key, salt=subkey_id.to_bytes(8, "little") + bytes(8),
                           person=b"porthop1" + bytes(8)).digest()


def parse_key(text):
    raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("a hop key is 32 bytes in base64")
    return raw


def tag(auth, body):
    return hashlib.blake2b(body, digest_size=16, key=auth).digest()


def control(auth, frame_type, session_id, counter, epoch, echo=0):
    """A control frame's 50-byte body (seal() makes it a frame)."""
    body = struct.pack(">BBQQQQ", frame_type, VERSION, session_id, counter, epoch, echo)
    return body + tag(auth, body)


def seal(mask_key, body, is_control=True, direction=TO_SERVER):
    """A v2 frame: full mode, padded to a random total of 160..1000 bytes (or its length)."""
    salt = os.urandom(SALT)
    unpadded = SALT + HEADER + len(body)
    p = random.randint(max(160, unpadded), max(1000, unpadded)) - unpadded
    header = bytes([(0x01 if is_control else 0x00) | 0x02, p >> 8, p & 0xFF])
    plain = header + body
    return salt + xor(plain, keystream(mask_key, salt + bytes([direction, 0, 0, 0]), len(plain))) + os.urandom(p)


def record(mask_key, frame, direction=TO_SERVER):
    """`frame` as one record of an agent's TCP stream: its length masked with the frame's salt."""
    mask = int.from_bytes(keystream(mask_key, frame[:SALT] + bytes([0x10 | direction, 0, 0, 0]), 2), "big")
    return struct.pack(">H", len(frame) ^ mask) + frame


def read_record(sock, mask_key, direction=TO_AGENT):
    """The next frame on an agent's TCP stream (its masked length read), or b"" if it ends first."""
    head = recv_exact(sock, 2 + SALT)
    if len(head) < 2 + SALT:
        return b""
    mask = int.from_bytes(keystream(mask_key, head[2:] + bytes([0x10 | direction, 0, 0, 0]), 2), "big")
    n = struct.unpack(">H", head[:2])[0] ^ mask
    if n < SALT:
        return b""
    return head[2:] + recv_exact(sock, n - SALT)


def unseal(mask_key, frame, direction=TO_AGENT):
    """(is_control, body) of a full-mode v2 frame, or None when its header does not open."""
    if len(frame) < SALT + HEADER:
        return None
    salt = frame[:SALT]
    plain = xor(frame[SALT:], keystream(mask_key, salt + bytes([direction, 0, 0, 0]), len(frame) - SALT))
    flags, p = plain[0], plain[1] << 8 | plain[2]
    if flags & 0xFC or p > 2047 or p > len(frame) - SALT - HEADER or not flags & 0x02:
        return None
    return bool(flags & 0x01), plain[HEADER:len(plain) - p]


def decode(frame):
    t, v, sid, counter, epoch, echo = struct.unpack(">BBQQQQ", frame[:TAG_OFFSET])
    return {"type": t, "version": v, "session": sid, "counter": counter, "epoch": epoch, "echo": echo,
            "tag": frame[TAG_OFFSET:]}


def epoch_now(interval):
    return int(time.time()) // interval


def expand_ports(spec):
    ports = set()
    for part in spec.replace(" ", ",").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        ports.update(range(int(lo), int(hi or lo) + 1))
    return sorted(ports)


def port_for(key, ports, epoch):
    sched = kdf(key, 2)
    prf = int.from_bytes(hashlib.blake2b(epoch.to_bytes(8, "big"), digest_size=8, key=sched).digest(), "big")
    return ports[prf % len(ports)]


def session_id():
    return int.from_bytes(os.urandom(8), "big")


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        print(("PASS: " if ok else "FAIL: ") + what, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def verify_ack(report, keys, frame, attach_length, sid, counter, epoch, where):
    """A valid ack for attach (sid, counter): no longer than the attach, a v2 control frame of
    the server's direction with a 50-byte body: type 2, version 1, same session, echo = the
    attach's counter, a nonzero counter, an epoch within one of ours and a tag that verifies."""
    auth, mask_key = keys
    if not report.check(len(frame) <= attach_length,
                        f"{where}: answer of {len(frame)} bytes, no longer than the attach ({attach_length})"):
        return False
    opened = unseal(mask_key, frame)
    if not report.check(opened is not None and opened[0] and len(opened[1]) == CONTROL_SIZE,
                        f"{where}: answer opens as a control frame with a {CONTROL_SIZE}-byte body"):
        return False
    body = opened[1]
    f = decode(body)
    ok = report.check(f["tag"] == tag(auth, body[:TAG_OFFSET]), f"{where}: ack tag verifies with the key")
    ok &= report.check(f["type"] == ACK and f["version"] == VERSION,
                       f"{where}: type 0x02 version 1 (got {f['type']:#04x} {f['version']})")
    ok &= report.check(f["session"] == sid and f["echo"] == counter,
                       f"{where}: same session, echo = our counter {counter} (echo {f['echo']})")
    ok &= report.check(f["counter"] != 0 and abs(f["epoch"] - epoch) <= 1,
                       f"{where}: counter {f['counter']} != 0, epoch {f['epoch']} within 1 of {epoch}")
    return ok


def udp_socket(host):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    return s


def udp_attach(report, host, port, keys, sid, counter, interval, where, issued=0):
    """Sends one attach from a fresh socket; returns the raw bytes sent."""
    epoch = epoch_now(interval)
    frame = seal(keys[1], control(keys[0], ATTACH, sid, counter, epoch, issued))
    s = udp_socket(host)
    try:
        s.sendto(frame, (host, port))
        s.settimeout(2)
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            report.check(False, f"{where}: an ack within 2 s")
            return frame
        report.check(peer == (host, port), f"{where}: ack comes from the port attached to ({peer[1]})")
        verify_ack(report, keys, data, len(frame), sid, counter, epoch, where)
    finally:
        s.close()
    return frame


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def expect_silence(report, host, probes, wait):
    """probes: (description, port, payload). Each goes out from its own socket; none may get a
    byte back within `wait` seconds."""
    socks = []
    for what, port, payload in probes:
        s = udp_socket(host)
        s.setblocking(False)
        s.sendto(payload, (host, port))
        socks.append((s, what, port, len(payload)))
    got = {s: [0, 0] for s, _, _, _ in socks}  # datagrams (an empty one is an answer too), bytes
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([s for s, _, _, _ in socks], [], [], left)
        for s in ready:
            try:
                while True:
                    n = len(s.recv(65535))
                    got[s][0] += 1
                    got[s][1] += n
            except (BlockingIOError, ConnectionRefusedError):
                pass
    total = 0
    for s, what, port, size in socks:
        total += got[s][1]
        report.check(got[s][0] == 0, f"udp/{port} {what} ({size} bytes): {got[s][0]} datagrams,"
                                     f" {got[s][1]} bytes back (want none)")
        s.close()
    return total


def tcp_expect_closed_silently(report, host, port, payload, what, limit=5.0):
    """The server must close the connection (FIN or RST) within `limit` s without a byte."""
    s = socket.create_connection((host, port), timeout=2)
    got = 0
    closed = False
    t0 = time.monotonic()
    try:
        s.sendall(payload)
        s.settimeout(0.2)
        while time.monotonic() - t0 < limit:
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += len(data)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    finally:
        s.close()
    took = time.monotonic() - t0
    report.check(got == 0, f"tcp/{port} {what}: {got} bytes back (want 0)")
    report.check(closed, f"tcp/{port} {what}: closed by the server "
                         + (f"after {took:.2f} s" if closed else f"- still open after {limit:.0f} s"))
    return got


def tcp_expect_silence(report, host, port, payload, what, wait=1.5):
    """Zero bytes back within `wait` s (the connection may stay open: nothing to authenticate)."""
    s = socket.create_connection((host, port), timeout=2)
    got = 0
    try:
        if payload:
            s.sendall(payload)
        s.settimeout(0.2)
        t0 = time.monotonic()
        while time.monotonic() - t0 < wait:
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not data:
                break
            got += len(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        s.close()
    report.check(got == 0, f"tcp/{port} {what}: {got} bytes back (want 0)")
    return got


def tcp_attach(report, host, port, keys, sid, counter, interval, where):
    epoch = epoch_now(interval)
    frame = seal(keys[1], control(keys[0], ATTACH, sid, counter, epoch))
    s = socket.create_connection((host, port), timeout=2)
    try:
        s.sendall(record(keys[1], frame))
        try:
            body = read_record(s, keys[1])
            if not report.check(len(body) > 0, f"{where}: a whole ack record within 2 s"):
                return frame
        except (socket.timeout, ConnectionResetError) as e:
            report.check(False, f"{where}: an ack frame within 2 s ({type(e).__name__})")
            return frame
        verify_ack(report, keys, body, len(frame), sid, counter, epoch, where)
    finally:
        s.close()
    return frame


def guarded(report, what, fn, *args):
    """Runs one check; a socket error (say, the server died) is that check's failure."""
    try:
        return fn(report, *args)
    except OSError as e:
        report.check(False, f"{what}: {type(e).__name__}: {e}")
        return None


def probe(args):
    key = parse_key(args.key)
    auth, mask_key = kdf(key, 1), kdf(key, 3)
    keys = (auth, mask_key)
    wrong_auth, wrong_mask = kdf(os.urandom(32), 1), kdf(os.urandom(32), 3)
    host, interval, udp, tcp = args.host, args.interval, args.udp, args.tcp
    r = Report()

    def sealed(body, is_control=True):
        return seal(mask_key, body, is_control)

    # (i) positive control: one session attached on every UDP port (as the agent's hops do).
    sid = session_id()
    counter = 0
    first = None
    for port in udp:
        counter += 1
        frame = udp_attach(r, host, port, keys, sid, counter, interval, f"udp/{port} valid attach")
        first = first or (port, frame)

    probes = []
    # (ii) replay of the first accepted attach, byte for byte, to the same and another port.
    probes.append(("replayed attach", first[0], first[1]))
    probes.append(("replayed attach on another port", udp[-1], first[1]))
    e = epoch_now(interval)
    for port in udp:
        # (iii) wrong key (the mask's, so nothing opens; the tag's under the right mask), (iv)
        # stale epochs (2 behind; 3 ahead, so the server's clock crossing an epoch boundary
        # mid-test cannot make it fresh).
        probes.append(("attach under a wrong key", port,
                       seal(wrong_mask, control(wrong_auth, ATTACH, session_id(), 1, e))))
        probes.append(("attach with a wrong tag key, right mask", port,
                       sealed(control(wrong_auth, ATTACH, session_id(), 1, e))))
        probes.append(("attach with epoch - 2", port, sealed(control(auth, ATTACH, session_id(), 1, e - 2))))
        probes.append(("attach with epoch + 3", port, sealed(control(auth, ATTACH, session_id(), 1, e + 3))))
    port = udp[0]
    good = control(auth, ATTACH, session_id(), 1, e)
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    good_frame = sealed(good)
    reserved = bytearray(good_frame)
    reserved[SALT] ^= 0x80  # a reserved flag bit set (the mask is a plain XOR)
    probes += [
        ("attach with one tag bit flipped", port, sealed(bytes(flipped))),
        ("attach with a changed field, old tag", port, sealed(good[:10] + bytes([good[10] ^ 0x80]) + good[11:])),
        ("valid-tag attach with counter 0", port, sealed(control(auth, ATTACH, session_id(), 0, e))),
        ("valid-tag attach with session id 0 (reserved)", port, sealed(control(auth, ATTACH, 0, 1, e))),
        ("valid-tag ack sent to the server", port, sealed(control(auth, ACK, sid, 1, e, 1))),
        ("valid-tag attach, version 2", port, sealed(bytes([ATTACH, 2]) + good[2:TAG_OFFSET]
                                                     + tag(auth, bytes([ATTACH, 2]) + good[2:TAG_OFFSET]))),
        ("attach body truncated to 49 bytes", port, sealed(good[:49])),
        ("attach body plus one byte", port, sealed(good + b"\0")),
        ("valid attach with a reserved header bit set", port, bytes(reserved)),
        ("valid attach sealed in the server's direction", port, seal(mask_key, good, True, TO_AGENT)),
        ("valid attach cut short by one byte", port, good_frame[:-1] if len(good_frame) > 61 else good_frame[:60]),
    ]
    # (v) random datagrams of various sizes, and hop-link look-alikes under the right mask.
    for i, size in enumerate([0, 1, 2, 10, 11, 33, 49, 50, 61, 92, 148, 160, 1000, 1400]):
        probes.append(("random datagram", udp[i % len(udp)], os.urandom(size)))
    for i in range(3):
        probes.append(("random control body, right mask", udp[i % len(udp)], sealed(b"\x01\x01" + os.urandom(48))))
    probes.append(("data frame from an unknown address", udp[0], sealed(os.urandom(100), False)))
    probes.append(("empty data frame", udp[0], sealed(b"", False)))
    total = expect_silence(r, host, probes, args.wait)
    r.check(total == 0, f"UDP prober total: {total} bytes back from {len(probes)} probes (want 0)")

    # (vi) TCP: a first record that fails authentication (stale epoch, a replay of an accepted
    # attach) or is data without an attach: closed without a byte. Under a wrong key neither the
    # length nor the frame unmasks: silence (closed at once or at the first frame's deadline). A
    # correct attach gets an ack record.
    # A record whose clear reading (a u16 length, then bytes) is complete and looks like an
    # OpenVPN client hard reset (opcode 7 or 10 in the top five bits of its first byte) is
    # rightly taken for OpenVPN's. Rare (its random length must fit), but sealed again then, so
    # the probe tests what it means to.
    def framed(make, mask_key=None):
        for _ in range(20):  # a replayed frame cannot be sealed again: it is what it is
            rec = record(mask_key or keys[1], make())
            n = struct.unpack(">H", rec[:2])[0]
            if not (n <= len(rec) - 2 and rec[2] >> 3 in (7, 10)):
                break
        return rec

    closed = [
        ("first frame a stale-epoch attach",
         lambda: sealed(control(auth, ATTACH, session_id(), 1, epoch_now(interval) - 2))),
        ("first frame a replayed attach", lambda: first[1]),
    ]
    for what, make in closed:
        guarded(r, f"tcp/{tcp} {what}", tcp_expect_closed_silently, host, tcp, framed(make), what)
    # Records no reading claims (not an attach, or not under this key) are treated as random
    # bytes: silence, closed at once only if their clear reading happens to complete.
    wrong = lambda: seal(wrong_mask, control(wrong_auth, ATTACH, session_id(), 1, epoch_now(interval)))
    guarded(r, f"tcp/{tcp} wrong-key attach", tcp_expect_silence, host, tcp, framed(wrong, wrong_mask),
            "first frame a wrong-key attach")
    guarded(r, f"tcp/{tcp} data frame first", tcp_expect_silence, host, tcp,
            framed(lambda: sealed(os.urandom(60), False)), "first frame a data frame (no attach)")
    guarded(r, f"tcp/{tcp} silent connection", tcp_expect_silence, host, tcp, b"",
            "connection that sends nothing")
    guarded(r, f"tcp/{tcp} random bytes", tcp_expect_silence, host, tcp, os.urandom(100), "100 random bytes")
    counter += 1
    guarded(r, f"tcp/{tcp} attach", tcp_attach, host, tcp, keys, sid, counter, interval,
            f"tcp/{tcp} valid attach (same session)")
    guarded(r, f"tcp/{tcp} attach", tcp_attach, host, tcp, keys, session_id(), 1, interval,
            f"tcp/{tcp} valid attach (new session)")

    # The probes above changed nothing for a legitimate agent: the session still attaches.
    counter += 1
    guarded(r, "udp attach", udp_attach, host, udp[0], keys, sid, counter, interval,
            f"udp/{udp[0]} valid attach after the probes")

    print(f"{r.passed} passed, {r.failed} failed", flush=True)
    return 0 if r.failed == 0 else 1


def sink(port, countfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    n = 0
    while True:
        s.recvfrom(65535)
        n += 1
        if countfile:
            with open(countfile + ".tmp", "w") as f:
                f.write(f"{n}\n")
            os.replace(countfile + ".tmp", countfile)


def attach(args):
    """One attach of a named session (the replay-after-restart checks of probe_test.sh)."""
    report = Report()
    key = parse_key(args.key)
    keys = (kdf(key, 1), kdf(key, 3))
    issued = int(time.time() * 1000) + args.issued_offset
    where = f"attach session {args.session:016x} counter {args.counter} issued {issued} on udp {args.udp[0]}"
    if args.expect == "ack":
        frame = udp_attach(report, args.host, args.udp[0], keys, args.session, args.counter, args.interval,
                           where, issued)
    else:
        frame = seal(keys[1], control(keys[0], ATTACH, args.session, args.counter, epoch_now(args.interval), issued))
        expect_silence(report, args.host, [(f"{where}: no answer", args.udp[0], frame)], args.wait)
    if args.out:
        with open(args.out, "w") as f:
            f.write(frame.hex() + "\n")
    return 0 if report.failed == 0 and report.passed > 0 else 1


def replay(args):
    report = Report()
    with open(getattr(args, "in")) as f:
        frame = bytes.fromhex(f.read().strip())
    expect_silence(report, args.host, [(f"replay of a kept attach on udp {args.udp[0]}: no answer", args.udp[0],
                                        frame)], args.wait)
    return 0 if report.failed == 0 and report.passed > 0 else 1


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "sink":
        sink(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "port":
        key, interval, spec = parse_key(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        epoch = int(sys.argv[5]) if len(sys.argv) > 5 else epoch_now(interval)
        print(port_for(key, expand_ports(spec), epoch))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["probe", "attach", "replay"])
    p.add_argument("--key")
    p.add_argument("--interval", type=int, help="hop_interval in seconds")
    p.add_argument("--udp", required=True, type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--tcp", type=int)
    p.add_argument("--session", type=lambda s: int(s, 16), help="attach: the session id, hex")
    p.add_argument("--counter", type=int, help="attach: its counter")
    p.add_argument("--issued-offset", type=int, default=0, help="attach: ms added to the issued time")
    p.add_argument("--expect", choices=["ack", "silence"], default="ack")
    p.add_argument("--out", help="attach: keep the datagram sent (hex) in this file")
    p.add_argument("--in", help="replay: the kept datagram")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--wait", type=float, default=1.5, help="seconds a silent probe is watched")
    args = p.parse_args()
    need = {"probe": ["key", "interval", "tcp"], "attach": ["key", "interval", "session", "counter"],
            "replay": ["in"]}[args.command]
    missing = [n for n in need if getattr(args, n) is None]
    if missing:
        p.error(f"{args.command} needs " + ", ".join("--" + n for n in missing))
    return {"probe": probe, "attach": attach, "replay": replay}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
