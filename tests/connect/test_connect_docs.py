"""The Spark Connect, ``--conf`` and progress examples of README.md and docs/usage.md work as
written: ``file=`` blocks are saved under their names, ``bash`` blocks run in order in a folder
with a ``photos/`` directory (cat/ and dog/), and the outputs they name are checked.

The test session's Connect server stands in for ``make connect-up`` (a second server would
cost another half minute): that line is skipped and ``sc://127.0.0.1:15002`` becomes the
test server's URL. ``.venv`` in the folder links to this venv. The sections stand alone:
each runs its blocks in order, two sections at a time, as two users of one server.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from helpers.cli import cli_env
from helpers.drawing import write_images
from sparkconnect import ConnectServer

pytestmark = [pytest.mark.connect, pytest.mark.timeout(1900)]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCK = re.compile(r"^ *```(\w+)([^\n]*)\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
#: page -> the sections (## headings) whose examples this test runs
SECTIONS = {
    "README.md": ["On a Spark Connect server"],
    "docs/usage.md": ["Progress", "Spark settings: `--conf`", "Spark Connect"],
}


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def examples() -> list[tuple[str, str, str, str]]:
    """``(page and section, language, info, body)`` of every block of :data:`SECTIONS`."""
    found = []
    for page, headings in SECTIONS.items():
        with open(os.path.join(ROOT, page), encoding="utf-8") as fh:
            text = fh.read()
        for heading in headings:
            found += [(f"{page}: {heading}", m.group(1), m.group(2).strip(), m.group(3))
                      for m in BLOCK.finditer(section(text, heading))]
    return found


def test_connect_conf_and_progress_examples_run(connect_server: ConnectServer, tmp_path):
    work = tmp_path / "work"
    write_images(str(work / "photos"), [f"{c}/{c}.{i}.jpg" for c in ("cat", "dog")
                                        for i in range(5)])
    os.symlink(os.path.dirname(os.path.dirname(sys.executable)), work / ".venv")
    by_section: dict[str, list[str]] = {}
    for where, lang, info, body in examples():
        name = re.search(r"file=(\S+)", info)
        if name:
            (work / name.group(1)).write_text(body.replace("sc://127.0.0.1:15002",
                                                           connect_server.url))
        elif lang == "bash":
            lines = [line.strip() for line in body.splitlines() if line.strip()]
            by_section.setdefault(where, []).extend(
                line.replace("sc://127.0.0.1:15002", connect_server.url)
                for line in lines if not line.startswith("make connect-up"))
    commands = [c for section in by_section.values() for c in section]
    assert len(commands) >= 9 and len(by_section) == 4, commands

    env = cli_env()  # `sparkvision` on PATH is this one

    def bash(section: list[str]) -> subprocess.CompletedProcess:
        run = subprocess.run(["bash", "-c", "set -euo pipefail\n" + "\n".join(section)],
                             cwd=work, env=env, capture_output=True, text=True, timeout=1800)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
        return run

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(bash, by_section.values()))
    stdout = "".join(r.stdout for r in runs)

    def table(name: str) -> pd.DataFrame:
        frame = pd.read_parquet(work / name)
        assert len(frame) == 10, frame
        assert "error" not in frame or frame["error"].isna().all(), frame
        return frame

    assert set(table("preds.parquet")["label"]) <= {"cat", "dog", "other"}   # README
    assert set(table("labelled.parquet")["label_true"]) == {"cat", "dog"}
    assert (work / "sorted" / "_manifest.csv").is_file()
    assert {len(v) for v in table("vectors.parquet")["embedding"]} == {1280}
    assert {len(v) for v in table("vectors-quiet.parquet")["embedding"]} == {1280}
    assert (work / "pets-model" / "report.json").is_file()
    assert set(table("pets.parquet")["label"]) <= {"cat", "dog"}
    assert set(table("mine.parquet")["label"]) <= {"circle", "square", "triangle"}
    parts = glob.glob(str(work / "preds-gzip.parquet" / "part-*"))
    assert parts and all(p.endswith(".gz.parquet") for p in parts)
    assert re.search(r"\|path +\|label *\|score", stdout), stdout[-2000:]
    assert {len(v) for v in table("api-vectors.parquet")["embedding"]} == {1280}
    assert "images: 10   ok: 10" in stdout
