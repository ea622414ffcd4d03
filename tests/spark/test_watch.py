"""`sparkvision watch`: images dropped in waves, the stream killed (SIGKILL of its whole
process group, mid-batch) and restarted, stopped with SIGINT as Ctrl-C sends it: every image
is in the output exactly once. A Delta stream with --once, and Delta batches replayed after
a crash are skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers.cli import start_cli
from helpers.drawing import write_images
from sparkvision.options import ModelRequest
from sparkvision.sinks.stream import DeltaBatchWriter
from sparkvision.watch.stream import STATE_FILE, WatchConfig, run_watch

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(900)]


def drop(folder: Path, names: list[str], *, seed: int, age_days: float = 0) -> list[str]:
    """Write images elsewhere, then move them in (as a copy tool that renames does)."""
    staging = folder.parent / "staging"
    paths = write_images(str(staging), names, seed=seed)
    landed = []
    for path, name in zip(paths, names, strict=True):
        if age_days:
            old = time.time() - age_days * 86400
            os.utime(path, (old, old))
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        landed.append(os.path.basename(name))
    return landed


def start(root: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    log = root / f"watch-{time.monotonic_ns()}.log"
    with open(log, "w") as fh:  # its own process group: the JVM and workers die with it
        proc = start_cli(["watch", str(root / "in"), "--out", str(root / "out"),
                          "--checkpoint", str(root / "cp"), "--batch-size", "4", *extra],
                         env={"SPARK_LOCAL_IP": "127.0.0.1"}, stdout=fh,
                         stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def wait_until(what, check, proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"gave up waiting for {what}; log:\n{log.read_text()[-3000:]}")


def batch_files(root: Path, kind: str) -> set[str]:
    folder = root / "cp" / kind
    return {n for n in os.listdir(folder) if n.isdigit()} if folder.is_dir() else set()


def output_names(spark, root: Path) -> list[str]:
    rows = spark.read.parquet(str(root / "out")).select("path").collect()
    return sorted(os.path.basename(r["path"]) for r in rows)


def test_waves_kill_restart_and_ctrl_c_give_every_image_once(spark, tmp_path):
    root, inbox = tmp_path, tmp_path / "in"
    inbox.mkdir()
    expected = drop(inbox, ["a.jpg", "b.png", "sub/c.JPG"], seed=0)
    (inbox / "broken.jpg").write_bytes(b"\xff\xd8 half a jpeg")
    (inbox / "notes.txt").write_text("not an image name")  # not an image extension: ignored
    write_images(str(inbox), [".copying.jpg", "_partial.jpg"])  # hidden names: ignored
    expected.append("broken.jpg")

    proc, log = start(root, "--interval", "1")
    wait_until("the first wave", lambda: "this run: 4 images, 1 failed" in log.read_text(),
               proc, log)
    # the second wave, one file with a month-old timestamp (copied with its mtime kept);
    # killed once its batch is planned and before it is committed
    expected += drop(inbox, [f"w2.{i}.jpg" for i in range(6)], seed=10)
    expected += drop(inbox, ["old.jpg"], seed=20, age_days=30)
    wait_until("the second batch to start", lambda: "1" in batch_files(root, "offsets"),
               proc, log)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert "1" not in batch_files(root, "commits")  # really killed mid-batch

    # more images land while it is down; the restart redoes the cut batch, then goes on
    expected += drop(inbox, ["w3.0.jpg", "w3.1.png"], seed=30)
    proc, log = start(root, "--interval", "1")
    wait_until("the cut batch and the third wave",
               lambda: "this run: 9 images, 0 failed" in log.read_text(), proc, log)
    assert output_names(spark, root) == sorted(expected)
    expected += drop(inbox, ["w4.0.jpg"], seed=40)
    wait_until("the fourth wave", lambda: "this run: 10 images" in log.read_text(), proc, log)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    assert proc.wait(timeout=120) == 0, log.read_text()[-3000:]
    assert "stopped: 10 images" in log.read_text()
    names = output_names(spark, root)
    assert names == sorted(expected) and len(set(names)) == len(names) == 14
    broken = spark.read.parquet(str(root / "out")).where("path like '%broken.jpg'").first()
    assert broken["error_kind"] == "not_an_image" and broken["label"] is None


def test_delta_stream_and_replayed_batches_are_skipped(spark, tmp_path):
    from deltalake import DeltaTable

    inbox = tmp_path / "in"
    names = drop(inbox, ["a.jpg", "b.jpg", "c.png"], seed=50)
    config = WatchConfig(input_dir=str(inbox), out=str(tmp_path / "out"),
                         checkpoint=str(tmp_path / "cp"), format="delta", once=True)
    lines: list[str] = []
    totals = run_watch(ModelRequest(task="embed", model="embedding"), config,
                       echo=lines.append)
    assert (totals.images, totals.failed) == (3, 0) and "batch 0: 3 images" in lines[-1]
    table = DeltaTable(config.out).to_pandas()
    assert sorted(os.path.basename(p) for p in table["path"]) == sorted(names)
    assert {len(v) for v in table["embedding"]} == {1280}

    app_id = json.loads((tmp_path / "cp" / STATE_FILE).read_text())["app_id"]
    writer = DeltaBatchWriter(config.out, app_id, str(tmp_path / "staging"))
    first = table.iloc[0]
    batch = spark.createDataFrame(
        [(first["path"], [float(x) for x in first["embedding"]], None, None)],
        "path string, embedding array<float>, error string, error_kind string")
    writer(batch, 0)  # batch 0 replayed after a crash: skipped
    assert len(DeltaTable(config.out).to_pandas()) == 3 and writer.committed() == 0
    writer(batch, 1)  # a new batch: appended once, then skipped when replayed
    writer(batch, 1)
    assert len(DeltaTable(config.out).to_pandas()) == 4 and writer.committed() == 1
