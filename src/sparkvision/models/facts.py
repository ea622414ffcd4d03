"""What a loaded model says about itself, and how its errors read (shared by the loaders)."""

from __future__ import annotations

import re
from typing import Any

from sparkvision.errors import ModelError


def image_input_facts(dims: Any, *, channels_first: bool, what: str,
                      square_hint: str = "") -> dict[str, Any]:
    """Layout and square image size from a 4-d image input shape ``(N, a, b, c)``.

    ``channels_first`` says which layout to try first (ONNX models are usually NCHW,
    Keras models NHWC); unknown sizes (``None``/0) leave ``image_size`` unset.
    """
    _, a, b, c = dims
    layouts = [("nchw", a, b, c), ("nhwc", c, a, b)]
    if not channels_first:
        layouts.reverse()
    found = next((entry for entry in layouts if entry[1] == 3), None)
    if found is None:
        raise ModelError(
            f"{what} takes input of shape {tuple(dims)}; expected 3 colour channels "
            "((N, 3, H, W) or (N, H, W, 3))"
        )
    layout, _, h, w = found
    facts: dict[str, Any] = {"layout": layout}
    if h and w:
        if h != w:
            raise ModelError(
                f"{what} takes {h}x{w} images; sparkvision feeds square images{square_hint}"
            )
        facts["image_size"] = int(h)
    return facts


def short_error(exc: BaseException) -> str:
    """An exception's message without terminal colours and Keras' echo of the arguments."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = text.split("Arguments received by", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines)[:600]
