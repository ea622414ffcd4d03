"""``sparkvision dedup``: its arguments, and the run that prints its summary."""

from __future__ import annotations

import argparse

from sparkvision.cli import flags
from sparkvision.cli.command import Command
from sparkvision.dedup.defaults import DEFAULT_THRESHOLD, METHODS
from sparkvision.sinks import FORMATS


class DedupCommand(Command):
    name = "dedup"
    help = "find exact and near-duplicate photos and group them, one keeper per group"
    description = help + ". Nothing is ever deleted; see docs/dedup.md"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("inputs", nargs="*", help="folders (recursive), globs, image files or "
                       "path-list files (optional with --vectors: then every path in it)")
        p.add_argument("--out", required=True, help="the groups table (a directory): path, "
                       "group, kind, keeper, similarity, reason; one row per image with a "
                       "duplicate")
        p.add_argument("--format", choices=FORMATS, help="output format (default: from the "
                       "--out suffix, else parquet)")
        # --threshold is the old name; the model flags' --threshold (a sigmoid cut) is not
        # offered here, an embedding model has no use for it
        p.add_argument("--similarity", "--threshold", type=float, default=DEFAULT_THRESHOLD,
                       dest="threshold", metavar="COSINE",
                       help=f"cosine similarity at or above which two images are near "
                       f"duplicates (default {DEFAULT_THRESHOLD}, measured in docs/dedup.md; "
                       "--threshold is its old name)")
        p.add_argument("--vectors", metavar="TABLE", help="reuse the output of 'sparkvision "
                       "embed' instead of computing embeddings (images missing from it are "
                       "embedded)")
        p.add_argument("--move-duplicates-to", metavar="DIR", dest="move_to",
                       help="move every non-keeper into DIR/group-NNNNNN/ (verified copies, "
                       "never overwrites, manifest in DIR/_manifest.csv); keepers stay")
        p.add_argument("--dry-run", action="store_true",
                       help="with --move-duplicates-to: print what would move, move nothing")
        p.add_argument("--report", metavar="FILE", help="also write an HTML page showing each "
                       "group side by side")
        p.add_argument("--lsh", choices=METHODS, default="banded", dest="method",
                       help="candidate pairs: banded (default) or mllib (approxSimilarityJoin; "
                       "slow beyond a few thousand images, see docs/dedup.md)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
        flags.add_inputs(p)
        flags.add_model(p, default="embedding", head=False)

    def run(self, args: argparse.Namespace) -> int:
        """Run ``sparkvision dedup`` with parsed ``args``; prints the summary."""
        from sparkvision.dedup.job import DedupJob, run_dedup
        from sparkvision.storage.files import absolute_path

        job = DedupJob(
            inputs=tuple(args.inputs), out=absolute_path(args.out), format=args.format,
            threshold=args.threshold,
            vectors=absolute_path(args.vectors) if args.vectors else None,
            model=flags.model_request(args, "embed"), spark=flags.spark_options(args),
            extensions=args.extensions, path_col=args.path_col, overwrite=args.overwrite,
            move_to=args.move_to, dry_run=args.dry_run, method=args.method)
        summary = run_dedup(job)
        print(summary.render())
        if args.report:
            from sparkvision.cli.report import session
            from sparkvision.htmlreport import write_report

            print(f"report: {write_report(job.out, args.report, spark=session(args, 'spark'))}")
        return 0
