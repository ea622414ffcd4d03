"""Measure the two decode modes on large photos: what ``fast`` saves, what ``exact`` costs.

Each photo in FOLDER is enlarged to every ``--sizes`` length of its longer side and
re-encoded as a JPEG (quality 90) under a temporary folder, like a camera original. Then:

- time: decode + preprocess per image, ``fast`` (JPEG draft decoding and pre-shrinking)
  against ``exact`` (full-size decode, then the model's own resize and crop), for two
  recipes: the built-in models' (shorter side 256, crop 224, bilinear) and a CLIP-style
  Hugging Face processor's (shorter side 224, crop 224, bicubic). CPU ms per image, best
  of ``--repeat`` passes (wall time on a busy machine is noisier);
- memory: the peak resident memory one ``prepare`` call adds, in a fresh process per
  image size and mode (Linux's VmHWM, reset after imports and a warm-up), next
  to the decoded RGB image's own size (width x height x 3 bytes); and what that is at
  the default pixel limit (``max_pixels``).

Usage: python scripts/measure_decode_modes.py FOLDER [--limit N] [--sizes 2000,3000,4000]
       [--repeat N]
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image

from sparkvision.config import Preprocess
from sparkvision.imaging import prepare
from sparkvision.imaging.decode import DEFAULT_MAX_PIXELS

RECIPES = {
    "built-in 256/224 bilinear": Preprocess(),
    "CLIP-style 224/224 bicubic": Preprocess(
        size=224, resize=224, scale=1 / 255, mean=(0.48145466, 0.4578275, 0.40821073),
        std=(0.26862954, 0.26130258, 0.27577711), interpolation="bicubic"),
}


def enlarge(files: list[str], side: int, folder: str) -> list[str]:
    """Each photo resized to ``side`` px on its longer side, saved as a JPEG in ``folder``."""
    out = []
    for i, path in enumerate(files):
        img = Image.open(path).convert("RGB")
        scale = side / max(img.size)
        img = img.resize((round(img.size[0] * scale), round(img.size[1] * scale)),
                         Image.Resampling.BICUBIC)
        target = os.path.join(folder, f"{side}-{i:03d}.jpg")
        img.save(target, "JPEG", quality=90)
        out.append(target)
    return out


def cpu_ms(datas: list[bytes], pre: Preprocess, repeat: int) -> float:
    """Best CPU ms per image over ``repeat`` passes of ``prepare``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for data in datas:
            prepare(data, pre)
        best = min(best, (time.process_time() - started) / len(datas) * 1000)
    return best


def peak_mb(path: str, decode: str) -> float:
    """Peak resident MB one ``prepare`` of ``path`` adds, in a fresh process."""
    proc = subprocess.run([sys.executable, __file__, "--child", path, decode],
                          capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def child(path: str, decode: str) -> None:
    """Print the MiB of resident memory ``prepare`` adds to this process at its peak."""
    pre = replace(Preprocess(), decode=decode)
    data = Path(path).read_bytes()
    warm = path + ".warm.jpg"
    Image.new("RGB", (300, 300)).save(warm, "JPEG")
    prepare(Path(warm).read_bytes(), pre)  # load every code path first
    before = _rss_kib("VmRSS")
    try:  # reset the peak to the current size (Linux), so imports do not count
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    prepare(data, pre)
    print(f"{(_rss_kib('VmHWM') - before) / 1024:.1f}")


def _rss_kib(field: str) -> int:
    """``field`` (VmRSS: now, VmHWM: the peak) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(files: list[str], sizes: list[int], repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sv-decode-modes-") as tmp:
        for side in sizes:
            paths = enlarge(files, side, tmp)
            datas = [Path(p).read_bytes() for p in paths]
            first = Image.open(paths[0])
            mb = sum(len(d) for d in datas) / len(datas) / 1e6
            print(f"\n{len(datas)} JPEGs, {side} px on the longer side, mean {mb:.1f} MB")
            for name, pre in RECIPES.items():
                fast = cpu_ms(datas, pre, repeat)
                exact = cpu_ms(datas, replace(pre, decode="exact"), repeat)
                print(f"  {name}: fast {fast:.1f} ms, exact {exact:.1f} ms CPU per image "
                      f"(fast saves {exact - fast:.1f} ms, {exact / fast:.1f}x)")
            rgb = first.size[0] * first.size[1] * 3 / 2**20
            print(f"  peak memory of one prepare ({first.size[0]}x{first.size[1]}): fast "
                  f"{peak_mb(paths[0], 'fast'):.1f} MiB, exact {peak_mb(paths[0], 'exact'):.1f}"
                  f" MiB (the decoded RGB image alone: {rgb:.1f} MiB)")
    print(f"\nAt max_pixels = {DEFAULT_MAX_PIXELS:,} an exact decode holds up to "
          f"{DEFAULT_MAX_PIXELS * 3 / 2**20:.0f} MiB of RGB pixels per image being prepared "
          "(a fast one at most a quarter of that for JPEGs 2x the resize or more)")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--sizes", default="2000,3000,4000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.folder, "**", "*.jp*g"), recursive=True))
    if not files:
        sys.exit(f"no .jpg/.jpeg photos under {args.folder}; expected a folder of photos")
    report(files[: args.limit], [int(s) for s in args.sizes.split(",")], args.repeat)


if __name__ == "__main__":
    main()
