#!/usr/bin/env python3
"""Writes the checked-in seed corpus tests/fuzz/corpus/<target>/ (run from anywhere).

A few inputs per target: a valid one of every kind (real captures from tests/fixtures where
there are some) and the edges of every size rule. libFuzzer mutates from these; run.sh
writes what it discovers to the build directory, never here.
"""
import importlib.util
import pathlib
import struct

here = pathlib.Path(__file__).resolve().parent
fixtures = here.parent / "fixtures"
repo = here.parent.parent


def fixture_packet(name):
    for line in (fixtures / name).read_text().splitlines():
        if line.startswith("packet:"):
            return bytes.fromhex(line.split(":", 1)[1].strip())
    raise SystemExit(f"{name}: no packet line")


def ovpn_captured():
    """First captured datagram of each (wrapping, opcode)."""
    out = {}
    for line in (fixtures / "ovpn_udp_packets.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        wrapping, direction, data = line.split()
        data = bytes.fromhex(data)
        out.setdefault((wrapping, data[0] >> 3), data)
    return out


def wg_message(msg_type, size, fill=0x5A):
    body = bytearray([fill]) * size
    body[0:4] = bytes([msg_type, 0, 0, 0]) if size >= 4 else body[0:4]
    return bytes(body)


def write(target, seeds):
    d = here / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    for name, data in seeds.items():
        (d / name).write_bytes(data)
    print(f"{target}: {len(seeds)} seeds")


initiation = fixture_packet("wg_handshake_initiation.hex")
response = fixture_packet("wg_handshake_response.hex")
transport = fixture_packet("wg_transport_full_mtu.hex")

write("wg_classify", {
    "initiation_captured": initiation,
    "response_captured": response,
    "transport_1452_captured": transport,
    "cookie_reply_64": wg_message(3, 64),
    "keepalive_32": wg_message(4, 32),
    "transport_33": wg_message(4, 33),
    "transport_31_short": wg_message(4, 31),
    "initiation_147_short": initiation[:147],
    "response_reserved_set": response[:3] + b"\x01" + response[4:],
    "transport_counter_rejected": wg_message(4, 16, 0)[:8] + struct.pack("<Q", 2**64 - 2**13 - 1) + bytes(16),
})

ovpn = ovpn_captured()
seeds = {f"{w}_op{op}": data for (w, op), data in ovpn.items() if w in ("none", "tls-crypt-v2")}
seeds.update({
    "control_v1_13_short": bytes([4 << 3]) + bytes(range(1, 13)),
    "ack_21_short": bytes([5 << 3]) + bytes(range(1, 21)),
    "data_v1_2": bytes([6 << 3 | 1, 0xAA]),
    "data_v2_no_peer_id": bytes([9 << 3, 0xFF, 0xFF, 0xFF, 0x00]),
    "hard_reset_v1_retired": bytes([1 << 3]) + bytes(range(1, 14)),
})
write("ovpn_classify", seeds)


def frames(*payloads):
    return b"".join(struct.pack(">H", len(p)) + p for p in payloads)


write("framing", {  # 2 bytes max_length (big-endian), then the stream
    "max65535_three_frames": struct.pack(">H", 65535) + frames(b"abc", b"", transport),
    "max0_empty_frame": struct.pack(">H", 0) + frames(b""),
    "max999_too_large": struct.pack(">H", 999) + struct.pack(">H", 1000) + b"xy",
    "max1500_partial": struct.pack(">H", 1500) + frames(initiation)[:-1],
    "max148_exact": struct.pack(">H", 148) + frames(initiation, response),
})

write("mac1", {
    "initiation_captured": initiation,
    "response_captured": response,
    "initiation_zero_mac": initiation[:116] + bytes(32),
    "cookie_reply_64": wg_message(3, 64),
})

write("config", {
    "conf_server_toml": (repo / "conf" / "server.toml").read_bytes(),
    "empty": b"",
    "design_example": b"""[server]
listen = ["0.0.0.0", "::"]
udp = ["443", "1194", "40000-40099"]
tcp = ["443"]
backend = "127.0.0.1:51820"
idle_timeout = "3m"
max_sessions = 16384

[metrics]
listen = "127.0.0.1:9816"

[log]
level = "info"
""",
    "bad_range": b'[server]\nudp = ["40099-40000"]\n',
    "bad_toml": b'[server\nudp = [\n',
    "ipv6_backend": b'[server]\nbackend = "[::1]:1194"\nidle_timeout = "1h30m250ms"\n',
    "metrics_off": b'[metrics]\nlisten = ""\n',
})


# The hop link's frames, from the test-vector script (hashlib only, key 0x00..0x1f), so the
# fuzzer starts from frames with valid tags, which it could never forge by mutation.
spec = importlib.util.spec_from_file_location("hop_vectors", here.parent / "vectors" / "make_hop_vectors.py")
hv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hv)
write("hoplink", {
    "attach_vector": hv.ATTACH,
    "ack_vector": hv.ACK,
    "attach_counter_0": hv.control(1, hv.SESSION, 0, 28_000_000, 0),
    "ack_epoch_0": hv.control(2, 1, 2, 0, 2),
    "ack_epoch_max": hv.control(2, 2**64 - 1, 2**64 - 1, 2**64 - 1, 2**64 - 1),
    "attach_49_short": hv.ATTACH[:49],
    "attach_51_long": hv.ATTACH + b"\x00",
    "attach_version_2": hv.ATTACH[:1] + b"\x02" + hv.ATTACH[2:],
    "data_wg_transport": b"\x03" + transport,
    "data_empty": b"\x03",
    "counters_window_slide": b"".join(struct.pack(">Q", c) for c in [1, 2, 70, 6, 7, 7, 0, 2**64 - 1, 2**64 - 64]),
})
