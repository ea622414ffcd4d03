"""Benchmark results: the CSV, the derived ceiling, the chart and the markdown report.

Everything here works from ``results.csv`` alone, so ``sparkvision bench-report DIR``
redraws the chart and rewrites the report of any earlier sweep.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable

from sparkvision.bench.base import split_label
from sparkvision.bench.chart import plot

COLUMNS = ["mode", "kind", "n_images", "seconds", "images_per_s", "peak_rss_mb",
           "startup_s", "engine", "precision", "batch_size", "cores", "cpu_s", "load_1m",
           "status", "note", "stages", "runs_s"]
CEILING = "ceiling-decode+engine"
RESULTS = "results.csv"
CHART = "bench.png"
REPORT = "report.md"
ENVIRONMENT = "environment.json"

#: iterator's speed-up over each reference at 1000+ images that docs/benchmarks.md aims at.
TARGETS = {CEILING: 0.95, "seed": 4.0, "predict_batch_udf": 2.0, "ray": 1.5, "daft": 1.5}
#: the same for the iterator on another engine or precision (``iterator@ENGINE-PRECISION``):
#: against the fp32 ONNX Runtime iterator, its own decode+engine ceiling, and Spark's
#: predict_batch_udf (fp32 ONNX Runtime)
VARIANT_TARGETS = {"iterator": 1.8, CEILING: 0.92, "predict_batch_udf": 3.0}


def write_csv(rows: Iterable[dict], path: str) -> None:
    rows = list(rows)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    os.replace(tmp, path)


def read_csv(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key in ("n_images", "batch_size", "cores"):
            row[key] = int(row[key]) if row.get(key) else None
        for key in ("seconds", "images_per_s", "peak_rss_mb", "startup_s", "cpu_s", "load_1m"):
            row[key] = float(row[key]) if row.get(key) else None
    return rows


def with_derived(rows: list[dict]) -> list[dict]:
    """``rows`` plus one ``ceiling-decode+engine`` row per size where both ceilings ran:
    doing both jobs back to back with no overhead takes the sum of their times."""
    rows = [r for r in rows if split_label(r["mode"])[0] != CEILING]
    ok = {(r["mode"], r["n_images"]): r for r in rows if r["status"] == "ok"}
    derived = []
    for (mode, n), engine in sorted(ok.items(), key=lambda kv: kv[0][1]):
        decode = ok.get(("ceiling-decode", n))
        name, variant = split_label(mode)
        if name != "ceiling-engine" or decode is None:
            continue
        seconds = engine["seconds"] + decode["seconds"]
        cpu = (engine["cpu_s"] + decode["cpu_s"]
               if engine.get("cpu_s") is not None and decode.get("cpu_s") is not None else None)
        derived.append({
            **{c: engine.get(c) for c in ("engine", "precision", "batch_size", "cores")},
            "mode": f"{CEILING}@{variant}" if variant else CEILING, "kind": "ceiling",
            "n_images": n, "seconds": round(seconds, 3),
            "images_per_s": round(n / seconds, 2), "cpu_s": cpu, "status": "derived",
            "note": "ceiling-engine + ceiling-decode (seconds and CPU seconds added)",
        })
    return rows + derived


def _measured(rows: list[dict], mode: str, n: int) -> dict | None:
    for r in rows:
        if r["mode"] == mode and r["n_images"] == n and r["status"] in ("ok", "derived"):
            return r
    return None


def rate(rows: list[dict], mode: str, n: int) -> float | None:
    row = _measured(rows, mode, n)
    return row["images_per_s"] if row else None


def cpu_ms_per_image(row: dict) -> float | None:
    return row["cpu_s"] * 1000 / row["n_images"] if row.get("cpu_s") else None


def target_rows(rows: list[dict], *, mode: str = "iterator", min_n: int = 1000,
                targets: dict[str, float] | None = None) -> list[dict]:
    """For each size >= ``min_n``: ``mode``'s speed relative to each reference of
    ``targets`` (default TARGETS), in images/s (``ratio``) and in CPU time per image
    (``cpu_ratio``: theirs / mine)."""
    out = []
    for n in sorted({r["n_images"] for r in rows if r["n_images"] and r["n_images"] >= min_n}):
        mine = _measured(rows, mode, n)
        for ref, goal in (targets or TARGETS).items():
            theirs = _measured(rows, ref, n)
            ratio = cpu_ratio = None
            if mine and theirs:
                ratio = mine["images_per_s"] / theirs["images_per_s"]
                my_cpu, their_cpu = cpu_ms_per_image(mine), cpu_ms_per_image(theirs)
                if my_cpu and their_cpu:
                    cpu_ratio = their_cpu / my_cpu
            out.append({"n_images": n, "reference": ref, "target": goal, "ratio": ratio,
                        "cpu_ratio": cpu_ratio, "met": None if ratio is None else ratio >= goal})
    return out


def outside_rows(rows: list[dict]) -> list[dict]:
    """For each runner that is not a ceiling: the time it spends outside decode and engine,
    its seconds minus those of its own decode+engine ceiling (``iterator@VARIANT`` against
    ``ceiling-decode+engine@VARIANT``, the rest against the fp32 one) at each size both ran.

    With two sizes or more, ``seconds = per_run + per_image * n`` is fitted to those
    differences (least squares): ``per_image_ms`` is what each image costs beyond the
    ceiling, ``per_run_s`` what a run costs whatever its size (inside the timed part; the
    runner's start-up before it is ``startup_s``). ``share`` is the outside part of the
    runner's time at its largest size."""
    out = []
    for mode in sorted({r["mode"] for r in rows if r.get("kind") in ("mode", "peer")}):
        _, variant = split_label(mode)
        ceiling = f"{CEILING}@{variant}" if variant else CEILING
        pairs = []
        for n in sorted({r["n_images"] for r in rows if r["mode"] == mode and r["n_images"]}):
            mine, ref = _measured(rows, mode, n), _measured(rows, ceiling, n)
            if mine and ref:
                pairs.append((n, mine["seconds"] - ref["seconds"], mine, ref))
        if not pairs:
            continue
        n, extra, mine, ref = pairs[-1]
        per_image = per_run = None
        if len(pairs) >= 2:
            xs = [p[0] for p in pairs]
            ys = [p[1] for p in pairs]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
                     / sum((x - mx) ** 2 for x in xs))
            per_image, per_run = slope * 1000, my - slope * mx
        cpu = (((mine["cpu_s"] or 0) - (ref["cpu_s"] or 0)) * 1000 / n
               if mine.get("cpu_s") and ref.get("cpu_s") else None)
        out.append({"mode": mode, "reference": ceiling, "n_images": n,
                    "outside_s": extra, "share": extra / mine["seconds"],
                    "ms_per_image": extra * 1000 / n, "cpu_ms_per_image": cpu,
                    "per_image_ms": per_image, "per_run_s": per_run,
                    "startup_s": mine.get("startup_s")})
    return out


def variant_target_rows(rows: list[dict], *, min_n: int = 1000) -> list[dict]:
    """For each ``iterator@VARIANT`` and size >= ``min_n``: its speed relative to each
    reference of VARIANT_TARGETS (the ceiling being the variant's own)."""
    variants = sorted({split_label(r["mode"])[1] for r in rows
                       if split_label(r["mode"])[0] == "iterator" and "@" in r["mode"]})
    out = []
    for variant in variants:
        mode = f"iterator@{variant}"
        for t in target_rows(rows, mode=mode, min_n=min_n, targets={
                (f"{CEILING}@{variant}" if ref == CEILING else ref): goal
                for ref, goal in VARIANT_TARGETS.items()}):
            out.append({**t, "mode": mode})
    return out


def _order(rows: list[dict]) -> list[str]:
    kinds = {"mode": 0, "peer": 1, "ceiling": 2}
    seen: dict[str, tuple] = {}
    for i, r in enumerate(rows):
        seen.setdefault(r["mode"], (kinds.get(r["kind"], 3), i))
    return sorted(seen, key=lambda mode: seen[mode])


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def markdown(rows: list[dict], environment: dict | None = None) -> str:
    """The report: throughput and time tables, start-up and memory, targets, problems."""
    sizes = sorted({r["n_images"] for r in rows if r["n_images"]})
    modes = _order(rows)
    lines = _environment_lines(environment) if environment else []
    lines += _table("Images per second", rows, modes, sizes, "images_per_s", 1)
    lines += _table("Seconds", rows, modes, sizes, "seconds", 2)
    lines += _runs_lines(rows, modes, sizes)
    lines += _table("CPU milliseconds per image (all processes of the run; robust to other load)",
                    rows, modes, sizes, cpu_ms_per_image, 1)
    lines += _startup_lines(rows, modes)
    ran = {r["mode"] for r in rows}  # a reference this sweep did not run gets no rows
    lines += _target_table("iterator against the targets (ratio of images/s)",
                           [t for t in target_rows(rows) if t["reference"] in ran], "iterator")
    lines += _target_table("other engines and precisions against the targets (ratio of "
                           "images/s; `iterator` is fp32 ONNX Runtime)",
                           variant_target_rows(rows), None)
    lines += _outside_lines(outside_rows(rows))
    lines += _stage_lines(rows, modes)
    lines += _problem_lines([r for r in rows if r["status"] in ("failed", "skipped")])
    return "\n".join(lines)


def _environment_lines(environment: dict) -> list[str]:
    facts = ", ".join(f"{k}: {environment[k]}" for k in
                      ("cpu", "cores", "memory_gb", "load_before", "load_after", "versions")
                      if k in environment)
    return [f"Command: `{environment.get('command', '')}`", "", f"Machine: {facts}", ""]


def _table(title: str, rows: list[dict], modes: list[str], sizes: list[int],
           key: str | Callable[[dict], float | None], digits: int) -> list[str]:
    """One table: a line per runner, a column per size; a cell says the runner's ``key``
    at that size, or its status where it did not run."""
    lines = [f"**{title}**", "",
             "| runner | " + " | ".join(str(n) for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for mode in modes:
        cells = []
        for n in sizes:
            row = next((r for r in rows if r["mode"] == mode and r["n_images"] == n), None)
            if row is None:
                cells.append("")
            elif row["status"] in ("ok", "derived"):
                cells.append(_fmt(key(row) if callable(key) else row[key], digits))
            else:
                cells.append(row["status"])
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _runs_lines(rows: list[dict], modes: list[str], sizes: list[int]) -> list[str]:
    """Every timed run's seconds, where a size was timed more than once (``--repeats``)."""
    runs = {(r["mode"], r["n_images"]): str(r.get("runs_s") or "") for r in rows}
    if not any(" " in value for value in runs.values()):
        return []
    lines = ["**Seconds of every timed run** (the tables keep the run of median time)", "",
             "| runner | " + " | ".join(str(n) for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for mode in modes:
        lines.append(f"| {mode} | "
                     + " | ".join(runs.get((mode, n), "").replace(" ", ", ") for n in sizes)
                     + " |")
    return [*lines, ""]


def _startup_lines(rows: list[dict], modes: list[str]) -> list[str]:
    lines = ["**Start-up (not in the times above) and peak memory at the largest size**", "",
             "| runner | start-up s | peak RSS MB | engine |", "|---|---:|---:|---|"]
    for mode in modes:
        mine = [r for r in rows if r["mode"] == mode and r["status"] == "ok"]
        last = max(mine, key=lambda r: r["n_images"]) if mine else None
        if last:
            lines.append(f"| {mode} | {_fmt(last['startup_s'], 2)} | "
                         f"{_fmt(last['peak_rss_mb'], 0)} | {last['engine']} "
                         f"{last.get('precision') or 'fp32'} |")
    return [*lines, ""]


def _outside_lines(outside: list[dict]) -> list[str]:
    if not outside:
        return []
    lines = ["**Outside decode and engine** (each runner's seconds minus its decode+engine "
             "ceiling's; per image and per run fitted over the sizes)", "",
             "| runner | images | outside s | share | ms per image | CPU ms per image | "
             "per image, fitted ms | per run, fitted s | start-up s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for o in outside:
        lines.append(f"| {o['mode']} | {o['n_images']} | {_fmt(o['outside_s'], 2)} | "
                     f"{o['share']:.0%} | {_fmt(o['ms_per_image'], 2)} | "
                     f"{_fmt(o['cpu_ms_per_image'], 2)} | {_fmt(o['per_image_ms'], 2)} | "
                     f"{_fmt(o['per_run_s'], 2)} | {_fmt(o['startup_s'], 2)} |")
    return [*lines, ""]


def stage_ms(row: dict) -> dict[str, float]:
    """The workers' core milliseconds per image by stage of a run (its ``stages`` column:
    :mod:`sparkvision.runtime.timing`), empty for a runner that does not report them."""
    try:
        stages = json.loads(row.get("stages") or "{}")
    except ValueError:
        return {}
    n = row.get("n_images") or 0
    return {k: v * 1000 / n for k, v in stages.items()} if n and stages else {}


def _stage_lines(rows: list[dict], modes: list[str]) -> list[str]:
    """For each runner that reports its workers' stages: core ms per image at its largest
    size, by stage; ``outside`` is core time of the model pass with no batch in a worker."""
    from sparkvision.runtime.timing import STAGES

    order = [*STAGES, "outside"]
    found = []
    for mode in modes:
        mine = [r for r in rows if r["mode"] == mode and r["status"] == "ok" and stage_ms(r)]
        if mine:
            last = max(mine, key=lambda r: r["n_images"])
            found.append((mode, last["n_images"], stage_ms(last)))
    if not found:
        return []
    lines = ["**The workers' core milliseconds per image, by stage** (from the workers' own "
             "timers; `arrow`: between batches, outside sparkvision's code; `outside`: the "
             "model pass's cores with no batch in a Python worker)", "",
             "| runner | images | " + " | ".join(order) + " |",
             "|---|---:|" + "---:|" * len(order)]
    for mode, n, ms in found:
        lines.append(f"| {mode} | {n} | " + " | ".join(_fmt(ms.get(k), 2) for k in order)
                     + " |")
    return [*lines, ""]


def _problem_lines(problems: list[dict]) -> list[str]:
    """One line per runner, status and note, with the number of sizes it covers."""
    if not problems:
        return []
    lines = ["**Skipped or failed**", ""]
    seen = set()
    for r in problems:
        key = (r["mode"], r["status"], r["note"])
        if key in seen:
            continue
        seen.add(key)
        count = sum(1 for p in problems if (p["mode"], p["status"], p["note"]) == key)
        lines.append(f"- {r['mode']}: {r['status']} ({count} size(s)): {r['note']}")
    return [*lines, ""]


def _target_table(title: str, targets: list[dict], mode: str | None) -> list[str]:
    if not targets:
        return []
    who = "| runner " if mode is None else ""
    lines = [f"**{title}**", "",
             f"| images {who}| reference | target | {mode or 'runner'} / reference | met | "
             "same, by CPU time per image |",
             "|---:|" + ("---|" if mode is None else "") + "---|---:|---:|---|---:|"]
    for t in targets:
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else
                                               f"no ({t['ratio'] / t['target'] - 1:+.0%})")
        runner = f"| {t['mode']} " if mode is None else ""
        lines.append(f"| {t['n_images']} {runner}| {t['reference']} | {t['target']:g}x | "
                     f"{_fmt(t['ratio'], 2)} | {met} | {_fmt(t['cpu_ratio'], 2)} |")
    return [*lines, ""]


def write_report(folder: str) -> str:
    """Redraw ``bench.png`` and rewrite ``report.md`` from ``folder/results.csv``."""
    rows = with_derived(read_csv(os.path.join(folder, RESULTS)))
    environment = None
    env_path = os.path.join(folder, ENVIRONMENT)
    if os.path.isfile(env_path):
        with open(env_path, encoding="utf-8") as fh:
            environment = json.load(fh)
    plot(rows, os.path.join(folder, CHART), _order(rows))
    text = markdown(rows, environment)
    with open(os.path.join(folder, REPORT), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return text


DOC_START = "<!-- bench-report:start -->"
DOC_END = "<!-- bench-report:end -->"


def update_doc(folder: str, doc: str) -> None:
    """Put ``folder``'s report between the bench-report markers of the markdown file
    ``doc`` (the rest of the page is left as it is)."""
    from sparkvision.errors import ConfigError

    with open(os.path.join(folder, REPORT), encoding="utf-8") as fh:
        report = fh.read().strip()
    with open(doc, encoding="utf-8") as fh:
        text = fh.read()
    if text.count(DOC_START) != 1 or text.count(DOC_END) != 1:
        raise ConfigError(
            f"'{doc}' needs one line '{DOC_START}' and one line '{DOC_END}' around the part "
            f"to replace; found {text.count(DOC_START)} and {text.count(DOC_END)}"
        )
    head, rest = text.split(DOC_START)
    _, tail = rest.split(DOC_END)
    with open(doc, "w", encoding="utf-8") as fh:
        fh.write(f"{head}{DOC_START}\n{report}\n{DOC_END}{tail}")

