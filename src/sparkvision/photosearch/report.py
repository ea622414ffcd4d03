"""The page of a search: each query photo, then its results as thumbnails with their
similarity, in rank order. One self-contained file, made like every sparkvision page
(:mod:`sparkvision.htmlreport.page`: inline CSS, ``data:`` thumbnails, no script)."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from html import escape
from typing import Any

from sparkvision.htmlreport.facts import SUMMARY, detect_format, read_json
from sparkvision.htmlreport.page import CSP, STYLE
from sparkvision.htmlreport.thumbs import spark_thumbnails

#: queries shown on one page (the table has them all)
MAX_QUERIES = 100
_EXTRA_STYLE = "figure.query img{border:3px solid #2c6fbb}.results{display:flex;gap:8px}"

Thumbs = dict[str, tuple[bytes | None, str | None]]


def write_search_report(out: str, page: str, *, spark: Any = None,
                        max_queries: int = MAX_QUERIES) -> str:
    """Write the page of the search results at ``out`` to ``page``; returns its path.
    Thumbnails are made on the executors of ``spark`` (default: the active or a new
    local session)."""
    from sparkvision.sinks.tables import read_table

    summary = read_json(out, SUMMARY)
    fmt = detect_format(out, summary.get("format"))
    if spark is None:
        from sparkvision.runtime.session import open_session

        spark = open_session()
    rows = [r.asDict() for r in read_table(spark, out, fmt).collect()]
    queries = list(dict.fromkeys(r["query"] for r in rows))[:max_queries]
    shown = [r for r in rows if r["query"] in set(queries)]
    texts = set(summary.get("texts") or ())
    paths = [*(q for q in queries if q not in texts), *(r["path"] for r in shown if r["path"])]
    thumbs = spark_thumbnails(spark, paths)
    html = render_search(queries, shown, thumbs, summary=summary, total=len(set(
        r["query"] for r in rows)))
    folder = os.path.dirname(os.path.abspath(page))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(page)}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, page)
    return page


def render_search(queries: Sequence[str], rows: Sequence[dict], thumbs: Thumbs, *,
                  summary: dict, total: int) -> str:
    """The whole page: one section per query of ``queries``, its ``rows`` in rank order.

    >>> html = render_search(["q.jpg"], [{"query": "q.jpg", "rank": 1, "path": "<a>.jpg",
    ...     "similarity": 0.9, "error": None}], {}, summary={}, total=1)
    >>> "&lt;a&gt;.jpg" in html and "0.900" in html
    True
    """
    title = "sparkvision search"
    facts = (f"{total:,} queries, top {summary.get('k', '?')} each, over "
             f"{summary.get('vectors', 'the vectors')}; model {summary.get('model', '?')}")
    more = (f" The first {len(queries):,} are shown; the table has them all."
            if total > len(queries) else "")
    texts = set(summary.get("texts") or ())
    parts = [f"<section id=\"q{i}\">"
             f"{_query(q, [r for r in rows if r['query'] == q], thumbs, q in texts)}"
             "</section>" for i, q in enumerate(queries)]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}{_EXTRA_STYLE}</style></head><body>"
        f"<h1>{title}</h1><p class=\"note\">{escape(facts)}.{escape(more)}</p>"
        + "".join(parts) + "</body></html>\n")


def _query(query: str, rows: list[dict], thumbs: Thumbs, text: bool = False) -> str:
    head = (f"<h2>&ldquo;{escape(query)}&rdquo;</h2>" if text
            else f"<h2>{escape(os.path.basename(query) or query)}</h2>")
    failed = [r for r in rows if r.get("error")]
    if failed:
        return (head + f'<p class="note">{escape(query)}: no results, '
                f"{escape(str(failed[0]['error']))}</p>")
    results = sorted((r for r in rows if r.get("path")), key=lambda r: int(r["rank"]))
    figures = [] if text else [_figure(query, thumbs, "query", css="query")]
    figures += [_figure(r["path"], thumbs, f"{int(r['rank'])}. {float(r['similarity']):.3f}")
                for r in results]
    return head + f'<div class="results group">{"".join(figures)}</div>'


def _figure(path: str, thumbs: Thumbs, caption: str, *, css: str = "") -> str:
    image, problem = thumbs.get(path, (None, "not made"))
    name = os.path.basename(path.rstrip("/")) or path
    if image is not None:
        picture = (f'<img src="data:image/jpeg;base64,{base64.b64encode(image).decode()}" '
                   f'alt="{escape(name)}" title="{escape(path)}" decoding="async">')
    else:
        picture = f'<div class="nopic" title="{escape(problem or "")}">no picture</div>'
    return (f'<figure class="thumb {css}">{picture}<figcaption>{escape(caption)}<br>'
            f'<span class="name">{escape(name)}</span></figcaption></figure>')
