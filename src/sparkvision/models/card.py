"""Model cards: how to feed a user's model and read its output, as a small TOML/JSON file.

The same keys are accepted by ``--model-config FILE``, the CLI flags of the same name
(``image_size`` is ``--image-size``) and the Python API's ``model_config={...}``; flags
override the card, and the card overrides what is read from the model. The seed's
cat/dog CNN, for example::

    # catdog.toml
    image_size = 200
    scale = "1/255"
    output = "sigmoid"
    labels = ["cat", "dog"]
    threshold = 0.5

============== =====================================================================
``format``      keras | torchscript | torch | onnx | hf (default: from the file)
``arch``        ``module:callable`` returning the ``nn.Module`` a state dict fits
``image_size``  side of the square model input, pixels
``resize``      shorter side before the center crop (``crop = "center"``)
``crop``        ``center`` (resize, then crop the middle) or ``none`` (squash to size)
``scale``       pixel multiplier before mean/std, a number or ``"1/255"``
``mean``        one or three numbers subtracted after scaling
``std``         one or three numbers divided by after subtracting the mean
``layout``      ``nchw`` or ``nhwc``
``interpolation`` ``bilinear``, ``bicubic``, ``nearest``, ``lanczos``, ``box`` or ``hamming``
``decode``      ``fast``: JPEGs decoded at a reduced scale, large images pre-shrunk (the
                built-in models' default); ``exact``: full-size decode, then the model's
                own resize and crop in whole pixels (the default for every other model)
``output``      ``softmax``, ``sigmoid``, ``logits``, ``embedding``, or the ImageNet heads
                ``catdog`` / ``imagenet`` (for a model giving the 1000 ImageNet scores)
``output_name`` ONNX output / Keras layer / index or key of a torch output tuple/dict
``labels``      class names, in output order (a list, or ``"cat,dog"``)
``threshold``   sigmoid: score >= threshold means the second label (default 0.5)
``from_logits`` true: apply softmax/sigmoid; false: the model already does
============== =====================================================================

Options that decide what may run (``trust_model_code``, ``py_files``) or where and how
(``ship``, ``device``, ``precision``, ``calibrate``) are not card keys: a card travels with
a model, and a downloaded model must not be able to grant itself trust.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from sparkvision.config import CROPS, DECODES, FORMATS, HEADS, INTERPOLATIONS, LAYOUTS
from sparkvision.errors import ConfigError

#: formats a card may name (a callable is code, not a file)
CARD_FORMATS: tuple[str, ...] = tuple(f for f in FORMATS if f != "callable")

CARD_KEYS: tuple[str, ...] = (
    "format", "arch", "image_size", "resize", "crop", "scale", "mean", "std", "layout",
    "interpolation", "decode", "output", "output_name", "labels", "threshold", "from_logits",
)
_RUN_KEYS = ("trust_model_code", "ship", "device", "precision", "calibrate", "py_files")


def read_card(path: str) -> dict[str, Any]:
    """Read a ``.toml`` or ``.json`` model card into checked options."""
    suffix = os.path.splitext(path)[1].lower()
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"could not read the model card {path}: {exc.strerror or exc}") from None
    try:
        if suffix == ".json":
            data = json.loads(raw.decode("utf-8"))
        elif suffix == ".toml":
            data = _toml(raw)
        else:
            raise ConfigError(
                f"model card {path}: expected a .toml or .json file; found {suffix or 'no suffix'}"
            )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"model card {path} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"model card {path}: expected a table of keys; found {type(data).__name__}"
        )
    return normalize(data, where=f"model card {path}")


def _toml(raw: bytes) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError(
                "reading a TOML model card on Python 3.10 needs the package 'tomli' "
                "(pip install tomli), or write the card as JSON"
            ) from None
    return tomllib.loads(raw.decode("utf-8"))


def normalize(options: Mapping[str, Any], *, where: str = "model options") -> dict[str, Any]:
    """Check keys and turn values into their types; ``None`` values are dropped."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key in _RUN_KEYS:
            raise ConfigError(
                f"{where}: {key!r} is not a model-card key (it is a run option: pass it as "
                f"`{key}` / --{key.replace('_', '-')}); card keys: {', '.join(CARD_KEYS)}"
            )
        if key not in CARD_KEYS:
            raise ConfigError(
                f"{where}: unknown key {key!r}; expected any of {', '.join(CARD_KEYS)}"
            )
        out[key] = _parse(key, value, where)
    return out


def _parse(key: str, value: Any, where: str) -> Any:
    try:
        if key in ("image_size", "resize"):
            number = _positive_int(value)
            return number
        if key in ("scale", "threshold"):
            return _number(value)
        if key in ("mean", "std"):
            return _triple(value)
        if key == "labels":
            given = value.split(",") if isinstance(value, str) else list(value)
            labels = tuple(str(v).strip() for v in given)
            if not labels or any(not v for v in labels):
                raise ValueError("labels must be non-empty names")
            return labels
        if key == "from_logits":
            return _bool(value)
        if key == "arch" and not isinstance(value, str):
            raise ValueError("expected a 'module:callable' string (pass a callable as arch=)")
        choices = {"format": CARD_FORMATS, "crop": CROPS, "layout": LAYOUTS,
                   "interpolation": INTERPOLATIONS, "output": HEADS, "decode": DECODES}.get(key)
        text = str(value).strip()
        if choices is not None:
            text = text.lower()
            if text not in choices:
                raise ValueError(f"expected one of {', '.join(choices)}{_HINTS.get(key, '')}")
        return text
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        raise ConfigError(f"{where}: bad value for {key!r}: {value!r} ({exc})") from None


_HINTS = {"decode": "; fast decodes JPEGs at a reduced scale (quicker), exact at full size "
                     "(the model's own preprocessing, pixel for pixel)"}


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, str):
        return float(Fraction(value.strip()))
    return float(value)


def _positive_int(value: Any) -> int:
    number = _number(value)
    if number != int(number) or number <= 0:
        raise ValueError("expected a positive whole number")
    return int(number)


def _triple(value: Any) -> tuple[float, float, float]:
    items = value.split(",") if isinstance(value, str) else (
        list(value) if isinstance(value, (list, tuple)) else [value]
    )
    numbers = [_number(v) for v in items]
    if len(numbers) == 1:
        numbers *= 3
    if len(numbers) != 3:
        raise ValueError(f"expected one or three numbers, found {len(numbers)}")
    return (numbers[0], numbers[1], numbers[2])


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError("expected true or false")
