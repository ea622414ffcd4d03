"""The benchmark subcommands of ``sparkvision``: make-dataset, bench, bench-report.

Argument parsing and printing only; the work is in :mod:`.dataset`, :mod:`.sweep` and
:mod:`.results`.
"""

from __future__ import annotations

import argparse

from sparkvision.cli.command import Command

DEFAULT_SIZES = "100,500,1000,1500,2000,2500,3000"


class MakeDatasetCommand(Command):
    name = "make-dataset"
    help = "write a synthetic JPEG set for benchmarks"
    description = ("Write N deterministic synthetic JPEGs (cat.K.jpg / dog.K.jpg) with a "
                   "photo-like size mix; see docs/benchmarks.md.")
    spark = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("--n", type=int, required=True, help="number of images")
        p.add_argument("--out", required=True, help="folder to write them to")
        p.add_argument("--seed", type=int, default=0,
                       help="the same seed gives the same bytes (default 0)")

    def run(self, args: argparse.Namespace) -> int:
        from sparkvision.bench.dataset import describe, make_dataset

        paths = make_dataset(args.n, args.out, seed=args.seed)
        counts = describe(args.out)
        print(f"{len(paths)} images in {args.out}: " + ", ".join(
            f"{k} {v:,}" for k, v in counts.items() if k != "images"))
        return 0


class BenchCommand(Command):
    name = "bench"
    help = "time the execution modes (and peers) on 100..3000 images"
    description = ("Time sparkvision's execution modes, the machine's ceilings and "
                   "optionally peer systems on the same images; writes results.csv, "
                   "bench.png and report.md into --out. See docs/benchmarks.md.")
    #: the bench makes its own Spark sessions: how they start is part of what it measures
    spark = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from sparkvision.bench.modes import MODE_RUNNERS
        from sparkvision.bench.registry import PEER_RUNNERS

        p = parser
        p.add_argument("--out", required=True, help="folder for results.csv, bench.png, report.md")
        p.add_argument("--sizes", default=DEFAULT_SIZES,
                       help=f"image counts (default {DEFAULT_SIZES})")
        p.add_argument("--modes", default=",".join(MODE_RUNNERS),
                       help=f"execution modes to time (default {','.join(MODE_RUNNERS)})")
        p.add_argument("--peers", nargs="?", const=",".join(PEER_RUNNERS), default="",
                       help=f"also time peer systems: all ({','.join(PEER_RUNNERS)}) or a "
                       "comma-separated choice")
        p.add_argument("--engines", default="onnx",
                       help="engines for sparkvision's modes and the engine ceiling, e.g. "
                       "onnx,openvino (default onnx; the peers always run ONNX Runtime fp32)")
        p.add_argument("--precisions", default="fp32",
                       help="precisions for the same, e.g. fp32,int8 (default fp32); each "
                       "engine runs those it supports")
        p.add_argument("--no-ceiling", action="store_true",
                       help="skip the ceiling rows (engine alone, decode alone)")
        p.add_argument("--data", help="data set folder (default OUT/images; made if missing)")
        p.add_argument("--cores", type=int, help="cores every runner may use (default: all)")
        p.add_argument("--batch-size", type=int, default=32,
                       help="images per model call (default 32)")
        p.add_argument("--warmup", type=int, default=None,
                       help="images of each runner's untimed warm-up run (default: one "
                            "model batch per core)")
        p.add_argument("--repeats", type=int, default=1,
                       help="timed runs of each runner per size; the run of median time is "
                       "kept and every run's seconds recorded (default 1)")
        p.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
        p.add_argument("--budget-s", type=float, default=0.0,
                       help="skip a runner's larger sizes once its timed runs took this long "
                       "(0: never)")
        p.add_argument("--timeout-s", type=float, default=3600.0,
                       help="stop a runner's process after this long; its rows say so "
                       "(default 3600)")

    def run(self, args: argparse.Namespace) -> int:
        from sparkvision.bench.modes import CEILING_RUNNERS, MODE_RUNNERS
        from sparkvision.bench.registry import PEER_RUNNERS
        from sparkvision.bench.sweep import parse_list, parse_sizes, parse_variants, run_bench

        runners = parse_list(args.modes, what="--modes", allowed=MODE_RUNNERS)
        if args.peers:
            runners += parse_list(args.peers, what="--peers", allowed=PEER_RUNNERS)
        if not args.no_ceiling:
            runners += list(CEILING_RUNNERS)
        run_bench(sizes=parse_sizes(args.sizes), runners=runners, out=args.out,
                  data=args.data, cores=args.cores, batch_size=args.batch_size,
                  warmup=args.warmup, repeats=args.repeats, seed=args.seed,
                  budget_s=args.budget_s,
                  timeout_s=args.timeout_s,
                  variants=parse_variants(args.engines, args.precisions),
                  echo=(lambda line: None) if args.quiet else print)
        if args.quiet:
            print(f"results: {args.out}")
        return 0


class BenchReportCommand(Command):
    name = "bench-report"
    help = "redraw bench.png and report.md from results.csv"
    description = ("Regenerate bench.png and report.md of a bench --out folder from its "
                   "results.csv and print the report.")
    spark = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("folder", help="the --out folder of an earlier sparkvision bench")
        p.add_argument("--doc", help="also put the report into this markdown file, between its "
                       "<!-- bench-report:start --> and <!-- bench-report:end --> lines")

    def run(self, args: argparse.Namespace) -> int:
        from sparkvision.bench.results import update_doc, write_report

        report = write_report(args.folder)
        if not args.quiet:
            print(report)
        if args.doc:
            update_doc(args.folder, args.doc)
            print(f"updated {args.doc}")
        return 0
