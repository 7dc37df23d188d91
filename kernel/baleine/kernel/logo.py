"""Draws the kernel's logo, a small whale, as PNG with the standard library only.

The PNGs in resources/ were made by `python -m baleine.kernel.logo`; install.py falls
back to drawing them when the files are missing (e.g. a wheel built without data files).
"""

import math
import struct
import sys
import zlib
from pathlib import Path

RESOURCES = Path(__file__).with_name("resources")
BLUE = (30, 110, 190, 255)
LIGHT = (210, 232, 250, 255)
WATER = (120, 190, 235, 255)
EYE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def _pixel(x: float, y: float) -> tuple[int, int, int, int]:
    """Colour at (x, y) in a 1x1 square, y going down."""
    # spout: two drops above the head
    for cx, cy in ((0.36, 0.16), (0.46, 0.10)):
        if (x - cx) ** 2 + (y - cy) ** 2 < 0.045 ** 2:
            return WATER
    if abs(x - 0.41) < 0.018 and 0.18 < y < 0.32:
        return WATER
    # eye
    if (x - 0.30) ** 2 + (y - 0.50) ** 2 < 0.035 ** 2:
        return EYE
    # body: an ellipse, with a lighter belly
    dx, dy = (x - 0.45) / 0.37, (y - 0.58) / 0.22
    if dx * dx + dy * dy <= 1:
        return LIGHT if y > 0.66 and dx < 0.6 else BLUE
    # tail: a triangle rising to the right of the body
    if 0.76 < x < 0.96 and abs(y - (0.55 - (x - 0.76) * 1.2)) < (x - 0.74) * 0.9:
        return BLUE
    return CLEAR


def png(size: int) -> bytes:
    """An RGBA PNG of the whale, size x size, each pixel averaged over 4x4 samples."""
    rows = []
    for j in range(size):
        row = bytearray(b"\x00")  # filter type 0 for this scanline
        for i in range(size):
            acc = [0, 0, 0, 0]
            for sj in range(4):
                for si in range(4):
                    r, g, b, a = _pixel((i + (si + 0.5) / 4) / size, (j + (sj + 0.5) / 4) / size)
                    acc = [acc[0] + r * a, acc[1] + g * a, acc[2] + b * a, acc[3] + a]
            alpha = acc[3] / 16
            rgb = [round(c / acc[3]) if acc[3] else 0 for c in acc[:3]]
            row += bytes(rgb + [math.floor(alpha + 0.5)])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def write_logos(folder: Path) -> None:
    for size in (32, 64):
        (folder / f"logo-{size}x{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    write_logos(Path(sys.argv[1]) if len(sys.argv) > 1 else RESOURCES)
