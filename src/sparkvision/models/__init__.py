"""Models: the built-in registry, engines, heads and the driver-side resolver."""

from __future__ import annotations

from ..config import ENGINES, ModelSpec
from ..errors import ModelError
from .builtin import BUILTIN_MODELS, PREPROCESS, list_models

__all__ = ["list_models", "resolve_model"]


def resolve_model(
    model: object = "catdog",
    *,
    task: str = "classify",
    engine: str = "onnx",
    threads: int = 1,
    spark=None,
    device: str = "auto",
    precision: str = "fp32",
    **options: object,
) -> ModelSpec:
    """Driver-side: turn a model name into a :class:`ModelSpec`, exporting the ONNX
    engine file into the cache on first use so workers only load it.

    ``task='embed'`` reads the pooled features of any built-in network.

    Anything that is not a built-in name is a user's model (docs/byo-models.md): a Keras,
    TorchScript, torch or ONNX file, a ``"module:callable"``, a callable or an
    ``nn.Module``. ``options`` are then the model-card keys (``image_size=200``,
    ``labels=["cat", "dog"]``, ``model_config="card.toml"``, ``arch=...``) and the run
    options ``ship``, ``trust_model_code``; ``spark`` is the session to broadcast with.
    ``device`` (``auto``/``cpu``/``cuda``) applies to every model.
    """
    if isinstance(model, ModelSpec):
        return model
    if not isinstance(model, str) or model.lower() not in BUILTIN_MODELS:
        # A user's model: a file, 'module:callable', a callable or an nn.Module; ``options``
        # are model-card keys and run options (see sparkvision.models.byo.resolve_byo).
        from .byo import resolve_byo

        return resolve_byo(model, task=task, threads=threads, spark=spark, device=device,
                           precision=precision, **options)
    _check_builtin_options(model, precision, options)
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
        artifact=artifact, artifact_sha256=sha, device=device,
    )


def _check_builtin_options(model: str, precision: str, options: dict) -> None:
    """Options for a user's model make no sense with a built-in one: say so."""
    given = sorted(k for k, v in options.items()
                   if v is not None and not (k == "ship" and v == "auto")
                   and not (k == "trust_model_code" and v is False))
    if given or precision != "fp32":
        what = ", ".join(given + (["precision"] if precision != "fp32" else []))
        raise ModelError(
            f"{what} apply to your own models (a file or 'module:callable'); the built-in "
            f"model {model!r} brings its own preprocessing, labels and fp32 engine: drop them"
        )
