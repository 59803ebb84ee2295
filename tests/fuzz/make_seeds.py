#!/usr/bin/env python3
"""Writes the checked-in seed corpus tests/fuzz/corpus/<target>/ (run from anywhere).

A few inputs per target: a valid one of every kind (real captures from tests/fixtures where
there are some) and the edges of every size rule. libFuzzer mutates from these; run.sh
writes what it discovers to the build directory, never here.
"""
import importlib.util
import pathlib
import struct
import sys

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


# hop link v2 (draft): the vectors' sealed frames, prefixed by the receiver byte of
# hoplink_v2_fuzz.cpp (0: the server opens agent -> server frames, 1: the agent the others).
sys.path.insert(0, str(here.parent / "vectors"))  # make_v2_vectors imports its neighbours
import make_v2_vectors as v2  # noqa: E402

v2_frames, _ = v2.sealed_frames()
write("hoplink_v2", {
    **{f"{name}_vector": bytes([direction - 1]) + frame for name, direction, _, _, _, _, frame in v2_frames},
    "too_short": b"\x00" + bytes(10),
    "light_header_only": b"\x00" + v2_frames[1][5][:11],
})

# record_lengths: the form (0 plain, 1 masked, 2 either), max_frame (u16 big-endian), then the
# stream; masked records are the vectors' agent -> server frames (record_lengths_fuzz.cpp).
agent_frames = [frame for _, direction, _, _, _, _, frame in v2_frames if direction == v2.AGENT_TO_SERVER]
masked = b"".join(v2.record(f, v2.AGENT_TO_SERVER) for f in agent_frames)
write("record_lengths", {
    "plain_frames": b"\x00" + struct.pack(">H", 1500) + frames(b"abc", initiation, b""),
    "masked_frames": b"\x01" + struct.pack(">H", 1500) + masked,
    "masked_partial": b"\x01" + struct.pack(">H", 1500) + masked[:-1],
    "either_masked_then_more": b"\x02" + struct.pack(">H", 1500) + masked,
    "either_native_initiation": b"\x02" + struct.pack(">H", 1500) + frames(initiation, transport),
    "either_garbage": b"\x02" + struct.pack(">H", 1500) + frames(b"GET / HTTP/1.1\r\n\r\n"),
})

# stream_start: the first bytes of a TCP connection to 443 (see stream_start_fuzz.cpp): TLS
# record headers at the edges of the version and length rules, each HTTP method, the h2 preface,
# and what is neither (native OpenVPN/WireGuard records, random bytes, an SSLv2 hello).
write("stream_start", {
    "tls_clienthello_1_0": bytes.fromhex("16030102000100 01fc0303".replace(" ", "")) + bytes(range(32)),
    "tls_version_0300_len_1": bytes.fromhex("1603000001"),
    "tls_version_0304_len_16640": bytes.fromhex("1603044100"),
    "tls_len_16641": bytes.fromhex("1603014101"),
    "tls_len_0": bytes.fromhex("1603010000"),
    "tls_minor_5": bytes.fromhex("1603050200"),
    **{f"http_{m.lower()}": f"{m} / HTTP/1.1\r\nHost: a\r\n\r\n".encode()
       for m in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"]},
    "h2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "h2_preface_13": b"PRI * HTTP/2.",
    "propfind": b"PROPFIND / HTTP/1.1\r\n",
    "openvpn_hard_reset": frames(ovpn[("none", 7)]),  # captured P_CONTROL_HARD_RESET_CLIENT_V2
    "wireguard_initiation": frames(initiation),
    "sslv2_hello": bytes.fromhex("802b0103010012000000"),
    "random": bytes.fromhex("9f3c1a77e2d4016b5a"),
})

# http_head: request heads for the built-in decoy site's parser (see http_head_fuzz.cpp): what
# curl, a browser and nc send, pipelined requests, a long head, and one example of each refusal.
# (run.sh's -max_len=4096 keeps the fuzzer below the 8 KiB bound; the unit test covers it.)
http_line = b"GET / HTTP/1.1\r\n"
write("http_head", {
    "curl": b"GET / HTTP/1.1\r\nHost: example.net\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "browser": (b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.net\r\nConnection: keep-alive\r\n"
                b"User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,*/*;q=0.8\r\n"
                b"Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n"),
    "nc_lf_only_1_0": b"GET / HTTP/1.0\n\n",
    "keep_alive_1_0": b"HEAD /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    "close_list": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, close\r\n\r\n",
    "absolute_uri_ipv6_host": b"GET http://[::1]:8080/p HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    "pipelined": b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    "leading_crlf": b"\r\n\r\nGET / HTTP/1.0\r\n\r\n",
    "long_head_4k": http_line + b"Host: a\r\nX: " + b"v" * (4096 - 32) + b"\r\n\r\n",
    "http_0_9": b"GET /\r\n\r\n",
    "version_1_2": b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    "no_colon": http_line + b"Host\r\n\r\n",
    "obs_fold": http_line + b"Host: a\r\nX: b\r\n c\r\n\r\n",
    "nul_in_value": http_line + b"Host: a\r\nX: a\x00b\r\n\r\n",
    "no_host_1_1": http_line + b"\r\n",
    "two_hosts": http_line + b"Host: a\r\nHost: b\r\n\r\n",
    "host_dotdot": http_line + b"Host: a..b\r\n\r\n",
    "bare_cr": http_line + b"Host: a\rX\r\n\r\n",
    "tls_record": bytes.fromhex("16030102000100"),
})

# native_guard: two configuration bytes, then operations (op, session, time step, u16 LE length,
# datagram); see native_guard_fuzz.cpp. Captured WireGuard and OpenVPN packets drive the
# roaming table as the server would (the captured response's sender is the index the captured
# transport carries); op | SYNTH builds the datagram from a short template instead.
(LEARN_WG, LEARN_OVPN, OBSERVE_WG, OBSERVE_OVPN, FIND_WG, FIND_OVPN, ACCEPT_WG, ACCEPT_OVPN, FORGET,
 ALLOW, ACQUIRE, RELEASE) = range(12)
SYNTH = 0x80
MS, DECIS, SEC, MIN = 0x00, 0x40, 0x80, 0xC0  # time step units (1 ms, 100 ms, 1 s, 60 s) | 0-63


def guard_config(rate=2, burst=3, cap=2, max_sources=4, jump=2, short_lifetime=False, short_stale=False,
                 max_sessions=4):
    """rate: index into 0, 3, 20, 1000 /s; cap 0-3 (0: none); jump: 2^(4, 8, 20, 40)."""
    return bytes([rate | (burst - 1) << 2 | cap << 4 | (max_sources - 1) << 6,
                  jump | short_lifetime << 2 | short_stale << 3 | (max_sessions - 1) << 4])


def guard_op(op, session, step=0, datagram=b""):
    return bytes([op, session, step]) + struct.pack("<H", len(datagram)) + datagram


def wg_transport_counter(counter):
    """The captured transport's header with another counter, keepalive-sized (max_len is 4096)."""
    return transport[:8] + struct.pack("<Q", counter) + transport[16:32]


def ovpn_packet_id(data, packet_id):
    return data[:4] + struct.pack(">I", packet_id) + data[8:]


def synth_wg(kind, index, counter=0):  # kind 0 initiation, 1 response (receiver: counter & 7), 2 transport
    return bytes([kind, index]) + struct.pack("<Q", counter)


def synth_data_v2(peer, packet_id, key_id=0):
    return bytes([4 | key_id << 5, peer]) + struct.pack(">I", packet_id)


def synth_control(sid, opcode_index, key_id=0):  # opcode_index into 3, 4, 5, 7, 8, 10, 11
    return bytes([5 | key_id << 5, sid, opcode_index])


def ovpn_lines(prefix):
    """Every captured datagram whose line starts with prefix ("WRAPPING DIRECTION HEX")."""
    lines = (fixtures / "ovpn_udp_packets.txt").read_text().splitlines()
    return [bytes.fromhex(line.split()[2]) for line in lines if line.startswith(prefix)]


ovpn_data_c2s = ovpn_lines("none c2s 48")  # P_DATA_V2, key id 0, peer-id 0, packet ids 1, 2, 3
ovpn_data_s2c = ovpn_lines("none s2c 48")[0]
ovpn_reset_c2s = ovpn[("none", 7)]
ovpn_reset_v3 = ovpn[("tls-crypt-v2", 10)]
last_captured_id = struct.unpack(">I", ovpn_data_c2s[-1][4:8])[0]


def ovpn_later(k):
    """The last captured client P_DATA_V2 with its packet id k further on."""
    return ovpn_packet_id(ovpn_data_c2s[-1], last_captured_id + k)

write("native_guard", {
    "wg_roam_captured": guard_config() + b"".join([
        guard_op(ALLOW, 1, 0, b""),
        guard_op(ACQUIRE, 1),
        guard_op(OBSERVE_WG, 1, MS | 1, initiation),
        guard_op(LEARN_WG, 1, MS | 2, response),
        guard_op(OBSERVE_WG, 1, MS | 3, transport),
        guard_op(FIND_WG, 9, SEC | 5, wg_transport_counter(2)),
        guard_op(FIND_WG, 9, MS | 1, wg_transport_counter(2)),
        guard_op(ACCEPT_WG, 1, MS | 1, wg_transport_counter(2 + 2**20 + 1)),
        guard_op(OBSERVE_WG, 1, MIN | 2, wg_transport_counter(3)),
        guard_op(FIND_WG, 9, MS | 1, wg_transport_counter(3)),  # sent on the current path: a replay
        guard_op(FIND_WG, 9, MIN | 1, wg_transport_counter(4)),
        guard_op(RELEASE, 0),
        guard_op(FORGET, 1),
    ]),
    "wg_synth_table_full": guard_config(max_sessions=2, jump=0, short_lifetime=True, short_stale=True) + b"".join(
        [guard_op(LEARN_WG | SYNTH, s, MS | 7, synth_wg(s & 1, s)) for s in range(5)] + [
            guard_op(OBSERVE_WG | SYNTH, 3, MS | 1, synth_wg(2, 3, 5)),
            guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 3, 6)),
            guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 3, 40)),
            guard_op(OBSERVE_WG | SYNTH, 4, MS | 1, synth_wg(1, 0x10, 4)),
            guard_op(ACCEPT_WG | SYNTH, 4, SEC | 6, synth_wg(2, 4, 0)),
            guard_op(LEARN_WG | SYNTH, 5, SEC | 6, synth_wg(0, 4)),
            guard_op(FORGET, 4),
            guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 4, 1)),
        ]),
    "wg_synth_honest_client": guard_config(jump=1) + b"".join(  # counters from 0, jump 2^8
        [guard_op(LEARN_WG | SYNTH, 1, MS | 1, synth_wg(1, 5))] +
        [guard_op(OBSERVE_WG | SYNTH, 1, MS | 1, synth_wg(2, 5, c)) for c in range(3)] + [
            guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 5, 3)),
            guard_op(OBSERVE_WG | SYNTH, 1, MS | 1, synth_wg(2, 5, 4)),
            guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 5, 4)),
            guard_op(ACCEPT_WG | SYNTH, 1, MS | 1, synth_wg(2, 5, 4 + 2**8 + 1)),
            guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 5, 4 + 2**8)),
            guard_op(OBSERVE_WG | SYNTH, 1, MIN | 2, synth_wg(1, 6, 5)),  # a response to 5: 5 restarts
            guard_op(LEARN_WG | SYNTH, 1, MS | 1, synth_wg(0, 6)),  # the backend initiates with index 6
            guard_op(OBSERVE_WG | SYNTH, 1, MIN | 2, synth_wg(1, 0, 6)),  # the client answers: 6 restarts
            guard_op(FIND_WG | SYNTH, 0, MIN | 2, synth_wg(2, 6, 0)),
        ]),
    "ovpn_roam_captured": guard_config() + b"".join(
        [guard_op(OBSERVE_OVPN, 2, MS | 1, ovpn_reset_c2s),
         guard_op(LEARN_OVPN, 2, MS | 1, ovpn_data_s2c)] +
        [guard_op(OBSERVE_OVPN, 2, MS | 1, p) for p in ovpn_data_c2s] +
        [guard_op(OBSERVE_OVPN, 2, MS | 1, ovpn_later(k)) for k in (1, 2, 3)] + [
            guard_op(FIND_OVPN, 9, SEC | 1, ovpn_later(5)),
            guard_op(FIND_OVPN, 9, MS | 1, ovpn_later(5)),
            guard_op(OBSERVE_OVPN, 2, MS | 1, ovpn_later(6)),
            guard_op(FIND_OVPN, 9, MS | 1, ovpn_later(6)),
            guard_op(FIND_OVPN, 9, MS | 1, ovpn_reset_c2s),
            guard_op(ACCEPT_OVPN, 2, MS | 1, ovpn_packet_id(ovpn_data_c2s[-1], 1)),
            guard_op(OBSERVE_OVPN, 3, MS | 1, ovpn_reset_v3),
            guard_op(FIND_OVPN, 9, MS | 1, ovpn_reset_v3),
        ]),
    "ovpn_synth_soft_reset": guard_config(jump=1) + b"".join(
        [guard_op(LEARN_OVPN | SYNTH, 1, MS | 1, synth_data_v2(3, 0)),
         guard_op(OBSERVE_OVPN | SYNTH, 1, MS | 1, synth_control(1, 0, 1))] +
        [guard_op(OBSERVE_OVPN | SYNTH, 1, MS | 1, synth_data_v2(3, i, 1)) for i in range(1, 7)] + [
            guard_op(FIND_OVPN | SYNTH, 0, MS | 1, synth_data_v2(3, 9, 1)),
            guard_op(ACCEPT_OVPN | SYNTH, 1, MS | 1, synth_data_v2(3, 9 + 300, 1)),
            guard_op(LEARN_OVPN | SYNTH, 1, MS | 1, synth_control(2, 0, 1)),
            guard_op(ACCEPT_OVPN | SYNTH, 1, MS | 1, synth_data_v2(3, 10, 1)),
            guard_op(LEARN_OVPN | SYNTH, 2, MS | 1, synth_data_v2(3, 0)),
            guard_op(FIND_OVPN | SYNTH, 0, MS | 1, synth_data_v2(3, 11, 1)),
            guard_op(ACCEPT_OVPN | SYNTH, 1, MS | 1, synth_data_v2(0xFF, 12, 1)),
        ]),
    "ids_move_between_sessions": guard_config() + b"".join([  # the backend's ids move, a client's do not
        guard_op(LEARN_WG | SYNTH, 1, MS | 1, synth_wg(0, 1)),
        guard_op(LEARN_WG | SYNTH, 2, MS | 1, synth_wg(1, 1)),
        guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 1, 0)),
        guard_op(LEARN_WG | SYNTH, 1, MS | 1, synth_wg(0, 2)),
        guard_op(FORGET, 2),
        guard_op(LEARN_WG | SYNTH, 3, MS | 1, synth_wg(1, 1)),
        guard_op(FIND_WG | SYNTH, 0, MS | 1, synth_wg(2, 1, 1)),
        guard_op(LEARN_OVPN | SYNTH, 1, MS | 1, synth_data_v2(3, 0)),
        guard_op(LEARN_OVPN | SYNTH, 2, MS | 1, synth_data_v2(3, 0)),
        guard_op(LEARN_OVPN | SYNTH, 1, MS | 1, synth_data_v2(4, 0)),
        guard_op(ACCEPT_OVPN | SYNTH, 2, MS | 1, synth_data_v2(3, 1)),
        guard_op(FORGET, 2),
        guard_op(LEARN_OVPN | SYNTH, 3, MS | 1, synth_data_v2(3, 0)),
        guard_op(ACCEPT_OVPN | SYNTH, 3, MS | 1, synth_data_v2(3, 1)),
        guard_op(OBSERVE_OVPN | SYNTH, 1, MS | 1, synth_control(1, 3)),
        guard_op(OBSERVE_OVPN | SYNTH, 2, MS | 1, synth_control(1, 1)),
        guard_op(FIND_OVPN | SYNTH, 0, MS | 1, synth_control(1, 1)),
        guard_op(FORGET, 1),
        guard_op(OBSERVE_OVPN | SYNTH, 2, MS | 1, synth_control(1, 1)),
        guard_op(FIND_OVPN | SYNTH, 0, MS | 1, synth_control(1, 1)),
    ]),
    "limiter_rate_and_cap": guard_config(rate=1, burst=1, cap=1, max_sources=2) + b"".join(
        [guard_op(ALLOW, who, DECIS | 1) for who in (1, 1, 1, 0x09, 2, 0x11, 0x12, 0x18)] + [
            guard_op(ACQUIRE, 1, MS | 1), guard_op(ACQUIRE, 0x09, MS | 1), guard_op(ACQUIRE, 2, MS | 1),
            guard_op(ALLOW, 3, SEC | 1), guard_op(RELEASE, 0), guard_op(ACQUIRE, 3, SEC | 1),
            guard_op(RELEASE, 0x80, 0, b"\xff\x00\x00\x00\xc6\x33\x64\x03"),
        ]),
    "limiter_no_rate_no_cap": guard_config(rate=0, cap=0, max_sources=1) + b"".join(
        [guard_op(ALLOW, who, MS | 1) for who in (0, 0x10, 0x18)] +
        [guard_op(ACQUIRE, who, MS | 1) for who in (0, 0x10, 0x18)] + [guard_op(RELEASE, 0x80)]),
    "protocol_probes": guard_config() + b"".join([
        guard_op(FIND_OVPN, 0, 0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        guard_op(FIND_WG, 0, 0, b"wireguard"),
        guard_op(FIND_WG, 0, 0, b"openvpn"),
        guard_op(FIND_WG, 0, 0, b"any"),
        guard_op(OBSERVE_OVPN, 0, 0, ovpn[("none", 8)]),
        guard_op(LEARN_WG, 0, 0, wg_message(3, 64)),
        guard_op(OBSERVE_WG, 0, 0, wg_message(4, 32)),
    ]),
})

# share_link: links as `porthop invite` writes them (pinned, system CAs, plain TCP, IPv6), and
# the near misses a scanner or a paste makes.
KEY = "pgVoYc0TUX3h8cbT-Qfx1rNrukWgP3Qo4i8DJGQL_J4"
PIN = "sha256/F2NxovFxEjYXnZwSMdPZtwcp90PPXkI%2BQs1QpOny1UY%3D"
LINK = (f"porthop://vpn.example.org/1?key={KEY}&udp=443,1194,40000-40099&tcp=443&hop=300&tls=1"
        f"&pin={PIN}&rotate=0&mask=light")
write("share_link", {
    "pinned": LINK.encode(),
    "system_ca": LINK.replace(f"&pin={PIN}", "&sni=www.example.org&ca=system").encode(),
    "plain_ipv6_label": (f"porthop://[2001:db8::7]/1?key={KEY}&udp=40000&tcp=8443&hop=45&tls=0"
                         f"&rotate=12000&mask=full#home%20VPN").encode(),
    "cut_short": LINK[:90].encode(),
    "version_2": LINK.replace("/1?", "/2?").encode(),
    "two_pins": (LINK + f"&pin={PIN}").encode(),
})

# status: the client's /status JSON (first byte odd) and the server's /metrics (even).
write("status", {
    "client": b"\x01" + (
        b'{"path":"tcp/443","hops":3,"fallbacks":1,"climbs":0,"tcp_rotations":2,"rtt_ms":12.500,'
        b'"to_server_packets":10,"to_server_bytes":1000,"from_server_packets":9,"from_server_bytes":900,'
        b'"dropped_no_path":2,"dropped_no_local":0,"dropped_send":0,"rejected_frames":0,"dark_ports":[443],'
        b'"local_client":"127.0.0.1:5555","session":"000000001234abcd","mask":"light","rung":"tls",'
        b'"path_since":1796639200.500,"udp_blocked_since":1796639100.000,"port_silent":1,"udp_silent":1,'
        b'"tcp_reset":0,"tcp_freeze":2,"tls_failed":0,"last_freeze_bytes":16384,"recoveries":1,'
        b'"recovery_seconds_sum":4.500,"recent_changes":[{"at":1796639100.250,"path":"tcp/443",'
        b'"reason":"all UDP silent -> tcp/443"}]}\n'),
    "server": b"\x00" + (
        b'# HELP porthop_build_info x\n# TYPE porthop_build_info gauge\nporthop_build_info{version="0.1.0"} 1\n'
        b"porthop_start_time_seconds 1796630000.000\nporthop_sessions 3\nporthop_sessions_limit 16384\n"
        b'porthop_datagrams_total{direction="to_backend"} 20\nporthop_drops_total{reason="empty"} 1\n'
        b'porthop_agent_attaches_total{result="accepted"} 4\n'),
})
