"""The ``sparkvision watch`` command: its arguments, and the run (see :mod:`streaming`)."""

from __future__ import annotations

import argparse
import sys

from sparkvision.cli.model_flags import add_model_arguments, model_options
from sparkvision.cli.spark_flags import add_spark_arguments
from sparkvision.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EXTENSIONS,
    ENGINE_CHOICES,
    TASKS,
    ModelRequest,
)

DEFAULT_MODELS = {"classify": "catdog", "embed": "embedding"}


def add_watch_command(sub: argparse._SubParsersAction) -> None:
    helptext = "classify or embed new images as they land in a folder (Structured Streaming)"
    p = sub.add_parser("watch", help=helptext, description=helptext + ". Every image is "
                       "written once; stop with Ctrl-C and rerun the same command to go on.")
    p.add_argument("input_dir", help="the folder to watch (recursive)")
    p.add_argument("--out", required=True, help="output folder (Parquet, or a Delta table)")
    p.add_argument("--checkpoint", required=True, metavar="DIR",
                   help="where the stream records its progress; keep it with --out")
    p.add_argument("--task", choices=TASKS, default="classify",
                   help="classify (label, score) or embed (embedding); default classify")
    p.add_argument("--format", choices=("parquet", "delta"),
                   help="output format (default: delta for an --out ending in .delta, else "
                   "parquet; delta needs the delta extra)")
    p.add_argument("--once", action="store_true",
                   help="process the images there now, then stop (trigger availableNow)")
    p.add_argument("--interval", type=float, default=10.0, metavar="SECONDS",
                   help="how often to look for new files (default 10)")
    p.add_argument("--max-files-per-trigger", type=int, metavar="N",
                   help="at most N new files per micro-batch (default: all)")
    p.add_argument("--max-file-age", metavar="AGE", help="skip files older than the newest "
                   "by more than AGE, e.g. 7d (default: never skip)")
    p.add_argument("--model", help="default: catdog for classify, embedding for embed")
    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                   help=f"images per model call (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--threads", type=int, help="engine threads per task")
    p.add_argument("--extensions", help="comma-separated extensions to take (default: "
                   f"{','.join(e.lstrip('.') for e in DEFAULT_EXTENSIONS)})")
    add_spark_arguments(p)
    add_model_arguments(p)


def run_watch_command(args: argparse.Namespace) -> int:
    from sparkvision.sinks import format_for
    from sparkvision.storage.files import absolute_path
    from sparkvision.watch.stream import DEFAULT_MAX_FILE_AGE, WatchConfig, run_watch

    args.model = args.model or DEFAULT_MODELS[args.task]
    extensions = DEFAULT_EXTENSIONS
    if args.extensions:
        extensions = tuple("." + e.strip().lstrip(".").lower()
                           for e in args.extensions.split(",") if e.strip())
    config = WatchConfig(
        # absolute: a Spark Connect server resolves relative paths in its own folder
        input_dir=absolute_path(args.input_dir), out=absolute_path(args.out),
        checkpoint=absolute_path(args.checkpoint),
        format=format_for(args.out, args.format),
        once=args.once, interval=args.interval, max_files_per_trigger=args.max_files_per_trigger,
        max_file_age=args.max_file_age or DEFAULT_MAX_FILE_AGE, extensions=extensions,
        batch_size=args.batch_size, master=args.master, remote=args.remote,
        conf=tuple(args.conf), verbose=args.verbose)
    model = ModelRequest(model=args.model, task=args.task, engine=args.engine,
                         threads=args.threads, options=model_options(args))
    totals = run_watch(model, config, echo=lambda line: print(line, flush=True))
    how = "stopped" if totals.stopped_by_signal else "finished"
    print(f"{how}: {totals.images} images in {totals.batches} batches this run, "
          f"{totals.failed} failed; output in '{args.out}'. The checkpoint keeps the "
          "progress: the same command goes on with new images only.", file=sys.stderr)
    return 0
