"""``sparkvision report OUT_DIR`` and ``classify --report FILE``: arguments and runs."""

from __future__ import annotations

import argparse
from typing import Any

from sparkvision.cli import flags
from sparkvision.cli.command import Command
from sparkvision.htmlreport.data import (
    DEFAULT_MAX_FAILED,
    DEFAULT_MAX_GROUPS,
    DEFAULT_MAX_THUMBS,
    DEFAULT_PER_LABEL,
)
from sparkvision.storage.files import absolute_path


class ReportCommand(Command):
    name = "report"
    help = "write an HTML page of a finished classify or dedup output"
    description = help + " (one self-contained file: thumbnails, charts, no network)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("output", help="the --out folder of a finished classify or dedup run")
        p.add_argument("--out", help="the HTML file to write (default OUTPUT/_report.html)")
        p.add_argument("--execution", choices=("spark", "python"),
                       help="read the table and make thumbnails on Spark, or in this process "
                       "(default: python for outputs of --execution python, else spark)")
        add_limits(p)

    def run(self, args: argparse.Namespace) -> int:
        """``sparkvision report OUTPUT``: write the page and print where it is."""
        from sparkvision.htmlreport.build import write_report

        # without flags the page decides: the python execution for outputs made by it
        given = args.execution == "spark" or flags.spark_options(args).given
        path = write_report(absolute_path(args.output), args.out,
                            spark=session(args, args.execution) if given else None,
                            execution=args.execution, **limits(args))
        print(f"report: {path}")
        return 0


def add_classify_arguments(parser: argparse.ArgumentParser) -> None:
    """``--report FILE`` (and the page limits) for ``classify``."""
    parser.add_argument("--report", metavar="FILE", help="after the run, write an HTML page "
                        "of it: facts, charts, thumbnails, failures (see README)")
    add_limits(parser)


def add_limits(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("report page limits")
    g.add_argument("--per-label", type=int, default=DEFAULT_PER_LABEL, metavar="N",
                   help=f"thumbnails per label, at most (default {DEFAULT_PER_LABEL})")
    g.add_argument("--max-thumbnails", dest="max_thumbs", type=int,
                   default=DEFAULT_MAX_THUMBS, metavar="N",
                   help=f"thumbnails on the page, at most (default {DEFAULT_MAX_THUMBS})")
    g.add_argument("--max-failed", type=int, default=DEFAULT_MAX_FAILED, metavar="N",
                   help=f"failed files listed, at most (default {DEFAULT_MAX_FAILED})")
    g.add_argument("--max-groups", type=int, default=DEFAULT_MAX_GROUPS, metavar="N",
                   help=f"duplicate groups shown, at most (default {DEFAULT_MAX_GROUPS})")


def session(args: argparse.Namespace, execution: str | None) -> Any:
    """The Spark session of the command's own flags (``--master``, ``--remote``, ``--conf``;
    neither: the active one, else ``$SPARK_REMOTE``, else local), or ``None`` for the
    python execution, which reads and draws in this process."""
    if execution == "python":
        return None
    from sparkvision.runtime.session import open_session

    return open_session(flags.spark_options(args))


def after_run(args: argparse.Namespace, summary) -> None:
    """After ``classify``/``embed``: record the run's facts beside its output, and write
    the page when ``--report`` was given."""
    from sparkvision.htmlreport.build import write_report
    from sparkvision.htmlreport.facts import record_run_facts
    from sparkvision.runtime.session import DEFAULT_MASTER

    record_run_facts(args.out, {
        "task": args.command, "model": args.model, "engine": args.engine,
        "precision": getattr(args, "precision", None), "device": getattr(args, "device", None),
        "execution": args.execution, "batch_size": args.batch_size,
        "master": args.master or ("none (one process)" if args.execution == "python"
                                  else DEFAULT_MASTER),
    })
    if getattr(args, "report", None):
        execution = "python" if args.execution == "python" else "spark"
        # absolute: a Spark Connect server reads relative paths in its own folder
        path = write_report(absolute_path(args.out), args.report,
                            spark=session(args, execution), execution=execution,
                            **limits(args))
        print(f"report: {path}")


def limits(args: argparse.Namespace) -> dict:
    return {"per_label": args.per_label, "max_thumbs": args.max_thumbs,
            "max_failed": args.max_failed, "max_groups": args.max_groups}
