"""One runner's whole sweep, in a process of its own: ``python -m sparkvision.bench.child``.

The parent (:mod:`sparkvision.bench.sweep`) starts one child per runner, so a runner
that runs out of memory or crashes costs only its own rows, memory is measured per
runner, and no Spark session, Ray cluster or engine cache leaks from one runner into the
next. Each result row is appended to ``--rows`` as a JSON line as soon as it exists.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable

from sparkvision.bench.base import Runner, Settings, Usage, variant_label
from sparkvision.bench.dataset import dataset_paths
from sparkvision.runtime.timing import timed_run


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from sparkvision.bench.registry import make_runner

    sizes = [int(s) for s in args.sizes.split(",")]
    settings = Settings(cores=args.cores, batch_size=args.batch_size, model=args.model,
                        engine=args.engine, precision=args.precision, work_dir=args.work)
    runner = make_runner(args.runner, settings)
    base = {"mode": variant_label(runner.name, args.engine, args.precision),
            "kind": runner.kind, "engine": runner.engine, "precision": runner.precision,
            "batch_size": args.batch_size, "cores": args.cores}

    def emit(**row) -> None:
        with open(args.rows, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**base, **row}) + "\n")

    missing = runner.available()
    if missing:
        for n in sizes:
            emit(n_images=n, status="skipped", note=missing)
        return 0

    paths = dataset_paths(args.data, max(sizes))
    started = time.monotonic()
    try:
        runner.setup()
        startup = time.monotonic() - started
        runner.run(paths[: args.warmup], _fresh(args.work, "warmup"))
    except Exception as exc:  # noqa: BLE001 - recorded as the runner's result
        for n in sizes:
            emit(n_images=n, status="failed", note=f"setup failed: {_short(exc)}")
        traceback.print_exc()
        return 0

    spent = 0.0
    for n in sizes:
        if args.budget_s and spent > args.budget_s:
            emit(n_images=n, status="skipped", startup_s=round(startup, 2),
                 note=f"time budget of {args.budget_s:g} s spent ({spent:.0f} s so far)")
            continue
        spent += _measure(runner, paths, n, args.work, round(startup, 2), emit,
                          repeats=args.repeats)
    try:
        runner.teardown()
    except Exception:  # noqa: BLE001 - the rows are written; a noisy stop changes nothing
        traceback.print_exc()
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sparkvision.bench.child")
    p.add_argument("--runner", required=True)
    p.add_argument("--sizes", required=True, help="comma-separated image counts")
    p.add_argument("--data", required=True)
    p.add_argument("--rows", required=True, help="JSON-lines file to append result rows to")
    p.add_argument("--work", required=True)
    p.add_argument("--cores", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--model", default="catdog")
    p.add_argument("--engine", default="onnx")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--warmup", type=int, default=16)
    p.add_argument("--budget-s", type=float, default=0.0)
    p.add_argument("--repeats", type=int, default=1, help="timed runs per size (median kept)")
    return p


def _measure(runner: Runner, paths: list[str], n: int, work: str, startup_s: float,
             emit: Callable[..., None], *, repeats: int = 1) -> float:
    """``repeats`` timed runs of ``runner`` over the first ``n`` paths, emitted as one row:
    the run of median time (its CPU, memory and stages with it; every run's seconds in
    ``runs_s``); returns the seconds they took together (0 when one failed)."""
    runs = []
    for _ in range(max(1, repeats)):
        run = _timed(runner, paths[:n], work, n)
        if "note" in run:
            emit(n_images=n, status="failed", startup_s=startup_s, note=run["note"])
            return 0.0
        runs.append(run)
    median = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    ok = median["rows"] == n
    emit(n_images=n, seconds=round(median["seconds"], 3),
         images_per_s=round(n / median["seconds"], 2), peak_rss_mb=round(median["peak_mb"], 1),
         cpu_s=round(median["cpu_s"], 2), startup_s=startup_s, load_1m=round(median["load"], 2),
         status="ok" if ok else "failed", stages=json.dumps(median["stages"], sort_keys=True),
         runs_s=" ".join(f"{r['seconds']:.3f}" for r in runs),
         note="" if ok else f"wrote {median['rows']} result rows for {n} images")
    return sum(r["seconds"] for r in runs)


def _timed(runner: Runner, paths: list[str], work: str, n: int) -> dict:
    """One timed run: its seconds, rows written, CPU, peak memory, load before and the
    workers' stages, or a ``note`` saying why it failed."""
    out = _fresh(work, f"n{n}")
    load = os.getloadavg()[0]
    try:
        with Usage() as usage, timed_run() as breakdown:
            t0 = time.perf_counter()
            rows = runner.run(paths, out)
            seconds = time.perf_counter() - t0
    except MemoryError:
        return {"note": "out of memory"}
    except Exception as exc:  # noqa: BLE001 - recorded as the run's result
        traceback.print_exc()
        return {"note": _short(exc)}
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "rows": rows, "peak_mb": usage.peak_mb, "cpu_s": usage.cpu_s,
            "load": load, "stages": breakdown.as_dict().get("workers", {})}


def _fresh(work: str, name: str) -> str:
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


if __name__ == "__main__":
    sys.exit(main())
