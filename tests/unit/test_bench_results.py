"""Bench results: derived ceiling, targets, report, chart, and failures recorded as rows."""

import json
import os
import signal
import sys

import pytest

import sparkvision.bench.child as child
import sparkvision.bench.results as results
import sparkvision.bench.sweep as sweep
from helpers.extras import need
from sparkvision.bench.base import Runner
from sparkvision.bench.dataset import make_dataset
from sparkvision.errors import ConfigError


def _row(mode, kind, n, seconds, status="ok"):
    return {"mode": mode, "kind": kind, "n_images": n, "seconds": seconds,
            "images_per_s": round(n / seconds, 2) if seconds else None, "peak_rss_mb": 100.0,
            "startup_s": 1.0, "engine": "onnx", "batch_size": 32, "cores": 2,
            "load_1m": 0.5, "status": status, "note": ""}


ROWS = [
    _row("iterator", "mode", 1000, 20.0),
    _row("seed", "peer", 1000, 100.0),
    _row("ray", "peer", 1000, 25.0),
    _row("ceiling-engine", "ceiling", 1000, 10.0),
    _row("ceiling-decode", "ceiling", 1000, 5.0),
    {**_row("daft", "peer", 1000, None, "skipped"), "note": "pip install 'sparkvision[bench]'"},
]


def test_derived_ceiling_adds_the_two_times():
    rows = results.with_derived(ROWS)
    ceiling = [r for r in rows if r["mode"] == results.CEILING]
    assert len(ceiling) == 1 and ceiling[0]["seconds"] == 15.0
    assert ceiling[0]["images_per_s"] == pytest.approx(1000 / 15, abs=0.01)
    assert results.with_derived(rows) == rows  # idempotent


def test_targets_compare_iterator_with_each_reference():
    targets = {t["reference"]: t for t in results.target_rows(results.with_derived(ROWS))}
    assert targets["seed"]["ratio"] == pytest.approx(5.0) and targets["seed"]["met"] is True
    assert targets["ray"]["ratio"] == pytest.approx(1.25) and targets["ray"]["met"] is False
    assert targets[results.CEILING]["ratio"] == pytest.approx(0.75, abs=1e-3)
    assert targets["daft"]["met"] is None  # skipped: nothing to compare


def test_csv_round_trip_and_report(tmp_path):
    need("matplotlib", "bench")  # the chart
    results.write_csv(results.with_derived(ROWS), str(tmp_path / results.RESULTS))
    header = (tmp_path / results.RESULTS).read_text().splitlines()[0].strip().split(",")
    assert header[:8] == ["mode", "kind", "n_images", "seconds", "images_per_s",
                          "peak_rss_mb", "startup_s", "engine"]
    assert {"batch_size", "cores", "status", "note"} <= set(header)
    (tmp_path / results.ENVIRONMENT).write_text(json.dumps({"command": "sparkvision bench x"}))
    text = results.write_report(str(tmp_path))
    assert "| iterator | 50.0 |" in text and "| seed | 10.0 |" in text
    assert "| daft | skipped |" in text and "pip install 'sparkvision[bench]'" in text
    assert "no (-17%)" in text  # ray: 1.25x against a 1.5x target
    assert "`sparkvision bench x`" in text
    png = (tmp_path / results.CHART).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


class _Flaky(Runner):
    name = "flaky"

    def run(self, paths, out):
        if len(paths) == 4:
            raise MemoryError()
        if len(paths) == 6:
            return len(paths) - 1  # lost a row
        return len(paths)


def test_child_records_failures_as_rows_and_goes_on(tmp_path, monkeypatch):
    need("psutil", "bench")  # memory sampling
    import sparkvision.bench.registry as registry

    make_dataset(8, str(tmp_path / "data"))
    monkeypatch.setattr(registry, "make_runner", lambda name, settings: _Flaky(settings))
    rows_file = tmp_path / "rows.jsonl"
    code = child.main(["--runner", "flaky", "--sizes", "2,4,6,8", "--data",
                       str(tmp_path / "data"), "--rows", str(rows_file), "--work",
                       str(tmp_path / "work"), "--cores", "2", "--warmup", "2"])
    assert code == 0
    rows = {r["n_images"]: r for r in map(json.loads, rows_file.read_text().splitlines())}
    assert rows[2]["status"] == "ok" and rows[2]["images_per_s"] > 0
    assert rows[4]["status"] == "failed" and rows[4]["note"] == "out of memory"
    assert rows[6]["status"] == "failed" and "wrote 5 result rows for 6 images" in rows[6]["note"]
    assert rows[8]["status"] == "ok" and rows[8]["peak_rss_mb"] > 10


class _Slowing(Runner):
    """The timed runs of a size sleep 0.05, 0.25 and 0.15 s in turn."""
    name = "slowing"
    pauses = (0.05, 0.25, 0.15)

    def run(self, paths, out):
        import time

        self.calls = getattr(self, "calls", 0) + 1
        if len(paths) > 2:  # the timed runs; the warm-up is 2 images
            time.sleep(self.pauses[(self.calls - 2) % 3])
        if len(paths) == 4 and self.calls == 6:
            raise RuntimeError("third run broke")
        return len(paths)


def test_repeated_runs_keep_the_median_and_record_every_run(tmp_path, monkeypatch):
    need("psutil", "bench")
    import sparkvision.bench.registry as registry

    make_dataset(4, str(tmp_path / "data"))
    monkeypatch.setattr(registry, "make_runner", lambda name, settings: _Slowing(settings))
    rows_file = tmp_path / "rows.jsonl"
    child.main(["--runner", "slowing", "--sizes", "3,4", "--data", str(tmp_path / "data"),
                "--rows", str(rows_file), "--work", str(tmp_path / "work"), "--cores", "1",
                "--warmup", "2", "--repeats", "3"])
    rows = {r["n_images"]: r for r in map(json.loads, rows_file.read_text().splitlines())}
    runs = [float(s) for s in rows[3]["runs_s"].split()]
    assert len(runs) == 3 and runs[1] > runs[2] > runs[0]
    assert rows[3]["seconds"] == pytest.approx(runs[2], abs=0.001)  # the median, not the best
    assert rows[3]["images_per_s"] == pytest.approx(3 / runs[2], rel=0.01)
    # a run that fails fails the size, whatever the others did
    assert rows[4]["status"] == "failed" and "third run broke" in rows[4]["note"]
    report = results.markdown(results.with_derived([
        {**rows[3], "kind": "mode", "peak_rss_mb": 1.0, "cpu_s": 0.1}]))
    assert "Seconds of every timed run" in report
    assert rows[3]["runs_s"].replace(" ", ", ") in report


def test_repeats_below_one_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="--repeats must be at least 1; found 0"):
        sweep.run_bench(sizes=[2], runners=["python"], out=str(tmp_path), repeats=0)


def test_missing_extra_is_a_skipped_row(tmp_path, monkeypatch):
    import sparkvision.bench.registry as registry

    class _Missing(Runner):
        name = "ghost"
        requires = ("no_such_module_for_sparkvision",)

    monkeypatch.setattr(registry, "make_runner", lambda name, settings: _Missing(settings))
    rows_file = tmp_path / "rows.jsonl"
    child.main(["--runner", "ghost", "--sizes", "1,2", "--data", str(tmp_path), "--rows",
                str(rows_file), "--work", str(tmp_path / "w"), "--cores", "1"])
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["skipped", "skipped"]
    assert "pip install 'sparkvision[bench]'" in rows[0]["note"]


def test_a_killed_runner_process_is_reported(tmp_path):
    command = [sys.executable, "-c", "import os, signal; print('loading'); "
               "os.kill(os.getpid(), signal.SIGKILL)"]
    rows, code = sweep._run_child(command, dict(os.environ), str(tmp_path / "log"),
                                  str(tmp_path / "rows"), 60, lambda row: None)
    assert rows == [] and code == -signal.SIGKILL
    reason = sweep._exit_reason(code, str(tmp_path / "log"))
    assert "SIGKILL (out of memory?)" in reason and "loading" in reason


def test_option_parsing():
    assert sweep.parse_sizes("500, 100,100") == [100, 500]
    with pytest.raises(ConfigError, match="whole numbers"):
        sweep.parse_sizes("10,many")
    with pytest.raises(ConfigError, match="unknown --modes gpu"):
        sweep.parse_list("iterator,gpu", what="--modes", allowed=("iterator",))


def test_update_doc_replaces_only_the_marked_part(tmp_path):
    need("matplotlib", "bench")  # the chart
    results.write_csv(results.with_derived(ROWS), str(tmp_path / results.RESULTS))
    results.write_report(str(tmp_path))
    doc = tmp_path / "bench.md"
    doc.write_text(f"# Title\nintro\n{results.DOC_START}\nold table\n{results.DOC_END}\noutro\n")
    results.update_doc(str(tmp_path), str(doc))
    text = doc.read_text()
    assert text.startswith("# Title\nintro\n") and text.endswith(f"{results.DOC_END}\noutro\n")
    assert "old table" not in text and "| iterator | 50.0 |" in text
    doc.write_text("no markers")
    with pytest.raises(ConfigError, match="needs one line"):
        results.update_doc(str(tmp_path), str(doc))


def test_time_outside_decode_and_engine_per_image_and_per_run():
    rows = results.with_derived([
        _row("ceiling-engine", "ceiling", 1000, 10.0),
        _row("ceiling-decode", "ceiling", 1000, 5.0),
        _row("ceiling-engine", "ceiling", 2000, 20.0),
        _row("ceiling-decode", "ceiling", 2000, 10.0),
        _row("iterator", "mode", 1000, 18.0), _row("iterator", "mode", 2000, 34.0),
        _row("ray", "peer", 2000, 40.0),
        _row("iterator@openvino-int8", "mode", 2000, 12.0),  # no ceiling of its own: no row
    ])
    outside = {o["mode"]: o for o in results.outside_rows(rows)}
    assert set(outside) == {"iterator", "ray"}
    it = outside["iterator"]
    # 3 s more than the ceiling at 1000 images, 4 s at 2000: 1 ms an image and 2 s a run
    assert it["n_images"] == 2000 and it["outside_s"] == pytest.approx(4.0)
    assert it["per_image_ms"] == pytest.approx(1.0) and it["per_run_s"] == pytest.approx(2.0)
    assert it["share"] == pytest.approx(4 / 34) and it["ms_per_image"] == pytest.approx(2.0)
    assert outside["ray"]["per_image_ms"] is None  # one size: nothing to fit
    assert outside["ray"]["outside_s"] == pytest.approx(10.0)
    text = results.markdown(rows)
    assert "**Outside decode and engine**" in text
    assert "| iterator | 2000 | 4.00 | 12% | 2.00 |  | 1.00 | 2.00 | 1.00 |" in text


def test_the_workers_stages_are_reported_per_image():
    rows = results.with_derived([
        {**_row("iterator", "mode", 1000, 20.0),
         "stages": '{"engine": 10.0, "decode": 4.0, "outside": 2.0}'},
        _row("ray", "peer", 1000, 30.0),  # a peer reports no stages: no line
    ])
    assert results.stage_ms(rows[0]) == {"engine": 10.0, "decode": 4.0, "outside": 2.0}
    assert results.stage_ms(rows[1]) == {}
    text = results.markdown(rows)
    # load, read | decode | engine | rows, arrow | outside
    assert "| iterator | 1000 |  |  | 4.00 | 10.00 |  |  | 2.00 |" in text
    assert "| ray | 1000 |" not in text.split("by stage")[1]
