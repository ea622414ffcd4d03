"""Heads: how a network's raw outputs become result columns.

Each head declares its Spark schema once (:data:`SCHEMAS`), and :func:`apply_head` turns a
batch of engine outputs into those columns. The ``error`` and ``error_kind`` columns are
common to all heads and filled by the executor.
"""

from __future__ import annotations

import numpy as np

from . import imagenet

ERROR_FIELDS = "error string, error_kind string"

#: head -> Spark DDL of the result columns (without the input's own columns).
SCHEMAS: dict[str, str] = {
    "catdog": f"label string, score float, {ERROR_FIELDS}",
    "imagenet": (
        f"label string, score float, top5_labels array<string>, top5_scores array<float>, "
        f"{ERROR_FIELDS}"
    ),
    "embedding": f"embedding array<float>, {ERROR_FIELDS}",
}

#: head -> the value each result column takes for a row that failed.
EMPTY: dict[str, dict[str, object]] = {
    "catdog": {"label": None, "score": None},
    "imagenet": {"label": None, "score": None, "top5_labels": None, "top5_scores": None},
    "embedding": {"embedding": None},
}


def apply_head(head: str, outputs: dict[str, np.ndarray]) -> dict[str, list]:
    """Engine outputs for N images -> a dict of N-long result columns."""
    if head == "embedding":
        feats = outputs["features"].astype(np.float32, copy=False)
        return {"embedding": list(feats)}
    probs = imagenet.softmax(outputs["logits"])
    if head == "catdog":
        labels, scores = imagenet.catdog(probs)
        return {"label": list(labels), "score": [float(s) for s in scores]}
    if head == "imagenet":
        names, top = imagenet.topk(probs, 5)
        return {
            "label": [n[0] for n in names],
            "score": [float(t[0]) for t in top],
            "top5_labels": names,
            "top5_scores": [row.astype(np.float32) for row in top],
        }
    raise ValueError(f"unknown head {head!r}")
