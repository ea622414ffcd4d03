"""``sparkvision``: the parser made from the command registry, and what each exit code
means. Each command is a :class:`~sparkvision.cli.command.Command` in its own module.

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
import re
import sys
import traceback

from sparkvision._version import __version__
from sparkvision.cli.bench import BenchCommand, BenchReportCommand, MakeDatasetCommand
from sparkvision.cli.command import EXIT_RUN_FAILED, EXIT_USAGE, Command, add_to
from sparkvision.cli.dedup import DedupCommand
from sparkvision.cli.index import IndexCommand
from sparkvision.cli.jobs import ClassifyCommand, EmbedCommand
from sparkvision.cli.report import ReportCommand
from sparkvision.cli.search import SearchCommand
from sparkvision.cli.train import TrainCommand
from sparkvision.cli.watch import WatchCommand
from sparkvision.errors import SparkVisionError


def registry() -> list[Command]:
    """Every command, in the order ``--help`` lists them: a new command is one
    :class:`~sparkvision.cli.command.Command` subclass and one entry here."""
    return [ClassifyCommand(), EmbedCommand(), TrainCommand(), WatchCommand(),
            MakeDatasetCommand(), BenchCommand(), BenchReportCommand(), ReportCommand(),
            DedupCommand(), SearchCommand(), IndexCommand()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparkvision",
        description="Run image models over image collections on Apache Spark.",
    )
    parser.add_argument("--version", action="version", version=f"sparkvision {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in registry():
        add_to(sub, command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command_object
    try:
        return command.run(args)
    except SparkVisionError as exc:
        print(f"sparkvision: error: {as_flags(str(exc), parser, args.command)}",
              file=sys.stderr)
        if os.environ.get("SPARKVISION_DEBUG"):
            traceback.print_exc()
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sparkvision: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - anything else is a failed run, said plainly
        failure = as_flags(describe_failure(exc), parser, args.command)
        print(f"sparkvision: run failed: {failure}\n{command.failure_hint(args)}"
              "Set SPARKVISION_DEBUG=1 (or --verbose) for the full traceback.",
              file=sys.stderr)
        if os.environ.get("SPARKVISION_DEBUG") or args.verbose:
            traceback.print_exc()
        return EXIT_RUN_FAILED


def flag_names(parser: argparse.ArgumentParser, command: str) -> dict[str, str]:
    """``{parameter: flag}`` of a command: each option's ``dest`` and its long name."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    names: dict[str, str] = {}
    for action in sub.choices[command]._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs:
            names.setdefault(action.dest, longs[0])
    return names


def as_flags(message: str, parser: argparse.ArgumentParser, command: str) -> str:
    """A library message in the command line's words: each parameter it names in
    backquotes (```batch_size```) becomes the command's flag (``--batch-size``).

    >>> as_flags("`batch_size` must be >= 1", build_parser(), "classify")
    '--batch-size must be >= 1'
    """
    names = flag_names(parser, command)
    return re.sub(r"`(\w+)`", lambda m: names.get(m[1], m[1]), message)


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
