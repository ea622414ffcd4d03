"""``sparkvision watch``: its arguments, and the run (see :mod:`sparkvision.watch.stream`)."""

from __future__ import annotations

import argparse
import sys

from sparkvision.cli import flags
from sparkvision.cli.command import Command
from sparkvision.config import TASKS

DEFAULT_MODELS = {"classify": "catdog", "embed": "embedding"}


class WatchCommand(Command):
    name = "watch"
    help = "classify or embed new images as they land in a folder (Structured Streaming)"
    description = (help + ". Every image is written once; stop with Ctrl-C and rerun the "
                   "same command to go on.")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("input_dir", help="the folder to watch (recursive)")
        p.add_argument("--out", required=True, help="output folder (Parquet, or a Delta "
                       "table)")
        p.add_argument("--checkpoint", required=True, metavar="DIR",
                       help="where the stream records its progress; keep it with --out")
        p.add_argument("--task", choices=TASKS, default="classify",
                       help="classify (label, score) or embed (embedding); default classify")
        p.add_argument("--format", choices=("parquet", "delta"),
                       help="output format (default: delta for an --out ending in .delta, "
                       "else parquet; delta needs the delta extra)")
        p.add_argument("--once", action="store_true",
                       help="process the images there now, then stop (trigger availableNow)")
        p.add_argument("--interval", type=float, default=10.0, metavar="SECONDS",
                       help="how often to look for new files (default 10)")
        p.add_argument("--max-files-per-trigger", type=int, metavar="N",
                       help="at most N new files per micro-batch (default: all)")
        p.add_argument("--max-file-age", metavar="AGE", help="skip files older than the "
                       "newest by more than AGE, e.g. 7d (default: never skip)")
        flags.add_inputs(p, path_col=False)
        flags.add_model(p, default=None)

    def run(self, args: argparse.Namespace) -> int:
        from sparkvision.config import DEFAULT_EXTENSIONS
        from sparkvision.sinks import format_for
        from sparkvision.storage.files import absolute_path
        from sparkvision.watch.stream import DEFAULT_MAX_FILE_AGE, WatchConfig, run_watch

        args.model = args.model or DEFAULT_MODELS[args.task]
        config = WatchConfig(
            # absolute: a Spark Connect server resolves relative paths in its own folder
            input_dir=absolute_path(args.input_dir), out=absolute_path(args.out),
            checkpoint=absolute_path(args.checkpoint),
            format=format_for(args.out, args.format), once=args.once, interval=args.interval,
            max_files_per_trigger=args.max_files_per_trigger,
            max_file_age=args.max_file_age or DEFAULT_MAX_FILE_AGE,
            extensions=args.extensions or DEFAULT_EXTENSIONS,
            spark=flags.spark_options(args))
        echo = (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))
        totals = run_watch(flags.model_request(args, args.task), config, echo=echo)
        how = "stopped" if totals.stopped_by_signal else "finished"
        print(f"{how}: {totals.images} images in {totals.batches} batches this run, "
              f"{totals.failed} failed; output in '{args.out}'. The checkpoint keeps the "
              "progress: the same command goes on with new images only.", file=sys.stderr)
        return 0
