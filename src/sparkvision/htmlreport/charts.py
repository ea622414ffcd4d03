"""Charts as inline SVG: no script, no external file, every text escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

BAR_COLOR = "#3b6ea5"
BAR_WIDTH = 640


def bar_chart(counts: Mapping[str, int], labels: Sequence[str]) -> str:
    """Horizontal bars, one per label in ``labels`` order, with the count at the end."""
    if not labels:
        return '<p class="empty">No labelled images.</p>'
    row, name_w, bar_w = 24, 180, BAR_WIDTH - 180 - 70
    top = max(counts[k] for k in labels) or 1
    height = row * len(labels) + 4
    parts = [f'<svg class="bars" role="img" width="{BAR_WIDTH}" height="{height}" '
             f'viewBox="0 0 {BAR_WIDTH} {height}">',
             f"<title>{escape('images per label')}</title>"]
    for i, label in enumerate(labels):
        y = i * row + 2
        width = max(1.0, bar_w * counts[label] / top)
        parts.append(
            f'<text x="{name_w - 6}" y="{y + 16}" text-anchor="end">'
            f"{escape(_short(label, 26))}</text>"
            f'<rect x="{name_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{BAR_COLOR}"><title>{escape(label)}: {counts[label]}</title></rect>'
            f'<text x="{name_w + width + 6:.1f}" y="{y + 16}">{counts[label]:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(label: str, bins: Sequence[int], *, total: int) -> str:
    """A small histogram of ``bins`` (equal-width bins over scores 0..1)."""
    width, height, pad_x, pad_top, pad_bottom = 240, 130, 8, 22, 20
    plot_w, plot_h = width - 2 * pad_x, height - pad_top - pad_bottom
    top = max(bins) if bins and max(bins) > 0 else 1
    step = plot_w / max(1, len(bins))
    parts = [f'<svg class="hist" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f"<title>{escape(f'scores of {label}')}</title>",
             f'<text x="{pad_x}" y="14" class="h">{escape(_short(label, 24))} '
             f'({total:,})</text>']
    for i, count in enumerate(bins):
        h = plot_h * count / top
        lo, hi = i / len(bins), (i + 1) / len(bins)
        parts.append(
            f'<rect x="{pad_x + i * step + 0.5:.1f}" y="{pad_top + plot_h - h:.1f}" '
            f'width="{max(0.5, step - 1):.1f}" height="{h:.1f}" fill="{BAR_COLOR}">'
            f"<title>{lo:.2f}-{hi:.2f}: {count}</title></rect>"
        )
    base = pad_top + plot_h
    parts.append(
        f'<line x1="{pad_x}" y1="{base}" x2="{width - pad_x}" y2="{base}" stroke="#888"/>'
        f'<text x="{pad_x}" y="{height - 5}">0</text>'
        f'<text x="{width / 2:.0f}" y="{height - 5}" text-anchor="middle">score</text>'
        f'<text x="{width - pad_x}" y="{height - 5}" text-anchor="end">1</text>'
        f'<text x="{width - pad_x}" y="14" text-anchor="end">max {top:,}</text></svg>'
    )
    return "".join(parts)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
