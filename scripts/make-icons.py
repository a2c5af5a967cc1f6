#!/usr/bin/env python3
"""Draws Tern's app icons (public/icons/*.png) from the logo of public/favicon.svg.

Standard library only (zlib + struct): a scanline rasteriser with 4x4 supersampling.
The shapes are those of favicon.svg (64x64 viewBox): a rounded square in the accent colour
and a white bird outline. The maskable icon fills the whole square with the background and
keeps the bird inside the central safe zone (a circle of 80% of the width).

Run from the repository root: python3 scripts/make-icons.py
"""
import struct
import zlib
from pathlib import Path

ACCENT = (0x0B, 0x5C, 0xAD)
WHITE = (0xFF, 0xFF, 0xFF)
SS = 4  # samples per pixel side


def cubic(p0, p1, p2, p3, steps=24):
    out = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1 - t
        x = u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0]
        y = u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]
        out.append((x, y))
    return out


def bird():
    """The path `M12 38c10-14 24-18 40-14-9 2-15 6-19 12l-6-3-6 8z` as a polygon."""
    pts = [(12.0, 38.0)]
    cur = (12.0, 38.0)
    for rel in [((10, -14), (24, -18), (40, -14)), ((-9, 2), (-15, 6), (-19, 12))]:
        p1, p2, p3 = [(cur[0] + dx, cur[1] + dy) for dx, dy in rel]
        pts += cubic(cur, p1, p2, p3)
        cur = p3
    for dx, dy in [(-6, -3), (-6, 8)]:
        cur = (cur[0] + dx, cur[1] + dy)
        pts.append(cur)
    return pts


def rounded_rect(size, radius, steps=12):
    """A rounded square [0, size]^2 as a polygon."""
    import math

    pts = []
    corners = [(size - radius, radius, -90), (size - radius, size - radius, 0),
               (radius, size - radius, 90), (radius, radius, 180)]
    for cx, cy, start in corners:
        for i in range(steps + 1):
            a = math.radians(start + 90 * i / steps)
            pts.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return pts


def coverage(poly, width, height):
    """Per-pixel coverage (0..SS*SS) of a polygon (even-odd rule), by scanlines."""
    cov = [[0] * width for _ in range(height)]
    edges = list(zip(poly, poly[1:] + poly[:1]))
    for sy in range(height * SS):
        y = (sy + 0.5) / SS
        xs = []
        for (x0, y0), (x1, y1) in edges:
            if (y0 <= y < y1) or (y1 <= y < y0):
                xs.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
        xs.sort()
        row = cov[sy // SS]
        for a, b in zip(xs[0::2], xs[1::2]):
            for sx in range(max(0, int(a * SS + 0.5)), min(width * SS, int(b * SS + 0.5))):
                row[sx // SS] += 1
    return cov


def transform(poly, scale, dx=0.0, dy=0.0):
    return [(x * scale + dx, y * scale + dy) for x, y in poly]


def draw(size, maskable):
    full = SS * SS
    if maskable:
        back = [[full] * size for _ in range(size)]
        # Safe zone: a circle of radius 0.4*size; the bird (about 40x24 of 64) is scaled
        # so its bounding box fits well inside it, centred.
        scale = size * 0.55 / 40
        dx = size / 2 - 32 * scale
        dy = size / 2 - 30 * scale
        fore = coverage(transform(bird(), scale, dx, dy), size, size)
    else:
        scale = size / 64
        back = coverage(rounded_rect(size, 14 * scale), size, size)
        fore = coverage(transform(bird(), scale), size, size)
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            b, f = back[y][x], min(fore[y][x], back[y][x])
            # White over accent; alpha from the background shape.
            if b == 0:
                row += bytes((0, 0, 0, 0))
                continue
            t = f / b
            rgb = [round(ACCENT[i] * (1 - t) + WHITE[i] * t) for i in range(3)]
            row += bytes(rgb + [round(255 * b / full)])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width, height, raw):
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    out = Path("public/icons")
    out.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in [("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("maskable-512.png", 512, True)]:
        (out / name).write_bytes(draw(size, maskable))
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
