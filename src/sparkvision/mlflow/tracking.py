"""MLflow runs of ``sparkvision train``, ``classify`` and ``embed`` (their ``--mlflow``).

- :func:`connect`: the tracking URI (``--mlflow-uri``, else ``MLFLOW_TRACKING_URI``) and
  experiment, checked before the command does any work;
- :func:`log_training`: one run with the training's parameters, metrics (cross-validated
  accuracy and log-loss, per-class precision and recall, the holdout's figures), its
  ``report.json`` and a confusion-matrix picture, and the model (:func:`~sparkvision.mlflow.
  log_model`), registered as a new version of ``register`` when given;
- :func:`log_job`: one run with a classify/embed summary (images, ok, failed by kind,
  images/s, accuracy where labels were known) and the report page.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from typing import Any

from sparkvision.errors import ConfigError
from sparkvision.models.logged import require_mlflow


def connect(uri: str | None, experiment: str | None) -> str:
    """Point MLflow at ``uri`` (``None``: ``MLFLOW_TRACKING_URI`` or MLflow's default) and
    ``experiment``; a server that does not answer is an error now. Returns the URI."""
    from sparkvision.models.logged import check_server

    mlflow = require_mlflow("--mlflow")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # not in a log
    if uri:
        mlflow.set_tracking_uri(uri)
    tracking = mlflow.get_tracking_uri()
    check_server(tracking, "--mlflow")
    if experiment:
        try:
            mlflow.set_experiment(experiment)
        except mlflow.exceptions.MlflowException as exc:
            raise ConfigError(f"`experiment` {experiment}: {exc.message}") from None
    return str(tracking)


def log_training(report: Mapping[str, Any], model_dir: str, *, params: Mapping[str, Any],
                 register: str | None = None) -> Any:
    """One run for a finished training (``report`` as ``report.json`` holds it); returns
    the run's ``ModelInfo`` of the logged model."""
    mlflow = require_mlflow("--mlflow")
    from sparkvision.mlflow import log_model

    grid = sorted(report.get("cv_log_loss_by_reg", {}), key=float)
    with mlflow.start_run(run_name=f"train {os.path.basename(model_dir)}"):
        mlflow.set_tag("sparkvision.command", "train")
        logged = {**params, "backbone": report["backbone"], "classes": report["classes"],
                  "regularisation_grid": grid, "regularisation": report["regularisation"],
                  "folds": report["folds"], "holdout": report["holdout"],
                  "trained_on": report["trained_on"], "fitted_on": report.get("fitted_on")}
        mlflow.log_params({k: _param(v) for k, v in logged.items() if v is not None})
        metrics = {"cv_accuracy": report["cv_accuracy"], "cv_log_loss": report["cv_log_loss"],
                   "failed_images": len(report.get("failed_images", []))}
        metrics.update({f"cv_log_loss_reg_{r}": v
                        for r, v in report.get("cv_log_loss_by_reg", {}).items()})
        metrics.update(per_class(report["cv_confusion"], "cv"))
        if report.get("holdout_accuracy") is not None:
            metrics["holdout_accuracy"] = report["holdout_accuracy"]
            metrics.update(per_class(report["holdout_confusion"], "holdout"))
        embedding = report.get("embedding") or {}
        if embedding.get("images_per_s") is not None:
            metrics["embedding_images_per_s"] = embedding["images_per_s"]
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "report.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(report, fh, indent=2, sort_keys=True)
            mlflow.log_artifact(path)
            for name, confusion in (("cv", report["cv_confusion"]),
                                    ("holdout", report.get("holdout_confusion"))):
                if confusion:
                    image = os.path.join(tmp, f"confusion_{name}.png")
                    confusion_image(confusion, f"{name} confusion (rows: true)").save(image)
                    mlflow.log_artifact(image)
        return log_model(model_dir, "model", registered_model_name=register)


def log_job(summary: Any, *, params: Mapping[str, Any], report: str | None = None) -> str:
    """One run for a finished classify/embed (a :class:`~sparkvision.jobs.summary.
    RunSummary`); returns the run id."""
    mlflow = require_mlflow("--mlflow")
    metrics = {"images": summary.inputs, "ok": summary.ok, "failed": summary.failed,
               "images_per_s": summary.images_per_s, "seconds": summary.seconds}
    metrics.update({f"failed_{_key(kind)}": n for kind, n in summary.failed_by_kind.items()})
    if summary.accuracy is not None:
        metrics.update(accuracy=summary.accuracy, labelled=summary.labelled)
        metrics.update(per_class(summary.confusion, "label"))
    with mlflow.start_run(run_name=f"{params.get('task', 'job')} {params.get('model', '')}"
                          ) as run:
        mlflow.set_tag("sparkvision.command", str(params.get("task", "")))
        mlflow.log_params({k: _param(v) for k, v in params.items() if v is not None})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        if summary.confusion:
            mlflow.log_dict(summary.confusion, "confusion.json")
        if report:
            mlflow.log_artifact(report)
        return str(run.info.run_id)


def per_class(confusion: Mapping[str, Mapping[str, int]], prefix: str) -> dict[str, float]:
    """``{prefix}_precision_{class}`` and ``{prefix}_recall_{class}`` of a confusion table
    ``{true: {predicted: count}}`` (a class never predicted has no precision).

    >>> per_class({"a": {"a": 3, "b": 1}, "b": {"b": 2}}, "cv")["cv_recall_a"]
    0.75
    """
    classes = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    out: dict[str, float] = {}
    for c in classes:
        right = confusion.get(c, {}).get(c, 0)
        truths = sum(confusion.get(c, {}).values())
        predicted = sum(row.get(c, 0) for row in confusion.values())
        if predicted:
            out[f"{prefix}_precision_{_key(c)}"] = right / predicted
        if truths:
            out[f"{prefix}_recall_{_key(c)}"] = right / truths
    return out


def confusion_image(confusion: Mapping[str, Mapping[str, int]], title: str) -> Any:
    """A confusion table drawn as a PNG-ready picture: rows true, columns predicted, each
    cell shaded by its share of the row."""
    from PIL import Image, ImageDraw

    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    cell, left, top = 56, 8 + 7 * max(len(s) for s in labels), 44
    size = (left + cell * len(labels) + 8, top + cell * len(labels) + 8)
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), title, fill="black")
    for j, label in enumerate(labels):
        draw.text((left + j * cell + 4, top - 16), label[:8], fill="black")
    for i, truth in enumerate(labels):
        row = confusion.get(truth, {})
        total = sum(row.values()) or 1
        draw.text((8, top + i * cell + cell // 2 - 6), truth, fill="black")
        for j, predicted in enumerate(labels):
            n = row.get(predicted, 0)
            shade = 255 - int(200 * n / total)
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell - 2,
                   top + (i + 1) * cell - 2)
            draw.rectangle(box, fill=(shade, shade, 255), outline="grey")
            draw.text((box[0] + cell // 2 - 8, box[1] + cell // 2 - 6), str(n),
                      fill="black" if shade > 120 else "white")
    return img


def _key(text: str) -> str:
    """A metric-name-safe form of a class or error kind."""
    return re.sub(r"[^\w\-. /]", "_", str(text))


def _param(value: Any) -> str:
    text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text if len(text) <= 500 else text[:497] + "..."
