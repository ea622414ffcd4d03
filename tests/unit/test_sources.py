import os

import pandas as pd
import pytest

from helpers.drawing import write_images
from sparkvision.errors import InputError
from sparkvision.sources import label_from_path, resolve_inputs


@pytest.fixture()
def tree(tmp_path):
    write_images(str(tmp_path), ["a/cat.1.jpg", "a/b/dog.2.JPEG", "c/x.png", "c/y.gif"])
    (tmp_path / "a" / "notes.txt").write_text("hello")
    (tmp_path / ".hidden").mkdir()
    write_images(str(tmp_path / ".hidden"), ["z.jpg"])
    return tmp_path


def test_folder_is_recursive_and_filtered_by_extension(tree):
    found = resolve_inputs(str(tree))
    names = sorted(os.path.basename(p) for p in found)
    assert names == ["cat.1.jpg", "dog.2.JPEG", "x.png", "y.gif"]
    assert all(os.path.isabs(p) for p in found)


def test_extension_filter_and_several_inputs(tree):
    found = resolve_inputs([str(tree / "a"), str(tree / "c")], extensions=["png"])
    assert [os.path.basename(p) for p in found] == ["x.png"]


def test_glob(tree):
    found = resolve_inputs(str(tree / "**" / "*.jpg"))
    assert [os.path.basename(p) for p in found] == ["cat.1.jpg"]


def test_list_files(tree, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("# images\nc/x.png\n\na/cat.1.jpg\n")
    found = resolve_inputs(str(listing))
    assert found == sorted([str(tree / "c" / "x.png"), str(tree / "a" / "cat.1.jpg")])
    pd.DataFrame({"file": [str(tree / "c" / "y.gif")]}).to_csv(tmp_path / "l.csv", index=False)
    assert resolve_inputs(str(tmp_path / "l.csv")) == [str(tree / "c" / "y.gif")]
    pd.DataFrame({"img": ["c/x.png"]}).to_parquet(tmp_path / "l.parquet")
    with pytest.raises(InputError, match="`path_col`"):
        resolve_inputs(str(tmp_path / "l.parquet"))
    listed = resolve_inputs(str(tmp_path / "l.parquet"), path_col="img")
    assert listed == [str(tree / "c" / "x.png")]


def test_errors_say_what_was_expected(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        resolve_inputs(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images found"):
        resolve_inputs(str(tmp_path / "empty"))


def test_labels_from_folder_and_filename():
    assert label_from_path("/x/Cats/img1.jpg", "folder") == "cats"
    assert label_from_path("/x/y/cat.1.jpeg", "filename") == "cat"
    assert label_from_path("/x/y/dog_12.png", "filename") == "dog"
    assert label_from_path("/x/y/123.png", "filename") is None
    with pytest.raises(InputError):
        label_from_path("a.jpg", "exif")


def test_a_list_file_without_a_path_column_is_refused_naming_its_columns(tmp_path):
    from sparkvision.storage.listing import read_path_list

    listed = tmp_path / "photos.csv"
    listed.write_text("name,size\na.jpg,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"expected one of path, file.*found columns name, "
                       r"size\. Pass `path_col` NAME"):
        read_path_list(str(listed))
    assert read_path_list(str(listed), "name") == [str(tmp_path / "a.jpg")]
    with pytest.raises(InputError, match=r"expected 'file_name'"):
        read_path_list(str(listed), "file_name")


def test_interleave_gives_each_slice_every_nth_input_and_loses_none():
    from sparkvision.sources.frames import interleave

    rows = [(f"cat/{i}.jpg",) for i in range(500)] + [(f"dog/{i}.jpg",) for i in range(500)]
    mixed = interleave(rows, 4)
    assert sorted(mixed) == sorted(rows)  # every input once
    for k in range(4):  # parallelize's equal slices: each holds cats and dogs alike
        part = mixed[k * 250 : (k + 1) * 250]
        cats = sum(path.startswith("cat/") for (path,) in part)
        assert 120 <= cats <= 130, (k, cats)
    assert interleave([(i,) for i in range(7)], 3) == [(0,), (3,), (6,), (1,), (4,), (2,), (5,)]
    assert interleave([], 3) == [] and interleave([(1,)], 1) == [(1,)]


def test_balance_gives_each_slice_equal_counts_and_bytes_and_loses_none():
    import random

    from sparkvision.sources.frames import balance

    rng = random.Random(3)
    # thumbnails, ordinary photos and a few phone originals, listed large ones last
    weights = sorted(rng.choice([4_000] * 3 + [60_000] * 6 + [3_000_000]) for _ in range(2001))
    rows = [(f"p{i}.jpg",) for i in range(len(weights))]
    dealt = balance(rows, weights, 4)
    assert sorted(dealt) == sorted(rows)  # every input once
    size = {row: w for row, w in zip(rows, weights, strict=True)}
    cut = [dealt[len(dealt) * k // 4 : len(dealt) * (k + 1) // 4] for k in range(4)]
    sums = [sum(size[row] for row in part) for part in cut]
    assert max(sums) - min(sums) <= 3_000_000 + 60_000, sums  # at most about one original apart
    # inputs whose sizes repeat with the slice count: every n-th would give one task them all
    weights = [3_000_000 if i % 4 == 0 else 60_000 for i in range(1000)]
    rows = [(i,) for i in range(1000)]
    every_nth = [sum(weights[k::4]) for k in range(4)]
    assert max(every_nth) > 10 * min(every_nth)
    dealt = balance(rows, weights, 4)
    sums = [sum(weights[i] for (i,) in dealt[250 * k : 250 * (k + 1)]) for k in range(4)]
    assert max(sums) - min(sums) <= 3_000_000, sums
    assert balance([], [], 3) == []


def test_task_count_fills_every_core_in_every_wave():
    from sparkvision.sources.frames import task_count

    for rows in (1, 2, 3, 100, 1023, 1024, 1025, 2000, 2100, 3000, 10_000):
        for cores in (1, 2, 3, 8):
            n = task_count(rows, cores, 1024)
            assert 1 <= n <= rows
            assert n % cores == 0 or n == rows, (rows, cores, n)
            assert -(-rows // n) <= 1024 or n == rows, (rows, cores, n)


def test_local_costs_read_headers_within_a_budget_and_never_block_on_a_fifo(tmp_path,
                                                                             monkeypatch):
    import io

    import numpy as np
    from PIL import Image

    import sparkvision.sources.frames as frames
    from sparkvision.imaging.decode import COST_PER_BYTE

    def save(name, size, progressive):
        pixels = np.random.default_rng(len(name)).integers(0, 255, (*size[::-1], 3), np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", progressive=progressive, quality=85)
        (tmp_path / name).write_bytes(buf.getvalue())
        return str(tmp_path / name)

    paths = [save("plain.jpg", (600, 450), False), save("prog.jpg", (600, 450), True)]
    sizes = [os.path.getsize(p) for p in paths]
    assert frames.local_costs(paths) == [COST_PER_BYTE * s for s in sizes]
    plain, prog = frames.local_costs(paths, decode_side=256, headers=True)
    # a progressive JPEG decodes about 3x slower per byte: its header says so
    assert prog / sizes[1] > 2 * plain / sizes[0], (plain, prog, sizes)
    # a named pipe is not opened (it would wait for a writer): it costs its size
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert frames.local_costs([*paths, str(fifo)], decode_side=256, headers=True)[2] == 0
    # past the time budget (a slow file system), sizes stand in for every file
    monkeypatch.setattr(frames, "HEADER_SECONDS_PER_PATH", -1.0)
    monkeypatch.setattr(frames, "HEADER_SECONDS_AT_LEAST", -1.0)
    assert frames.local_costs(paths, decode_side=256, headers=True) == [
        COST_PER_BYTE * s for s in sizes]
    assert frames.local_costs(["s3://bucket/a.jpg", *paths], headers=True) is None
