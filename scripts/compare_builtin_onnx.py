"""Compare the built-in network's ONNX file (built without torch) with torch's export of it.

Both files run in ONNX Runtime on random inputs and on the photos in FOLDER (decoded and
preprocessed as sparkvision does); prints the largest absolute difference of the
``features`` and ``logits`` outputs and of the head scores, and how many catdog and
ImageNet labels agree. Needs the ``torch`` extra (for the reference export).

Usage: python scripts/compare_builtin_onnx.py FOLDER
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
from pathlib import Path

import numpy as np

from sparkvision.config import Preprocess
from sparkvision.imaging import prepare_batch
from sparkvision.models.builtin.efficientnet import export_torch_onnx
from sparkvision.models.builtin.export import ensure_onnx
from sparkvision.models.heads import apply_head
from sparkvision.models.loaders.onnx_loader import session


def _outputs(sess, batch: np.ndarray) -> list[np.ndarray]:
    parts = [sess.run(["features", "logits"], {"input": batch[i:i + 16]})
             for i in range(0, len(batch), 16)]
    return [np.concatenate([p[k] for p in parts]) for k in (0, 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.folder, "**", "*.jp*g"), recursive=True))
    photos, ok, _ = prepare_batch((Path(f).read_bytes() for f in files), Preprocess())
    rng = np.random.default_rng(0)
    inputs = {
        "random normal": rng.standard_normal((16, 3, 224, 224)).astype(np.float32),
        f"{len(ok)} photos": photos,
    }
    with tempfile.TemporaryDirectory() as tmp:
        reference = os.path.join(tmp, "torch-export.onnx")
        export_torch_onnx(reference)
        ours = session(ensure_onnx(), threads=2, device="cpu")
        theirs = session(reference, threads=2, device="cpu")
        for what, batch in inputs.items():
            (f1, l1), (f2, l2) = _outputs(ours, batch), _outputs(theirs, batch)
            line = (f"{what}: max |diff| features {np.abs(f1 - f2).max():.2e}, "
                    f"logits {np.abs(l1 - l2).max():.2e}")
            for head in ("catdog", "imagenet"):
                a, b = apply_head(head, {"output": l1}), apply_head(head, {"output": l2})
                same = sum(x == y for x, y in zip(a["label"], b["label"], strict=True))
                score = np.abs(np.subtract(a["score"], b["score"])).max()
                line += f"; {head} labels {same}/{len(batch)} equal, scores {score:.1e}"
            print(line)


if __name__ == "__main__":
    main()
