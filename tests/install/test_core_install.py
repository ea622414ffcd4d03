"""``pip install sparkvision`` without extras: no torch, and the built-in models still
classify and embed, offline, in a fresh virtual environment.

Slow (a new venv with pyspark, pyarrow and ONNX Runtime: about 1 GB unpacked from pip's
cache), so it is marked ``slow``; it prints the venv's size and the install time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest

from helpers.drawing import write_images

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _source_copy(dest: str) -> str:
    """The project's installable files, copied so the build leaves the checkout clean."""
    shutil.copytree(os.path.join(ROOT, "src"), os.path.join(dest, "src"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
        shutil.copy(os.path.join(ROOT, name), dest)
    return dest


def _offline(cmd: list[str]) -> list[str]:
    """``cmd`` in a network namespace with only loopback, where that is allowed."""
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True) \
        if shutil.which("unshare") and shutil.which("ip") else None
    if probe is None or probe.returncode != 0:
        return cmd
    return ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *cmd]


def _env(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env.update(SPARKVISION_CACHE=cache, http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", no_proxy="", NO_PROXY="")
    env.pop("PYTHONPATH", None)
    return env


def test_core_install_has_no_torch_and_runs_the_builtin_models_offline(tmp_path):
    venv = str(tmp_path / "venv")
    python = os.path.join(venv, "bin", "python")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-compile",
                    "-c", os.path.join(ROOT, "constraints.txt"),
                    _source_copy(str(tmp_path / "source"))], check=True)
    seconds = time.perf_counter() - started
    size = subprocess.run(["du", "-sm", venv], capture_output=True, text=True, check=True)
    print(f"\ncore install: {size.stdout.split()[0]} MB, {seconds:.0f} s (no byte-compiling)")

    for module in ("torch", "efficientnet_lite_pytorch"):
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
        assert probe.returncode != 0 and f"No module named '{module}'" in probe.stderr

    images = tmp_path / "images"
    names = [f"cat/cat.{i}.jpg" for i in range(3)] + [f"dog/dog.{i}.jpg" for i in range(3)]
    write_images(str(images), [*names, "dog/dog.9.png"])
    env, tool = _env(str(tmp_path / "cache")), os.path.join(venv, "bin", "sparkvision")
    out = tmp_path / "out"
    run = [tool, "classify", str(images), "--out", str(out / "preds.parquet"), "--quiet"]
    subprocess.run(_offline(run), env=env, check=True, timeout=600)
    run = [tool, "embed", str(images), "--out", str(out / "vectors.parquet"), "--quiet",
           "--execution", "python"]
    subprocess.run(_offline(run), env=env, check=True, timeout=300)

    preds = pd.read_parquet(out / "preds.parquet")
    assert len(preds) == 7 and preds["error"].isna().all()
    assert set(preds["label"]) <= {"cat", "dog", "other"}
    vectors = pd.read_parquet(out / "vectors.parquet")
    assert len(vectors) == 7 and all(len(v) == 1280 for v in vectors["embedding"])
    built = os.listdir(tmp_path / "cache")
    assert any(n.startswith("efficientnet-lite0-") and n.endswith(".onnx") for n in built)

    run = [tool, "classify", str(images), "--out", str(out / "t.parquet"), "--quiet",
           "--execution", "python", "--engine", "torch"]
    failed = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0
    assert "pip install 'sparkvision[torch]'" in failed.stderr
    assert "Traceback" not in failed.stderr

    # the unit tests pass in this core install: what needs an extra skips and names it
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-compile", "-c", os.path.join(ROOT, "constraints.txt"),
                    f"{_source_copy(str(tmp_path / 'source-test'))}[test]"], check=True)
    unit = subprocess.run([python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "--durations=0", "tests/unit"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert unit.returncode == 0, unit.stdout[-4000:] + unit.stderr[-2000:]
    skipped = [line for line in unit.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped and all("pip install" in line or "No module named" in line
                           for line in skipped), skipped
    assert " passed" in unit.stdout.splitlines()[-1]
