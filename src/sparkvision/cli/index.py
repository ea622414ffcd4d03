"""``sparkvision index``: an approximate index of an ``embed`` output, for
``sparkvision search INDEX`` to answer from in one process."""

from __future__ import annotations

import argparse

from sparkvision.cli import flags
from sparkvision.cli.command import Command


class IndexCommand(Command):
    name = "index"
    help = "build an approximate nearest-neighbour index of an 'embed' output for fast search"
    description = (help + ": an HNSW graph (faiss) built in this process from the vectors, "
                   "read with Spark; its recall@10 against exact search is measured on "
                   "held-out vectors and printed. 'sparkvision search INDEX' then answers "
                   "from it. Needs the index extra: pip install 'sparkvision[index]'")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from sparkvision.photosearch.index import IndexSettings

        default = IndexSettings()
        p = parser
        p.add_argument("vectors", metavar="VECTORS", help="the output of 'sparkvision embed' "
                       "(a table of path and embedding)")
        p.add_argument("--out", required=True, metavar="INDEX", help="the index folder to "
                       "write: the index, the paths, and _sparkvision_index.json")
        p.add_argument("--connections", type=int, default=default.connections, metavar="M",
                       help=f"links per vector in the graph (default {default.connections})")
        p.add_argument("--ef-construction", type=int, default=default.ef_construction,
                       metavar="N", help="candidates kept while linking (default "
                       f"{default.ef_construction}); more builds slower and finds more")
        p.add_argument("--ef-search", type=int, default=default.ef_search, metavar="N",
                       help="candidates kept while searching, recorded for search (default "
                       f"{default.ef_search}); more answers slower and finds more")
        p.add_argument("--recall-queries", type=int, default=200, metavar="N",
                       help="vectors held out to measure recall@10 (default 200)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --out")

    def run(self, args: argparse.Namespace) -> int:
        """Run ``sparkvision index`` with parsed ``args``; prints what was built."""
        from sparkvision.photosearch.index import IndexSettings, build_index
        from sparkvision.photosearch.vectors import check_exists
        from sparkvision.runtime.session import open_session
        from sparkvision.storage.files import absolute_path

        settings = IndexSettings(connections=args.connections,
                                 ef_construction=args.ef_construction,
                                 ef_search=args.ef_search)
        vectors = absolute_path(args.vectors)
        check_exists(vectors)
        summary = build_index(vectors, absolute_path(args.out), settings=settings,
                              spark=open_session(flags.spark_options(args)),
                              overwrite=args.overwrite, recall_queries=args.recall_queries)
        print(summary.render())
        return 0
