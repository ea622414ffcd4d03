"""``sparkvision dedup``: its arguments, and the run that prints its summary."""

from __future__ import annotations

import argparse

from sparkvision.cli.model_flags import add_model_arguments, model_options
from sparkvision.cli.spark_flags import add_spark_arguments
from sparkvision.config import DEFAULT_BATCH_SIZE, ENGINE_CHOICES
from sparkvision.dedup.defaults import DEFAULT_THRESHOLD, METHODS
from sparkvision.sinks import FORMATS

COMMAND = "dedup"


def add_arguments(subparsers) -> None:
    """Add the ``dedup`` subcommand to ``subparsers``."""
    helptext = "find exact and near-duplicate photos and group them, one keeper per group"
    # "resolve": our --threshold (a cosine) replaces the model flags' sigmoid --threshold,
    # which an embedding model has no use for.
    p = subparsers.add_parser(COMMAND, help=helptext, description=helptext + ". Nothing is "
                              "ever deleted; see docs/dedup.md", conflict_handler="resolve")
    add_model_arguments(p)
    add_spark_arguments(p)
    p.add_argument("inputs", nargs="*", help="folders (recursive), globs, image files or "
                   "path-list files (optional with --vectors: then every path in it)")
    p.add_argument("--out", required=True, help="the groups table (a directory): path, "
                   "group, kind, keeper, similarity, reason; one row per image with a duplicate")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the "
                   "--out suffix, else parquet)")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, dest="similarity",
                   metavar="COSINE",
                   help=f"cosine similarity at or above which two images are near "
                   f"duplicates (default {DEFAULT_THRESHOLD}, measured in docs/dedup.md)")
    p.add_argument("--vectors", metavar="TABLE", help="reuse the output of 'sparkvision "
                   "embed' instead of computing embeddings (images missing from it are embedded)")
    p.add_argument("--move-duplicates-to", metavar="DIR", dest="move_to",
                   help="move every non-keeper into DIR/group-NNNNNN/ (verified copies, "
                   "never overwrites, manifest in DIR/_manifest.csv); keepers stay")
    p.add_argument("--dry-run", action="store_true",
                   help="with --move-duplicates-to: print what would move, move nothing")
    p.add_argument("--report", metavar="FILE", help="also write an HTML page showing each "
                   "group side by side")
    p.add_argument("--lsh", choices=METHODS, default="banded",
                   help="candidate pairs: banded (default) or mllib (approxSimilarityJoin; "
                   "slow beyond a few thousand images, see docs/dedup.md)")
    p.add_argument("--model", default="embedding", help="embedding model: the built-in "
                   "'embedding' (default) or your own (see 'your own model' below)")
    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help="inference engine (default auto, as for embed)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                   help=f"images per model call (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--threads", type=int, help="engine threads per task")
    p.add_argument("--extensions", help="comma-separated extensions to pick up from folders")
    p.add_argument("--path-col", help="path column of a .csv/.parquet list file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    """Run ``sparkvision dedup`` with parsed ``args``; prints the summary."""
    from sparkvision.dedup.job import DedupJob, run_dedup
    from sparkvision.storage.files import absolute_path

    job = DedupJob(
        inputs=tuple(args.inputs), out=absolute_path(args.out), format=args.format,
        threshold=args.similarity,
        vectors=absolute_path(args.vectors) if args.vectors else None, model=args.model,
        engine=args.engine, batch_size=args.batch_size,
        threads=args.threads, master=args.master, remote=args.remote, conf=tuple(args.conf),
        verbose=args.verbose,
        extensions=(tuple(e.strip() for e in args.extensions.split(","))
                    if args.extensions else None),
        path_col=args.path_col, overwrite=args.overwrite, move_to=args.move_to,
        dry_run=args.dry_run, method=args.lsh, model_options=model_options(args),
    )
    summary = run_dedup(job)
    print(summary.render())
    if args.report:
        from sparkvision.cli.report import session
        from sparkvision.htmlreport import write_report

        print(f"report: {write_report(job.out, args.report, spark=session(args, 'spark'))}")
    return 0
