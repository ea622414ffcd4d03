"""Command-line flags saying where and how Spark runs: ``--master``, ``--remote``,
``--conf`` and ``--verbose`` (the same on classify, embed and train)."""

from __future__ import annotations

import argparse


def conf_pair(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> ``(KEY, VALUE)`` for ``--conf``.

    >>> conf_pair("spark.task.cpus=2")
    ('spark.task.cpus', '2')
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE (e.g. spark.task.cpus=2); found {text!r}"
        )
    return key.strip(), value


def add_spark_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("Spark")
    g.add_argument("--master", help="Spark master URL (default local[*,4]: all cores, "
                   "4 attempts per task), e.g. spark://host:7077")
    g.add_argument("--remote", metavar="sc://HOST:PORT",
                   help="run on a Spark Connect server instead (default: $SPARK_REMOTE when "
                   "set); its Python workers need sparkvision installed (docs/usage.md)")
    g.add_argument("--conf", action="append", type=conf_pair, default=[], metavar="KEY=VALUE",
                   help="a Spark setting for the session, repeatable (e.g. --conf "
                   "spark.task.cpus=2); under Spark Connect only session settings")
    g.add_argument("--verbose", action="store_true",
                   help="show Spark's own start-up lines and warnings")


def spark_settings(args: argparse.Namespace) -> dict[str, object]:
    """The :class:`~sparkvision.config.RunConfig` fields of these flags."""
    return {"master": args.master, "remote": args.remote, "conf": tuple(args.conf),
            "verbose": args.verbose}
