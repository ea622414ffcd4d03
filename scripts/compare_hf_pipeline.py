"""sparkvision against transformers' image-classification pipeline on your photos.

Makes two tiny random ViT folders offline (a ViT processor: the whole image to a square;
a CLIP-style processor: shortest edge, then a center crop, bicubic), and compares their
scores from sparkvision (``decode`` exact, the default for Hugging Face folders) with the
pipeline's, on the photos as they are and on copies enlarged to 2300 px::

    .venv/bin/python scripts/compare_hf_pipeline.py PHOTOS/ WORKDIR [--limit 40]
"""

from __future__ import annotations

import argparse
import glob
import os
import warnings

import numpy as np

LABELS = {0: "red", 1: "green", 2: "blue"}


def tiny_vit(folder: str, processor) -> str:
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=37, num_labels=3, id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()})
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def enlarged(photos: list[str], workdir: str, side: int = 2300) -> list[str]:
    from PIL import Image

    out = []
    for i, path in enumerate(photos):
        image = Image.open(path).convert("RGB")
        scale = side / max(image.size)
        target = os.path.join(workdir, f"enlarged-{i}.jpg")
        image.resize((round(image.width * scale), round(image.height * scale)),
                     Image.BICUBIC).save(target, quality=92)
        out.append(target)
    return out


def compare(folder: str, paths: list[str]) -> tuple[float, int]:
    """The largest score difference and how many labels agree."""
    import transformers

    from sparkvision.executor import predict_frame
    from sparkvision.models import resolve_model

    spec = resolve_model(folder)
    ours = predict_frame(paths, spec, batch_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = transformers.pipeline("image-classification", model=folder)
    worst, same = 0.0, 0
    for scores, path in zip(ours["scores"], paths, strict=True):
        theirs = {d["label"]: d["score"] for d in pipe(path, top_k=None)}
        expected = np.array([theirs[name] for name in spec.labels])
        worst = max(worst, float(np.abs(np.asarray(scores) - expected).max()))
        same += int(np.argmax(scores) == np.argmax(expected))
    return worst, same


def main() -> None:
    import transformers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos")
    parser.add_argument("workdir")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    photos = sorted(p for p in glob.glob(os.path.join(args.photos, "**", "*"), recursive=True)
                    if p.lower().endswith((".jpg", ".jpeg", ".png")))[:args.limit]
    sets = {"as they are": photos, "enlarged to 2300 px": enlarged(photos[:12], args.workdir)}
    processors = {
        "vit": transformers.ViTImageProcessor(size={"height": 32, "width": 32}),
        "clip-style": transformers.CLIPImageProcessor(
            size={"shortest_edge": 37}, crop_size={"height": 32, "width": 32}),
    }
    for name, processor in processors.items():
        folder = tiny_vit(os.path.join(args.workdir, name), processor)
        for label, paths in sets.items():
            worst, same = compare(folder, paths)
            print(f"{name:<11} {label:<22} {len(paths):>3} photos: largest score difference "
                  f"{worst:.1e}, same label {same}/{len(paths)}")


if __name__ == "__main__":
    main()
