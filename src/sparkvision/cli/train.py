"""``sparkvision train``: a classifier for your own labels on a model's embeddings."""

from __future__ import annotations

import argparse

from sparkvision.cli import flags
from sparkvision.cli.command import Command
from sparkvision.config import DEFAULT_EXECUTION, EXECUTIONS
from sparkvision.options import RunConfig
from sparkvision.train.head_fit import DRIVER_ROWS, FIT_ON


class TrainCommand(Command):
    name = "train"
    help = "fit a classifier for your own labels on a model's embeddings"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        p = parser
        p.add_argument("inputs", nargs="+", help="labelled photos: folders (recursive), globs, "
                       "image files or path-list files")
        p.add_argument("--label-from", choices=("folder", "filename"), required=True,
                       help="the label of each photo: its parent folder, or its file-name "
                       "prefix")
        p.add_argument("--out", required=True, help="the model folder to write (then: "
                       "classify --model OUT)")
        p.add_argument("--holdout", type=float, default=0.0, metavar="SHARE",
                       help="also measure on this share of the photos, kept out of fitting "
                       "(e.g. 0.2)")
        p.add_argument("--folds", type=int, default=3, help="cross-validation folds "
                       "(default 3)")
        p.add_argument("--fit-on", choices=FIT_ON, default="auto",
                       help="where the classifier is fitted: the driver (numpy), Spark MLlib, "
                       f"or auto: the driver up to {DRIVER_ROWS:,} images (default)")
        p.add_argument("--execution", choices=EXECUTIONS, default=DEFAULT_EXECUTION,
                       help="how the embeddings are computed (as for embed)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
        flags.add_inputs(p)
        flags.add_model(p, default="embedding", head=False)
        flags.add_mlflow(p, register=True)

    def run(self, args: argparse.Namespace) -> int:
        from sparkvision.train.training import TrainConfig, render_report, train_from_paths

        mlflow = flags.mlflow_wanted(args)
        config = TrainConfig(out=args.out, model=flags.model_request(args, "embed"),
                             folds=args.folds, holdout=args.holdout, overwrite=args.overwrite,
                             fit_on=args.fit_on)
        run = RunConfig(out=args.out, execution=args.execution, quiet=args.quiet,
                        spark=flags.spark_options(args))
        report = train_from_paths(args.inputs, label_from=args.label_from, config=config,
                                  run=run, extensions=args.extensions, path_col=args.path_col)
        print(render_report(report, args.out))
        if mlflow:
            from sparkvision.mlflow.tracking import log_training

            info = log_training(report, args.out, register=args.register, params={
                "model": args.model, "engine": args.engine, "execution": args.execution,
                "batch_size": args.batch_size, "inputs": args.inputs,
                "label_from": args.label_from})
            version = getattr(info, "registered_model_version", None)
            print(f"mlflow: run {info.run_id}, model {info.model_uri}"
                  + (f", registered as models:/{args.register}/{version}" if version else ""))
        return 0
