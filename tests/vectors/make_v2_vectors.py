#!/usr/bin/env python3
"""Hop link v2: test vectors for hop::FrameCodecV2, computed without
libsodium or any porthop code (docs/PROTOCOL.md, "Frame format (version 2)").

ChaCha20 and StreamRandom come from make_mask_vectors.py (written from RFC 8439 and checked
there against the RFC's vectors), the tag and subkeys from make_hop_vectors.py (hashlib). The
frame layout, the flags, the direction byte, the light and full coverage, the padding rule and the order
in which the sender draws from its StreamRandom are written again here from PROTOCOL.md.

    python3 tests/vectors/make_v2_vectors.py           # markdown for docs/PROTOCOL.md
    python3 tests/vectors/make_v2_vectors.py --cpp     # constants for tests/unit
    python3 tests/vectors/make_v2_vectors.py --records # TCP record length masks, for tests/unit
"""
import sys

from make_hop_vectors import control
from make_mask_vectors import MASK, StreamRandom, check_rfc8439, cpp_hex_lines, keystream, pattern, xor

AGENT_TO_SERVER, SERVER_TO_AGENT = 0x01, 0x02
SALT_SIZE, HEADER_SIZE = 8, 3
OVERHEAD = SALT_SIZE + HEADER_SIZE
LIGHT_COVERAGE = 64          # masked bytes after the salt, light mode: one keystream block
MAX_PADDING = 2047
MIN_TOTAL, MAX_TOTAL = 160, 1000
FLAG_CONTROL, FLAG_FULL, FLAG_ASK_FULL = 0x01, 0x02, 0x04
FLAGS_RESERVED = 0xF8
SEED = bytes(range(0x40, 0x60))  # the vectors' StreamRandom seed
KEYSTREAM_SALT = bytes(range(8))

ATTACH = control(0x01, 0x0123456789ABCDEF, 1, 28_000_000, 0)  # the v1 vectors' attach and ack
ACK = control(0x02, 0x0123456789ABCDEF, 7, 28_000_001, 1)


def nonce(salt, direction):
    return salt + bytes([direction]) + bytes(3)


def mask_bytes(salt, direction, data):
    return xor(data, keystream(MASK, nonce(salt, direction), len(data)))


def length_mask(salt, direction):
    """The mask over a TCP record's length: keystream bytes 0-1 with the nonce byte 0x10 | direction."""
    return int.from_bytes(keystream(MASK, nonce(salt, 0x10 | direction), 2), "big")


def record(frame, direction):
    """`frame` as one record of an agent's TCP stream: its length masked, then the frame."""
    return (len(frame) ^ length_mask(frame[:SALT_SIZE], direction)).to_bytes(2, "big") + frame


def header(is_control, full, ask, padding):
    assert 0 <= padding <= MAX_PADDING
    flags = (FLAG_CONTROL if is_control else 0) | (FLAG_FULL if full else 0) | (FLAG_ASK_FULL if ask else 0)
    return bytes([flags]) + padding.to_bytes(2, "big")


def padded_total(rng, unpadded):
    lo, hi = max(MIN_TOTAL, unpadded), max(MAX_TOTAL, unpadded)
    return lo + rng.uniform(hi - lo + 1)


def seal(rng, direction, is_control, full, ask, bulk, body):
    """Draw order: the salt (8 bytes); for a padded frame the total length (one uniform
    draw), then the padding bytes. Everything but VPN bulk data is padded: control frames and
    other data frames; bulk data is not, in full mode too (the mode says how much is masked)."""
    salt = rng.take(SALT_SIZE)
    padding = b""
    if not bulk:
        unpadded = OVERHEAD + len(body)
        padding = rng.take(padded_total(rng, unpadded) - unpadded)
    plain = header(is_control, full, ask, len(padding)) + body
    covered = len(plain) if full else min(len(plain), LIGHT_COVERAGE)
    masked = mask_bytes(salt, direction, plain[:covered]) + plain[covered:]
    return salt + masked + padding


def open_frame(frame, direction):
    """The receiver's reading, for the self-check: (is_control, full, ask, body)."""
    salt = frame[:SALT_SIZE]
    head = mask_bytes(salt, direction, frame[SALT_SIZE:OVERHEAD])
    flags, padding = head[0], int.from_bytes(head[1:3], "big")
    assert flags & FLAGS_RESERVED == 0 and padding <= MAX_PADDING and padding <= len(frame) - OVERHEAD
    full = bool(flags & FLAG_FULL)
    body_size = len(frame) - OVERHEAD - padding
    covered = HEADER_SIZE + (body_size if full else min(body_size, LIGHT_COVERAGE - HEADER_SIZE))
    plain = mask_bytes(salt, direction, frame[SALT_SIZE:SALT_SIZE + covered]) + frame[SALT_SIZE + covered:]
    return bool(flags & FLAG_CONTROL), full, bool(flags & FLAG_ASK_FULL), plain[HEADER_SIZE:HEADER_SIZE + body_size]


def wg_transport(length):
    """Type 4, receiver 0x11223344, counter 1 (little-endian), then stand-in ciphertext."""
    return bytes([4, 0, 0, 0]) + (0x11223344).to_bytes(4, "little") + (1).to_bytes(8, "little") + \
        pattern(length - 16, 7)


def wg_initiation():
    """Type 1, 148 bytes, mac2 (the last 16) zero: no cookie."""
    return bytes([1, 0, 0, 0]) + pattern(128, 3) + bytes(16)


def wg_cookie_reply():
    return bytes([3, 0, 0, 0]) + pattern(60, 5)


def ovpn_data_v2(length):
    """P_DATA_V2 (opcode 9, key id 0: 0x48), peer-id 1, then stand-in packet id and ciphertext."""
    return bytes([0x48, 0, 0, 1]) + pattern(length - 4, 11)


# (name, direction, control?, full?, asks for full?, bulk data?, body): one StreamRandom
# seeded with SEED seals them in this order, the agent's frames with direction 1, the server's
# with direction 2. The last two are a server with mask = "full": flag bit 2 on every frame,
# its bulk data masked in full and still unpadded.
FRAMES = [
    ("attach", AGENT_TO_SERVER, True, True, False, False, ATTACH),
    ("wg_transport", AGENT_TO_SERVER, False, False, False, True, wg_transport(80)),
    ("wg_initiation", AGENT_TO_SERVER, False, True, False, False, wg_initiation()),
    ("ack", SERVER_TO_AGENT, True, True, False, False, ACK),
    ("ovpn_data_v2", SERVER_TO_AGENT, False, False, False, True, ovpn_data_v2(120)),
    ("wg_cookie_reply", SERVER_TO_AGENT, False, True, False, False, wg_cookie_reply()),
    ("wg_keepalive", SERVER_TO_AGENT, False, False, False, True, wg_transport(32)),
    ("ack_asking_full", SERVER_TO_AGENT, True, True, True, False, ACK),
    ("wg_transport_full", SERVER_TO_AGENT, False, True, True, True, wg_transport(96)),
]


def sealed_frames():
    rng = StreamRandom(SEED)
    out = []
    for name, direction, is_control, full, ask, bulk, body in FRAMES:
        frame = seal(rng, direction, is_control, full, ask, bulk, body)
        assert open_frame(frame, direction) == (is_control, full, ask, body), name
        out.append((name, direction, is_control, full, ask, body, frame))
    after = rng.next_u32()
    return out, after


def markdown():
    print(f"Keystream block 0 for salt `{KEYSTREAM_SALT.hex()}` in each direction"
          " (the first 32 bytes):\n")
    for direction in (AGENT_TO_SERVER, SERVER_TO_AGENT):
        block = keystream(MASK, nonce(KEYSTREAM_SALT, direction), 32).hex()
        print(f"    direction {direction:02x}: {block}")
    print()
    frames, _ = sealed_frames()
    print(f"Frames sealed in this order by one StreamRandom seeded with bytes"
          f" `{SEED[0]:02x}`..`{SEED[-1]:02x}`, padding range {MIN_TOTAL}..{MAX_TOTAL}"
          " (salt | masked header | masked body | padding or clear rest):\n")
    for name, direction, is_control, full, ask, body, frame in frames:
        padding = int.from_bytes(mask_bytes(frame[:SALT_SIZE], direction, frame[SALT_SIZE:OVERHEAD])[1:], "big")
        end = len(frame) - padding
        covered = end if full else min(end, SALT_SIZE + LIGHT_COVERAGE)
        print(f"{name} (direction {direction:02x}, {'full' if full else 'light'}{', asks for full' if ask else ''},"
              f" {len(body)}-byte body, {padding} bytes of padding, {len(frame)} in all):\n")
        def shown(part):
            return part.hex() if len(part) <= 24 else f"{part[:24].hex()}... ({len(part)} bytes)"
        parts = [frame[:SALT_SIZE].hex(), frame[SALT_SIZE:OVERHEAD].hex(), shown(frame[OVERHEAD:covered])]
        if covered < end:
            parts.append("clear: " + shown(frame[covered:end]))
        if padding:
            parts.append("padding: " + shown(frame[end:]))
        print("    " + "\n    | ".join(parts) + "\n")
    print(f"TCP record length masks for salt `{KEYSTREAM_SALT.hex()}` (nonce byte 0x11 agent -> server,"
          " 0x12 server -> agent):\n")
    for direction in (AGENT_TO_SERVER, SERVER_TO_AGENT):
        print(f"    direction {0x10 | direction:02x}: {length_mask(KEYSTREAM_SALT, direction):04x}")
    print()
    print("The first 12 bytes of each frame above as a TCP record (masked length | salt | ...):\n")
    for name, direction, _, _, _, _, frame in frames:
        rec = record(frame, direction)
        print(f"    {name}: {rec[:2].hex()} | {rec[2:12].hex()}")
    print()


def records_cpp():
    frames, _ = sealed_frames()
    print("// length masks for salt 0001020304050607, nonce byte 0x11 then 0x12")
    print("constexpr std::uint16_t kLengthMasks[2] = {"
          + ", ".join(f"0x{length_mask(KEYSTREAM_SALT, d):04x}" for d in (AGENT_TO_SERVER, SERVER_TO_AGENT)) + "};")
    print("// the frames of --cpp as records: name, direction, the record's first two bytes")
    for name, direction, _, _, _, _, frame in frames:
        rec = record(frame, direction)
        print(f'{{"{name}", {direction}, 0x{rec[0]:02x}, 0x{rec[1]:02x}}},')


def cpp():
    frames, after = sealed_frames()
    print(f"// StreamRandom seed {SEED.hex()}; padding range {MIN_TOTAL}..{MAX_TOTAL}")
    print("// keystream block 0 for salt 0001020304050607, direction 01 then 02")
    for direction in (AGENT_TO_SERVER, SERVER_TO_AGENT):
        print(cpp_hex_lines(keystream(MASK, nonce(KEYSTREAM_SALT, direction), 64)) + ",")
    print("// name, direction, control, full, asks for full, body, sealed frame (in this order, one generator)")
    for name, direction, is_control, full, ask, body, frame in frames:
        print(f'{{"{name}", {direction}, {str(is_control).lower()}, {str(full).lower()}, {str(ask).lower()},')
        print(cpp_hex_lines(body) + ",")
        print(cpp_hex_lines(frame) + "},")
    print(f"// the generator's next_u32() after them")
    print(f"constexpr std::uint32_t kNextAfterFrames = {after}u;")


if __name__ == "__main__":
    check_rfc8439()
    if sys.argv[1:] == ["--cpp"]:
        cpp()
    elif sys.argv[1:] == ["--records"]:
        records_cpp()
    else:
        markdown()
