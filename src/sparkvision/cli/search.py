"""``sparkvision search``: its arguments, and the run that prints its summary."""

from __future__ import annotations

import argparse

from sparkvision.cli import flags
from sparkvision.cli.command import Command
from sparkvision.sinks import FORMATS


class SearchCommand(Command):
    name = "search"
    help = "find the photos most like some query photos, or a sentence, in an 'embed' output"
    description = (help + ": exact top-k by cosine similarity, computed on Spark (or, "
                   "given an INDEX folder from 'sparkvision index', approximate top-k answered "
                   "from that index in this process); the queries are embedded with the model "
                   "the vectors were made with (a CLIP model folder for sentences)")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from sparkvision.photosearch.job import DEFAULT_K

        p = parser
        p.add_argument("vectors", metavar="VECTORS", help="the output of 'sparkvision embed' "
                       "(a table of path and embedding), or an INDEX folder written by "
                       "'sparkvision index' (answered from the index, approximately)")
        p.add_argument("--image", nargs="+", metavar="PHOTO", default=[],
                       help="the query photos: image files, folders (recursive) or globs; "
                       "each gets its own results")
        p.add_argument("--text", action="append", default=[], metavar="TEXT",
                       help="search by a sentence, repeatable (\"a dog on a beach\"); the "
                       "vectors must come from a CLIP model folder, whose text tower embeds "
                       "it")
        p.add_argument("--top", type=int, default=DEFAULT_K, dest="k", metavar="K",
                       help=f"results per query (default {DEFAULT_K})")
        p.add_argument("--out", required=True, help="the results table (a directory): query, "
                       "rank, path, similarity, error; K rows per query, one row with the "
                       "error for a query photo that could not be read")
        p.add_argument("--format", choices=FORMATS, help="output format (default: from the "
                       "--out suffix, else parquet)")
        p.add_argument("--report", metavar="FILE", help="also write an HTML page showing each "
                       "query beside its results")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
        flags.add_inputs(p, path_col=False)
        flags.add_model(p, default=None, head=False)
        model = next(a for a in p._actions if a.dest == "model")
        model.help = ("the model that embeds the query photos (default: the one the embed "
                      "run recorded beside VECTORS, else embedding); it must be the model "
                      "the vectors were made with")

    def run(self, args: argparse.Namespace) -> int:
        """Run ``sparkvision search`` with parsed ``args``; prints the summary."""
        from sparkvision.errors import ConfigError
        from sparkvision.photosearch.job import SearchJob, check_k, run_search
        from sparkvision.storage.files import absolute_path

        if not args.image and not args.text:
            raise ConfigError("search needs queries: pass `image` with image files, folders "
                              "or globs, or `text` with a sentence")
        check_k(args.k)
        request = flags.model_request(args, "embed")
        job = SearchJob(
            vectors=absolute_path(args.vectors), queries=tuple(args.image),
            texts=tuple(args.text),
            out=absolute_path(args.out), k=args.k, model=request, format=args.format,
            overwrite=args.overwrite, extensions=args.extensions,
            spark=flags.spark_options(args))
        summary = run_search(job)
        print(summary.render())
        if args.report:
            from sparkvision.cli.report import session
            from sparkvision.photosearch.report import write_search_report

            page = write_search_report(job.out, args.report, spark=session(args, "spark"))
            print(f"report: {page}")
        return 0
