"""Every kind of broken or awkward input file, through read -> decode -> prepare.

Each case in :data:`badfiles.EXPECTED` is generated here (no data is shipped); a good
image must become a finite model input, a bad one an :class:`ImageProblem` whose ``kind``
is the expected ``error_kind``. The batch runner then turns the whole folder into one row
per input.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import sparkvision.storage.reader as reader
from helpers.badfiles import (
    EXPECTED,
    ROTATED_STORED,
    break_after_listing,
    make_bad_inputs,
    zeros_png,
)
from helpers.drawing import drawn_image, encode
from sparkvision.config import ModelSpec, Preprocess
from sparkvision.executor import get_engine, predict_frame
from sparkvision.executor.cache import clear_cache
from sparkvision.imaging import ImageProblem, decode_image, prepare
from sparkvision.imaging.decode import DEFAULT_MAX_PIXELS
from sparkvision.storage.reader import read_image_bytes

PRE = Preprocess()


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("bad-inputs"))
    paths = make_bad_inputs(folder)
    sock = break_after_listing(paths)
    yield paths
    if sock is not None:
        sock.close()


def outcome(path: str) -> tuple[str | None, str]:
    """(error kind or None, message) of reading and preparing ``path``."""
    try:
        arr = prepare(read_image_bytes(path), PRE)
    except ImageProblem as exc:
        return exc.kind, str(exc)
    assert arr.shape == (3, 224, 224) and arr.dtype == np.float32
    assert np.isfinite(arr).all()
    return None, ""


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_input_gives_its_expected_outcome(bad_folder, name):
    kind, message = outcome(bad_folder[name])
    assert kind == EXPECTED[name], f"{name}: expected {EXPECTED[name]}, got {kind}: {message}"
    if kind is not None:
        assert len(message) > 20  # says what was found, not just a code


def test_error_messages_name_the_problem(bad_folder):
    assert "HTML" in outcome(bad_folder["page.html.jpg"])[1]
    assert "plain text" in outcome(bad_folder["notes.jpg"])[1]
    assert "0 bytes" in outcome(bad_folder["empty.jpg"])[1]
    assert "named pipe" in outcome(bad_folder["fifo.jpg"])[1]
    assert "directory" in outcome(bad_folder["folder-named-like.jpg"])[1]
    assert bad_folder["vanishes.jpg"] in outcome(bad_folder["vanishes.jpg"])[1]
    assert "decompression bomb" in outcome(bad_folder["bomb.png"])[1]


def _decode(path: str, **kwargs) -> np.ndarray:
    with open(path, "rb") as fh:
        return np.asarray(decode_image(fh.read(), **kwargs))


def test_exif_orientation_is_applied(bad_folder):
    arr = _decode(bad_folder["exif-rotated.jpg"])
    w, h = ROTATED_STORED
    assert arr.shape == (w, h, 3)  # stored 40 wide x 64 high, upright 64 wide x 40 high
    right, left = arr[:, -4:].reshape(-1, 3).mean(0), arr[:, :4].reshape(-1, 3).mean(0)
    assert right[0] > 180 and right[2] < 80, right  # the red edge turned to the right
    assert left[2] > 150 and left[0] < 100, left


def test_exif_orientation_survives_draft_decoding(tmp_path):
    """A large sideways JPEG decoded in draft mode is still turned upright."""
    stored = drawn_image(5, (600, 1000))  # 600 wide, 1000 high
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90 counter-clockwise to view
    path = tmp_path / "sideways.jpg"
    path.write_bytes(encode(stored, "JPEG", exif=exif))
    img = decode_image(path.read_bytes(), min_side=256)
    assert img.width > img.height and min(img.size) >= 256


def test_animated_gif_gives_its_first_frame(bad_folder):
    arr = _decode(bad_folder["animated.gif"])
    assert tuple(arr[10, 10]) == (0, 200, 0)


def test_sixteen_bit_images_are_rescaled_not_clipped(bad_folder):
    for name in ("gray16.png", "gray16.tif"):
        arr = _decode(bad_folder[name])
        assert arr[0, 0, 0] == 0 and arr[-1, -1, 0] == 255, name
        assert 100 < arr[36, 48, 0] < 155, name  # the middle of the ramp stays in the middle
    rgb = _decode(bad_folder["rgb48.png"])
    assert rgb[0, 0, 0] < 5 and rgb[0, -1, 0] > 250 and rgb[:, :, 1].max() == 0


def test_transparency_is_composited_on_white(tmp_path):
    clear = Image.new("RGBA", (32, 32), (255, 0, 0, 0))
    arr = np.asarray(decode_image(encode(clear, "PNG")))
    assert (arr == 255).all()
    pal = Image.new("P", (32, 32), 0)
    pal.putpalette([0, 0, 0] * 256)
    arr = np.asarray(decode_image(encode(pal, "PNG", transparency=0)))
    assert (arr == 255).all()


def test_cmyk_and_png_named_jpg_decode_to_the_same_picture(bad_folder):
    png_named = _decode(bad_folder["png-named.jpg"])
    assert png_named.shape == (72, 96, 3)
    expected = np.asarray(drawn_image(1, (96, 72)), dtype=np.float32)
    assert np.abs(png_named - expected).max() == 0  # lossless PNG under a .jpg name
    cmyk = _decode(bad_folder["cmyk.jpg"]).astype(np.float32)
    assert np.abs(cmyk - expected).mean() < 12  # JPEG loss only, colours not inverted


def test_one_pixel_and_panoramas_fill_the_model_input(bad_folder):
    for name in ("one-pixel.png", "one-pixel.jpg", "panorama-wide.jpg", "panorama-tall.png"):
        arr = prepare(read_image_bytes(bad_folder[name]), PRE)
        assert arr.shape == (3, 224, 224), name
    red = prepare(read_image_bytes(bad_folder["one-pixel.png"]), PRE)
    assert np.allclose(red[:, 100, 100], (np.array([200, 30, 30]) - 127.0) / 128.0, atol=1e-5)


def test_large_non_jpeg_is_shrunk_early_with_the_same_result(tmp_path):
    """Reducing a big PNG before resizing changes the model input only slightly."""
    img = drawn_image(7, (2400, 1800))
    png = encode(img, "PNG")
    shrunk = prepare(png, PRE)
    full = decode_image(png)  # min_side=0: no early reduction
    from sparkvision.imaging import to_array

    reference = to_array(full, PRE)
    assert np.abs(shrunk - reference).mean() < 0.02  # inputs are about -1..1
    assert decode_image(png, min_side=256).size == (343, 258)  # 1800 // 256 = 7: 2400/7, 1800/7


def test_palette_and_sixteen_bit_images_are_shrunk_correctly():
    pal = drawn_image(8, (1200, 900)).convert("P", palette=Image.Palette.ADAPTIVE)
    out = np.asarray(decode_image(encode(pal, "PNG"), min_side=256), dtype=np.float32)
    ref = np.asarray(pal.convert("RGB").reduce(3), dtype=np.float32)
    assert out.shape == ref.shape and np.abs(out - ref).mean() < 1.0
    ramp = Image.fromarray(np.tile(np.linspace(0, 65535, 1200), (900, 1)).astype(np.uint16))
    grey = np.asarray(decode_image(encode(ramp, "PNG"), min_side=256))
    assert grey[:, 0, 0].max() < 3 and grey[:, -1, 0].min() > 250


def test_pixel_limit_is_checked_against_the_decoded_size():
    small_png = zeros_png(100, 100)
    with pytest.raises(ImageProblem) as err:
        decode_image(small_png, max_pixels=9_999)
    assert err.value.kind == "too_large" and "10,000 pixels" in str(err.value)
    # A JPEG whose full size is above the limit but whose draft scale is below it decodes.
    jpeg = encode(drawn_image(9, (2048, 2048)), "JPEG")
    assert min(decode_image(jpeg, min_side=256, max_pixels=300_000).size) >= 256
    with pytest.raises(ImageProblem):
        decode_image(jpeg, max_pixels=300_000)


_RSS_PROBE = textwrap.dedent(
    """
    import resource, sys
    from sparkvision.imaging import ImageProblem, decode_image
    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        decode_image(data, min_side=256)
        print("decoded")
    except ImageProblem as exc:
        print(exc.kind)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """
)


@pytest.mark.parametrize("side", [16_000, 11_000])
def test_decompression_bomb_is_refused_without_allocating_it(tmp_path, side):
    """16000^2 is past PIL's own hard limit; 11000^2 (121 MP, 121 MB as grey) is past
    ours only. Neither may grow the process by more than a few MB."""
    assert side * side > DEFAULT_MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(zeros_png(side, side))
    assert path.stat().st_size < 1_000_000
    out = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(path)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == "too_large"
    assert int(out[1]) < 32, f"decoding the refused bomb grew RSS by {out[1]} MB"


def test_permission_denied_is_reported_as_unreadable(tmp_path, monkeypatch):
    path = tmp_path / "locked.jpg"
    path.write_bytes(b"\xff\xd8")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reader.os, "open", denied)
    with pytest.raises(ImageProblem) as err:
        read_image_bytes(str(path))
    assert err.value.kind == "unreadable" and "permission denied" in str(err.value)


class _MeanEngine:
    """A fake engine whose 'embedding' is each input's mean: proves which rows ran."""

    def __call__(self, batch):
        means = batch.reshape(len(batch), -1).mean(1, keepdims=True)
        return {"output": np.repeat(means, 4, axis=1).astype(np.float32)}


def test_batch_runner_gives_one_row_per_input_in_order(bad_folder):
    spec = ModelSpec(name="fake-mean", head="embedding")
    clear_cache()
    get_engine(spec, build=lambda s: _MeanEngine())
    names = sorted(EXPECTED)
    items = [bad_folder[n] for n in names] + [None, b"", 42]
    try:
        frame = predict_frame(items, spec, batch_size=5)
    finally:
        clear_cache()
    assert len(frame) == len(items)
    kinds = dict(zip(names, frame["error_kind"][: len(names)], strict=True))
    assert kinds == EXPECTED
    assert list(frame["error_kind"][len(names):]) == ["missing", "empty", "bad_input"]
    for name, row in zip(names, frame.itertuples(), strict=False):  # the frame has 3 more rows
        if EXPECTED[name] is None:
            assert row.error is None and len(row.embedding) == 4, name
        else:
            assert row.embedding is None and row.error, name


def test_read_only_opens_regular_files(tmp_path):
    path = tmp_path / "fifo.jpg"
    os.mkfifo(path)
    with pytest.raises(ImageProblem) as err:
        read_image_bytes(str(path))  # must not block waiting for a writer
    assert err.value.kind == "unreadable"


_DECODE_RSS_PROBE = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from PIL import Image
    from sparkvision.imaging import decode_image
    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    img = decode_image(data, min_side=256)
    print(min(img.size), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """
)


def test_large_rgba_png_is_not_copied_at_full_size(tmp_path):
    """4000x3000 RGBA is 48 MB decoded; converting and compositing it at full size (as a
    naive decoder does) grows the process by about 230 MB. Shrinking first costs the decoded
    copy and one premultiplied-alpha copy for the averaging: about 95 MB."""
    w, h = 4000, 3000
    rgba = Image.fromarray(np.tile(np.linspace(0, 255, w, dtype=np.uint8), (h, 1)), "L")
    img = Image.merge("RGBA", (rgba, rgba.transpose(Image.Transpose.FLIP_LEFT_RIGHT), rgba, rgba))
    path = tmp_path / "big-rgba.png"
    img.save(path, compress_level=1)
    out = subprocess.run([sys.executable, "-c", _DECODE_RSS_PROBE, str(path)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert int(out[0]) >= 256
    assert int(out[1]) < 150, f"decoding grew RSS by {out[1]} MB (one copy is 48 MB)"
