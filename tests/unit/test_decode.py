import io

import numpy as np
import pytest
from PIL import Image

from helpers.drawing import drawn_image, encode
from sparkvision.imaging import ImageProblem, decode_image


def test_draft_mode_decodes_large_jpeg_at_reduced_scale_but_not_below_min_side():
    data = encode(drawn_image(1, (4000, 3000)), "JPEG", quality=90)
    img = decode_image(data, min_side=256)
    assert img.mode == "RGB"
    assert min(img.size) >= 256
    assert img.size[0] <= 1000  # decoded at 1/4 or 1/8 scale, not 4000 px wide
    full = decode_image(data, min_side=0)
    assert full.size == (4000, 3000)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (200, 100), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 100, 100))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewer must rotate 90 degrees clockwise
    data = encode(img, "JPEG", exif=exif, quality=95)
    out = decode_image(data)
    assert out.size == (100, 200)
    top = np.asarray(out)[10, 50]
    assert top[2] > 200 and top[0] < 60  # blue half ends up on top after rotating CW


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "1", "I;16", "I", "F"])
def test_every_mode_becomes_rgb(mode):
    base = drawn_image(2, (64, 48))
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257)
        fmt = "PNG"
    elif mode in ("I", "F"):
        img = base.convert("L").convert(mode)
        fmt = "TIFF"
    else:
        img = base.convert(mode)
        fmt = "JPEG" if mode == "CMYK" else "PNG" if mode != "F" else "TIFF"
    out = decode_image(encode(img, fmt))
    assert out.mode == "RGB" and out.size == (64, 48)


def test_sixteen_bit_is_rescaled_not_clipped():
    arr = np.full((8, 8), 65535 // 2, dtype=np.uint16)
    out = decode_image(encode(Image.fromarray(arr), "PNG"))
    value = np.asarray(out)[0, 0, 0]
    assert 120 <= value <= 135  # mid-grey, not saturated white


def test_transparent_png_composited_on_white():
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    out = decode_image(encode(img, "PNG"))
    assert tuple(np.asarray(out)[5, 5]) == (255, 255, 255)


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"", "empty"),
        (b"<html><body>not an image</body></html>", "not_an_image"),
        (b"just some text\n" * 10, "not_an_image"),
    ],
)
def test_bad_bytes_raise_image_problem_with_kind(data, kind):
    with pytest.raises(ImageProblem) as info:
        decode_image(data)
    assert info.value.kind == kind
    assert "expected" in str(info.value)


def test_truncated_jpeg_is_reported():
    data = encode(drawn_image(3, (640, 480)), "JPEG")
    with pytest.raises(ImageProblem) as info:
        decode_image(data[: len(data) // 2])
    assert info.value.kind in ("truncated", "decode_failed")


def test_pixel_limit_refuses_before_decoding():
    data = encode(Image.new("L", (3000, 3000)), "PNG")
    with pytest.raises(ImageProblem) as info:
        decode_image(data, max_pixels=1_000_000)
    assert info.value.kind == "too_large"
    assert "3000x3000" in str(info.value)


def test_png_named_jpg_decodes_by_content():
    out = decode_image(encode(drawn_image(4, (50, 40)), "PNG"))
    assert out.size == (50, 40)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue())
    r, g, _ = np.asarray(out)[10, 10]
    assert r > 200 and g < 50


def _jpeg(size, *, progressive=False, exif=None, seed=0):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", progressive=progressive, quality=85,
                                 exif=exif or Image.Exif())
    return buf.getvalue()


@pytest.mark.parametrize("size", [(4000, 3000), (3000, 4000), (513, 700), (257, 300),
                                  (2047, 1024), (100, 90), (4032, 2268)])
@pytest.mark.parametrize("min_side", [0, 224, 256])
def test_the_cost_estimate_reads_the_frame_and_draft_scale_pil_decodes_at(size, min_side):
    from sparkvision.imaging.decode import _draft, _draft_scale, jpeg_frame

    for progressive in (False, True):
        buf = io.BytesIO()
        Image.new("RGB", size, (10, 200, 30)).save(buf, "JPEG", progressive=progressive)
        buf.seek(0)
        width, height, prog = jpeg_frame(buf)
        img = Image.open(io.BytesIO(buf.getvalue()))
        assert (width, height, prog) == (*img.size, bool(img.info.get("progressive")))
        _draft(img, min_side)  # what decode_image has PIL do
        scale = _draft_scale(width, height, min_side)
        assert img.size == (-(-width // scale), -(-height // scale)), (size, min_side)


def test_the_cost_estimate_weighs_pixels_and_progressive_files_not_only_bytes():
    from sparkvision.imaging.decode import COST_PER_BYTE, COST_PER_PIXEL, decode_cost, jpeg_frame

    # an EXIF block with a long value before the frame header is skipped, not misread
    exif = Image.Exif()
    exif[0x010E] = "x" * 30_000  # ImageDescription
    plain = _jpeg((640, 480), exif=exif)
    progressive = _jpeg((640, 480), progressive=True)
    assert jpeg_frame(io.BytesIO(plain)) == (640, 480, False)
    assert jpeg_frame(io.BytesIO(progressive)) == (640, 480, True)
    cost = {name: decode_cost(io.BytesIO(data), len(data), min_side=256)
            for name, data in (("plain", plain), ("progressive", progressive))}
    assert cost["progressive"] > 2 * cost["plain"] * len(progressive) / len(plain)
    # a file this cannot read costs its bytes; a PNG is read by PIL, at full size
    assert decode_cost(io.BytesIO(b"not an image"), 12) == 12 * COST_PER_BYTE
    assert jpeg_frame(io.BytesIO(b"\xff\xd8\xff")) is None
    png = io.BytesIO()
    Image.new("RGB", (1000, 800)).save(png, "PNG")
    size = len(png.getvalue())
    assert decode_cost(png, size, min_side=256) >= 1000 * 800 * COST_PER_PIXEL
