"""One self-contained HTML page from a :class:`~.data.ReportData`.

No script, no external file, no network: the CSS is inline, charts are inline SVG,
thumbnails are ``data:`` JPEGs, and a Content-Security-Policy meta tag forbids the page
from loading anything else. Every text that comes from data (file names, labels, error
messages) goes through :func:`html.escape`, so a file named ``<script>...`` shows as text.
"""

from __future__ import annotations

import base64
import os
from html import escape

import sparkvision.htmlreport.charts as charts
from sparkvision.htmlreport.data import (
    MAX_CHART_LABELS,
    MAX_HIST_LABELS,
    Cell,
    DupGroup,
    Gallery,
    ReportData,
    Thumb,
    accuracy,
    cell_id,
    precision_recall,
    top_labels,
)

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
       "form-action 'none'")

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:22px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
nav a{margin-right:12px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4;text-align:left}td.n{text-align:right}.note{color:#555}
.hists{display:flex;flex-wrap:wrap;gap:8px}svg text{font:11px system-ui,sans-serif;fill:#333}
svg text.h{font-weight:bold}.grid{display:flex;flex-wrap:wrap;gap:8px}
figure.thumb{margin:0;width:168px;font-size:11px;word-break:break-all}
figure.thumb img{display:block;max-width:160px;max-height:160px;border:1px solid #ccc}
figure.wrong img{border:3px solid #c0392b}figure.keeper img{border:3px solid #27ae60}
.nopic{width:160px;height:60px;background:#eee;color:#777;display:flex;align-items:center;
justify-content:center}td.cm a{display:block}td.diag{background:#e8f3e8}td.off{background:#fbeaea}
.group{display:flex;gap:8px;overflow-x:auto;padding:8px 0;border-bottom:1px solid #eee}
td.msg{max-width:560px;word-break:break-word}td.path{word-break:break-all;max-width:380px}
"""


def render(data: ReportData) -> str:
    """The whole page as a string."""
    sections = [_facts(data)]
    if data.label_counts:
        sections += [_labels(data), _scores(data)]
    if data.confusion:
        sections.append(_accuracy(data))
    if data.galleries:
        sections.append(_galleries(data))
    if data.groups or data.groups_total:
        sections.append(_duplicates(data))
    sections.append(_failures(data))
    nav = "".join(f'<a href="#{key}">{name}</a>' for key, name in _nav(data))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(data.title)}</h1><nav>{nav}</nav>"
        + "".join(f"<p class=\"note\">{escape(n)}</p>" for n in data.notes)
        + "".join(sections) + "</body></html>\n"
    )


def _nav(data: ReportData) -> list[tuple[str, str]]:
    items = [("facts", "Run")]
    if data.label_counts:
        items += [("labels", "Labels"), ("scores", "Scores")]
    if data.confusion:
        items.append(("accuracy", "Accuracy"))
    if data.galleries:
        items.append(("gallery", "Gallery"))
    if data.groups or data.groups_total:
        items.append(("duplicates", "Duplicates"))
    items.append(("failed", f"Failed ({data.failed_total:,})"))
    return items


def _facts(data: ReportData) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in data.facts)
    return f'<section id="facts"><h2>Run</h2><table class="facts">{rows}</table></section>'


def _labels(data: ReportData) -> str:
    shown, more, images = top_labels(data.label_counts, MAX_CHART_LABELS)
    note = (f'<p class="note">{more:,} more labels with {images:,} images are not drawn.</p>'
            if more else "")
    return ('<section id="labels"><h2>Images per label</h2>'
            f"{charts.bar_chart(data.label_counts, shown)}{note}</section>")


def _scores(data: ReportData) -> str:
    shown, more, _ = top_labels(data.label_counts, MAX_HIST_LABELS)
    hists = "".join(charts.histogram(k, data.histograms.get(k, []), total=data.label_counts[k])
                    for k in shown)
    note = (f'<p class="note">Histograms of the {more:,} rarer labels are not drawn.</p>'
            if more else "")
    return ('<section id="scores"><h2>Score histogram per label</h2>'
            f'<div class="hists">{hists}</div>{note}</section>')


def _accuracy(data: ReportData) -> str:
    acc = accuracy(data.confusion)
    total = sum(sum(r.values()) for r in data.confusion.values())
    stats = precision_recall(data.confusion)
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td class=\"n\">{_pct(p)}</td><td class=\"n\">{_pct(r)}</td>"
        f"<td class=\"n\">{n:,}</td></tr>" for k, (p, r, n) in stats.items())
    return ('<section id="accuracy"><h2>Accuracy</h2>'
            f'<p class="accuracy">Accuracy: <b>{_pct(acc)}</b> on {total:,} labelled images '
            "(failed images excluded).</p><table class=\"pr\"><tr><th>label</th><th>precision"
            f"</th><th>recall</th><th>true images</th></tr>{rows}</table>"
            f"<h3>Confusion matrix</h3>{_confusion(data)}</section>")


def _confusion(data: ReportData) -> str:
    labels = _all_labels(data)
    predicted = sorted({p for row in data.confusion.values() for p in row})
    head = "".join(f"<th>{escape(p)}</th>" for p in predicted)
    body = []
    for truth in sorted(data.confusion):
        cells = []
        for pred in predicted:
            count = data.confusion[truth].get(pred, 0)
            css = "diag" if truth == pred else ("off" if count else "")
            text = (f'<a href="#{cell_id(pred, truth, labels)}">{count:,}</a>' if count
                    else "0")
            cells.append(f'<td class="cm n {css}">{text}</td>')
        body.append(f"<tr><th>{escape(truth)}</th>{''.join(cells)}</tr>")
    return ('<table class="confusion"><tr><th>true \\ predicted</th>'
            f"{head}</tr>{''.join(body)}</table>")


def _galleries(data: ReportData) -> str:
    labels = _all_labels(data)
    parts = ['<section id="gallery"><h2>Gallery</h2>',
             f'<p class="note">At most {data.per_label} images per label, misclassified and '
             "least confident first; every image is in the output table.</p>"]
    for index, gallery in enumerate(data.galleries):
        parts.append(_gallery(gallery, index, labels))
    parts.append("</section>")
    return "".join(parts)


def _gallery(gallery: Gallery, index: int, labels: list[str]) -> str:
    shown = sum(len(c.items) for c in gallery.cells)
    parts = [f'<section class="label" id="label-{index}"><h3>{escape(gallery.label)} '
             f"<small>({shown:,} shown of {gallery.total:,})</small></h3>"]
    for cell in gallery.cells:
        parts.append(_cell(cell, labels))
    parts.append("</section>")
    return "".join(parts)


def _cell(cell: Cell, labels: list[str]) -> str:
    if cell.label_true is None:
        title = ""
    elif cell.label_true == cell.label:
        title = f"<h4>correct: true label {escape(cell.label_true)}"
    else:
        title = f"<h4>misclassified: true label {escape(cell.label_true)}"
    if title:
        title += f" <small>({len(cell.items):,} shown of {cell.total:,})</small></h4>"
    figures = "".join(_figure(t, wrong=cell.label_true not in (None, cell.label))
                      for t in cell.items)
    return (f'<div class="cell" id="{cell_id(cell.label, cell.label_true, labels)}">{title}'
            f'<div class="grid">{figures}</div></div>')


def _figure(thumb: Thumb, *, wrong: bool = False, extra: str = "", css: str = "") -> str:
    name = os.path.basename(thumb.path.rstrip("/")) or thumb.path
    if thumb.image is not None:
        picture = (f'<img src="data:image/jpeg;base64,{base64.b64encode(thumb.image).decode()}" '
                   f'alt="{escape(name)}" title="{escape(thumb.path)}" decoding="async">')
    else:
        picture = f'<div class="nopic" title="{escape(thumb.problem or "")}">no picture</div>'
    caption = f'<span class="name">{escape(name)}</span>'
    if thumb.label is not None:
        score = f" {thumb.score:.3f}" if thumb.score is not None else ""
        truth = (f" (true {escape(thumb.label_true)})"
                 if thumb.label_true not in (None, thumb.label) else "")
        caption += f'<br><span class="label">{escape(thumb.label)}{score}{truth}</span>'
    classes = " ".join(c for c in ("thumb", "wrong" if wrong else "", css) if c)
    return f'<figure class="{classes}">{picture}<figcaption>{caption}{extra}</figcaption></figure>'


def _duplicates(data: ReportData) -> str:
    parts = ['<section id="duplicates"><h2>Duplicates</h2>',
             f'<p class="note">{len(data.groups):,} of {data.groups_total:,} groups shown, '
             "largest first; the keeper (green) comes first, then the others with their "
             "similarity to it.</p>"]
    parts += [_group(g) for g in data.groups]
    parts.append("</section>")
    return "".join(parts)


def _group(group: DupGroup) -> str:
    figures = []
    for member in group.members:
        thumb = member.thumb or Thumb(member.path)
        sim = f"{member.similarity:.3f}" if member.similarity is not None else "-"
        extra = (f'<br><span class="kind">{escape(member.kind)}'
                 f'{" keeper" if member.keeper else f" {sim}"}</span>'
                 f'<br><span class="reason">{escape(member.reason)}</span>')
        figures.append(_figure(thumb, extra=extra, css="keeper" if member.keeper else ""))
    more = group.size - len(group.members)
    tail = f'<p class="note">{more:,} more in this group.</p>' if more > 0 else ""
    return (f'<div class="group" id="group-{group.group}"><b>group {group.group}</b>'
            f"{''.join(figures)}</div>{tail}")


def _failures(data: ReportData) -> str:
    kinds = ", ".join(f"{escape(k)} {v:,}" for k, v in sorted(data.failed_by_kind.items()))
    head = (f'<section id="failed"><h2>Failed files</h2><p>{data.failed_total:,} failed'
            f"{': ' + kinds if kinds else ''}.</p>")
    if not data.failures:
        return head + "</section>"
    note = (f'<p class="note">The first {len(data.failures):,} by path are listed; all are in '
            "the output table.</p>" if len(data.failures) < data.failed_total else "")
    rows = "".join(
        f'<tr><td class="path">{escape(f.path)}</td><td>{escape(f.kind or "")}</td>'
        f'<td class="msg">{escape(f.message or "")}</td></tr>' for f in data.failures)
    return (f"{head}{note}<table class=\"failed\"><tr><th>file</th><th>error_kind</th>"
            f"<th>message</th></tr>{rows}</table></section>")


def _all_labels(data: ReportData) -> list[str]:
    names = set(data.label_counts) | set(data.confusion)
    names |= {p for row in data.confusion.values() for p in row}
    return sorted(names)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
