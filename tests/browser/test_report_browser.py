"""The HTML report in a real browser: headless Chromium (installed with apt-get where it is
missing) loads the page, the test checks its elements through the DevTools protocol and
that no request leaves the file, and keeps a screenshot in build/test-output/."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from helpers.badfiles import EXPECTED, make_bad_inputs
from helpers.cli import run_cli
from helpers.devtools import Browser, install_browser
from helpers.drawing import write_images
from sparkvision.htmlreport import write_report

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1500)]

SCRIPT_NAME = next(n for n in EXPECTED if n.startswith("<script>"))
OUTPUT = os.environ.get("SPARKVISION_TEST_OUTPUT") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "build", "test-output")

PAGE_FACTS = """(() => {
  const q = s => Array.from(document.querySelectorAll(s));
  const links = q('table.confusion a').map(a => a.getAttribute('href'));
  return {
    scripts: document.scripts.length,
    facts: Object.fromEntries(q('#facts tr').map(
      r => [r.querySelector('th').textContent, r.querySelector('td').textContent])),
    bars: q('svg.bars rect').length, hists: q('svg.hist').length,
    accuracy: (document.querySelector('p.accuracy') || {}).textContent || '',
    links: links, linked: links.filter(h => document.getElementById(h.slice(1))).length,
    thumbs: q('figure.thumb img').map(i => [i.naturalWidth, i.naturalHeight, i.src.slice(0, 23)]),
    captions: q('figure.thumb figcaption .name').map(e => e.textContent),
    failed: q('table.failed tr').slice(1).map(
      r => [r.cells[0].textContent, r.cells[1].textContent]),
    external: q('[src],[href]').map(e => e.getAttribute('src') || e.getAttribute('href'))
      .filter(u => !u.startsWith('data:') && !u.startsWith('#')),
  };
})()"""


@pytest.fixture(scope="module")
def chromium():
    binary, how = install_browser()
    if binary is None:
        pytest.skip(f"no browser for the report test: {how}")
    return binary


def _local_only(urls):
    return [u for u in urls if not u.startswith(("data:", "file:"))]


def test_request_detection_sees_a_request_that_leaves_the_file(chromium, tmp_path):
    """The check below is real: a page that loads an http image is caught."""
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><p>control</p>')
    with Browser(chromium) as browser:
        browser.load(page.as_uri())
        assert _local_only(browser.requests()) == ["http://127.0.0.1:9/x.png"]


def test_classify_report_in_chromium(chromium, tmp_path):
    root = tmp_path / "photos"
    write_images(str(root), [f"cat/cat.{i}.jpg" for i in range(4)] +
                 [f"dog/dog.{i}.png" for i in range(3)])
    bad = make_bad_inputs(str(root / "cat"))
    out, report = str(tmp_path / "preds.parquet"), str(tmp_path / "report.html")
    result = run_cli(["classify", str(root), "--out", out, "--execution", "python", "--quiet",
                      "--label-from", "folder", "--report", report], in_process=True)
    assert result.rc == 0 and f"report: {report}" in result.stdout
    # vanishes.jpg and becomes-unreadable.jpg are only broken after listing: here they are fine
    failed = {n for n, kind in EXPECTED.items()
              if kind and n not in ("vanishes.jpg", "becomes-unreadable.jpg")}
    with Browser(chromium) as browser:
        browser.load(f"file://{report}")
        page = browser.evaluate(PAGE_FACTS)
        requests = browser.requests()
        os.makedirs(OUTPUT, exist_ok=True)
        browser.screenshot(os.path.join(OUTPUT, "report.png"))
    assert _local_only(requests) == [] and page["external"] == [] and page["scripts"] == 0
    assert page["facts"]["inputs"] == str(7 + len(bad))
    assert page["facts"]["engine"] in ("auto", "onnx")
    assert page["facts"]["execution"] == "python" and page["facts"]["model"] == "catdog"
    assert page["bars"] >= 1 and page["hists"] == page["bars"]
    assert page["accuracy"].startswith("Accuracy:") and page["links"]
    assert page["linked"] == len(page["links"])  # every confusion cell opens its thumbnails
    assert page["thumbs"] and all(0 < w <= 160 and 0 < h <= 160 and src == "data:image/jpeg;base64,"
                                  for w, h, src in page["thumbs"])
    assert SCRIPT_NAME in page["captions"]  # a name full of markup shows as text
    assert sorted(os.path.basename(p) for p, _ in page["failed"]) == sorted(failed)
    assert all(kind == EXPECTED[os.path.basename(p)] for p, kind in page["failed"])


def _big_output(folder, rows: int) -> str:
    """A classify output of ``rows`` rows (as the python execution writes it), pointing at
    a few real images, 1 % failed."""
    images = write_images(os.path.join(folder, "img"), [f"i{i}.jpg" for i in range(30)])
    rng = np.random.default_rng(0)
    labels = np.array(["cat", "dog", "other"])
    frame = pd.DataFrame({
        "path": [f"{images[i % 30]}" if i % 100 else f"{folder}/gone <b>{i}</b>.jpg"
                 for i in range(rows)],
        "label_true": labels[rng.integers(0, 2, rows)],
        "label": labels[rng.integers(0, 3, rows)],
        "score": rng.uniform(0.5, 1.0, rows).astype("float32"),
    })
    bad = np.arange(rows) % 100 == 0
    frame.loc[bad, ["label", "score"]] = None
    frame["error"] = np.where(bad, "could not read: no file there", None)
    frame["error_kind"] = np.where(bad, "missing", None)
    out = os.path.join(folder, "big.parquet")
    os.makedirs(out)
    frame.to_parquet(os.path.join(out, "part-00000.parquet"), index=False)
    with open(os.path.join(out, "_summary.json"), "w") as fh:
        json.dump({"inputs": rows, "ok": int((~bad).sum()), "failed": int(bad.sum()),
                   "execution": "python", "model": "catdog"}, fh)
    return out


def test_report_of_100000_rows_is_bounded_and_opens_fast(chromium, tmp_path):
    out = _big_output(str(tmp_path), 100_000)
    report = write_report(out, str(tmp_path / "big.html"), execution="python")
    size = os.path.getsize(report)
    with Browser(chromium) as browser:
        seconds = browser.load(f"file://{report}")
        page = browser.evaluate(PAGE_FACTS)
        requests = browser.requests()
        browser.screenshot(os.path.join(OUTPUT, "report-100000-rows.png"), max_height=3000)
    print(f"100,000-row report: {size / 1e6:.2f} MB, loaded in {seconds:.2f} s")
    assert _local_only(requests) == [] and page["external"] == []
    assert size < 3_000_000 and seconds < 10
    assert len(page["thumbs"]) <= 3 * 48  # the cap per label, whatever the row count
    assert len(page["failed"]) == 1000 and page["facts"]["failed"] == "1000"
    assert all("<b>" in p for p, _ in page["failed"])  # shown as text, not bold markup
    shutil.rmtree(out)
