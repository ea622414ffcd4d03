"""A trained head fused with its backbone: one engine, one pass per batch.

The backbone's engine (any format, from the registry) gives the embedding; the head is a
numpy matrix product, ``logits = features @ weights.T + bias``, read by the ``softmax``
head with the model's labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sparkvision.config import ModelSpec
from sparkvision.errors import ModelError
from sparkvision.models.trained import read_head


class TrainedEngine:
    """``__call__(batch) -> {"output": logits}``."""

    def __init__(self, path: str, spec: ModelSpec) -> None:
        from sparkvision.models.registry import build_engine

        if spec.backbone is None:
            raise ModelError(f"the trained model {spec.name} has no backbone")
        self.backbone = build_engine(spec.backbone)
        self.weights, self.bias = read_head(path)

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        features = np.asarray(self.backbone(batch)["output"], dtype=np.float32)
        features = features.reshape(len(features), -1)
        if features.shape[1] != self.weights.shape[1]:
            raise ModelError(
                f"the backbone gives {features.shape[1]} features; the head was trained on "
                f"{self.weights.shape[1]}"
            )
        return {"output": features @ self.weights.T + self.bias}


def load(path: str, spec: ModelSpec) -> TrainedEngine:
    return TrainedEngine(path, spec)


def inspect(engine: TrainedEngine, path: str, spec: ModelSpec) -> dict[str, Any]:
    return {}
