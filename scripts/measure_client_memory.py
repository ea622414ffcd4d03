"""Peak memory (RSS) of the sparkvision process itself (the client: the command's Python,
not its JVM or the Spark Python workers) against the number of inputs.

For each size N a path-list file of N paths of files that do not exist is written, and

    sparkvision classify LIST --out OUT --quiet          (local[*], the default master)

runs in a child process. A thread reads that one process's ``VmHWM`` (its peak RSS so
far, kept by the kernel) from ``/proc/PID/status`` every 20 ms until it ends; the JVM and
the workers are other processes and are not counted. The output is then checked: N rows,
each path of the list once, each an error row of kind ``missing``. A table is printed and
written to WORKDIR/client_memory.json. The figures in docs/storage.md come from:

    .venv/bin/python scripts/measure_client_memory.py /tmp/sv-client-memory

Usage: python scripts/measure_client_memory.py WORKDIR [--sizes 2000 1000000]
       [--master URL] [--label-from folder]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pyarrow.compute as pc
import pyarrow.dataset as ds

BIN = os.path.join(os.path.dirname(sys.executable), "sparkvision")


def write_list(path: str, n: int) -> str:
    """A path-list file of ``n`` distinct paths under a folder that does not exist."""
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for i in range(n):
                label = "cat" if i % 2 else "dog"
                fh.write(f"/sv-nowhere/photos/{label}/img-{i:08d}.jpg\n")
        os.replace(tmp, path)
    return path


def peak_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_one(listing: str, out: str, extra: list[str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    command = [BIN, "classify", listing, "--out", out, "--quiet", *extra]
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def watch() -> None:
        while proc.poll() is None:
            value = peak_kib(proc.pid)
            if value:
                peak[0] = max(peak[0], value)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, stderr = proc.communicate()
    watcher.join()
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    table = ds.dataset(out, format="parquet").to_table(columns=["path", "error_kind"])
    kinds = pc.value_counts(table["error_kind"]).to_pylist()
    return {"seconds": round(seconds, 1), "client_peak_rss_mb": round(peak[0] / 1024, 1),
            "rows": table.num_rows,
            "unique_paths": len(pc.unique(table["path"])),
            "error_kinds": {k["values"]: k["counts"] for k in kinds},
            "command": " ".join(command)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 1_000_000])
    parser.add_argument("--master", help="passed to sparkvision (default: local[*])")
    parser.add_argument("--label-from", choices=("folder", "filename"))
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    extra = ["--master", args.master] if args.master else []
    extra += ["--label-from", args.label_from] if args.label_from else []
    results = []
    for n in args.sizes:
        listing = write_list(os.path.join(args.workdir, f"missing-{n}.txt"), n)
        result = {"inputs": n, **run_one(listing, os.path.join(args.workdir, f"out-{n}"),
                                         extra)}
        ok = (result["rows"] == n and result["unique_paths"] == n
              and result["error_kinds"] == {"missing": n})
        result["every_input_once"] = ok
        results.append(result)
        print(f"{n:>9} inputs: {result['seconds']:>7} s, client peak RSS "
              f"{result['client_peak_rss_mb']:>6} MB, rows {result['rows']}, "
              f"every input once: {ok}", flush=True)
    base = results[0]["client_peak_rss_mb"]
    print("\n| inputs | wall s | client peak RSS MB | x first | rows | each once |")
    print("|---:|---:|---:|---:|---:|:---:|")
    for r in results:
        print(f"| {r['inputs']:,} | {r['seconds']} | {r['client_peak_rss_mb']} | "
              f"{r['client_peak_rss_mb'] / base:.2f} | {r['rows']:,} | "
              f"{'yes' if r['every_input_once'] else 'NO'} |")
    with open(os.path.join(args.workdir, "client_memory.json"), "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2)
    if not all(r["every_input_once"] for r in results):
        raise SystemExit("some input is missing or repeated in an output")


if __name__ == "__main__":
    main()
