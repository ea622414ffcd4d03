"""Command line: argument parsing and printing only; the work is in :mod:`pipeline`.

Exit codes (docs/reliability.md):

==  =========================================================================================
0   finished; every input has a row (per-image errors are in the output and the summary)
1   finished, but some images failed and ``--fail-on-error`` was given
2   bad usage, options or inputs, or workers whose Python lacks sparkvision: nothing was run
    (or nothing more, for ``--resume``)
3   the run itself failed (Spark job aborted, out of disk, a bug): committed chunks stay in
    ``--out``; rerun with ``--resume`` to finish. ``SPARKVISION_DEBUG=1`` prints the traceback
==  =========================================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

import sparkvision.cli.dedup as dedup_cli
import sparkvision.cli.report as report_cli
from sparkvision import __version__
from sparkvision.cli.bench import BENCH_COMMANDS, add_bench_commands, run_bench_command
from sparkvision.cli.model_flags import add_model_arguments, model_options
from sparkvision.cli.spark_flags import add_spark_arguments, spark_settings
from sparkvision.cli.watch import add_watch_command, run_watch_command
from sparkvision.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EXECUTION,
    ENGINE_CHOICES,
    EXECUTIONS,
    ModelRequest,
    RunConfig,
)
from sparkvision.errors import SparkVisionError
from sparkvision.models import list_models
from sparkvision.sinks import FORMATS
from sparkvision.sinks.sort import MODES

EXIT_OK, EXIT_FAILED_IMAGES, EXIT_USAGE, EXIT_RUN_FAILED = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparkvision",
        description="Run image models over image collections on Apache Spark.",
    )
    parser.add_argument("--version", action="version", version=f"sparkvision {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, helptext, default_model in (
        ("classify", "label every image (cat/dog/other by default)", "catdog"),
        ("embed", "write a feature vector for every image", "embedding"),
    ):
        _add_job_parser(sub, name, helptext, default_model)
    _add_train_parser(sub)
    add_watch_command(sub)
    add_bench_commands(sub)
    report_cli.add_arguments(sub)
    dedup_cli.add_arguments(sub)
    return parser


def _add_job_parser(sub: argparse._SubParsersAction, name: str, helptext: str,
                    default_model: str) -> None:
    """The ``classify`` or ``embed`` subcommand."""
    p = sub.add_parser(name, help=helptext, description=helptext)
    p.add_argument("inputs", nargs="+", help="folders (recursive), globs, image files, or "
                   ".txt/.csv/.parquet files listing paths")
    p.add_argument("--out", required=True, help="where to write the results (a directory)")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the "
                   "--out suffix, else parquet)")
    p.add_argument("--model", default=default_model,
                   help=f"built-in model: {', '.join(list_models())} (default "
                   f"{default_model}), or your own: a model file or module:callable "
                   "(see 'your own model' below)")
    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help="inference engine (default auto: onnx for the built-in models, the "
                   "one its format runs on for yours; for --precision int8 or bf16 the "
                   "fastest installed: openvino, else onnx)")
    p.add_argument("--execution", choices=EXECUTIONS, default=DEFAULT_EXECUTION,
                   help="how the model runs: python (one process, no Spark), "
                   "udf (row-at-a-time Spark UDF), pandas (scalar Pandas UDF), "
                   "iterator (iterator Pandas UDF, "
                   f"default {DEFAULT_EXECUTION}); see docs/benchmarks.md")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                   help=f"images per model call (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--threads", type=int, help="engine threads per task (default: "
                   "spark.task.cpus, so concurrent tasks never oversubscribe the cores)")
    p.add_argument("--extensions", help="comma-separated extensions to pick up from folders "
                   "and globs (default: jpg,jpeg,png,bmp,gif,webp,tif,tiff)")
    p.add_argument("--path-col", help="path column of a .csv/.parquet list file")
    p.add_argument("--label-from", choices=("folder", "filename"),
                   help="true label from the parent folder or the file-name prefix "
                   "(cat.1.jpeg -> cat); prints accuracy and a confusion matrix")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--resume", action="store_true", help="finish an earlier run into the same "
                   "--out: only inputs not yet in it are processed, no row is written twice")
    p.add_argument("--chunk-size", type=int, metavar="N", help="images per committed chunk "
                   "of output (default: 16 tasks per core); a killed run keeps every "
                   "finished chunk. 0: one chunk")
    p.add_argument("--fail-on-error", action="store_true",
                   help="exit with status 1 if any image failed (default: 0, errors are rows)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    if name == "classify":
        p.add_argument("--sort-into", metavar="DIR", help="put each image into DIR/<label>/")
        p.add_argument("--mode", choices=MODES, default="copy",
                       help="how --sort-into places files (default copy; never overwrites)")
        report_cli.add_classify_arguments(p)
    add_spark_arguments(p)
    add_model_arguments(p)


def _add_train_parser(sub: argparse._SubParsersAction) -> None:
    helptext = "fit a classifier for your own labels on a model's embeddings (Spark MLlib)"
    p = sub.add_parser("train", help=helptext, description=helptext)
    p.add_argument("inputs", nargs="+", help="labelled photos: folders (recursive), globs, "
                   "image files or path-list files")
    p.add_argument("--label-from", choices=("folder", "filename"), required=True,
                   help="the label of each photo: its parent folder, or its file-name prefix")
    p.add_argument("--out", required=True, help="the model folder to write (then: classify "
                   "--model OUT)")
    p.add_argument("--model", default="embedding", help="the backbone whose embeddings the "
                   "classifier reads: embedding (built-in, default) or your own model")
    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto", help="backbone engine")
    p.add_argument("--holdout", type=float, default=0.0, metavar="SHARE",
                   help="also measure on this share of the photos, kept out of fitting (e.g. 0.2)")
    p.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
    p.add_argument("--execution", choices=EXECUTIONS, default=DEFAULT_EXECUTION,
                   help="how the embeddings are computed (as for embed)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    p.add_argument("--extensions", help="comma-separated extensions to pick up from folders")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_spark_arguments(p)
    add_model_arguments(p)


def _run_train(args: argparse.Namespace) -> int:
    from sparkvision.train.training import TrainConfig, render_report, train_from_paths

    config = TrainConfig(out=args.out, model=args.model, engine=args.engine,
                         folds=args.folds, holdout=args.holdout, overwrite=args.overwrite)
    run = RunConfig(out=args.out, execution=args.execution, batch_size=args.batch_size,
                    quiet=args.quiet, **spark_settings(args))  # type: ignore[arg-type]
    extensions = [e.strip() for e in args.extensions.split(",")] if args.extensions else None
    report = train_from_paths(args.inputs, label_from=args.label_from, config=config, run=run,
                              extensions=extensions, model_options=model_options(args))
    print(render_report(report, args.out))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except SparkVisionError as exc:
        print(f"sparkvision: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sparkvision: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - anything else is a failed run, said plainly
        out = getattr(args, "out", None) if args.command in ("classify", "embed") else None
        hint = (f"Finished chunks are kept in '{out}'; after fixing the cause, rerun the same "
                "command with --resume to process only what is missing. " if out else "")
        print(f"sparkvision: run failed: {describe_failure(exc)}\n{hint}"
              "Set SPARKVISION_DEBUG=1 for the full traceback.", file=sys.stderr)
        if os.environ.get("SPARKVISION_DEBUG"):
            traceback.print_exc()
        return EXIT_RUN_FAILED


def describe_failure(exc: BaseException) -> str:
    """The type and the telling lines of ``exc`` (Spark's errors carry a JVM stack trace).

    >>> describe_failure(RuntimeError("disk full\\n  at x.y(Z.java:1)"))
    'RuntimeError: disk full'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("at ", "File ", "...", "Traceback"))
             and not line.startswith("An error occurred while calling")]
    telling = [line.removeprefix(": ").split(". Consider setting")[0] for line in lines
               if "Caused by" in line or "Job aborted" in line]
    picked = list(dict.fromkeys(telling[:2] or lines[:1]))
    text = " | ".join(line[:300] for line in picked) or "(no message)"
    return f"{type(exc).__name__}: {text}"


def _run(args: argparse.Namespace) -> int:
    if args.command in BENCH_COMMANDS:
        return run_bench_command(args)
    if args.command == "train":
        return _run_train(args)
    if args.command in (report_cli.COMMAND, dedup_cli.COMMAND):
        return (report_cli if args.command == report_cli.COMMAND else dedup_cli).run(args)
    if args.command == "watch":
        return run_watch_command(args)
    from sparkvision.jobs.pipeline import run_job

    model = ModelRequest(model=args.model, task=args.command, engine=args.engine,
                         threads=args.threads, options=model_options(args))
    run = RunConfig(
        out=args.out, format=args.format, execution=args.execution,
        batch_size=args.batch_size, label_from=args.label_from,
        sort_into=getattr(args, "sort_into", None), sort_mode=getattr(args, "mode", "copy"),
        overwrite=args.overwrite, quiet=args.quiet, resume=args.resume,
        chunk_size=args.chunk_size, **spark_settings(args),  # type: ignore[arg-type]
    )
    extensions = [e.strip() for e in args.extensions.split(",")] if args.extensions else None
    summary = run_job(args.inputs, model, run, extensions=extensions, path_col=args.path_col)
    print(summary.render())
    report_cli.after_run(args, summary)
    if args.fail_on_error and summary.failed:
        print(f"sparkvision: {summary.failed} of {summary.inputs} images failed "
              "(--fail-on-error); their rows carry error and error_kind", file=sys.stderr)
        return EXIT_FAILED_IMAGES
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
