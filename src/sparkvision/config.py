"""Driver-side specifications: small frozen dataclasses that travel to the workers.

Everything a Python worker needs to rebuild a model and preprocess images is described
here, built once on the driver, pickled cheaply into the UDF closure, and turned into live
objects on the worker (see :mod:`sparkvision.executor`). Nothing here holds weights,
sessions or Spark objects.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from .errors import ConfigError

Layout = Literal["nchw", "nhwc"]
Engine = Literal["onnx", "torch"]
Head = Literal["catdog", "imagenet", "embedding"]

ENGINES: tuple[str, ...] = ("onnx", "torch")
HEADS: tuple[str, ...] = ("catdog", "imagenet", "embedding")

#: Image extensions picked up from folders and globs when none are given.
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
)

DEFAULT_BATCH_SIZE = 32


@dataclass(frozen=True)
class Preprocess:
    """How raw image bytes become one model input.

    decode -> EXIF orientation -> RGB -> resize so the shorter side is ``resize``
    -> center crop ``size`` x ``size`` -> ``(pixel * scale - mean) / std`` -> ``layout``.
    """

    size: int = 224
    resize: int = 256
    scale: float = 1.0
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)
    layout: Layout = "nchw"
    interpolation: Literal["bilinear", "bicubic", "nearest"] = "bilinear"

    def __post_init__(self) -> None:
        if self.size <= 0 or self.resize < self.size:
            raise ConfigError(
                f"preprocessing needs 0 < size <= resize; found size={self.size}, "
                f"resize={self.resize}. Set --resize to at least --image-size."
            )
        if len(self.mean) != 3 or len(self.std) != 3 or any(s == 0 for s in self.std):
            raise ConfigError(
                f"mean and std need three values each and std must be non-zero; found "
                f"mean={self.mean}, std={self.std}."
            )
        if self.layout not in ("nchw", "nhwc"):
            raise ConfigError(f"layout must be 'nchw' or 'nhwc'; found {self.layout!r}.")


@dataclass(frozen=True)
class ModelSpec:
    """Which network to run, with which engine, and how to read its outputs.

    ``artifact`` is the engine file the workers load (an ONNX file for the ``onnx``
    engine); it is prepared on the driver. ``threads`` is the number of intra-op
    threads each worker's engine may use.
    """

    name: str
    engine: Engine = "onnx"
    head: Head = "catdog"
    preprocess: Preprocess = field(default_factory=Preprocess)
    threads: int = 1
    artifact: str | None = None
    artifact_sha256: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(
                f"unknown engine {self.engine!r}; expected one of {', '.join(ENGINES)}."
            )
        if self.head not in HEADS:
            raise ConfigError(f"unknown head {self.head!r}; expected one of {', '.join(HEADS)}.")
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1; found {self.threads}.")

    @property
    def model_id(self) -> str:
        """A stable id for the per-worker cache: equal specs share one live model."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_(self, **changes: object) -> "ModelSpec":
        return replace(self, **changes)  # type: ignore[arg-type]


def cache_dir() -> str:
    """Where exported engine files live: ``$SPARKVISION_CACHE`` or ``~/.cache/sparkvision``."""
    root = os.environ.get("SPARKVISION_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "sparkvision",
    )
    os.makedirs(root, exist_ok=True)
    return root
