"""``sparkvision train``: a linear classifier on a backbone's embeddings, fitted on Spark.

1. The labelled inputs are checked before any Spark job: at least two classes, at least
   :data:`MIN_PER_CLASS` images each, a label for every path.
2. The embeddings are computed by the embed job itself (:func:`sparkvision.jobs.pipeline.run_job`,
   same executions, errors and progress) into ``MODEL_DIR/features``; images that fail are
   reported and left out.
3. A multinomial logistic regression is fitted (L2, on the features as they are: see
   :func:`sparkvision.train.head_fit.logistic_regression`), on the driver with numpy up to
   :data:`~sparkvision.train.head_fit.DRIVER_ROWS` images, on Spark MLlib beyond (``fit_on``).
   The regularisation is chosen by
   k-fold cross-validation on the training rows only (lowest out-of-fold log-loss; folds
   stratified by class, in the order of a hash of the path); the out-of-fold predictions of
   the chosen one give the reported accuracy and confusion matrix. ``holdout`` keeps that
   share of each class out of all of it and measures the final model on them.
4. The head's weights, a card, the backbone's identity and hash, and ``report.json`` are
   written into ``MODEL_DIR`` (:mod:`sparkvision.models.trained`).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sparkvision.errors import ConfigError, InputError
from sparkvision.models.trained import FEATURES, REPORT, Backbone, backbone_sha256, write_model
from sparkvision.options import ModelRequest, RunConfig
from sparkvision.storage.files import absolute_path
from sparkvision.train.head_fit import FIT_ON, fit_head

MIN_PER_CLASS = 5


@dataclass(frozen=True)
class TrainConfig:
    """How to train: the backbone (a :class:`~sparkvision.options.ModelRequest` for
    embeddings: model, engine, batch size, options), folds, holdout share, and where to
    write."""

    out: str
    model: ModelRequest = field(default_factory=lambda: ModelRequest("embedding", "embed"))
    folds: int = 3
    holdout: float = 0.0
    overwrite: bool = False
    max_iter: int = 100
    fit_on: str = "auto"

    def __post_init__(self) -> None:
        if self.model.task != "embed":
            object.__setattr__(self, "model", self.model.with_(task="embed"))
        if self.folds < 2:
            raise ConfigError(f"`folds` must be >= 2; found {self.folds}")
        if not 0.0 <= self.holdout < 0.9:
            raise ConfigError(f"`holdout` must be within [0, 0.9); found {self.holdout}")
        if self.fit_on not in FIT_ON:
            raise ConfigError(f"`fit_on` must be one of {', '.join(FIT_ON)}; "
                              f"found {self.fit_on!r}")


def check_labels(paths: Sequence[str], labels: Sequence[str | None], *,
                 holdout: float = 0.0) -> dict[str, int]:
    """Images per class; a clear error for what cannot be trained on."""
    missing = [p for p, label in zip(paths, labels, strict=True) if not label]
    if missing:
        raise InputError(
            f"no label could be read from {len(missing)} of {len(paths)} paths, e.g. "
            f"{missing[0]!r}; expected a parent folder per class (`label_from` folder) or "
            "names like cat.1.jpg (`label_from` filename)"
        )
    return check_counts(Counter(label for label in labels if label), holdout=holdout)


def check_counts(counter: Counter[str] | dict[str, int], *, holdout: float = 0.0) -> dict[str, int]:
    """``counter`` (images per class) sorted by class, or a clear error."""
    counts = dict(sorted(counter.items()))
    if len(counts) < 2:
        raise InputError(
            f"training needs at least 2 classes; found {len(counts)} "
            f"({', '.join(counts) or 'none'}) in {sum(counts.values())} images"
        )
    need = int(np.ceil(MIN_PER_CLASS / (1.0 - holdout)))
    small = {c: n for c, n in counts.items() if n < need}
    if small:
        listed = ", ".join(f"{c} ({n})" for c, n in small.items())
        raise InputError(
            f"every class needs at least {need} images to train and cross-validate on"
            f"{' after the holdout' if holdout else ''}; too few: {listed}. Add images or "
            "drop those classes"
        )
    return counts


def prepare_out(config: TrainConfig) -> None:
    if os.path.exists(config.out):
        if not config.overwrite:
            raise ConfigError(
                f"{config.out} already exists; pass `overwrite` to replace it, or choose "
                "another `out`"
            )
        shutil.rmtree(config.out)
    os.makedirs(config.out)


def train_from_paths(inputs: Sequence[str], *, label_from: str, config: TrainConfig,
                     run: RunConfig, extensions: Iterable[str] | None = None,
                     path_col: str | None = None) -> dict[str, Any]:
    """The whole ``sparkvision train`` command; returns the report."""
    from sparkvision.jobs.pipeline import run_job
    from sparkvision.runtime.session import open_session, will_connect
    from sparkvision.sources import label_from_path, list_inputs

    paths = list_inputs(inputs, extensions=extensions, path_col=path_col,
                        session=lambda: open_session(run.spark,
                                                     batch_size=config.model.batch_size),
                        connect=will_connect(run.spark), storage=run.spark.storage)
    config = replace(config, out=absolute_path(config.out))
    counts = check_labels(paths, [label_from_path(p, label_from) for p in paths],
                          holdout=config.holdout)
    prepare_out(config)
    features = os.path.join(config.out, FEATURES)
    embed_run = replace(run, out=features, format="parquet", label_from=label_from,
                        overwrite=False, resume=False, sort_into=None)
    summary = run_job(paths, config.model, embed_run)
    spark = open_session(run.spark, batch_size=config.model.batch_size)
    frame = spark.read.parquet(features)
    report = fit_and_save(frame, config, counts=counts)
    report["embedding"] = {"images": summary.inputs, "failed": summary.failed,
                           "failed_by_kind": summary.failed_by_kind,
                           "images_per_s": summary.images_per_s}
    _write_report(config.out, report)
    return report


def train_from_frame(df: Any, *, label_col: str, config: TrainConfig,
                     path_col: str | None = None,
                     content_col: str | None = None) -> dict[str, Any]:
    """Train on a DataFrame of images (bytes or paths) with a label column."""
    from pyspark.sql import functions as F

    from sparkvision.jobs.pipeline import apply_model
    from sparkvision.jobs.prepare import prepare_model

    config = replace(config, out=absolute_path(config.out))
    if label_col not in df.columns:
        raise InputError(f"the DataFrame has no column {label_col!r}; its columns: "
                         f"{', '.join(df.columns)}")
    unlabelled = df.where(F.col(label_col).isNull()).count()
    if unlabelled:
        raise InputError(f"{unlabelled} rows have no {label_col}; label them or drop them")
    counts = check_counts({r[0]: r[1] for r in df.groupBy(label_col).count().collect()},
                          holdout=config.holdout)
    name = path_col or ("path" if "path" in df.columns else None)
    if name is None:
        raise InputError("training needs a path column to split folds by (binaryFile's "
                         "'path'); pass path_col=")
    prepare_out(config)
    spark = df.sparkSession
    spec = prepare_model(config.model, spark)
    source = df.withColumnRenamed(label_col, "label_true")
    feats = apply_model(source, spec, batch_size=config.model.batch_size, path_col=path_col,
                        content_col=content_col, output_col="_e")
    path = os.path.join(config.out, FEATURES)
    feats.select(F.col(name).alias("path"), "label_true", "_e.*").write.parquet(path)
    report = fit_and_save(spark.read.parquet(path), config, counts=counts)
    _write_report(config.out, report)
    return report


_WHERE = {"driver": "the driver", "spark": "Spark MLlib"}


def render_report(report: dict[str, Any], out: str) -> str:
    """What ``sparkvision train`` prints."""
    from sparkvision.jobs.summary import render_confusion

    counts = ", ".join(f"{c} {n}" for c, n in report["counts"].items())
    lines = [
        f"classes: {counts}",
        f"trained on {report['trained_on']} images ({report['features']} features of "
        f"{report['backbone']}); regularisation {report['regularisation']:g} chosen by "
        f"{report['folds']}-fold cross-validation (lowest log-loss), fitted on "
        f"{_WHERE.get(report.get('fitted_on', 'spark'), 'Spark MLlib')}",
        f"cross-validated accuracy: {report['cv_accuracy']:.1%}, log-loss "
        f"{report['cv_log_loss']:.3f}",
        render_confusion(report["cv_confusion"]),
    ]
    if report.get("holdout_accuracy") is not None:
        lines += [f"holdout ({report['holdout']:.0%} of the images, never fitted on): "
                  f"accuracy {report['holdout_accuracy']:.1%}",
                  render_confusion(report["holdout_confusion"])]
    failed = report["failed_images"]
    if failed:
        lines.append(f"{len(failed)} images failed and were left out (see report.json), e.g. "
                     f"{failed[0]['path']}: {failed[0]['error_kind']}")
    lines.append(f"model: {out} (use it: sparkvision classify PHOTOS --model {out})")
    return "\n".join(lines)


def fit_and_save(frame: Any, config: TrainConfig, *, counts: dict[str, int]) -> dict[str, Any]:
    """Fit on ``frame`` (``path``, ``label_true``, ``embedding``, ``error``) and write the
    model folder; returns the report."""
    from pyspark.sql import functions as F

    failed = [(r["path"], r["error_kind"], r["error"])
              for r in frame.where(F.col("error").isNotNull()).collect()]
    classes = sorted(counts)
    fit = fit_head(frame.where(F.col("error").isNull()), classes, folds=config.folds,
                   holdout=config.holdout, max_iter=config.max_iter,
                   fit_on=config.fit_on, rows=sum(counts.values()))
    options = {k: v for k, v in config.model.options.as_kwargs().items()
               if k not in _RUN_OPTIONS}
    ref = _backbone_ref(config.model.model)
    backbone = Backbone(model=ref, sha256=backbone_sha256(ref), engine=config.model.engine,
                        options=options)
    report = {
        "classes": classes, "counts": counts, "backbone": backbone.model,
        "backbone_sha256": backbone.sha256, "features": fit.features,
        "regularisation": fit.reg, "fitted_on": fit.fitted_on, "folds": config.folds,
        "cv_accuracy": fit.cv_accuracy,
        "cv_accuracy_by_reg": fit.by_reg, "cv_confusion": fit.cv_confusion,
        "cv_log_loss": round(fit.cv_log_loss, 6), "cv_log_loss_by_reg": fit.log_loss_by_reg,
        "holdout": config.holdout, "holdout_accuracy": fit.holdout_accuracy,
        "holdout_confusion": fit.holdout_confusion, "trained_on": fit.trained_on,
        "failed_images": [{"path": p, "error_kind": k, "error": e} for p, k, e in failed],
    }
    write_model(config.out, weights=fit.weights, bias=fit.bias, labels=classes,
                backbone=backbone, report=report)
    return report


_RUN_OPTIONS = ("ship", "device", "precision", "trust_model_code", "py_files", "calibrate")


def _backbone_ref(model: str) -> str:
    from sparkvision.models.builtin.catalog import is_builtin

    return model.lower() if is_builtin(model) else os.path.abspath(model)


def _write_report(folder: str, report: dict[str, Any]) -> None:
    import json

    with open(os.path.join(folder, REPORT), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)


class TrainedModel(os.PathLike):
    """A trained model folder: pass it as ``model=`` anywhere (it is a path-like), or
    ``save`` it elsewhere and ``evaluate`` it on labelled images."""

    def __init__(self, path: str) -> None:
        import json

        self.path = os.path.abspath(path)
        with open(os.path.join(self.path, REPORT), encoding="utf-8") as fh:
            self.report: dict[str, Any] = json.load(fh)

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"TrainedModel({self.path!r}, classes={self.classes})"

    @property
    def classes(self) -> list[str]:
        return list(self.report["classes"])

    def save(self, path: str, *, overwrite: bool = False) -> TrainedModel:
        """Copy the model folder (without the training features) to ``path``."""
        if os.path.exists(path):
            if not overwrite:
                raise ConfigError(f"{path} already exists; pass overwrite=True to replace it")
            shutil.rmtree(path)
        shutil.copytree(self.path, path, ignore=shutil.ignore_patterns(FEATURES))
        return TrainedModel(path)

    def evaluate(self, data: Any, *, label_col: str | None = None,
                 label_from: str | None = None, path_col: str | None = None,
                 content_col: str | None = None) -> dict[str, Any]:
        """Accuracy and confusion on labelled images: a DataFrame with ``label_col``, or
        folders/paths with ``label_from`` (``folder`` or ``filename``)."""
        from pyspark.sql import functions as F

        from sparkvision.jobs.pipeline import apply_model
        from sparkvision.jobs.prepare import prepare_model
        from sparkvision.jobs.summary import RunSummary
        from sparkvision.options import ModelRequest

        if label_from is not None and label_col is None:
            data, label_col, path_col = _labelled_paths(data, label_from), "label_true", "path"
        elif label_col is None or label_from is not None:
            raise ConfigError("evaluate needs exactly one of label_col= or label_from=")
        spark = data.sparkSession
        spec = prepare_model(ModelRequest(self), spark)
        preds = apply_model(data, spec, path_col=path_col, content_col=content_col,
                            output_col="_pred")
        rows = (preds.where(F.col("_pred.error").isNull())
                .groupBy(F.col(label_col).alias("t"), F.col("_pred.label").alias("p"))
                .count().collect())
        summary = RunSummary(inputs=0, ok=0, failed=0, failed_by_kind={}, seconds=0.0,
                             images_per_s=0.0, output="", format="")
        summary.set_confusion((r["t"], r["p"], r["count"]) for r in rows)
        return {"accuracy": summary.accuracy, "labelled": summary.labelled,
                "confusion": summary.confusion}


def _labelled_paths(inputs: Any, label_from: str) -> Any:
    """A ``path``, ``label_true`` DataFrame of folders/globs/files, labelled from the paths."""
    from sparkvision.runtime.session import open_session
    from sparkvision.sources import label_from_path, paths_frame, resolve_inputs

    paths = resolve_inputs(inputs)
    labels = [label_from_path(p, label_from) for p in paths]
    return paths_frame(open_session(), paths, labels=labels)
