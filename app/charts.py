"""Charts drawn on the server as accessible SVG: no script, no library.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and ``<desc>`` (the page puts the
data table beside it); its ``viewBox`` lets it shrink to a 390 px phone. Every text placed in the
SVG is escaped. Series are told apart by colour and by the pattern of their line or mark, and
the legend names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 360
HEIGHT: Final = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 8, 10, 38
#: Colours with 3:1 contrast on white, and dash patterns, one per series.
PALETTE: Final = ("#0b5d4b", "#b45309", "#1d4ed8", "#7e22ce", "#be123c", "#4d5652")
DASHES: Final = ("", "6 3", "2 2", "8 3 2 3", "4 4", "1 3")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _nice_max(value: float) -> int:
    """A round top for the axis, at least 1."""
    top = max(1, int(value) + (0 if value == int(value) else 1))
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= step * 4:
            return -(-top // step) * step
    return top


def _frame(chart_id: str, title: str, desc: str, body: list[str], legend: list[str]) -> Markup:
    height = HEIGHT + (14 * ((len(legend) + 1) // 2) if legend else 0)
    # every text in the parts was escaped where it was placed (the numbers are ours)
    return Markup(  # noqa: S704
        f'<svg role="img" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "".join(legend)
        + "</svg>"
    )


def _axes(top: int, labels: Sequence[str]) -> tuple[list[str], float]:
    """The value axis (0, half, top), its grid lines, and the category labels; the width of
    one category."""
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    parts = []
    for fraction in (0, 0.5, 1):
        y = _TOP + plot_h * (1 - fraction)
        value = top * fraction
        text = f"{value:g}"
        parts.append(
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d5dbd8" stroke-width="1"/>'
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="#1c2421">{escape(text)}</text>'
        )
    slot = plot_w / max(1, len(labels))
    every = max(1, -(-len(labels) * 34 // plot_w))  # leave room: one label per 34 units
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = _LEFT + slot * (i + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - _BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10" fill="#1c2421">{escape(label[:12])}</text>'
        )
    return parts, slot


def _legend(series: Sequence[Series], *, lines: bool) -> list[str]:
    if len(series) < 2:
        return []
    parts = []
    for i, s in enumerate(series):
        x = 8 + (i % 2) * (WIDTH / 2)
        y = HEIGHT + 14 * (i // 2)
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        if lines:
            mark = (
                f'<line x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y - 4}" y2="{y - 4}" '
                f'stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}"/>'
            )
        else:
            mark = f'<rect x="{x:.1f}" y="{y - 9}" width="18" height="9" fill="{colour}"/>'
        parts.append(
            mark + f'<text x="{x + 22:.1f}" y="{y}" font-size="10" fill="#1c2421">'
            f"{escape(s.name[:28])}</text>"
        )
    return parts


def column_chart(
    chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """Columns per category; several series are stacked (each category's total on top)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    body, slot = _axes(top, labels)
    plot_h = HEIGHT - _TOP - _BOTTOM
    bar = min(28.0, slot * 0.7)
    for i in range(len(labels)):
        x = _LEFT + slot * i + (slot - bar) / 2
        base = float(_TOP + plot_h)
        for k, s in enumerate(series):
            h = plot_h * s.values[i] / top
            if h <= 0:
                continue
            base -= h
            body.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(labels[i])}, '
                f"{escape(s.name)}: {s.values[i]:g}</title></rect>"
            )
    return _frame(chart_id, title, desc, body, _legend(series, lines=False))


def line_chart(
    chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """One line per series over the categories (months), with a mark at each point."""
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    body, slot = _axes(top, labels)
    plot_h = HEIGHT - _TOP - _BOTTOM
    for k, s in enumerate(series):
        colour, dash = PALETTE[k % len(PALETTE)], DASHES[k % len(DASHES)]
        points = [
            (_LEFT + slot * (i + 0.5), _TOP + plot_h * (1 - v / top))
            for i, v in enumerate(s.values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash}"/>'
        )
        body.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in points
        )
    return _frame(chart_id, title, desc, body, _legend(series, lines=True))
