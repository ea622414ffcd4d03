"""Models: the built-in registry, engines, heads and the driver-side resolver."""

from __future__ import annotations

from ..config import ENGINES, ModelSpec
from ..errors import ModelError
from .builtin import BUILTIN_MODELS, PREPROCESS, list_models

__all__ = ["list_models", "resolve_model"]


def resolve_model(
    model: str | ModelSpec = "catdog",
    *,
    task: str = "classify",
    engine: str = "onnx",
    threads: int = 1,
) -> ModelSpec:
    """Driver-side: turn a model name into a :class:`ModelSpec`, exporting the ONNX
    engine file into the cache on first use so workers only load it.

    ``task='embed'`` reads the pooled features of any built-in network.
    """
    if isinstance(model, ModelSpec):
        return model
    if engine not in ENGINES:
        raise ModelError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    key = str(model).lower()
    if key not in BUILTIN_MODELS:
        raise ModelError(
            f"unknown model {model!r}: expected one of {', '.join(list_models())}"
        )
    head = "embedding" if task == "embed" else BUILTIN_MODELS[key]
    if task != "embed" and head == "embedding":
        raise ModelError(
            f"model {model!r} gives embeddings, not labels: use the embed command, or "
            "classify with 'catdog' or 'imagenet'"
        )
    artifact = sha = None
    if engine == "onnx":
        from .export import ensure_onnx

        artifact, sha = ensure_onnx()
    return ModelSpec(
        name=key, engine=engine, head=head, preprocess=PREPROCESS, threads=threads,
        artifact=artifact, artifact_sha256=sha,
    )
