"""One interface for every command, and the registry the parser is built from.

A command is a :class:`Command`: its ``name``, ``help``, whether it runs Spark
(``spark``: then it takes ``--master``, ``--remote`` and ``--conf``), the arguments of its
own (:meth:`Command.add_arguments`) and :meth:`Command.run`, which returns the exit code.
Every command takes ``--quiet`` and ``--verbose``. The registry lists them in the
order ``sparkvision --help`` shows them (:func:`sparkvision.cli.main.registry`).
"""

from __future__ import annotations

import argparse
from typing import ClassVar

from sparkvision.cli import flags

#: the exit codes, said in cli/main.py's docstring
EXIT_OK, EXIT_FAILED_IMAGES, EXIT_USAGE, EXIT_RUN_FAILED = 0, 1, 2, 3


class Command:
    """Base of every ``sparkvision`` subcommand."""

    name: ClassVar[str]
    help: ClassVar[str]
    #: a longer description for the command's own --help (default: ``help``)
    description: ClassVar[str] = ""
    #: the command runs Spark and takes --master, --remote and --conf
    spark: ClassVar[bool] = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The command's own arguments (the shared ones are added by :func:`add_to`)."""

    def run(self, args: argparse.Namespace) -> int:
        raise NotImplementedError

    def failure_hint(self, args: argparse.Namespace) -> str:
        """What to tell the user after the run itself failed (exit code 3)."""
        return ""


def add_to(sub: argparse._SubParsersAction, command: Command) -> argparse.ArgumentParser:
    """The command's parser: its own arguments, then the shared flags."""
    parser = sub.add_parser(command.name, help=command.help,
                            description=command.description or command.help)
    command.add_arguments(parser)
    flags.add_common(parser)
    if command.spark:
        flags.add_spark(parser)
    parser.set_defaults(command_object=command)
    return parser
