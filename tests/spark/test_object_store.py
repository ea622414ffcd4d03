"""Photos in an object store: a prefix on a real S3 server (moto's, on 127.0.0.1, behind a
proxy that answers every 10th request ``503 SlowDown``) is listed by Spark tasks, read many
at a time, and classified, embedded, trained on, deduplicated and sorted like the same
photos on disk."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest

from helpers.cli import run_cli
from helpers.drawing import PATTERNS, write_images, write_patterns
from helpers.extras import need

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

#: a secret that must never be printed or written anywhere
SECRET = "planted-secret-Zq81vXk"
NAMES = ["cat/a.jpg", "cat/_DSC0001.JPG", "dog/b.jpeg", "dog/year=2024/c.png",
         "dog/.hidden.jpg", "notes.txt"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The photos on disk, the same photos under s3://pets/photos/ (and patterns for
    training under s3://pets/train/), and the environment that reaches the server
    (credentials and endpoint the usual AWS way)."""
    need("s3fs", "s3")
    need("moto.server", "test")
    from sparkvision.bench.s3local import local_s3

    root = tmp_path_factory.mktemp("store")
    local = root / "photos"
    write_images(str(local), [n for n in NAMES if not n.endswith(".txt")], seed=70)
    (local / "notes.txt").write_text("not a photo")
    train = root / "train"
    write_patterns(str(train), 6, seed=300)
    shutil.copy(train / "stripes" / "stripes.0.jpg", train / "stripes" / "copy-of-0.jpg")
    with local_s3(latency_ms=2, throttle_every=10) as s3:
        env = s3.env(SECRET)
        import s3fs

        fs = s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=SECRET,
                               client_kwargs={"endpoint_url": s3.endpoint})
        fs.mkdir("pets")
        for folder, prefix in ((local, "photos"), (train, "train")):
            for here, _, files in os.walk(folder):
                for name in files:
                    path = os.path.join(here, name)
                    fs.put_file(path, f"pets/{prefix}/{os.path.relpath(path, folder)}")
        yield {"local": str(local), "train": str(train), "env": env, "root": root,
               "s3": s3, "fs": fs}


def _rows(out: str, prefix: str) -> pd.DataFrame:
    return _rows_of(pd.read_parquet(out), prefix)


def _rows_of(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    frame["name"] = [p[len(prefix):].lstrip("/") for p in frame["path"]]
    return frame.sort_values("name").reset_index(drop=True)


def test_a_prefix_is_listed_on_the_cluster_and_classified_like_the_disk(store):
    out_s3, out_disk = str(store["root"] / "s3.parquet"), str(store["root"] / "disk.parquet")
    requests = store["s3"].requests
    for source, out in (("s3://pets/photos/", out_s3), (store["local"], out_disk)):
        result = run_cli(["classify", source, "--out", out, "--label-from", "folder",
                          "--quiet"], env=store["env"])
        assert result.rc == 0, result.output
        assert SECRET not in result.stdout + result.stderr
    remote, disk = _rows(out_s3, "s3://pets/photos"), _rows(out_disk, store["local"])
    # recursive, any-case extensions, "_" names kept, "." names skipped, no key=value column
    assert list(remote["name"]) == ["cat/_DSC0001.JPG", "cat/a.jpg", "dog/b.jpeg",
                                    "dog/year=2024/c.png"]
    assert "year" not in remote.columns and remote["error"].isna().all()
    assert list(remote["name"]) == list(disk["name"])
    assert list(remote["label"]) == list(disk["label"])
    assert list(remote["label_true"]) == list(disk["label_true"])
    assert remote["score"].round(6).tolist() == disk["score"].round(6).tolist()
    assert store["s3"].requests > requests
    for folder, _, files in os.walk(out_s3):
        for name in files:
            with open(os.path.join(folder, name), "rb") as fh:
                assert SECRET.encode() not in fh.read(), name


def test_a_listing_that_fails_exits_2_naming_the_uri(store):
    result = run_cli(["classify", "s3://no-such-bucket/photos/", "--out",
                      str(store["root"] / "none.parquet"), "--quiet"], env=store["env"])
    assert result.rc == 2, result.output
    assert "cannot list 's3://no-such-bucket/photos/'" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_embed_in_one_process_lists_with_fsspec_too(store):
    out = str(store["root"] / "vectors.parquet")
    result = run_cli(["embed", "s3://pets/photos/", "--out", out, "--execution", "python",
                      "--quiet"], env=store["env"])
    assert result.rc == 0, result.output
    vectors = _rows(out, "s3://pets/photos")
    assert len(vectors) == 4 and all(len(v) == 1280 for v in vectors["embedding"])


@pytest.mark.parametrize("flag,value,said", [
    ("--mode", "move", "copied only"),
    ("--out", "s3://pets/out/", "s3a://"),
])
def test_destinations_it_cannot_write_are_refused_before_any_job(tmp_path, flag, value, said):
    args = ["classify", str(tmp_path), "--execution", "python", flag, value]
    if flag != "--out":
        args += ["--out", str(tmp_path / "o"), "--sort-into", "s3://pets/sorted/"]
    result = run_cli(args, in_process=True)
    assert result.rc == 2 and said in result.stderr and flag in result.stderr, result.output
    assert not os.path.exists("s3:")


def _objects(fs, prefix: str) -> list[str]:
    fs.invalidate_cache()
    return sorted(p for p in fs.find(prefix) if "/_manifest/" not in p)


def test_sort_into_a_bucket_copies_each_image_once_and_a_rerun_adds_nothing(store):
    out = str(store["root"] / "sorted-run.parquet")
    args = ["classify", "s3://pets/photos/", "--out", out, "--sort-into",
            "s3://pets/sorted/", "--quiet"]
    first = run_cli(args, env=store["env"])
    assert first.rc == 0, first.output
    labels = pd.read_parquet(out).set_index("path")["label"]
    copied = _objects(store["fs"], "pets/sorted/")
    assert sorted(os.path.basename(p) for p in copied) == sorted(
        os.path.basename(p) for p in labels.index)
    for path, label in labels.items():
        assert f"pets/sorted/{label}/{os.path.basename(path)}" in copied
        source = path[len("s3://"):]
        assert store["fs"].cat_file(f"pets/sorted/{label}/{os.path.basename(path)}") == \
            store["fs"].cat_file(source)
    summary = _summary(out)
    assert summary["sort_counts"] == {"copied": 4}
    again = run_cli([*args, "--resume"], env=store["env"])
    assert again.rc == 0, again.output
    assert _objects(store["fs"], "pets/sorted/") == copied
    summary = _summary(out)
    assert summary["sort_counts"] == {"exists": 4}
    parts = store["fs"].find("pets/sorted/_manifest/")
    assert all(SECRET.encode() not in store["fs"].cat_file(p) for p in parts)
    manifest = pd.concat(pd.read_csv(store["fs"].open(p)) for p in parts)
    assert sorted(manifest["action"]) == ["copied"] * 4 + ["exists"] * 4
    assert set(manifest["source"]) == set(labels.index)


def test_train_reads_a_bucket_like_the_disk(store, spark):
    """``train --label-from folder`` on a prefix: the features it fits on equal the disk's
    photos embedded (labels from the folders of the URIs)."""
    import sparkvision as sv

    throttled = store["s3"].throttled
    model = str(store["root"] / "model-s3")
    result = run_cli(["train", "s3://pets/train/", "--label-from", "folder", "--out", model,
                      "--folds", "2", "--quiet"], env=store["env"])
    assert result.rc == 0, result.output
    # the store answered some reads 503 SlowDown; the client's retries hid every one
    assert store["s3"].throttled >= throttled + 2
    remote = _rows(os.path.join(model, "features"), "s3://pets/train")
    disk = _rows_of(sv.embed(store["train"]).toPandas(), store["train"])
    assert list(remote["name"]) == list(disk["name"])
    assert len(remote) == 6 * len(PATTERNS) + 1 and remote["error"].isna().all()
    assert list(remote["label_true"]) == [n.split("/")[0] for n in disk["name"]]
    for a, b in zip(remote["embedding"], disk["embedding"], strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5


def test_dedup_reads_a_bucket_like_the_disk(store, spark):
    """The same groups and keepers from the prefix (its endpoint and credentials given as
    storage options, not in the environment) as from the folder."""
    from sparkvision.dedup.job import DedupJob, run_dedup
    from sparkvision.options import SparkOptions

    options = {"key": store["env"]["AWS_ACCESS_KEY_ID"], "secret": SECRET,
               "client_kwargs": {"endpoint_url": store["s3"].endpoint}}
    groups = {}
    for where, source in (("s3", "s3://pets/train/"), ("disk", store["train"])):
        out = str(store["root"] / f"groups-{where}.parquet")
        run_dedup(DedupJob(inputs=(source,), out=out, spark=SparkOptions(storage=options)),
                  spark=spark)
        rows = _rows(out, source.rstrip("/"))
        groups[where] = ({frozenset(g["name"]) for _, g in rows.groupby("group")},
                         sorted(rows[rows["keeper"]]["name"]))
    assert groups["s3"] == groups["disk"]
    assert any({"stripes/copy-of-0.jpg", "stripes/stripes.0.jpg"} <= g for g in groups["s3"][0])


def test_storage_options_reach_the_tasks_and_a_missing_object_is_one_error_row(store):
    """No AWS_* endpoint or secret in the environment: both come as --storage-option, and
    the secret is masked wherever the options are echoed."""
    listed = store["root"] / "list.txt"
    listed.write_text("s3://pets/photos/cat/a.jpg\ns3://pets/photos/cat/none.jpg\n")
    out = str(store["root"] / "options.parquet")
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_ENDPOINT_URL": None,
           "AWS_DEFAULT_REGION": "us-east-1"}
    # Spark's event log on, and the secret also as a Hadoop key: Spark's own log of the run
    # must not hold it either
    events = store["root"] / "events"
    events.mkdir()
    result = run_cli(["classify", str(listed), "--out", out, "--quiet", "--verbose",
                      "--storage-option", f"client_kwargs.endpoint_url={store['s3'].endpoint}",
                      "--storage-option", "key=testing", "--storage-option", f"secret={SECRET}",
                      "--conf", "spark.eventLog.enabled=true",
                      "--conf", f"spark.eventLog.dir={events.as_uri()}",
                      "--conf", f"spark.hadoop.fs.s3a.secret.key={SECRET}"],
                     env=env)
    assert result.rc == 0, result.output
    rows = pd.read_parquet(out).set_index("path")
    assert rows.loc["s3://pets/photos/cat/a.jpg", "error"] is None
    assert rows.loc["s3://pets/photos/cat/none.jpg", "error_kind"] == "missing"
    assert SECRET not in result.stdout + result.stderr
    logs = [p for p in events.rglob("*") if p.is_file()]
    assert logs, "Spark wrote no event log"
    for path in [*logs, *(p for p in (store["root"] / "options.parquet").rglob("*")
                          if p.is_file())]:
        assert SECRET.encode() not in path.read_bytes(), path


def _summary(out):
    with open(os.path.join(out, "_summary.json")) as handle:
        return json.load(handle)


def test_make_s3_up_serves_and_prints_what_to_export(tmp_path):
    """``make s3-up`` / ``make s3-down``: the server in the background, the exports
    printed, a client that uses them reaches it, and it is gone afterwards."""
    need("s3fs", "s3")
    need("moto.server", "test")
    import socket
    import subprocess

    import s3fs

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    where = [f"S3_DIR={tmp_path / 's3'}", f"S3_PORT={port}"]
    up = subprocess.run(["make", "-s", "s3-up", *where], cwd=repo, capture_output=True,
                        text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        exports = dict(line[len("export "):].split("=", 1)
                       for line in up.stdout.splitlines() if line.startswith("export "))
        assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        fs = s3fs.S3FileSystem(key=exports["AWS_ACCESS_KEY_ID"],
                               secret=exports["AWS_SECRET_ACCESS_KEY"],
                               client_kwargs={"endpoint_url": exports["AWS_ENDPOINT_URL"]})
        fs.mkdir("made-by-make")
        fs.pipe("made-by-make/a.jpg", b"bytes")
        assert fs.cat("made-by-make/a.jpg") == b"bytes"
    finally:
        down = subprocess.run(["make", "-s", "s3-down", *where], cwd=repo,
                              capture_output=True, text=True, timeout=60)
    assert "stopped" in down.stdout
    with socket.socket() as sock, pytest.raises(OSError):
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))
