"""Heads: how a network's raw outputs become result columns.

Each head declares its Spark schema once (:data:`SCHEMAS`), and :func:`apply_head` turns a
batch of engine outputs into those columns. The ``error`` and ``error_kind`` columns are
common to all heads and filled by the executor.

The built-in network's heads (``catdog``, ``imagenet``, ``embedding``) read its
``features``/``logits`` outputs. A user's model gives one array, ``output``, read by the
generic heads, configured by the spec's ``labels``, ``threshold`` and ``from_logits``:

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


def apply_head(head: str, outputs: dict[str, np.ndarray], spec=None) -> dict[str, list]:
    """Engine outputs for N images -> a dict of N-long result columns.

    ``spec`` (a :class:`~sparkvision.config.ModelSpec`) configures the generic heads.
    """
    if head == "embedding":
        feats = outputs["features"] if "features" in outputs else outputs["output"]
        feats = np.asarray(feats).reshape(len(feats), -1).astype(np.float32, copy=False)
        return {"embedding": list(feats)}
    if head in GENERIC_HEADS:
        return generic_head(
            head, outputs["output"],
            labels=tuple(getattr(spec, "labels", ()) or ()),
            threshold=float(getattr(spec, "threshold", 0.5)),
            from_logits=bool(getattr(spec, "from_logits", True)),
        )
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
            "score": [float(v if s else 1.0 - v) for v, s in zip(p, second)],
            "scores": list(probs),
        }
    best = probs.argmax(axis=1)
    return {
        "label": [names[i] for i in best],
        "score": [float(probs[r, i]) for r, i in enumerate(best)],
        "scores": list(probs),
    }


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
            f"{wanted} labels. Fix --labels (or the model card's labels)"
        )
    return labels


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax, overflow-safe, float32."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32, copy=False)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Element-wise logistic function, overflow-safe, float32."""
    out = np.empty_like(x, dtype=np.float32)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out
