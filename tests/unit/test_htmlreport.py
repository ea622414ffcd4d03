"""The report page without Spark: which thumbnails are picked, what the page says, how
every name is escaped, and that the python-execution reader keeps bounded state."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pandas as pd
from PIL import Image

from helpers.badfiles import EXPECTED
from helpers.drawing import drawn_image, encode
from sparkvision.htmlreport import write_report
from sparkvision.htmlreport.data import (
    Failure,
    ReportData,
    Thumb,
    pick_gallery,
    precision_recall,
)
from sparkvision.htmlreport.gather_local import LocalStats, read_rows
from sparkvision.htmlreport.page import render
from sparkvision.imaging.thumbnail import THUMB_SIDE, thumbnail_jpeg

SCRIPT_NAME = next(n for n in EXPECTED if n.startswith("<script>"))


def _thumbs(label, truth, scores):
    return [Thumb(f"/p/{label}-{truth}-{i}.jpg", label, s, truth) for i, s in enumerate(scores)]


def test_gallery_puts_misclassified_and_least_confident_first_within_the_cap():
    cells = {("cat", "cat"): 50, ("cat", "dog"): 3, ("cat", "fox"): 1, ("dog", "dog"): 5}
    candidates = (_thumbs("cat", "cat", [0.9, 0.55, 0.7, 0.99, 0.6]) +
                  _thumbs("cat", "dog", [0.8, 0.51, 0.95]) + _thumbs("cat", "fox", [0.97]) +
                  _thumbs("dog", "dog", [0.7, 0.6, 0.9, 0.8, 0.65]))
    galleries = {g.label: g for g in pick_gallery(candidates, cells, cap=4)}
    cat = galleries["cat"]
    assert [(c.label_true, c.total) for c in cat.cells] == [("dog", 3), ("fox", 1), ("cat", 50)]
    assert sum(len(c.items) for c in cat.cells) == 4 and cat.total == 54
    shown = {c.label_true: [t.score for t in c.items] for c in cat.cells}
    # every cell shows something; each lists its least confident images, rising
    assert shown == {"dog": [0.51, 0.8], "fox": [0.97], "cat": [0.55]}
    assert [t.score for t in galleries["dog"].cells[0].items] == [0.6, 0.65, 0.7, 0.8]


def test_precision_recall_and_accuracy_from_confusion():
    stats = precision_recall({"cat": {"cat": 8, "dog": 2}, "dog": {"dog": 5, "cat": 1}})
    assert stats["cat"] == (8 / 9, 0.8, 10)
    assert stats["dog"] == (5 / 7, 5 / 6, 6)


def test_thumbnail_is_small_upright_jpeg_from_the_shared_decode():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown upright
    data = encode(drawn_image(3, (1200, 600)), "JPEG", exif=exif)
    thumb = Image.open(io.BytesIO(thumbnail_jpeg(data)))
    assert thumb.format == "JPEG" and max(thumb.size) == THUMB_SIDE
    assert thumb.size == (80, 160)  # 600 wide x 1200 high once upright


def _page(**kw) -> str:
    data = ReportData(title="t <b>", facts=[("model", "<i>m</i>")], **kw)
    return render(data)


def test_page_escapes_every_name_and_loads_nothing():
    thumb = Thumb(f"/x/{SCRIPT_NAME}", "<img src=x onerror=alert(1)>", 0.4, "cat",
                  image=encode(drawn_image(1, (40, 30)), "JPEG"))
    galleries = pick_gallery([thumb], {(thumb.label, "cat"): 1}, cap=5)
    html = _page(label_counts={thumb.label: 1}, histograms={thumb.label: [1] + [0] * 19},
                 confusion={"cat": {thumb.label: 1}}, galleries=galleries, per_label=5,
                 failures=[Failure("/x/a\nb<script>.jpg", "empty", "bad & <worse>")],
                 failed_total=1, failed_by_kind={"empty": 1})
    assert "<script" not in html and "<img src=x" not in html
    assert ("&lt;script&gt;alert(1);&lt;script&gt;, &quot;quoted&quot; &amp; "
            "&#x27;single&#x27;.jpg") in html
    assert "bad &amp; &lt;worse&gt;" in html and "&lt;i&gt;m&lt;/i&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert re.search(r'src="data:image/jpeg;base64,', html)
    # the confusion cell links to the gallery cell that shows it
    links = set(re.findall(r'href="#(cell-[^"]+)"', html))
    assert links and all(f'id="{link}"' in html for link in links)


def test_local_stats_keep_bounded_state_and_count_everything():
    stats = LocalStats(cap=3, max_failed=2)
    for i in range(1000):
        stats.add({"path": f"/p/{i:04d}.jpg", "label": "cat" if i % 2 else "dog",
                   "score": (i % 100) / 100, "label_true": "cat", "error": None,
                   "error_kind": None})
    for i in range(7):
        stats.add({"path": f"/bad/{9 - i}.jpg", "error": "x", "error_kind": "empty"})
    assert stats.label_counts == {"cat": 500, "dog": 500}
    assert stats.confusion == {"cat": {"cat": 500, "dog": 500}}
    assert sum(stats.histograms["cat"]) == 500 and stats.failed_by_kind == {"empty": 7}
    picked = sorted((t.label, t.score, t.path) for t in stats.candidates())
    assert len(picked) == 6  # 3 per cell, never more
    assert [p[1] for p in picked if p[0] == "dog"] == [0.0, 0.0, 0.0]
    assert [f.path for f in stats.failures()] == ["/bad/3.jpg", "/bad/4.jpg"]


def test_write_report_from_a_python_execution_output(tmp_path):
    """A table written as the python execution writes it, read without Spark."""
    out = tmp_path / "preds.parquet"
    out.mkdir()
    image = tmp_path / f"{SCRIPT_NAME}"
    image.write_bytes(encode(drawn_image(2, (300, 200)), "JPEG"))
    rows = [{"path": str(image), "label_true": "cat", "label": "dog", "score": 0.6,
             "error": None, "error_kind": None},
            {"path": str(tmp_path / "gone.jpg"), "label_true": "cat", "label": None,
             "score": None, "error": "could not read", "error_kind": "missing"}]
    pd.DataFrame(rows).to_parquet(out / "part-00000.parquet")
    (out / "_summary.json").write_text(json.dumps({"inputs": 2, "ok": 1, "failed": 1,
                                                   "execution": "python"}))
    path = write_report(str(out), str(tmp_path / "r.html"), execution="python")
    html = Path(path).read_text(encoding="utf-8")
    assert html.count('src="data:image/jpeg;base64,') == 1
    assert "misclassified: true label cat" in html and "gone.jpg" in html
    assert os.path.getsize(path) < 100_000


def test_csv_output_empty_fields_are_missing_values(tmp_path):
    out = tmp_path / "p.csv"
    out.mkdir()
    (out / "part-00000.csv").write_text(
        '"path","label","score","error","error_kind"\n"/a.jpg","cat",0.9,,\n'
        '"/b.jpg",,,"empty file","empty"\n')
    rows = list(read_rows(str(out), "csv"))
    assert rows[0]["error"] is None and rows[1]["label"] is None
    stats = LocalStats(cap=2, max_failed=5)
    for row in rows:
        stats.add(row)
    assert stats.label_counts == {"cat": 1} and stats.failed_by_kind == {"empty": 1}
