#!/usr/bin/env python3
"""The QR code `porthop invite` draws in a terminal, as a PBM image a decoder (zbarimg) reads.

  qr_to_pbm.py [SCALE] <qr.txt >qr.pbm

The text draws two modules per character cell, one above the other: '█' both light, '▀' the
upper light, '▄' the lower light, ' ' both dark (light is the terminal's foreground). In the
image light is white (PBM 0) and dark is black (PBM 1); each module becomes SCALE x SCALE
pixels (default 4), with a white border of 4 modules around the code. Blank lines around the
code and ANSI colour sequences are ignored; any other character is an error (exit 1), so a
change in how the code is drawn shows up as such.
"""
import re
import sys

CELLS = {"█": (0, 0), "▀": (0, 1), "▄": (1, 0), " ": (1, 1)}  # (upper, lower); 1 = dark


def modules(text):
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines()]
    lines = [line for line in lines if line.strip(" ")]  # blank lines: around the code only
    if not lines:
        sys.exit("qr_to_pbm: no QR code in the input")
    width = max(len(line) for line in lines)
    rows = []
    for n, line in enumerate(lines, 1):
        upper, lower = [], []
        for ch in line.ljust(width):
            if ch not in CELLS:
                sys.exit(f"qr_to_pbm: line {n}: unexpected character {ch!r}")
            upper.append(CELLS[ch][0])
            lower.append(CELLS[ch][1])
        rows += [upper, lower]
    # An odd number of module rows leaves the last line's lower half to the terminal: dark
    # everywhere. No row of a code with a light quiet zone is all dark, so it is padding.
    if all(rows[-1]) and not all(rows[-2]):
        rows.pop()
    return rows


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    rows = modules(sys.stdin.read())
    border = 4
    width = len(rows[0]) + 2 * border
    blank = [0] * width
    grid = [blank] * border + [[0] * border + row + [0] * border for row in rows] + [blank] * border
    out = [f"P1\n{width * scale} {len(grid) * scale}\n"]
    for row in grid:
        line = " ".join(str(m) for m in row for _ in range(scale)) + "\n"
        out.append(line * scale)
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
