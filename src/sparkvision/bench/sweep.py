"""``sparkvision bench``: every runner over every size, one child process per runner.

Rows are printed as they arrive and ``results.csv`` is rewritten after each runner, so an
interrupted sweep keeps what it measured. A runner whose process dies (out of memory,
crash, time limit) gets ``failed`` rows for the sizes it did not finish, with the reason.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import sparkvision.bench.results as results
from sparkvision.bench.base import REFERENCE_VARIANT, VARIANT_RUNNERS, variant_label
from sparkvision.bench.dataset import dataset_paths, make_dataset
from sparkvision.bench.modes import cpu_count
from sparkvision.bench.registry import ALL_RUNNERS
from sparkvision.errors import ConfigError

#: engine -> precisions the bench runs it in (the built-in model on the CPU)
BENCH_PRECISIONS: dict[str, tuple[str, ...]] = {
    "onnx": ("fp32", "int8"), "openvino": ("fp32", "bf16", "int8"),
}
BENCH_ENGINES = tuple(BENCH_PRECISIONS)


def parse_list(text: str, *, allowed: Sequence[str] | None = None, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{what} is empty; expected a comma-separated list")
    if allowed is not None:
        unknown = [t for t in items if t not in allowed]
        if unknown:
            raise ConfigError(f"unknown {what} {', '.join(unknown)}; expected some of "
                              f"{', '.join(allowed)}")
    return items


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s) for s in parse_list(text, what="--sizes")})
    except ValueError:
        raise ConfigError(
            f"--sizes must be comma-separated whole numbers; found {text!r}"
        ) from None
    if sizes[0] < 1:
        raise ConfigError(f"--sizes must be at least 1; found {sizes[0]}")
    return sizes


def run_bench(
    *,
    sizes: Sequence[int],
    runners: Sequence[str],
    out: str,
    data: str | None = None,
    cores: int | None = None,
    batch_size: int = 32,
    model: str = "catdog",
    warmup: int | None = None,
    repeats: int = 1,
    seed: int = 0,
    budget_s: float = 0.0,
    timeout_s: float = 3600.0,
    variants: Sequence[tuple[str, str]] = (REFERENCE_VARIANT,),
    echo: Callable[[str], None] = print,
) -> list[dict]:
    """Run ``runners`` over ``sizes`` and write ``out/results.csv``, ``bench.png`` and
    ``report.md``; returns the rows. sparkvision's modes and the engine ceiling run once
    per ``(engine, precision)`` of ``variants``, the peers and the decode ceiling once.

    Each runner's untimed warm-up labels ``warmup`` images (default: one model batch per
    core, so that every worker process of every runner has run a full batch before the
    timed runs; a smaller warm-up leaves some of them to pay their first batch, which costs
    two to four times a later one, inside a timed run). Each size is timed ``repeats``
    times and the run of median time kept, for every runner alike."""
    unknown = [r for r in runners if r not in ALL_RUNNERS]
    if unknown:
        raise ConfigError(f"unknown runner(s) {', '.join(unknown)}; expected some of "
                          f"{', '.join(ALL_RUNNERS)}")
    if repeats < 1:
        raise ConfigError(f"--repeats must be at least 1; found {repeats}")
    cores = cores or cpu_count()
    warmup = cores * batch_size if warmup is None else warmup
    os.makedirs(out, exist_ok=True)
    data = data or os.path.join(out, "images")
    echo(f"data set: {max(sizes)} images in {data} (made once, reused)")
    make_dataset(max(max(sizes), warmup), data, seed=seed)
    warm_page_cache(dataset_paths(data, max(max(sizes), warmup)))
    logs = os.path.join(out, "logs")
    os.makedirs(logs, exist_ok=True)
    environment = _environment(cores)
    options = ["--cores", str(cores), "--batch-size", str(batch_size), "--model", model,
               "--warmup", str(warmup), "--budget-s", str(budget_s),
               "--repeats", str(repeats)]
    rows: list[dict] = []
    echo(f"{'runner':<30}{'images':>8}{'seconds':>10}{'img/s':>9}{'peak MB':>9}  status")
    for name, engine, precision in _jobs(runners, variants):
        rows += _sweep_runner(name, engine, precision, sizes, out=out, data=data,
                              options=options, batch_size=batch_size, cores=cores,
                              timeout_s=timeout_s, echo=echo)
        results.write_csv(results.with_derived(rows), os.path.join(out, results.RESULTS))
    environment["load_after"] = _load()
    with open(os.path.join(out, results.ENVIRONMENT), "w", encoding="utf-8") as fh:
        json.dump(environment, fh, indent=2)
    if not rows:
        return rows
    results.write_report(out)
    echo(f"results: {os.path.join(out, results.RESULTS)}, chart: "
         f"{os.path.join(out, results.CHART)}, report: {os.path.join(out, results.REPORT)}")
    return results.with_derived(rows)


def warm_page_cache(paths: Sequence[str]) -> int:
    """Read every file of the data set once before the first runner, so no runner's time
    includes disk reads that the runners after it would find cached; returns the bytes."""
    total = 0
    for path in paths:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                total += len(chunk)
    return total


def _jobs(runners: Sequence[str],
          variants: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(runner, engine, precision) for every child to start, in order."""
    jobs = []
    for name in runners:
        for engine, precision in (variants if name in VARIANT_RUNNERS else [REFERENCE_VARIANT]):
            if (name, engine, precision) not in jobs:
                jobs.append((name, engine, precision))
    return jobs


def parse_variants(engines: str, precisions: str) -> list[tuple[str, str]]:
    """``--engines`` x ``--precisions``, less the pairs no engine runs (ONNX Runtime has
    no bf16), each checked against the known names."""
    from sparkvision.config import PRECISIONS

    pairs = [(e, p) for e in parse_list(engines, what="--engines", allowed=BENCH_ENGINES)
             for p in parse_list(precisions, what="--precisions", allowed=PRECISIONS)]
    kept = [(e, p) for e, p in pairs if p in BENCH_PRECISIONS[e]]
    if not kept:
        raise ConfigError(f"no engine of --engines {engines} runs --precisions {precisions}; "
                          + "; ".join(f"{e} runs {', '.join(v)}" for e, v in
                                      BENCH_PRECISIONS.items()))
    return kept


def _sweep_runner(name: str, engine: str, precision: str, sizes: Sequence[int], *, out: str,
                  data: str, options: list[str], batch_size: int, cores: int,
                  timeout_s: float, echo: Callable[[str], None]) -> list[dict]:
    """Run ``name``'s child process on ``engine`` in ``precision`` over ``sizes``: the
    rows it wrote, and a ``failed`` row saying why for each size it did not report."""
    label = variant_label(name, engine, precision)
    logs = os.path.join(out, "logs")
    rows_file = os.path.join(logs, f"{label}.jsonl")
    if os.path.exists(rows_file):
        os.unlink(rows_file)
    command = [sys.executable, "-m", "sparkvision.bench.child", "--runner", name,
               "--sizes", ",".join(map(str, sizes)), "--data", data, "--rows", rows_file,
               "--work", os.path.join(out, "work", label), "--engine", engine,
               "--precision", precision, *options]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    log_path = os.path.join(logs, f"{label}.log")
    got, code = _run_child(command, env, log_path, rows_file, timeout_s,
                           lambda row: echo(_line(row)))
    rows = list(got)
    missing = [n for n in sizes if n not in {r["n_images"] for r in got}]
    for n in missing:
        row = {"mode": label, "kind": _kind(name), "n_images": n, "status": "failed",
               "engine": engine, "precision": precision, "batch_size": batch_size,
               "cores": cores, "note": _exit_reason(code, log_path)}
        rows.append(row)
        echo(_line(row))
    return rows


def _run_child(command, env, log_path, rows_file, timeout_s, on_row) -> tuple[list[dict], object]:
    """Run one child, calling ``on_row`` for each row as it appears; return all rows and
    the exit code (or why it was stopped)."""
    seen = 0
    got: list[dict] = []

    def drain() -> None:
        nonlocal seen
        if not os.path.exists(rows_file):
            return
        with open(rows_file, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        for line in lines[seen:]:
            if line.strip():
                row = json.loads(line)
                got.append(row)
                on_row(row)
        seen = len(lines)

    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        deadline = time.monotonic() + timeout_s
        code: object = None
        try:
            while proc.poll() is None:
                drain()
                if time.monotonic() > deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    code = f"stopped after the --timeout of {timeout_s:g} s"
                    break
                time.sleep(0.5)
            else:
                code = proc.returncode
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            _kill_leftovers(proc.pid)
    drain()
    return got, code


def _kill_leftovers(pgid: int) -> None:
    """The child's own process group (JVM, Ray daemons) must not outlive it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_reason(code, log_path: str) -> str:
    if isinstance(code, str):
        what = code
    elif code == -signal.SIGKILL:
        what = "killed by SIGKILL (out of memory?)"
    elif code and code < 0:
        what = f"killed by signal {-code}"
    else:
        what = f"exited with code {code}"
    tail = ""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            lines = [line.strip() for line in fh.read().splitlines() if line.strip()]
        tail = lines[-1][:200] if lines else ""
    except OSError:
        pass
    return f"runner process {what} before this size finished" + (f"; last log line: {tail}"
                                                                   if tail else "")


def _kind(name: str) -> str:
    from sparkvision.bench.modes import CEILING_RUNNERS
    from sparkvision.bench.registry import PEER_RUNNERS

    return "peer" if name in PEER_RUNNERS else "ceiling" if name in CEILING_RUNNERS else "mode"


def _line(row: dict) -> str:
    def num(key, digits):
        value = row.get(key)
        return "" if value in (None, "") else f"{value:.{digits}f}"

    status = row.get("status", "")
    if row.get("note"):
        status += f": {row['note']}"
    return (f"{row['mode']:<30}{row['n_images']:>8}{num('seconds', 2):>10}"
            f"{num('images_per_s', 1):>9}{num('peak_rss_mb', 0):>9}  {status}")


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _environment(cores: int) -> dict:
    from importlib import metadata

    versions = {}
    for package in ("pyspark", "onnxruntime", "openvino", "torch", "pyarrow", "pillow", "ray",
                    "daft"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory_gb = None
    return {
        "command": "sparkvision " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if os.path.basename(sys.argv[0]) == "sparkvision" else " ".join(sys.argv),
        "cpu": cpu, "cores": cores, "memory_gb": memory_gb, "python": platform.python_version(),
        "load_before": _load(), "versions": versions,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
