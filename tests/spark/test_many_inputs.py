"""A path-list file stays in Spark: read by Spark, labelled by Spark functions, chunked by a
hash of the path, resumed by a join; every input is one row, once."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from helpers.cli import run_cli
from sparkvision.sources.list_frames import FirstPaths, label_column, list_file_frame
from sparkvision.storage.listing import label_from_path, read_path_list

pytestmark = [pytest.mark.spark, pytest.mark.timeout(300)]

N_PATHS = 5000


def _summary(out: str) -> dict:
    with open(os.path.join(out, "_summary.json"), encoding="utf-8") as fh:
        return json.load(fh)


def _parts(out: str) -> list[str]:
    return sorted(f for f in os.listdir(out) if not f.startswith(("_", ".")))


def test_a_list_of_missing_files_is_one_error_row_each_and_resume_adds_nothing(
        spark, tmp_path):
    missing = tmp_path / "gone"
    paths = [str(missing / ("cat" if i % 3 else "dog") / f"img-{i:05d}.jpg")
             for i in range(N_PATHS)]
    listed = tmp_path / "inputs.txt"
    # a comment, blank lines, surrounding blanks and a repeated path are not inputs
    listed.write_text("# photos gone missing\n\n" + "\n".join(paths)
                      + f"\n  {paths[7]}  \n", encoding="utf-8")
    out = str(tmp_path / "out.parquet")
    args = ["classify", str(listed), "--out", out, "--quiet", "--label-from", "folder",
            "--chunk-size", "2000"]

    assert run_cli(args, in_process=True).rc == 0
    table = pd.read_parquet(out)
    assert len(table) == N_PATHS and table["path"].is_unique
    assert sorted(table["path"]) == sorted(paths)
    assert (table["error_kind"] == "missing").all()
    assert (table["label_true"] == [label_from_path(p, "folder") for p in table["path"]]).all()
    summary = _summary(out)
    assert (summary["inputs"], summary["failed"], summary["resumed"]) == (N_PATHS, N_PATHS, 0)

    parts = _parts(out)
    assert run_cli([*args, "--resume"], in_process=True).rc == 0
    assert _parts(out) == parts  # nothing written
    assert _summary(out)["resumed"] == N_PATHS

    # a run that lost some of its chunks: the resume writes only those inputs, once
    os.remove(os.path.join(out, parts[0]))
    left = len(pd.read_parquet(out))
    assert run_cli([*args, "--resume"], in_process=True).rc == 0
    table = pd.read_parquet(out)
    assert sorted(table["path"]) == sorted(paths) and table["path"].is_unique
    assert _summary(out)["resumed"] == left


def test_spark_reads_a_list_file_as_python_does(spark, tmp_path):
    (tmp_path / "sub").mkdir()
    text = tmp_path / "sub" / "l.lst"
    text.write_text("a.jpg\r\n\t/abs/Dog/b.png \n#skip\n\ns3://bucket/x/c.jpg\nd/e/\n",
                    encoding="utf-8")
    csv = tmp_path / "l.csv"
    pd.DataFrame({"n": [1, 2, 3], "file": ['x, "y".jpg', None, "/p/q/Cat.7.jpeg"]}).to_csv(
        csv, index=False)
    parquet = tmp_path / "l.parquet"
    pd.DataFrame({"img": ["/z/Ünï/é1.jpg", "w.jpg"]}).to_parquet(parquet)
    for path, col in ((text, None), (csv, None), (parquet, "img")):
        frame = list_file_frame(spark, str(path), col)
        for how in ("folder", "filename"):
            rows = frame.select("path", label_column(how).alias("label")).collect()
            expected = [(p, label_from_path(p, how)) for p in read_path_list(str(path), col)]
            assert [(r["path"], r["label"]) for r in rows] == expected, (path, how)


def test_first_paths_holds_the_first_few_and_the_count():
    first = FirstPaths(["a", "b", "c"], 1_000_000)
    assert len(first) == 1_000_000 and first[:2] == ["a", "b"] and first[2] == "c"
    with pytest.raises(IndexError):
        first[:5]


def test_the_tasks_of_a_path_list_hold_equal_bytes_and_every_file_once(spark, tmp_path):
    from sparkvision.sources.frames import paths_frame

    # every 4th file is a large one: every 4th file to a task would give one task them all
    paths = []
    for i in range(24):
        path = tmp_path / f"{i:02d}.jpg"
        path.write_bytes(b"x" * (400_000 if i % 4 == 0 else 4_000))
        paths.append(str(path))
    frame = paths_frame(spark, paths, rows_per_partition=6)
    parts = frame.rdd.map(lambda row: row.path).glom().collect()
    assert len(parts) == 4 and sorted(p for part in parts for p in part) == paths
    sums = [sum(os.path.getsize(p) for p in part) for part in parts]
    assert max(sums) - min(sums) <= 400_000 - 4_000, sums  # at most one large file apart
    assert [len(part) for part in parts] == [6, 6, 6, 6]
    # paths this process cannot stat (another machine's, an object store's) keep every n-th
    remote = paths_frame(spark, [f"s3://b/{i}.jpg" for i in range(8)], rows_per_partition=2)
    assert remote.rdd.map(lambda row: row.path).glom().collect() == [
        [f"s3://b/{i}.jpg" for i in (k, k + 4)] for k in range(4)]


def test_a_short_job_deals_its_tasks_by_the_cost_read_from_each_header(spark, tmp_path,
                                                                        monkeypatch):
    import io

    import numpy as np
    from PIL import Image

    import sparkvision.sources.frames as frames
    from sparkvision.runtime.session import default_parallelism

    # two progressive JPEGs (3x slower per byte), the 2nd and 3rd heaviest files: dealt by
    # size both land in one task; by the cost their headers give, one in each
    paths = []
    for i in range(8):
        pixels = np.random.default_rng(i).integers(0, 255, (300, 400, 3), np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", progressive=i in (1, 2),
                                     quality={0: 95, 1: 85, 2: 85}.get(i, 80))
        (tmp_path / f"{i}.jpg").write_bytes(buf.getvalue())
        paths.append(str(tmp_path / f"{i}.jpg"))
    cores = default_parallelism(spark)
    assert cores == 2
    calls = []
    real = frames.local_costs
    monkeypatch.setattr(frames, "local_costs", lambda *a, **k: calls.append(k) or real(*a, **k))
    frame = frames.paths_frame(spark, paths, rows_per_partition=4, decode_side=256)
    parts = frame.rdd.map(lambda row: row.path).glom().collect()
    assert calls[-1] == {"decode_side": 256, "headers": True}
    assert sorted(p for part in parts for p in part) == paths
    assert [sum(p in paths[1:3] for p in part) for part in parts] == [1, 1], parts
    by_size = frames.balance([(p,) for p in paths], real(paths), 2)
    assert {by_size.index((paths[1],)) // 4, by_size.index((paths[2],)) // 4} == {1}
    # more than two waves of tasks: sizes only (Spark's dealing evens out the rest)
    frames.paths_frame(spark, paths, rows_per_partition=1, decode_side=256)
    assert calls[-1]["headers"] is False
