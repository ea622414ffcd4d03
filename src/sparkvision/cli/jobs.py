"""``sparkvision classify`` and ``sparkvision embed``: a model over every image, into a
table (the work is in :func:`sparkvision.jobs.pipeline.run_job`)."""

from __future__ import annotations

import argparse
import sys

import sparkvision.cli.report as report_cli
from sparkvision.cli import flags
from sparkvision.cli.command import EXIT_FAILED_IMAGES, EXIT_OK, Command
from sparkvision.config import DEFAULT_EXECUTION, EXECUTIONS
from sparkvision.options import RunConfig
from sparkvision.sinks import FORMATS
from sparkvision.sinks.sort import MODES


class JobCommand(Command):
    """classify or embed: inputs -> model -> table, summary, optional sort and report."""

    task: str
    default_model: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("inputs", nargs="+", help="folders (recursive), globs, image files, or "
                       ".txt/.csv/.parquet files listing paths")
        p.add_argument("--out", required=True, help="where to write the results (a directory)")
        p.add_argument("--format", choices=FORMATS, help="output format (default: from the "
                       "--out suffix, else parquet)")
        p.add_argument("--execution", choices=EXECUTIONS, default=DEFAULT_EXECUTION,
                       help="how the model runs: python (one process, no Spark), udf "
                       "(row-at-a-time Spark UDF), pandas (scalar Pandas UDF), iterator "
                       f"(iterator Pandas UDF, default {DEFAULT_EXECUTION}); see "
                       "docs/benchmarks.md")
        flags.add_inputs(p)
        p.add_argument("--label-from", choices=("folder", "filename"),
                       help="true label from the parent folder or the file-name prefix "
                       "(cat.1.jpeg -> cat); prints accuracy and a confusion matrix")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
        p.add_argument("--resume", action="store_true", help="finish an earlier run into the "
                       "same --out: only inputs not yet in it are processed, no row is written "
                       "twice")
        p.add_argument("--chunk-size", type=int, metavar="N", help="images per committed chunk "
                       "of output (default: 16 tasks per core); a killed run keeps every "
                       "finished chunk. 0: one chunk")
        p.add_argument("--fail-on-error", action="store_true",
                       help="exit with status 1 if any image failed (default: 0, errors are "
                       "rows)")
        self.add_task_arguments(p)
        flags.add_model(p, default=self.default_model, head=self.task == "classify")
        flags.add_mlflow(p)

    def add_task_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Arguments only this task has."""

    def run(self, args: argparse.Namespace) -> int:
        from sparkvision.jobs.pipeline import run_job

        mlflow = flags.mlflow_wanted(args)
        run = RunConfig(
            out=args.out, format=args.format, execution=args.execution,
            label_from=args.label_from, sort_into=getattr(args, "sort_into", None),
            sort_mode=getattr(args, "sort_mode", "copy"), overwrite=args.overwrite,
            quiet=args.quiet, resume=args.resume, chunk_size=args.chunk_size,
            spark=flags.spark_options(args))
        summary = run_job(args.inputs, flags.model_request(args, self.task), run,
                          extensions=args.extensions, path_col=args.path_col)
        print(summary.render(verbose=args.verbose))
        report_cli.after_run(args, summary)
        if mlflow:
            from sparkvision.mlflow.tracking import log_job

            run_id = log_job(summary, report=getattr(args, "report", None), params={
                "task": self.task, "model": args.model, "engine": args.engine,
                "execution": args.execution, "batch_size": args.batch_size,
                "inputs": args.inputs, "out": args.out, "label_from": args.label_from})
            print(f"mlflow: run {run_id}")
        if args.fail_on_error and summary.failed:
            print(f"sparkvision: {summary.failed} of {summary.inputs} images failed "
                  "(--fail-on-error); their rows carry error and error_kind", file=sys.stderr)
            return EXIT_FAILED_IMAGES
        return EXIT_OK

    def failure_hint(self, args: argparse.Namespace) -> str:
        return (f"Finished chunks are kept in '{args.out}'; after fixing the cause, rerun the "
                "same command with --resume to process only what is missing. ")


class ClassifyCommand(JobCommand):
    name = task = "classify"
    help = "label every image (cat/dog/other by default)"
    default_model = "catdog"

    def add_task_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sort-into", metavar="DIR",
                            help="put each image into DIR/<label>/")
        parser.add_argument("--mode", choices=MODES, default="copy", dest="sort_mode",
                            help="how --sort-into places files (default copy; never "
                            "overwrites)")
        report_cli.add_classify_arguments(parser)


class EmbedCommand(JobCommand):
    name = task = "embed"
    help = "write a feature vector for every image"
    default_model = "embedding"
