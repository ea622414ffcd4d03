"""A folder of every kind of awkward input, drawn by the tests themselves.

:func:`make_bad_inputs` writes the files; :func:`break_after_listing` then removes one
file and makes another unreadable, the way files change between the driver's listing and
a worker's read. :data:`EXPECTED` says what each input must become: ``None`` for an image
that must be classified, else the ``error_kind`` its row must carry.
"""

from __future__ import annotations

import io
import os
import socket
import struct
import zlib

import numpy as np
from PIL import Image

from helpers.drawing import drawn_image, encode

#: File (or directory) name -> expected error_kind (None: must decode and predict).
EXPECTED: dict[str, str | None] = {
    "empty.jpg": "empty",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "page.html.jpg": "not_an_image",
    "notes.jpg": "not_an_image",
    "png-named.jpg": None,
    "cmyk.jpg": None,
    "gray16.png": None,
    "gray16.tif": None,
    "rgb48.png": None,
    "bilevel.png": None,
    "palette.png": None,
    "transparent-palette.png": None,
    "rgba.png": None,
    "animated.gif": None,
    "photo.webp": None,
    "photo.tif": None,
    "photo.bmp": None,
    "exif-rotated.jpg": None,
    "one-pixel.png": None,
    "one-pixel.jpg": None,
    "bomb.png": "too_large",
    "panorama-wide.jpg": None,
    "panorama-tall.png": None,
    "ünïcödé 猫 with spaces.jpg": None,
    "<script>alert(1);<script>, \"quoted\" & 'single'.jpg": None,
    "folder-named-like.jpg": "is_directory",
    "broken-link.jpg": "broken_link",
    "fifo.jpg": "unreadable",
    "huge-file.jpg": "too_large",
    "vanishes.jpg": "missing",
    "becomes-unreadable.jpg": "unreadable",
}

#: Drawn size of the sideways photo; decoded upright it must be (H, W) = (40, 64) -> 64x40.
ROTATED_STORED = (40, 64)

#: Pixel count the bomb claims (and really holds: it is a valid PNG of zeros).
BOMB_SIDE = 16_000


def make_bad_inputs(folder: str) -> dict[str, str]:
    """Write every case of :data:`EXPECTED` into ``folder``; returns name -> path."""
    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name) for name in EXPECTED}
    photo = drawn_image(1, (96, 72))
    jpeg = encode(photo, "JPEG", quality=90)
    png = encode(photo, "PNG")

    def write(name: str, data: bytes) -> None:
        with open(paths[name], "wb") as fh:
            fh.write(data)

    write("empty.jpg", b"")
    write("truncated.jpg", jpeg[: len(jpeg) // 2])
    write("truncated.png", png[: len(png) // 2])
    write("page.html.jpg", b"<!DOCTYPE html>\n<html><body>Not found</body></html>\n")
    write("notes.jpg", b"just some notes, saved with the wrong name\n")
    write("png-named.jpg", png)
    write("cmyk.jpg", encode(photo.convert("CMYK"), "JPEG"))
    gray16 = Image.fromarray((np.linspace(0, 65535, 96 * 72).reshape(72, 96)).astype(np.uint16))
    write("gray16.png", encode(gray16, "PNG"))
    write("gray16.tif", encode(gray16, "TIFF"))
    write("rgb48.png", rgb48_png(72, 96))
    write("bilevel.png", encode(photo.convert("1"), "PNG"))
    write("palette.png", encode(photo.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"))
    pal = photo.convert("P", palette=Image.Palette.ADAPTIVE)
    write("transparent-palette.png", encode(pal, "PNG", transparency=0))
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    write("rgba.png", encode(rgba, "PNG"))
    write("animated.gif", animated_gif())
    write("photo.webp", encode(photo, "WEBP"))
    write("photo.tif", encode(photo, "TIFF"))
    write("photo.bmp", encode(photo, "BMP"))
    write("exif-rotated.jpg", exif_rotated_jpeg())
    write("one-pixel.png", encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"))
    write("one-pixel.jpg", encode(Image.new("RGB", (1, 1), (30, 200, 30)), "JPEG"))
    write("bomb.png", zeros_png(BOMB_SIDE, BOMB_SIDE))
    write("panorama-wide.jpg", encode(drawn_image(2, (6000, 60)), "JPEG"))
    write("panorama-tall.png", encode(drawn_image(3, (50, 5000)), "PNG"))
    write("ünïcödé 猫 with spaces.jpg", jpeg)
    write("<script>alert(1);<script>, \"quoted\" & 'single'.jpg", jpeg)
    os.makedirs(paths["folder-named-like.jpg"])
    os.symlink(os.path.join(folder, "no-such-target.jpg"), paths["broken-link.jpg"])
    os.mkfifo(paths["fifo.jpg"])
    with open(paths["huge-file.jpg"], "wb") as fh:  # sparse: costs no disk
        fh.truncate(600 * 1024 * 1024)
    write("vanishes.jpg", jpeg)
    write("becomes-unreadable.jpg", jpeg)
    return paths


def break_after_listing(paths: dict[str, str]) -> socket.socket | None:
    """Delete one listed file and make another unreadable.

    A non-root user loses read permission; root reads through any permission, so for
    root the file is replaced by a Unix socket, which no one can ``open()``. Returns the
    socket (keep it open while the files are read; close it afterwards) or None.
    """
    os.unlink(paths["vanishes.jpg"])
    target = paths["becomes-unreadable.jpg"]
    if os.geteuid() != 0:
        os.chmod(target, 0)
        return None
    os.unlink(target)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(target)
    return sock


def exif_rotated_jpeg() -> bytes:
    """A photo stored sideways (40 wide, 64 high) whose EXIF says "rotate 90 clockwise":
    red on the stored image's top edge, so upright the red edge is on the right."""
    w, h = ROTATED_STORED
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[:, :] = (40, 40, 200)
    arr[:8, :] = (230, 20, 20)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(arr), "JPEG", exif=exif, quality=95)


def animated_gif() -> bytes:
    """Three frames: green, then red, then blue; the first (green) is the one to use."""
    frames = [Image.new("RGB", (48, 48), c) for c in ((0, 200, 0), (200, 0, 0), (0, 0, 200))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _png(width: int, height: int, bit_depth: int, colour_type: int, rows) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF
        )

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for row in rows) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def zeros_png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of ``width`` x ``height`` zeros: a few hundred KB on disk,
    ``width * height`` bytes once decoded."""
    row = bytes(width + 1)  # filter byte + pixels
    return _png(width, height, 8, 0, (row for _ in range(height)))


def rgb48_png(height: int, width: int) -> bytes:
    """A 16-bit-per-channel RGB PNG (a horizontal ramp in red)."""
    ramp = np.linspace(0, 65535, width).astype(">u2")
    pixels = np.zeros((width, 3), dtype=">u2")
    pixels[:, 0] = ramp
    row = b"\x00" + pixels.tobytes()
    return _png(width, height, 16, 2, (row for _ in range(height)))
