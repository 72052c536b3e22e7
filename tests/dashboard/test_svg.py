"""The overview's SVG charts: axes, legend, accessible names, escaping."""

from __future__ import annotations

import re

from dashboard.svg import Series, bar_chart, horizontal_bars


def test_bar_chart_has_axes_whole_number_lines_a_legend_and_its_title():
    svg = bar_chart(
        chart_id="c",
        title="Cancellations <per week>",
        desc="Stacked bars",
        labels=["1 Jan", "8 Jan", "15 Jan"],
        series=[Series("Customer", [1, 0, 3]), Series("Seller", [0, 2, 0])],
        value_label=lambda v: f"{v:g}",
    )
    assert 'role="img" aria-labelledby="c-title c-desc"' in svg
    assert '<title id="c-title">Cancellations &lt;per week&gt;</title>' in svg
    # y axis: 0..4 in whole steps (the top stack is 3).
    labels = re.findall(r'text-anchor="end" fill="#52606d">([^<]+)<', svg)
    assert labels == ["0", "1", "2", "3", "4"]
    assert svg.count("<rect") == 3 + 2  # three bars drawn, two legend squares
    assert ">Customer<" in svg and ">Seller<" in svg
    assert ">15 Jan<" in svg


def test_long_labels_are_cut_with_their_full_text_kept():
    reason = "A very long reason that would run into the figure at the end of the bar " * 2
    svg = horizontal_bars(chart_id="r", title="Reasons", desc="d", rows=[(reason, 3, "3 · 100%")])
    assert f"<title>{reason}</title>" in svg
    assert "…</text>" in svg
    assert ">3 · 100%<" in svg
