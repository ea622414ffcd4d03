"""Heads: how a network's output becomes result columns.

Each head declares its Spark schema once (:data:`SCHEMAS`), and :func:`apply_head` turns a
batch of engine outputs into those columns. The ``error`` and ``error_kind`` columns are
common to all heads and filled by the executor. Every engine returns the one output the
spec names as ``{"output": array}``; a head reads that, whatever the model:

=============  ==========================================================================
``catdog``     1000 ImageNet logits -> ``cat`` / ``dog`` / ``other`` (see docs/models.md)
``imagenet``   1000 ImageNet logits -> top-1 class name and probability, plus the top 5
=============  ==========================================================================

The generic heads are configured by the spec's ``labels``, ``threshold`` and
``from_logits``:

=============  ==========================================================================
``softmax``    one label per class: ``label`` = the most probable class, ``score`` its
               probability, ``scores`` all probabilities (softmax applied if from_logits)
``sigmoid``    one output: ``score >= threshold`` means the second label, the first
               otherwise; ``score`` is the chosen label's probability (``p`` or
               ``1 - p``), ``scores`` is ``[p]``. Several outputs: the most probable one
``logits``     the raw outputs in ``scores``; ``label``/``score`` of the largest
``embedding``  the output flattened to one float vector per image
=============  ==========================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

import sparkvision.models.builtin.imagenet as imagenet
from sparkvision.config import ModelSpec
from sparkvision.models.activations import sigmoid, softmax
from sparkvision.models.builtin.catalog import NUM_CLASSES

ERROR_FIELDS = "error string, error_kind string"

#: head -> Spark DDL of the result columns (without the input's own columns).
SCHEMAS: dict[str, str] = {
    "catdog": f"label string, score float, {ERROR_FIELDS}",
    "imagenet": (
        f"label string, score float, top5_labels array<string>, top5_scores array<float>, "
        f"{ERROR_FIELDS}"
    ),
    "embedding": f"embedding array<float>, {ERROR_FIELDS}",
    "softmax": f"label string, score float, scores array<float>, {ERROR_FIELDS}",
    "sigmoid": f"label string, score float, scores array<float>, {ERROR_FIELDS}",
    "logits": f"label string, score float, scores array<float>, {ERROR_FIELDS}",
}

#: head -> the value each result column takes for a row that failed.
EMPTY: dict[str, dict[str, object]] = {
    "catdog": {"label": None, "score": None},
    "imagenet": {"label": None, "score": None, "top5_labels": None, "top5_scores": None},
    "embedding": {"embedding": None},
    "softmax": {"label": None, "score": None, "scores": None},
    "sigmoid": {"label": None, "score": None, "scores": None},
    "logits": {"label": None, "score": None, "scores": None},
}

#: The generic heads, for a user's model whose engine returns ``{"output": array}``.
GENERIC_HEADS: tuple[str, ...] = ("softmax", "sigmoid", "logits")


def apply_head(head: str, outputs: dict[str, np.ndarray],
               spec: ModelSpec | None = None) -> dict[str, list[Any]]:
    """Engine outputs for N images -> a dict of N-long result columns.

    ``spec`` configures the generic heads.

    >>> cols = apply_head("softmax", {"output": np.array([[0.0, 2.0]])})
    >>> cols["label"], round(cols["score"][0], 3)
    (['1'], 0.881)
    """
    output = outputs["output"]
    if head == "embedding":
        feats = np.asarray(output).reshape(len(output), -1).astype(np.float32, copy=False)
        return {"embedding": list(feats)}
    if head in GENERIC_HEADS:
        return generic_head(
            head, output,
            labels=spec.labels if spec else (),
            threshold=spec.threshold if spec else 0.5,
            from_logits=spec.from_logits if spec else True,
        )
    probs = softmax(np.asarray(output, dtype=np.float32))
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


def generic_head(head: str, output: np.ndarray, *, labels: tuple[str, ...] = (),
                 threshold: float = 0.5, from_logits: bool = True) -> dict[str, list]:
    """A user's model output ``(N, k)`` -> ``label``, ``score``, ``scores`` (see above)."""
    x = np.asarray(output, dtype=np.float32)
    x = x.reshape(len(x), -1)
    width = x.shape[1]
    if head == "softmax":
        probs = softmax(x) if from_logits else x
    elif head == "sigmoid":
        probs = sigmoid(x) if from_logits else x
    else:
        probs = x
    names = class_names(head, width, labels)
    if head == "sigmoid" and width == 1:
        p = probs[:, 0]
        second = p >= np.float32(threshold)
        return {
            "label": [names[1] if s else names[0] for s in second],
            "score": [float(v if s else 1.0 - v) for v, s in zip(p, second, strict=True)],
            "scores": list(probs),
        }
    best = probs.argmax(axis=1)
    return {
        "label": [names[i] for i in best],
        "score": [float(probs[r, i]) for r, i in enumerate(best)],
        "scores": list(probs),
    }


def check_head(head: str, width: int, labels: tuple[str, ...]) -> None:
    """Raise ``ValueError`` when ``head`` cannot read an output ``width`` wide with ``labels``."""
    if head in GENERIC_HEADS:
        class_names(head, width, labels)
        return
    if labels:
        raise ValueError(
            f"labels ({', '.join(labels)}) name the classes of softmax, sigmoid or logits "
            f"outputs; the {head} head has none of its own to rename: drop `labels`"
        )
    if head in ("catdog", "imagenet") and width != NUM_CLASSES:
        raise ValueError(
            f"the {head} head reads the {NUM_CLASSES} ImageNet class scores; the "
            f"model gives {width} outputs per image. Use `output` softmax (or sigmoid/logits)"
        )


def class_names(head: str, width: int, labels: tuple[str, ...]) -> tuple[str, ...]:
    """The label of each output (``0``, ``1``, ... when none are given); checks the count."""
    wanted = 2 if head == "sigmoid" and width == 1 else width
    if not labels:
        return tuple(str(i) for i in range(wanted))
    if len(labels) != wanted:
        what = (
            "a one-output sigmoid model needs two labels (below, at or above the threshold)"
            if head == "sigmoid" and width == 1 else f"the model gives {width} outputs per image"
        )
        raise ValueError(
            f"{len(labels)} labels given ({', '.join(labels)}) but {what}; expected "
            f"{wanted} labels. Fix `labels` (or the model card's labels)"
        )
    return labels
