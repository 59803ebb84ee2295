#!/usr/bin/env python3
"""Hop link v2 building blocks (not yet on the wire): test vectors for the mask subkey,
crypto::MaskStream and crypto::StreamRandom, and the chi-square critical values that the
statistics tests use, computed without libsodium or any porthop code.

ChaCha20 is written here from the description in RFC 8439 (sections 2.1 to 2.4) and checked
against the RFC's own test vectors (2.1.1 quarter round, 2.3.2 block function, 2.4.2
encryption) before anything is printed. The subkey comes from make_hop_vectors.kdf (BLAKE2b
from hashlib). The chi-square quantiles come from numeric integration of the density (with
math.lgamma), not from the Wilson-Hilferty approximation that the C++ helper uses, so the
test compares two methods.

    python3 tests/vectors/make_mask_vectors.py           # markdown for docs/PROTOCOL.md
    python3 tests/vectors/make_mask_vectors.py --cpp     # constants for tests/unit
"""
import math
import statistics
import struct
import sys

from make_hop_vectors import CONTEXT, KEY, kdf

SUBKEY_MASK = 3
MASK = kdf(KEY, SUBKEY_MASK, CONTEXT)
SALT_SIZE = 8
SALTS = [bytes(8), bytes(range(8)), bytes.fromhex("f0e1d2c3b4a59687")]
LENGTHS = [0, 1, 50, 64, 65, 200, 1500]
SEED = bytes(range(32, 64))  # StreamRandom's vector seed: bytes 0x20 .. 0x3f
REFILL = 512                 # StreamRandom's buffer: one nonce's first 8 blocks
RANDOM_BYTES = 1100          # crosses two refills
LATE_REFILL = 256            # its nonce is 00 01 00 ...: the counter carries into byte 1
UNIFORM_BOUNDS = [1, 2, 3, 10, 1000, 2**31 + 1, 2**31 + 1, 2**31 + 1, 2**31 + 1, 2**31 + 1,
                  2**31 + 1, 2**32 - 1, 1001]
CHI_DOF = 255
CHI_P = 0.001
CHI_TESTS = [1, 64, 1500]    # Bonferroni: each of N positions tested at p / N

# --- ChaCha20, RFC 8439 --------------------------------------------------------------------

M32 = 0xFFFFFFFF
CONSTANTS = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"


def rotl32(v, n):
    return ((v << n) & M32) | (v >> (32 - n))


def quarter_round(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M32
    s[d] = rotl32(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & M32
    s[b] = rotl32(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & M32
    s[d] = rotl32(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & M32
    s[b] = rotl32(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce):
    """2.3: 16 words (constants, key, counter, nonce), 20 rounds, added to the input."""
    assert len(key) == 32 and len(nonce) == 12 and 0 <= counter <= M32
    words = list(CONSTANTS) + list(struct.unpack("<8L", key))
    initial = words + [counter] + list(struct.unpack("<3L", nonce))
    s = list(initial)
    for _ in range(10):  # ten double rounds: a column round, then a diagonal round
        quarter_round(s, 0, 4, 8, 12)
        quarter_round(s, 1, 5, 9, 13)
        quarter_round(s, 2, 6, 10, 14)
        quarter_round(s, 3, 7, 11, 15)
        quarter_round(s, 0, 5, 10, 15)
        quarter_round(s, 1, 6, 11, 12)
        quarter_round(s, 2, 7, 8, 13)
        quarter_round(s, 3, 4, 9, 14)
    return struct.pack("<16L", *((x + y) & M32 for x, y in zip(s, initial)))


def keystream(key, nonce, length, counter=0):
    out = bytearray()
    while len(out) < length:
        out += chacha20_block(key, counter, nonce)
        counter += 1
    return bytes(out[:length])


def xor(data, stream):
    return bytes(a ^ b for a, b in zip(data, stream))


def check_rfc8439():
    s = [0] * 16
    s[0:4] = [0x11111111, 0x01020304, 0x9B8D6F43, 0x01234567]
    quarter_round(s, 0, 1, 2, 3)
    assert s[0:4] == [0xEA2A92F4, 0xCB1CF8CE, 0x4581472E, 0x5881C4BB], "RFC 8439 2.1.1"
    key = bytes(range(32))
    block = chacha20_block(key, 1, bytes.fromhex("000000090000004a00000000"))
    assert block == bytes.fromhex(
        "10f1e7e4d13b5915500fdd1fa32071c4" "c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2" "b5129cd1de164eb9cbd083e8a2503c4e"), "RFC 8439 2.3.2"
    sunscreen = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
                 b"the future, sunscreen would be it.")
    cipher = xor(sunscreen, keystream(key, bytes.fromhex("000000000000004a00000000"), len(sunscreen), 1))
    assert cipher == bytes.fromhex(
        "6e2e359a2568f98041ba0728dd0d6981" "e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b357" "1639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e" "52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42" "874d"), "RFC 8439 2.4.2"


# --- MaskStream -----------------------------------------------------------------------------


def pattern(n, seed=1, step=31):
    """tests/support/bytes.hpp pattern(n): byte i is (seed + i * step) mod 256."""
    return bytes((i * step + seed) & 0xFF for i in range(n))


def mask(salt, data):
    """keystream = ChaCha20(mask subkey, nonce = salt || 0^4, block counter from 0)."""
    assert len(salt) == SALT_SIZE
    return xor(data, keystream(MASK, salt + bytes(4), len(data)))


# --- StreamRandom ---------------------------------------------------------------------------


class StreamRandom:
    """Refill k is the first REFILL bytes of ChaCha20(seed, nonce = u96le(k)); the output is
    the refills one after another, read in order by every call."""

    def __init__(self, seed):
        self.seed, self.refills, self.buffer, self.drawn_u32 = seed, 0, b"", 0

    def take(self, n):
        while len(self.buffer) < n:
            self.buffer += keystream(self.seed, self.refills.to_bytes(12, "little"), REFILL)
            self.refills += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def next_u32(self):
        self.drawn_u32 += 1
        return int.from_bytes(self.take(4), "little")

    def uniform(self, bound):
        """Unbiased on [0, bound): reject the lowest 2^32 mod bound values."""
        threshold = 2**32 % bound
        while True:
            r = self.next_u32()
            if r >= threshold:
                return r % bound


def uniform_run():
    rng = StreamRandom(SEED)
    values = [rng.uniform(b) for b in UNIFORM_BOUNDS]
    rejected = rng.drawn_u32 - len(UNIFORM_BOUNDS)
    assert rejected > 0, "the vector should show at least one rejection"
    return values, rng.drawn_u32, rng.next_u32()


# --- chi-square critical values -------------------------------------------------------------


def chi_square_density(x, dof):
    half = dof / 2
    return math.exp((half - 1) * math.log(x) - x / 2 - half * math.log(2) - math.lgamma(half))


def chi_square_tail(x, dof, steps=20000):
    """P(X > x) by Simpson's rule over [x, x + width]; past that the density is negligible
    (more than 20 standard deviations above x, itself above the mean)."""
    width = 20 * math.sqrt(2 * dof) + 100
    h = width / steps
    total = chi_square_density(x, dof) + chi_square_density(x + width, dof)
    for i in range(1, steps):
        total += (4 if i % 2 else 2) * chi_square_density(x + i * h, dof)
    return total * h / 3


def chi_square_quantile(p, dof):
    """The x above the mean with P(X > x) = p: Newton's method on the integrated tail (its
    derivative is minus the density), from the normal approximation."""
    x = dof + statistics.NormalDist().inv_cdf(1 - p) * math.sqrt(2 * dof)
    for _ in range(50):
        step = (chi_square_tail(x, dof) - p) / chi_square_density(x, dof)
        x += step
        if abs(step) < 1e-9 * x:
            return x
    raise RuntimeError("chi-square quantile: Newton's method did not converge")


def check_integration():
    # With 2 degrees of freedom the tail is exp(-x/2) exactly.
    for x in (1.0, 10.0, 30.0):
        assert abs(chi_square_tail(x, 2) / math.exp(-x / 2) - 1) < 1e-10, "chi-square tail, dof 2"


def critical_values():
    rows = []
    for n in CHI_TESTS:
        p = CHI_P / n
        rows.append((n, p, statistics.NormalDist().inv_cdf(1 - p), chi_square_quantile(p, CHI_DOF)))
    return rows


# --- output ---------------------------------------------------------------------------------


def cpp_hex_lines(data, indent="    "):
    """Adjacent string literals of 32 bytes (half a ChaCha20 block), so lines stay short."""
    if not data:
        return f'{indent}""'
    return "\n".join(f'{indent}"{data[i:i + 32].hex()}"' for i in range(0, len(data), 32))


def markdown():
    print("| key | bytes 0x00..0x1f, as in the v1 vectors |")
    print("|---|---|")
    print(f"| mask subkey (id {SUBKEY_MASK}) | `{MASK.hex()}` |")
    print()
    for salt in SALTS[:2]:
        print(f"Keystream block 0 for salt `{salt.hex()}`:\n")
        block = keystream(MASK, salt + bytes(4), 64).hex()
        print(f"    {block[:64]}\n    {block[64:]}\n")
    print(f"The 65 bytes `pattern(65)` (byte i = (1 + 31 i) mod 256) masked with salt `{SALTS[1].hex()}`"
          " (the last byte is the first of block 1):\n")
    data = mask(SALTS[1], pattern(65)).hex()
    print(f"    {data[:64]}\n    {data[64:]}\n")


def cpp():
    print("// mask subkey (id 3) of the counting key")
    print(f'const std::string kMaskHex = "{MASK.hex()}";')
    print(f"// salt, then pattern({LENGTHS[-1]}) masked; every length in {LENGTHS} is a prefix")
    for salt in SALTS:
        print(f'{{"{salt.hex()}",')
        print(cpp_hex_lines(mask(salt, pattern(LENGTHS[-1]))) + "},")
    print(f"// StreamRandom: the seed, then the first {RANDOM_BYTES} bytes (refills of {REFILL})")
    print(f'const std::string kSeedHex = "{SEED.hex()}";')
    print("const std::string kRandomHex =")
    print(cpp_hex_lines(StreamRandom(SEED).take(RANDOM_BYTES)) + ";")
    late = StreamRandom(SEED).take((LATE_REFILL + 1) * REFILL)[LATE_REFILL * REFILL:][:32]
    print(f"// the first 32 bytes of refill {LATE_REFILL} (output bytes {LATE_REFILL * REFILL} ...)")
    print(f'const std::string kRefill{LATE_REFILL}Hex = "{late.hex()}";')
    values, drawn, after = uniform_run()
    print("// bound, uniform(bound), from a fresh generator in this order")
    for b, v in zip(UNIFORM_BOUNDS, values):
        print(f"{{{b}u, {v}u}},")
    print(f"// u32 drawn by those calls, and next_u32() after them")
    print(f"constexpr std::size_t kUniformDrawn = {drawn};")
    print(f"constexpr std::uint32_t kNextAfterUniform = {after}u;")
    print(f"// positions N, p = {CHI_P} / N, normal quantile z(1 - p),"
          f" chi-square({CHI_DOF}) quantile by integration")
    for n, p, z, x in critical_values():
        print(f"{{{n}u, {p!r}, {z!r}, {x!r}}},")


if __name__ == "__main__":
    check_rfc8439()
    check_integration()
    cpp() if sys.argv[1:] == ["--cpp"] else markdown()
