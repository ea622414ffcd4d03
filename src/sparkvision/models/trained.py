"""A model trained by ``sparkvision train``: a folder holding a linear head fitted on a
backbone's embeddings, and what it needs to run again.

==================  ======================================================================
``card.toml``       a model card: ``format = "trained"``, ``output = "softmax"``, ``labels``
``head.npz``        the head: ``weights`` (classes x features) and ``bias`` (classes),
                    float32, read with ``allow_pickle=False``
``backbone.json``   the backbone: its reference (a built-in name, or a file: a relative
                    path is inside the folder), engine, card
                    keys, and the sha256 of its weights, checked before every run
``report.json``     what training measured (classes, counts, cross-validated accuracy...)
``features/``       the training embeddings (Parquet), for refitting; not needed to run
==================  ======================================================================

``classify --model MODEL_DIR`` runs backbone and head fused in one engine
(:mod:`.trained_loader`), so a trained classification costs what ``embed`` costs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import sparkvision.models.builtin.catalog as builtin
from sparkvision.errors import ModelError
from sparkvision.storage.files import file_sha256

CARD, HEAD, BACKBONE, REPORT, FEATURES = (
    "card.toml", "head.npz", "backbone.json", "report.json", "features")


@dataclass(frozen=True)
class Backbone:
    """The embedding model a head was trained on, and the sha256 of its weights."""

    model: str
    sha256: str
    engine: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)


def is_trained_directory(path: object) -> bool:
    if not isinstance(path, (str, os.PathLike)):
        return False
    folder = os.fspath(path)
    return all(os.path.isfile(os.path.join(folder, name)) for name in (HEAD, BACKBONE))


def backbone_sha256(model: str) -> str:
    """What identifies a backbone's weights: the built-in weights file, or the model file."""
    if builtin.is_builtin(model):
        return file_sha256(builtin.weights_path())
    if not os.path.exists(model):
        raise ModelError(f"the backbone {model} is not a built-in model and not a file")
    return file_sha256(model)


def read_backbone(folder: str) -> Backbone:
    path = os.path.join(folder, BACKBONE)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        model = data["model"]
        if not builtin.is_builtin(model) and not os.path.isabs(model):
            model = os.path.join(os.path.abspath(folder), model)  # a copy inside the folder
        backbone = Backbone(model=model, sha256=data["sha256"],
                            engine=data.get("engine", "auto"), options=data.get("options", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path} is not a valid backbone description: {exc}") from None
    actual = backbone_sha256(backbone.model)
    if actual != backbone.sha256:
        raise ModelError(
            f"the backbone {backbone.model} of the trained model {folder} has changed since the "
            f"head was trained (sha256 {actual[:12]}..., trained on {backbone.sha256[:12]}...): "
            "its features no longer mean what the head learned. Restore that backbone, or "
            "train again with: sparkvision train PHOTOS --out MODEL_DIR --overwrite"
        )
    return backbone


def read_head(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, bias)`` from ``head.npz`` (no pickled objects are ever loaded)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            weights = np.asarray(data["weights"], dtype=np.float32)
            bias = np.asarray(data["bias"], dtype=np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"could not read the trained head {path}: {exc}") from None
    if weights.ndim != 2 or bias.shape != (weights.shape[0],):
        raise ModelError(
            f"{path}: expected weights (classes x features) and bias (classes); found "
            f"{weights.shape} and {bias.shape}"
        )
    return weights, bias


def write_model(folder: str, *, weights: np.ndarray, bias: np.ndarray, labels: list[str],
                backbone: Backbone, report: dict[str, Any]) -> None:
    """Write a trained model folder (see module docstring); ``folder`` exists."""
    np.savez(os.path.join(folder, HEAD), weights=np.asarray(weights, dtype=np.float32),
             bias=np.asarray(bias, dtype=np.float32))
    quoted = ", ".join(json.dumps(label) for label in labels)
    with open(os.path.join(folder, CARD), "w", encoding="utf-8") as fh:
        fh.write(f'# written by sparkvision train\nformat = "trained"\noutput = "softmax"\n'
                 f"labels = [{quoted}]\n")
    with open(os.path.join(folder, BACKBONE), "w", encoding="utf-8") as fh:
        json.dump({"model": backbone.model, "sha256": backbone.sha256,
                   "engine": backbone.engine, "options": backbone.options}, fh, indent=2)
    with open(os.path.join(folder, REPORT), "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)
