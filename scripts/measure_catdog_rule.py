"""Measure the built-in cat/dog/other rule against the rules it replaced.

Each FOLDER holds one sub-folder per true label (``cat/``, ``dog/``, ``other/``; the
label is the sub-folder name, lower-cased; files directly in FOLDER are skipped). Every
image goes once through the built-in network with the package's own reading, decoding and
preprocessing; the rules are then applied to the saved softmax probabilities:

* ``old (>= 0.5)``: ``cat`` if the cat-group sum is at least 0.5, ``dog`` if the dog-group
  sum is, else ``other`` (the first rule);
* ``sums t=0.2``: the larger group sum wins, ``other`` when both sums are below 0.2 (the
  rule before group means);
* ``means t=T``: :func:`sparkvision.models.builtin.imagenet.catdog` at threshold ``T``: the
  group with the larger mean class probability (sum / 13 for cat, sum / 125 for dog) wins,
  ``other`` only when both sums are below ``T``.

Printed as markdown: the accuracy of every rule per folder (and over all folders
together), how much cat or dog evidence (``max(p_cat, p_dog)``) the images of each true
label carry, which is what a threshold has to separate, the range of cat weights that
would label every cat and dog above the threshold right (the means weigh cat 125 / 13 =
9.6 times, the sums 1 time), the confusion matrices of the sum rule and of the built-in
default, and every image the built-in rule gets wrong. Images that fail to read or decode
are counted and left out.

``--skimage-others`` adds one more folder: the pictures bundled with scikit-image (the
``demo`` extra) that show no cat or dog and are not already demo photos (textures, a
camera man, coins, a clock, a horse silhouette, micrographs, a retina, text, ...), written
as PNG into a temporary ``other/`` folder, to see how much cat or dog evidence non-pet
pictures carry.

Usage: python scripts/measure_catdog_rule.py FOLDER [FOLDER ...] [--skimage-others]
       [--thresholds 0.1,0.2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

from sparkvision.errors import InputError
from sparkvision.executor import get_engine
from sparkvision.imaging import prepare_batch
from sparkvision.models import resolve_model
from sparkvision.models.builtin.imagenet import (
    CAT_CLASSES,
    DOG_CLASSES,
    OTHER_THRESHOLD,
    catdog,
    softmax,
    topk,
)
from sparkvision.storage.listing import resolve_inputs
from sparkvision.storage.reader import read_image_bytes

#: the threshold of the rule that compared group sums
SUM_RULE_THRESHOLD = 0.2
DEFAULT_THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
ANSWERS = ("cat", "dog", "other")
#: scikit-image sample pictures without a cat or dog that ship inside the package
SKIMAGE_OTHERS = (
    "brick", "camera", "cell", "checkerboard", "clock", "coins", "colorwheel", "grass",
    "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
    "microaneurysms", "moon", "page", "retina", "text",
)


def load_probs(folder: str, batch_size: int) -> tuple[list[str], list[str], np.ndarray, int]:
    """(paths, true labels, softmax probabilities (N, 1000), number of failed images)."""
    paths = [p for p in resolve_inputs(folder) if _label(folder, p)]
    spec = resolve_model("imagenet")
    engine = get_engine(spec)
    kept: list[str] = []
    probs: list[np.ndarray] = []
    failed = 0
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        batch, ok, bad = prepare_batch((_read(p) for p in chunk), spec.preprocess)
        failed += len(bad)
        if ok:
            probs.append(softmax(engine(batch)["output"]))
            kept.extend(chunk[i] for i in ok)
    truth = [_label(folder, p) for p in kept]
    stacked = np.concatenate(probs) if probs else np.zeros((0, 1000), dtype=np.float32)
    return kept, truth, stacked, failed


def _label(root: str, path: str) -> str:
    """The name of the sub-folder of ``root`` that holds ``path`` ("" for a top-level file)."""
    parts = os.path.relpath(path, root).split(os.sep)
    return parts[0].lower() if len(parts) > 1 else ""


def _read(path: str) -> bytes | Exception:
    try:
        return read_image_bytes(path)
    except Exception as exc:  # noqa: BLE001 - counted as a failed image
        return exc


def group_sums(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = probs.astype(np.float64)
    return p[:, list(CAT_CLASSES)].sum(1), p[:, list(DOG_CLASSES)].sum(1)


def old_rule(probs: np.ndarray) -> list[str]:
    """cat if p_cat >= 0.5, dog if p_dog >= 0.5, else other."""
    p_cat, p_dog = group_sums(probs)
    return ["cat" if c >= 0.5 else "dog" if d >= 0.5 else "other"
            for c, d in zip(p_cat, p_dog, strict=True)]


def sum_rule(probs: np.ndarray, threshold: float = SUM_RULE_THRESHOLD) -> list[str]:
    """The larger group sum wins (a tie is cat); other when both sums are below threshold."""
    p_cat, p_dog = group_sums(probs)
    return ["other" if max(c, d) < threshold else "cat" if c >= d else "dog"
            for c, d in zip(p_cat, p_dog, strict=True)]


def rules(probs: np.ndarray, thresholds: tuple[float, ...]) -> dict[str, list[str]]:
    out = {"old (>= 0.5)": old_rule(probs),
           f"sums t={SUM_RULE_THRESHOLD:g}": sum_rule(probs)}
    for t in thresholds:
        out[f"means t={t:g}"] = catdog(probs, threshold=t)[0]
    return out


def weight_range(truth: list[str], probs: np.ndarray) -> str:
    """Which weights ``w`` of cat against dog (cat if ``w * p_cat >= p_dog``) label every
    cat and dog photo that carries enough evidence (a sum >= OTHER_THRESHOLD) right."""
    p_cat, p_dog = group_sums(probs)
    t = np.asarray(truth, dtype=object)
    kept = np.maximum(p_cat, p_dog) >= OTHER_THRESHOLD
    ratio = p_dog / np.maximum(p_cat, 1e-300)
    cats, dogs = ratio[kept & (t == "cat")], ratio[kept & (t == "dog")]
    if not len(cats) or not len(dogs):
        return "(needs cat and dog photos)"
    low, high = float(cats.max()), float(dogs.min())
    means = len(DOG_CLASSES) / len(CAT_CLASSES)
    verdict = "every one right" if low <= means < high else "not every one right"
    return (f"cat weights from {low:.2f} up to (not including) {high:.2f} label all "
            f"{len(cats)} cats and {len(dogs)} dogs right"
            + (" (none does)" if low >= high else "")
            + f"; the sums weigh 1, the means {means:.2f}: {verdict}")


def accuracy_table(truth: list[str], labelled: dict[str, list[str]]) -> str:
    """One markdown row per rule: correct, accuracy, and what the mistakes became."""
    lines = [
        "| rule | correct | accuracy | pet -> other | pet -> wrong pet | other -> pet |",
        "|---|---|---|---|---|---|",
    ]
    t = np.asarray(truth, dtype=object)
    pet = np.isin(t, ["cat", "dog"])
    for name, labels in labelled.items():
        p = np.asarray(labels, dtype=object)
        right = int(np.sum(p == t))
        lines.append(
            f"| {name} | {right}/{len(t)} | {right / max(len(t), 1):.1%} "
            f"| {int(np.sum(pet & (p == 'other')))} "
            f"| {int(np.sum(pet & (p != 'other') & (p != t)))} "
            f"| {int(np.sum(~pet & (p != 'other')))} |"
        )
    return "\n".join(lines)


def confusion_table(truth: list[str], labels: list[str]) -> str:
    truths = sorted(set(truth))
    lines = ["| true \\ predicted | " + " | ".join(ANSWERS) + " |", "|---" * 4 + "|"]
    for t in truths:
        row = [sum(1 for a, b in zip(truth, labels, strict=True) if a == t and b == p)
               for p in ANSWERS]
        lines.append(f"| {t} ({truth.count(t)}) | " + " | ".join(map(str, row)) + " |")
    return "\n".join(lines)


def evidence_table(truth: list[str], probs: np.ndarray) -> str:
    """Per true label: the spread of max(p_cat, p_dog) over its images."""
    p_cat, p_dog = group_sums(probs)
    best = np.maximum(p_cat, p_dog)
    lines = [
        "| true label | images | 5 lowest | median | 5 highest |",
        "|---|---|---|---|---|",
    ]
    for t in sorted(set(truth)):
        v = np.sort(best[np.asarray(truth, dtype=object) == t])
        low = ", ".join(f"{x:.3f}" for x in v[:5])
        high = ", ".join(f"{x:.3f}" for x in v[-5:][::-1])
        lines.append(f"| {t} | {len(v)} | {low} | {np.median(v):.3f} | {high} |")
    return "\n".join(lines)


def misses_table(paths: list[str], truth: list[str], probs: np.ndarray) -> str:
    """Every image the built-in rule gets wrong, with its group sums, score and top class."""
    labels, scores = catdog(probs)
    p_cat, p_dog = group_sums(probs)
    lines = ["| image | true | predicted | score | p_cat | p_dog | top-1 class |",
             "|---" * 7 + "|"]
    for i, (t, got) in enumerate(zip(truth, labels, strict=True)):
        if t != got:
            name, top = topk(probs[i : i + 1], 1)
            lines.append(
                f"| {os.path.basename(paths[i])[-40:]} | {t} | {got} | {scores[i]:.3f} "
                f"| {p_cat[i]:.3f} | {p_dog[i]:.3f} | {name[0][0]} {top[0][0]:.2f} |"
            )
    return "\n".join(lines) if len(lines) > 2 else "(none)"


def score_table(truth: list[str], probs: np.ndarray) -> str:
    """Per true label: the built-in rule's scores of its right and of its wrong answers."""
    labels, scores = catdog(probs)
    t = np.asarray(truth, dtype=object)
    right = np.asarray(labels, dtype=object) == t
    lines = ["| true label | right: n | right: lowest / median score | wrong: n "
             "| wrong: highest score |", "|---" * 5 + "|"]
    for lab in sorted(set(truth)):
        ok, bad = scores[(t == lab) & right], scores[(t == lab) & ~right]
        lines.append(
            f"| {lab} | {len(ok)} | "
            + (f"{ok.min():.3f} / {np.median(ok):.3f}" if len(ok) else "-")
            + f" | {len(bad)} | " + (f"{bad.max():.3f}" if len(bad) else "-") + " |"
        )
    return "\n".join(lines)


def report(title: str, paths: list[str], truth: list[str], probs: np.ndarray,
           thresholds: tuple[float, ...], failed: int) -> None:
    labelled = rules(probs, thresholds)
    print(f"\n## {title}\n")
    print(f"{len(truth)} images measured, {failed} failed to read or decode (left out)\n")
    print(accuracy_table(truth, labelled))
    print("\nmax(p_cat, p_dog) per true label:\n")
    print(evidence_table(truth, probs))
    print("\nCat weight against dog:\n")
    print(weight_range(truth, probs))
    print(f"\nConfusion, sum rule (t = {SUM_RULE_THRESHOLD:g}):\n")
    print(confusion_table(truth, labelled[f"sums t={SUM_RULE_THRESHOLD:g}"]))
    print(f"\nConfusion, built-in rule (means, t = {OTHER_THRESHOLD:g}):\n")
    print(confusion_table(truth, catdog(probs)[0]))
    print(f"\nScores of the built-in rule (t = {OTHER_THRESHOLD:g}):\n")
    print(score_table(truth, probs))
    print(f"\nImages the built-in rule (t = {OTHER_THRESHOLD:g}) gets wrong:\n")
    print(misses_table(paths, truth, probs))


def write_skimage_others(root: str) -> str:
    """Save :data:`SKIMAGE_OTHERS` as RGB PNGs into ``root/other/``; returns ``root``."""
    from PIL import Image
    from skimage import data

    folder = os.path.join(root, "other")
    os.makedirs(folder, exist_ok=True)
    for name in SKIMAGE_OTHERS:
        pixels = np.asarray(getattr(data, name)())
        if pixels.dtype == bool:
            pixels = pixels.astype(np.uint8) * 255
        Image.fromarray(pixels).convert("RGB").save(os.path.join(folder, f"{name}.png"))
    return root


def parse_thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(f"--thresholds: expected numbers like 0.1,0.2; found {text!r}") from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise SystemExit(f"--thresholds: expected values in [0, 1]; found {text!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="folders with one sub-folder per true label")
    ap.add_argument("--thresholds", default=",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS))
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--skimage-others", action="store_true",
                    help="also measure scikit-image's bundled non-pet pictures")
    args = ap.parse_args(argv)
    thresholds = parse_thresholds(args.thresholds)
    for folder in args.folders:
        if not os.path.isdir(folder):
            print(f"{folder}: not a folder; expected one with cat/, dog/ or other/ "
                  "sub-folders", file=sys.stderr)
            return 2
    folders = {f: f for f in args.folders}
    if args.skimage_others:
        with tempfile.TemporaryDirectory(prefix="skimage-others-") as tmp:
            folders["scikit-image non-pet pictures"] = write_skimage_others(tmp)
            return measure(folders, thresholds, args.batch_size)
    return measure(folders, thresholds, args.batch_size)


def measure(folders: dict[str, str], thresholds: tuple[float, ...], batch_size: int) -> int:
    """Report on each folder (title -> path), then on all of them together."""
    all_paths: list[str] = []
    all_truth: list[str] = []
    all_probs: list[np.ndarray] = []
    failures = 0
    for title, folder in folders.items():
        try:
            paths, truth, probs, failed = load_probs(folder, batch_size)
        except InputError:
            print(f"{folder}: no images found; expected image files in label sub-folders "
                  "such as cat/, dog/, other/", file=sys.stderr)
            return 2
        report(title, paths, truth, probs, thresholds, failed)
        all_paths += paths
        all_truth += truth
        all_probs.append(probs)
        failures += failed
    if len(folders) > 1:
        report("all folders together", all_paths, all_truth, np.concatenate(all_probs),
               thresholds, failures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
