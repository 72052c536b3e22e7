"""Bar charts as inline SVG written on the server: axes with their numbers, a legend,
and a <title>/<desc> a screen reader announces (each chart also has its numbers in a
table under it).

Sizes: the drawing is VIEW_WIDTH units wide and text is FONT_SIZE units. The overview's
cards are 340-370 px wide at both 390 px and 1366 px (three cards a row), and the chart
never grows past MAX_DISPLAY_WIDTH px, so text shows between 11 and 14 px. Colours are
presentation attributes, not styles: the page's Content-Security-Policy allows no inline
style, and an attribute needs no exception.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

VIEW_WIDTH = 400
FONT_SIZE = 13
MAX_DISPLAY_WIDTH = 480
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#cbd2d9"
# Colour-blind-safe (Okabe-Ito), dark enough on white for the 3:1 of WCAG 1.4.11.
COLOURS = ("#0072B2", "#D55E00", "#6A3D9A", "#117733", "#8C510A", "#44546A")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    """The axis top: four equal steps of 1, 2 or 5 times a power of ten (never below 1,
    so counts get whole-number lines), reaching at least `value`."""
    wanted = max(value / 4, 1)
    power = 10 ** math.floor(math.log10(wanted))
    for step in (1, 2, 5, 10):
        if step * power >= wanted:
            return 4 * step * power
    return 40 * power  # pragma: no cover


def _fit(text: str, width: float) -> str:
    """`text` cut with an ellipsis to about `width` units (the full text is in the table
    under the chart and in the label's own <title>)."""
    most = max(int(width / (FONT_SIZE * 0.58)), 4)
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _text_width(text: str) -> float:
    return len(text) * FONT_SIZE * 0.58


def _open(chart_id: str, title: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'viewBox="0 0 {VIEW_WIDTH} {height:.0f}" width="{VIEW_WIDTH}" height="{height:.0f}" '
        f'data-view-width="{VIEW_WIDTH}" '
        f'font-family="system-ui, sans-serif" font-size="{FONT_SIZE}" fill="{INK}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _legend(series: Sequence[Series], top: float) -> tuple[list[str], float]:
    """Coloured squares and names, wrapped into lines; returns the parts and the height."""
    parts: list[str] = []
    x, y = 0.0, top
    for i, one in enumerate(series):
        width = 18 + _text_width(one.name) + 14
        if x > 0 and x + width > VIEW_WIDTH:
            x, y = 0.0, y + FONT_SIZE + 8
        colour = COLOURS[i % len(COLOURS)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 17:.1f}" y="{y + 11:.1f}">{escape(one.name)}</text>'
        )
        x += width
    return parts, y + FONT_SIZE + 6 - top


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_label: Callable[[float], str],
) -> SafeString:
    """Vertical bars, stacked when there are several series; the y axis starts at 0 and
    has five labelled lines; x labels are thinned so they never overlap."""
    count = len(labels)
    totals = [sum(s.values[i] for s in series) for i in range(count)]
    top_value = _nice_max(max(totals, default=0))
    ticks = [top_value * k / 4 for k in range(5)]
    left = max(_text_width(value_label(t)) for t in ticks) + 8
    plot_top, plot_height, right = 8.0, 150.0, 4.0
    plot_width = VIEW_WIDTH - left - right
    base = plot_top + plot_height
    slot = plot_width / max(count, 1)
    parts: list[str] = []
    for tick in ticks:
        y = base - plot_height * tick / top_value
        parts.append(
            f'<line x1="{left:.1f}" x2="{VIEW_WIDTH - right:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6:.1f}" y="{y + FONT_SIZE / 3:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{escape(value_label(tick))}</text>'
        )
    for i in range(count):
        stack = 0.0
        for k, one in enumerate(series):
            value = one.values[i]
            if value <= 0:
                continue
            height = plot_height * value / top_value
            y = base - plot_height * (stack + value) / top_value
            parts.append(
                f'<rect x="{left + i * slot + slot * 0.15:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{COLOURS[k % len(COLOURS)]}"/>'
            )
            stack += value
    widest = max((_text_width(label) for label in labels), default=0)
    every = max(1, math.ceil((widest + 6) / slot))
    for i, label in enumerate(labels):
        if i % every:
            continue
        parts.append(
            f'<text x="{left + (i + 0.5) * slot:.1f}" y="{base + FONT_SIZE + 6:.1f}" '
            f'text-anchor="middle" fill="{MUTED}">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{plot_top:.1f}" y2="{base:.1f}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
        f'<line x1="{left:.1f}" x2="{VIEW_WIDTH - right:.1f}" y1="{base:.1f}" y2="{base:.1f}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    height = base + FONT_SIZE + 14
    if len(series) > 1:
        legend, legend_height = _legend(series, height)
        parts.extend(legend)
        height += legend_height
    return mark_safe(  # noqa: S308  (every text above is escaped)
        "".join([*_open(chart_id, title, desc, height), *parts, "</svg>"])
    )


def horizontal_bars(
    *,
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float, str]],
) -> SafeString:
    """One bar per row, its label above it and its figure (e.g. "12 · 40%") at its end."""
    top_value = max((value for _label, value, _note in rows), default=0) or 1
    line = FONT_SIZE + 4
    row_height = line + 18
    height = len(rows) * row_height + 4
    parts = _open(chart_id, title, desc, height)
    for i, (label, value, note) in enumerate(rows):
        y = i * row_height
        width = (VIEW_WIDTH - 4) * value / top_value
        shown = _fit(label, VIEW_WIDTH - _text_width(note) - 12)
        parts.append(
            f'<text x="0" y="{y + FONT_SIZE:.1f}"><title>{escape(label)}</title>'
            f"{escape(shown)}</text>"
        )
        parts.append(
            f'<rect x="0" y="{y + line:.1f}" width="{max(width, 1):.1f}" height="12" '
            f'fill="{COLOURS[0]}"/>'
        )
        parts.append(
            f'<text x="{VIEW_WIDTH}" y="{y + FONT_SIZE:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{escape(note)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)
