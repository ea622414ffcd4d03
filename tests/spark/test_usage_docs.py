"""docs/usage.md works as written: in its image source, ML stages and streaming sections,
``file=`` blocks are saved under their names, ``bash`` blocks (the image source, the ML
stages, watch --once) run in order in a folder with ``photos/cat/`` and ``photos/dog/``, and
the outputs they write are checked. The sections stand alone: each runs its blocks in order,
two sections at a time. (The Connect, ``--conf`` and progress sections are run by
tests/connect/test_connect_docs.py.)"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from helpers.cli import cli_env
from helpers.drawing import write_images

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1300)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "usage.md")
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SECTIONS = ("Spark's image source", "Spark ML stages", "Watching a folder (streaming)")


def sections(text: str) -> list[str]:
    """The text of each of :data:`SECTIONS` (from its ``## `` heading to the next)."""
    parts = []
    for heading in SECTIONS:
        start = text.index(f"\n## {heading}\n")
        end = text.find("\n## ", start + 1)
        parts.append(text[start:end if end > 0 else len(text)])
    return parts


def test_every_runnable_example_of_the_usage_page_runs(tmp_path):
    work = tmp_path / "work"
    names = [f"cat/cat.{i}.jpg" for i in range(3)] + [f"dog/dog.{i}.jpg" for i in range(3)]
    write_images(str(work / "photos"), names)
    with open(PAGE, encoding="utf-8") as fh:
        blocks = [(k, m.group(1), m.group(2), m.group(3))
                  for k, text in enumerate(sections(fh.read()))
                  for m in BLOCK.finditer(text)]
    by_section: dict[int, list[str]] = {}
    for k, lang, info, body in blocks:
        name = re.search(r"file=(\S+)", info)
        if name:
            (work / name.group(1)).write_text(body)
        elif lang == "bash":
            by_section.setdefault(k, []).append(body)
    commands = [c for section in by_section.values() for c in section]
    assert len(commands) == 3, "the page lost its runnable examples"

    env = cli_env({"SPARK_LOCAL_IP": "127.0.0.1"})  # `sparkvision` on PATH is this one

    def bash(section: list[str]) -> str:
        run = subprocess.run(["bash", "-c", "set -euo pipefail\n" + "\n".join(section)],
                             cwd=work, env=env, capture_output=True, text=True, timeout=1200)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
        return run.stdout

    with ThreadPoolExecutor(2) as pool:
        stdout = "".join(pool.map(bash, by_section.values()))

    def table(name):
        frame = pd.read_parquet(work / name)
        assert len(frame) == len(names), frame
        return frame

    for name in ("image_source_preds", "stage_preds"):
        preds = table(name)
        assert preds["path"].str.startswith("file:").all()
        assert set(preds["label"]) <= {"cat", "dog", "other"}
    assert table("image_source_preds")["error"].isna().all()
    kinds = table("kind_preds")
    assert set(kinds["predicted_kind"]) <= {"cat", "dog"}
    assert (kinds["kind"] == kinds["predicted_kind"]).mean() >= 5 / 6  # its training photos
    assert os.path.isdir(work / "kind_pipeline" / "stages")
    watched = table("watched.parquet")  # one micro-batch, committed: no stray files
    assert sorted(os.path.basename(p) for p in watched["path"]) == sorted(
        os.path.basename(n) for n in names)
    assert re.search(r"\| *file:///\S+cat\.0\.jpg *\| *(cat|dog|other) *\|", stdout)
