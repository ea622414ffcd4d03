"""docs/byo-models.md works as written: its ``file=`` blocks are saved under their names,
its ``bash`` blocks run in order in a folder with a ``photos/`` directory, and the outputs
the page describes are checked. The page's sections (``## `` headings) stand alone: each
runs its blocks in order, two sections at a time (each command mostly waits on a JVM and
Python workers starting).

torchvision cannot be installed here, so a stand-in package with the same two names the
page uses (``resnet50``, ``ResNet50_Weights``) is put on ``PYTHONPATH``; it builds the
tests' torchvision-style ResNet-50 with random weights.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from helpers.cli import cli_env
from helpers.drawing import write_images

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1600)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "byo-models.md")
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

TORCHVISION_STANDIN = '''"""Stand-in for torchvision.models (not installable): random weights."""
from byo_nets import resnet50 as _resnet50


class ResNet50_Weights:
    DEFAULT = None


def resnet50(weights=None):
    return _resnet50()
'''


def blocks(with_sections=False):
    with open(PAGE, encoding="utf-8") as fh:
        text = fh.read()
    found = []
    for m in BLOCK.finditer(text):
        heading = re.findall(r"^## (.+)$", text[:m.start()], re.MULTILINE)
        found.append((heading[-1] if heading else "", m.group(1), m.group(2).strip(),
                      m.group(3)))
    return found if with_sections else [b[1:] for b in found]


def _bash(commands, cwd, env):
    script = "set -euo pipefail\n" + "\n".join(commands)
    run = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return run


def test_every_documented_command_runs(tmp_path):
    work = tmp_path / "work"
    photos = write_images(str(work / "photos"), [f"cat/cat.{i}.jpg" for i in range(3)]
                          + [f"dog/dog.{i}.jpg" for i in range(3)])
    stubs = tmp_path / "stubs" / "torchvision" / "models"
    stubs.mkdir(parents=True)
    (stubs.parent / "__init__.py").write_text("")
    (stubs / "__init__.py").write_text(TORCHVISION_STANDIN)

    by_section: dict[str, list[str]] = {}
    for heading, lang, info, body in blocks(with_sections=True):
        name = re.search(r"file=(\S+)", info)
        if name:
            (work / name.group(1)).write_text(body)
        elif lang == "bash":
            by_section.setdefault(heading, []).append(body)
    commands = [c for section in by_section.values() for c in section]
    assert len(commands) >= 8 and len(by_section) >= 5, "the page lost its runnable examples"

    env = cli_env({  # `sparkvision` on PATH is this one
        "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "tests"), str(tmp_path / "stubs")]),
        "SPARKVISION_CACHE": str(tmp_path / "cache"),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "KERAS_BACKEND": None,
    })
    # transformers takes the torchvision stand-in for the real package: the Hugging Face
    # section runs without it, as on a machine that has no torchvision at all.
    def section_env(section):
        hf = any("make_hf.py" in c for c in section)
        return {**env, "PYTHONPATH": os.path.join(ROOT, "tests")} if hf else env

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda s: _bash(s, work, section_env(s)), by_section.values()))
    out = "".join(r.stdout for r in runs)

    def table(name):
        frame = pd.read_parquet(work / name)
        assert len(frame) == len(photos) and frame["error"].isna().all(), frame
        return frame.sort_values("path").reset_index(drop=True)

    assert set(table("catdog_preds")["label"]) <= {"cat", "dog"}
    shapes = table("shapes_preds")
    assert set(shapes["label"]) <= {"circle", "square", "triangle"}
    assert {len(v) for v in table("features")["embedding"]} == {2048}
    assert set(table("small_preds")["label"]) <= {"cat", "dog"}
    vit = table("vit_preds")
    assert set(vit["label"]) <= {"cat", "dog"} and {len(v) for v in vit["scores"]} == {2}
    assert {len(v) for v in table("vit_vectors")["embedding"]} == {48}
    outdoor = table("outdoor_preds")
    p = np.array([s[0] for s in outdoor["scores"]])
    assert outdoor["label"].tolist() == ["outdoor" if v >= 0.7 else "indoor" for v in p]

    assert re.search(r"\| *\S+ *\| *(cat|dog) *\|", out), out[-2000:]  # keras_api.py's show()
    assert re.search(r"photos/\S+ 2048\n", out), out[-2000:]          # torch_api.py
    documented = next(body for lang, _, body in blocks() if lang == "text"
                      and "ImageVectorizer.build_model" in body)
    assert documented.strip() in out  # torch_api.py prints the documented message
