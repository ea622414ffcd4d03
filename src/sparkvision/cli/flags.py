"""The flags every command shares, each declared once, and their translation into the
settings of :mod:`sparkvision.options`.

- :func:`add_common`: ``--quiet`` and ``--verbose`` (every command);
- :func:`add_spark`: ``--master``, ``--remote``, ``--conf`` (every command that runs Spark);
- :func:`add_model`: ``--model``, ``--engine``, ``--threads``, ``--batch-size`` and the
  "your own model" group, made from the fields of :class:`~sparkvision.options.ModelOptions`;
- :func:`add_inputs`: ``--extensions`` and ``--path-col``;
- :func:`add_mlflow`: ``--mlflow``, ``--mlflow-uri``, ``--experiment`` (train: ``--register``).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from typing import Any

from sparkvision.config import DEFAULT_BATCH_SIZE, ENGINE_CHOICES
from sparkvision.models import list_models
from sparkvision.models.logged import fetch, is_model_uri
from sparkvision.options import (
    ModelOptions,
    ModelRequest,
    SparkOptions,
    StorageOptions,
    model_option_fields,
    parse_extensions,
)

#: ModelOptions fields that say how a classifier's output becomes labels: commands that
#: only embed (embed, train, dedup) leave them out
HEAD_OPTIONS = ("labels", "labels_file", "prompt", "threshold", "from_logits")


def conf_pair(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> ``(KEY, VALUE)`` for ``--conf``.

    >>> conf_pair("spark.task.cpus=2")
    ('spark.task.cpus', '2')
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE (e.g. spark.task.cpus=2); found {text!r}")
    return key.strip(), value


def extensions_arg(text: str) -> tuple[str, ...]:
    """``--extensions jpg,PNG`` -> ``('.jpg', '.png')``."""
    found = parse_extensions(text)
    if not text.strip(", ."):
        raise argparse.ArgumentTypeError(f"expected extensions like jpg,png; found {text!r}")
    return found


def add_common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("output on the terminal")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar or progress lines (results and errors still print)")
    g.add_argument("--verbose", action="store_true",
                   help="show Spark's own start-up lines and warnings, and the traceback of "
                   "a failed run")


def add_spark(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("Spark")
    g.add_argument("--master", help="Spark master URL (default local[*,4]: all cores, "
                   "4 attempts per task), e.g. spark://host:7077")
    g.add_argument("--remote", metavar="sc://HOST:PORT",
                   help="run on a Spark Connect server instead (default: $SPARK_REMOTE when "
                   "set); its Python workers need sparkvision installed (docs/usage.md)")
    g.add_argument("--conf", action="append", type=conf_pair, default=[], metavar="KEY=VALUE",
                   help="a Spark setting for the session, repeatable (e.g. --conf "
                   "spark.task.cpus=2); under Spark Connect only session settings")
    g.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                   dest="storage_option",
                   help="an fsspec option for s3:// (gs://, az://...) inputs, repeatable, e.g. "
                   "anon=true or client_kwargs.endpoint_url=http://host:9000 (a dot makes a "
                   "nested key; JSON values are read as such); docs/storage.md")


def spark_options(args: argparse.Namespace) -> SparkOptions:
    return SparkOptions(master=args.master, remote=args.remote, conf=tuple(args.conf),
                        verbose=args.verbose,
                        storage=StorageOptions.parse(args.storage_option))


def add_inputs(parser: argparse.ArgumentParser, *, path_col: bool = True) -> None:
    parser.add_argument("--extensions", type=extensions_arg, metavar="EXT,EXT",
                        help="comma-separated extensions to pick up from folders and globs, "
                        "any case (default: jpg,jpeg,png,bmp,gif,webp,tif,tiff)")
    if path_col:
        parser.add_argument("--path-col", help="path column of a .csv/.parquet list file")


def add_mlflow(parser: argparse.ArgumentParser, *, register: bool = False) -> None:
    g = parser.add_argument_group("MLflow", "record the run in MLflow (pip install "
                                  "'sparkvision[mlflow]'; docs/mlflow.md)")
    g.add_argument("--mlflow", action="store_true", help="log this run (parameters, metrics, "
                   "artifacts) to MLflow")
    g.add_argument("--mlflow-uri", metavar="URI", help="tracking server (default: "
                   "$MLFLOW_TRACKING_URI); implies --mlflow")
    g.add_argument("--experiment", metavar="NAME", help="MLflow experiment (default: "
                   "$MLFLOW_EXPERIMENT_NAME, else MLflow's default); implies --mlflow")
    if register:
        g.add_argument("--register", metavar="NAME", help="also register the trained model: "
                       "a new version of registered model NAME (then --model "
                       "models:/NAME/VERSION); implies --mlflow")


def mlflow_wanted(args: argparse.Namespace) -> bool:
    """Whether to log to MLflow; the tracking server is checked now, before any work."""
    wanted = bool(getattr(args, "mlflow", False) or getattr(args, "mlflow_uri", None)
                  or getattr(args, "experiment", None) or getattr(args, "register", None))
    if wanted:
        from sparkvision.mlflow.tracking import connect

        connect(args.mlflow_uri, args.experiment)
    return wanted


def add_model(parser: argparse.ArgumentParser, *, default: str | None,
              head: bool = True) -> None:
    """``--model`` (default ``default``; ``None``: the command decides), ``--engine``,
    ``--threads``, ``--batch-size`` and one flag per model option (the head's options
    only where the command classifies)."""
    shown = default or "by task"
    parser.add_argument("--model", default=default,
                        help=f"built-in model: {', '.join(list_models())} (default {shown}), "
                        "or your own: a model file or folder, module:callable (see 'your "
                        "own model' below), or an MLflow model URI of a model sparkvision "
                        "logged: models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                        help="inference engine (default auto: onnx for the built-in models, "
                        "the one its format runs on for yours; for --precision int8 or bf16 "
                        "the fastest installed: openvino, else onnx)")
    parser.add_argument("--threads", type=int, help="engine threads per task (default: "
                        "spark.task.cpus, so concurrent tasks never oversubscribe the cores)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"images per model call (default {DEFAULT_BATCH_SIZE})")
    g = parser.add_argument_group(
        "your own model",
        "--model may also be a Keras (.keras/.h5), TorchScript or torch (.pt/.pth) or ONNX "
        "(.onnx) file, a Hugging Face folder, or module:callable returning a "
        "torch.nn.Module. Defaults are read from the model where it says them; see "
        "docs/byo-models.md")
    added = []
    for f in model_option_fields():
        meta = f.metadata
        if not meta.get("flag") or (not head and f.name in HEAD_OPTIONS):
            continue
        added.append(f.name)
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool" or f.default is False:
            g.add_argument(flag, action="store_true", help=meta["help"])
            continue
        default = None if f.default is None else f.default
        g.add_argument(flag, choices=meta.get("choices"), metavar=meta.get("metavar"),
                       default=default, help=meta["help"])
    # which options this command has flags for (dedup's --threshold is not the model's)
    parser.set_defaults(model_option_flags=tuple(added))


def model_options(args: argparse.Namespace) -> ModelOptions:
    """The :class:`ModelOptions` of the parsed flags."""
    values: dict[str, Any] = {}
    given = getattr(args, "model_option_flags", ())
    for f in fields(ModelOptions):
        # only the options this command has flags for: its --format is the output's, and
        # dedup's --threshold is a cosine
        if f.name not in given:
            continue
        value = getattr(args, f.name, None)
        if value is None or value == f.default:
            continue
        values[f.name] = (value == "yes") if f.name == "from_logits" else value
    if ":" in (getattr(args, "model", None) or "") or "arch" in values:
        _import_from_cwd()
    return ModelOptions(**values)


def model_request(args: argparse.Namespace, task: str) -> ModelRequest:
    if is_model_uri(args.model):
        fetch(args.model)  # a missing model or a silent server: exit 2 before any session
    return ModelRequest(model=args.model, task=task, engine=args.engine,
                        threads=args.threads, batch_size=args.batch_size,
                        options=model_options(args))


def _import_from_cwd() -> None:
    """Let ``module:callable`` name a module in the current directory, as ``python -m``
    does (the console script's own directory is first on sys.path instead)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
