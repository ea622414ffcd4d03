"""What a trained model costs: `train` on N images, then `classify --model MODEL_DIR`
against `embed` on the same images, alternated so that other load hits both alike.

    .venv/bin/python scripts/measure_trained.py --train-images 3000 --images 1000 --repeats 3

Images come from the synthetic benchmark set (`sparkvision make-dataset`, cat.K/dog.K
names, so `--label-from filename` labels them). Prints one markdown table row per
command with seconds, images/s and CPU seconds of the whole process tree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import psutil


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and all its children)."""
    started = time.monotonic()
    proc = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cpu: dict[int, float] = {}
    while proc.poll() is None:
        try:
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(0.2)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode()[-2000:]}")
    return time.monotonic() - started, sum(cpu.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/sv-trained")
    parser.add_argument("--train-images", type=int, default=3000)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from sparkvision.bench.dataset import make_dataset

    cli = os.path.join(os.path.dirname(sys.executable), "sparkvision")
    train_set = os.path.join(args.workdir, "train")
    test_set = os.path.join(args.workdir, "test")
    make_dataset(args.train_images, train_set, seed=1)
    make_dataset(args.images, test_set, seed=2)
    model = os.path.join(args.workdir, "model")
    shutil.rmtree(model, ignore_errors=True)
    seconds, cpu = run([cli, "train", train_set, "--label-from", "filename", "--out", model,
                        "--quiet"])
    print("| command | images | seconds | img/s | CPU s |\n|---|---:|---:|---:|---:|")
    print(f"| train | {args.train_images} | {seconds:.1f} | {args.train_images / seconds:.1f} "
          f"| {cpu:.1f} |")
    out = os.path.join(args.workdir, "out")
    commands = {
        "embed": [cli, "embed", test_set, "--out", out, "--overwrite", "--quiet"],
        "classify --model (trained)": [cli, "classify", test_set, "--model", model, "--out",
                                       out, "--overwrite", "--quiet"],
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            results[name].append(run(command))
    for name, runs in results.items():
        best = min(runs)
        print(f"| {name} | {args.images} | {best[0]:.1f} | {args.images / best[0]:.1f} "
              f"| {min(c for _, c in runs):.1f} |")
    ratio = min(results["classify --model (trained)"])[0] / min(results["embed"])[0]
    print(f"\ntrained classify / embed (best of {args.repeats}, wall time): {ratio:.3f}")


if __name__ == "__main__":
    main()
