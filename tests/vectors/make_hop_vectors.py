#!/usr/bin/env python3
"""Hop-link test vectors (docs/PROTOCOL.md), computed without libsodium or any porthop code.

Only Python's hashlib.blake2b (the BLAKE2 reference code) and base64 are used, so these
numbers check the C++ implementation rather than restate it. libsodium's
crypto_kdf_derive_from_key(32, id, ctx, key) is BLAKE2b-256 of the empty message with
key=key, salt=u64le(id) || 8 zero bytes, personal=ctx || 8 zero bytes; the C++ unit test
checks that equivalence against libsodium itself.

    python3 tests/vectors/make_hop_vectors.py           # markdown for docs/PROTOCOL.md
    python3 tests/vectors/make_hop_vectors.py --cpp     # constants for tests/unit
"""
import base64
import hashlib
import struct
import sys

KEY = bytes(range(32))
CONTEXT = b"porthop1"
SUBKEY_AUTH, SUBKEY_SCHEDULE = 1, 2
DEFAULT_PORTS = sorted(set([443, 1194] + list(range(40000, 40100))))
SMALL_PORTS = sorted(set([51820, 443, 1194, 443, 8443]))  # as configured: unsorted, one repeat
EPOCHS = [0, 1, 2, 28_000_000, 2**64 - 1]
ALTERNATE_EPOCHS = [0, 28_000_000]
ALTERNATE_COUNT = 3


def kdf(key, subkey_id, ctx):
    return hashlib.blake2b(b"", digest_size=32, key=key, salt=subkey_id.to_bytes(8, "little") + bytes(8),
                           person=ctx + bytes(8)).digest()


AUTH = kdf(KEY, SUBKEY_AUTH, CONTEXT)
SCHEDULE = kdf(KEY, SUBKEY_SCHEDULE, CONTEXT)


def control(frame_type, session_id, counter, epoch, echo):
    body = struct.pack(">BBQQQQ", frame_type, 1, session_id, counter, epoch, echo)
    assert len(body) == 34
    return body + hashlib.blake2b(body, digest_size=16, key=AUTH).digest()


def prf(epoch):
    return int.from_bytes(hashlib.blake2b(epoch.to_bytes(8, "big"), digest_size=8, key=SCHEDULE).digest(), "big")


def port_for(ports, epoch):
    return ports[prf(epoch) % len(ports)]


def alternates(ports, epoch, count):
    """The rule of hop/schedule.hpp, written again from its description."""
    want = min(count, len(ports) - 1)
    taken = {port_for(ports, epoch)}
    out = []

    def take(e):
        p = port_for(ports, e % 2**64)
        if p not in taken:
            taken.add(p)
            out.append(p)

    walk = [epoch + 1] + ([epoch - 1] if epoch > 0 else [])
    walk += [epoch + k for k in range(2, 64 * len(ports) + 1)]
    for e in walk:
        if len(out) >= want:
            break
        take(e)
    for p in ports:
        if len(out) >= want:
            break
        if p not in taken:
            taken.add(p)
            out.append(p)
    return out


def moving_target(ports, epoch):
    epochs = ([epoch - 1] if epoch > 0 else []) + [epoch, (epoch + 1) % 2**64]
    return sorted({port_for(ports, e) for e in epochs})


SESSION = 0x0123456789ABCDEF
ATTACH = control(1, SESSION, 1, 28_000_000, 0)
ACK = control(2, SESSION, 7, 28_000_001, 1)


def markdown():
    print(f"| key (bytes 0x00..0x1f), text form | `{base64.b64encode(KEY).decode()}` |")
    print("|---|---|")
    print(f"| auth subkey (id 1) | `{AUTH.hex()}` |")
    print(f"| schedule subkey (id 2) | `{SCHEDULE.hex()}` |")
    print()
    print(f"attach: session `{SESSION:#018x}`, counter 1, epoch 28000000, echo 0:\n")
    print(f"    {ATTACH.hex()}\n")
    print(f"ack: session `{SESSION:#018x}`, counter 7, epoch 28000001, echo 1:\n")
    print(f"    {ACK.hex()}\n")
    print(f"| epoch | schedule_prf | port, default set ({len(DEFAULT_PORTS)}) | port, {SMALL_PORTS} |")
    print("|---:|---|---:|---:|")
    for e in EPOCHS:
        print(f"| {e} | `{prf(e):016x}` | {port_for(DEFAULT_PORTS, e)} | {port_for(SMALL_PORTS, e)} |")
    print()
    print(f"| epoch | set | alternates (count {ALTERNATE_COUNT}) | moving-target ports |")
    print("|---:|---|---|---|")
    for e in ALTERNATE_EPOCHS:
        for name, ports in (("default", DEFAULT_PORTS), ("small", SMALL_PORTS)):
            print(f"| {e} | {name} | {alternates(ports, e, ALTERNATE_COUNT)} | {moving_target(ports, e)} |")


def cpp():
    print(f'const std::string kKeyText = "{base64.b64encode(KEY).decode()}";')
    print(f'const std::string kAuthHex = "{AUTH.hex()}";')
    print(f'const std::string kScheduleHex = "{SCHEDULE.hex()}";')
    print(f'const std::string kAttachHex = "{ATTACH.hex()}";')
    print(f'const std::string kAckHex = "{ACK.hex()}";')
    print("// epoch, schedule_prf, port in the default set, port in the small set")
    for e in EPOCHS:
        print(f"{{{e}u, 0x{prf(e):016x}u, {port_for(DEFAULT_PORTS, e)}, {port_for(SMALL_PORTS, e)}}},")
    print("// epoch, default set?, alternates, moving-target ports")
    for e in ALTERNATE_EPOCHS:
        for name, ports in (("true", DEFAULT_PORTS), ("false", SMALL_PORTS)):
            alt = ", ".join(map(str, alternates(ports, e, ALTERNATE_COUNT)))
            mt = ", ".join(map(str, moving_target(ports, e)))
            print(f"{{{e}u, {name}, {{{alt}}}, {{{mt}}}}},")


if __name__ == "__main__":
    cpp() if sys.argv[1:] == ["--cpp"] else markdown()
