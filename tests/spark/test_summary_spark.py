"""A run's summary, counted from the written table: by this process or by Spark, the same."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from sparkvision.jobs import finish
from sparkvision.options import RunConfig

ROWS = [
    # path, label_true, label, error, error_kind
    ("a.jpg", "cat", "cat", None, None),
    ("b.jpg", "cat", "dog", None, None),
    ("c.jpg", "dog", "dog", None, None),
    ("d.jpg", "dog", None, "not an image", "decode"),
    ("e.jpg", None, "cat", None, None),
    ("f.jpg", "cat", None, "gone", "read"),
    ("g.jpg", "dog", "dog", None, None),
]


def _table(spark, out):
    frame = spark.createDataFrame(
        ROWS, "path string, label_true string, label string, error string, error_kind string")
    frame.repartition(3).write.parquet(str(out))
    # files a committed table may hold beside its rows: never counted
    stray = out / "_temporary" / "0"
    stray.mkdir(parents=True)
    pq.write_table(pa.table({"path": ["x.jpg"], "label_true": ["cat"], "label": ["cat"],
                             "error": [None], "error_kind": ["read"]}), stray / "part-9.parquet")
    (out / "_summary.json").write_text("{}")


def _as_dict(summary):
    found = json.loads(summary.to_json())
    found.pop("breakdown", None)
    return found


def test_a_local_parquet_table_is_counted_here_as_spark_counts_it(spark, tmp_path,
                                                                   monkeypatch):
    out = tmp_path / "out.parquet"
    _table(spark, out)
    run = RunConfig(out=str(out), label_from="folder", sort_into=str(tmp_path / "sorted"))
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup())
    here = finish.summarise(spark, run, "parquet", 2.0)
    assert set(tracker.getJobIdsForGroup()) == before  # no Spark job
    monkeypatch.setattr(finish, "jobs_write_here", lambda spark: False)
    run = RunConfig(out=str(out), label_from="folder", sort_into=str(tmp_path / "sorted2"))
    by_spark = finish.summarise(spark, run, "parquet", 2.0)
    assert set(tracker.getJobIdsForGroup()) != before
    assert (here.inputs, here.ok, here.failed) == (7, 5, 2)
    assert here.failed_by_kind == {"decode": 1, "read": 1}
    assert here.confusion == {"cat": {"cat": 1, "dog": 1}, "dog": {"dog": 2}}
    assert {**_as_dict(here), "output": None, "sorted_into": None} == {
        **_as_dict(by_spark), "output": None, "sorted_into": None}
    assert here.sort_counts == by_spark.sort_counts and sum(here.sort_counts.values()) == 7
