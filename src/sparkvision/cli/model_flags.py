"""Command-line flags for a model's card keys and run options (docs/byo-models.md).

The flags carry the model-card keys (``--image-size`` is ``image_size``) and the run
options; :func:`model_options` turns parsed arguments into the keyword arguments of
:func:`sparkvision.models.resolve_model`. Values are checked there, by the same code that
checks a model card, so a flag and a card key can never mean different things. A
``module:callable`` model may name a module in the current directory, which is put on
``sys.path`` as ``python -m`` would.
"""

from __future__ import annotations

import argparse
import os
import sys

from sparkvision.config import (
    CROPS,
    DEVICES,
    HEADS,
    INTERPOLATIONS,
    LAYOUTS,
    PRECISIONS,
    SHIP_MODES,
)
from sparkvision.models.card import CARD_KEYS

#: card keys with a flag of their own (``format`` is a card key only: the CLI has an
#: output --format)
_FLAG_KEYS = tuple(k for k in CARD_KEYS if k != "format")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The "your own model" group of flags."""
    g = parser.add_argument_group(
        "your own model",
        "--model may also be a Keras (.keras/.h5), TorchScript or torch (.pt/.pth) or ONNX "
        "(.onnx) file, or module:callable returning a torch.nn.Module. Defaults are read "
        "from the model where it says them; see docs/byo-models.md",
    )
    g.add_argument("--model-config", metavar="FILE",
                   help="model card (.toml/.json) with any of the keys below, e.g. image_size, "
                   "scale, labels; flags override it")
    g.add_argument("--arch", metavar="MODULE:CALLABLE",
                   help="builds the torch network a state-dict file (--model) is loaded into")
    g.add_argument("--image-size", metavar="N", help="side of the square model input, pixels")
    g.add_argument("--resize", metavar="N", help="shorter side before a center crop")
    g.add_argument("--crop", choices=CROPS,
                   help="center: resize the shorter side, then crop the middle; none: resize the "
                   "whole image to the input size (Keras' way)")
    g.add_argument("--scale", metavar="X", help="pixel multiplier before mean/std, e.g. 1/255")
    g.add_argument("--mean", metavar="M[,M,M]", help="subtracted after scaling (1 or 3 values)")
    g.add_argument("--std", metavar="S[,S,S]", help="divided by after the mean (1 or 3 values)")
    g.add_argument("--layout", choices=LAYOUTS, help="input layout (default: from the model)")
    g.add_argument("--interpolation", choices=INTERPOLATIONS, help="resampling filter")
    g.add_argument("--output", choices=HEADS,
                   help="how to read the output (classify: one value -> sigmoid, several -> "
                   "softmax)")
    g.add_argument("--output-name", metavar="NAME",
                   help="ONNX output, Keras layer, or index/key of a torch output tuple/dict")
    g.add_argument("--labels", metavar="A,B,...",
                   help="class names in output order (sigmoid: below,at-or-above threshold)")
    g.add_argument("--threshold", metavar="T",
                   help="sigmoid: score >= T is the second label (0.5)")
    g.add_argument("--from-logits", choices=("yes", "no"),
                   help="yes: apply softmax/sigmoid; no: the model already does (default: "
                   "detected from the model's last layer, else yes)")
    g.add_argument("--py-files", metavar="FILES",
                   help="comma-separated .py/.zip files with the code --model/--arch "
                   "module:callable needs, shipped to the workers (like spark-submit's)")
    g.add_argument("--ship", choices=SHIP_MODES, default="auto",
                   help="how the model file reaches the workers: path (they read it), broadcast "
                   "(the driver sends it; classic sessions), artifact (the driver adds it with "
                   "spark.addArtifacts; also under Spark Connect), auto (path on local masters "
                   "and for URIs, else broadcast, or artifact under Spark Connect)")
    g.add_argument("--device", choices=DEVICES, default="auto",
                   help="auto: a GPU when the worker has one; cpu; cuda (fail without a GPU)")
    g.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="number type the network runs in (default fp32, exact): fp16/bf16 for "
                   "torch and Keras models, bf16 on --engine openvino, int8 (quantized once "
                   "and cached) for ONNX models and the built-in ones; see docs/usage.md")
    g.add_argument("--calibrate", metavar="PHOTOS",
                   help="--precision int8: images to measure activation ranges on (a folder, "
                   "glob or files like your inputs; the first 100). Default: the built-in set "
                   "for the built-in models, the first 100 inputs for yours")
    g.add_argument("--trust-model-code", action="store_true",
                   help="allow model files whose loading can run code: pickled torch models, "
                   "Keras Lambda layers. Only for files you trust")


def model_options(args: argparse.Namespace) -> tuple[tuple[str, object], ...]:
    """The (key, value) pairs for :attr:`sparkvision.config.ModelRequest.options`."""
    options: dict[str, object] = {
        key: getattr(args, key) for key in _FLAG_KEYS if getattr(args, key, None) is not None
    }
    if "from_logits" in options:
        options["from_logits"] = options["from_logits"] == "yes"
    if args.model_config:
        options["model_config"] = args.model_config
    if args.ship != "auto":
        options["ship"] = args.ship
    if args.device != "auto":
        options["device"] = args.device
    if args.precision != "fp32":
        options["precision"] = args.precision
    if args.calibrate:
        options["calibrate"] = args.calibrate
    if args.trust_model_code:
        options["trust_model_code"] = True
    if args.py_files:
        options["py_files"] = args.py_files
    if ":" in (args.model or "") or "arch" in options:
        _import_from_cwd()
    return tuple(options.items())


def _import_from_cwd() -> None:
    """Let ``module:callable`` name a module in the current directory, as ``python -m``
    does (the console script's own directory is first on sys.path instead)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
