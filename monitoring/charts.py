"""Timeline charts of a version's production windows, as inline SVG. Django-free: series in, markup out.

One chart per question: how far did the inputs and the outputs move (PSI per window, with the alert level),
and how well does the model do (the primary metric per window, realised with its 95% interval, estimated from
calibrated probabilities where labels were not known, against the evaluation's figure and the level at which
the policy alerts). A window whose value is unknown leaves a gap; text goes through ``html.escape``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 800, 256
LEFT, RIGHT, TOP, BOTTOM = 68, 230, 16, 52
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    low: Sequence[float | None] | None = None  # an interval band, where there is one
    high: Sequence[float | None] | None = None
    dashed: bool = False


@dataclass
class Chart:
    title: str
    labels: Sequence[str]  # one per window, oldest first
    series: list[Series]
    levels: list[tuple[str, float]] = field(default_factory=list)  # horizontal lines: (name, value)
    y_title: str = ""  # what the vertical axis measures
    x_title: str = "window (start)"  # what the labels under the horizontal axis are


def chart_svg(chart: Chart) -> str:
    values = [v for s in chart.series for v in [*s.values, *(s.low or []), *(s.high or [])] if v is not None]
    values += [value for _, value in chart.levels]
    if not chart.labels or not values:
        return f'<p class="monitoring-chart-empty">{html.escape(chart.title)}: nothing measured yet.</p>'
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    # PSI and the metrics are never negative: the axis does not dip below zero to pad them.
    scale = _Scale(len(chart.labels), max(low - pad, 0.0) if low >= 0 else low - pad, high + pad)
    parts = [
        f'<svg class="monitoring-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{html.escape(chart.title)}</title>',
        *_axes(chart, scale),
    ]
    for number, (name, value) in enumerate(chart.levels):
        y = scale.y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" stroke-dasharray="2 3"/>'
        )
        parts.append(_legend(f"{name} {value:.3g}", "#888", len(chart.series) + number))
    for number, series in enumerate(chart.series):
        colour = COLOURS[number % len(COLOURS)]
        parts.extend(_band(series, scale, colour))
        parts.extend(_line(series, scale, colour))
        parts.append(_legend(series.name, colour, number))
    parts.append("</svg>")
    return "".join(parts)


class _Scale:
    def __init__(self, count: int, low: float, high: float):
        self.count, self.low, self.high = count, low, high

    def x(self, index: int) -> float:
        span = WIDTH - LEFT - RIGHT
        return LEFT + (span / 2 if self.count == 1 else span * index / (self.count - 1))

    def y(self, value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (self.high - value) / (self.high - self.low)


def _axes(chart: Chart, scale: _Scale) -> list[str]:
    bottom = HEIGHT - BOTTOM
    parts = [
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" stroke="#333"/>',
    ]
    for value in (scale.low, (scale.low + scale.high) / 2, scale.high):
        parts.append(
            f'<text x="{LEFT - 4}" y="{scale.y(value) + 4:.1f}" font-size="10" text-anchor="end">{value:.3g}</text>'
        )
    middle = TOP + (bottom - TOP) / 2
    parts.append(
        f'<text class="axis-title" x="14" y="{middle:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.1f})">{html.escape(chart.y_title)}</text>'
    )
    parts.append(
        f'<text class="axis-title" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.1f}" y="{HEIGHT - 6}" font-size="11" '
        f'text-anchor="middle">{html.escape(chart.x_title)}</text>'
    )
    step = max(1, len(chart.labels) // 6)  # at most about six dates under the axis
    for index in range(0, len(chart.labels), step):
        label = html.escape(chart.labels[index])
        parts.append(
            f'<text x="{scale.x(index):.1f}" y="{bottom + 14}" font-size="10" text-anchor="middle">{label}</text>'
        )
    return parts


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Consecutive indexes with a value: a gap splits the line."""
    runs: list[list[int]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(index)
    return [run for run in runs if run]


def _line(series: Series, scale: _Scale, colour: str) -> list[str]:
    dash = ' stroke-dasharray="6 4"' if series.dashed else ""
    parts = []
    for run in _runs(series.values):
        points = " ".join(f"{scale.x(i):.1f},{scale.y(series.values[i]):.1f}" for i in run)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        parts.extend(
            f'<circle cx="{scale.x(i):.1f}" cy="{scale.y(series.values[i]):.1f}" r="3" fill="{colour}"/>' for i in run
        )
    return parts


def _band(series: Series, scale: _Scale, colour: str) -> list[str]:
    if series.low is None or series.high is None:
        return []
    both = [lo if lo is not None and hi is not None else None for lo, hi in zip(series.low, series.high, strict=True)]
    parts = []
    for run in _runs(both):
        upper = [f"{scale.x(i):.1f},{scale.y(series.high[i]):.1f}" for i in run]
        lower = [f"{scale.x(i):.1f},{scale.y(series.low[i]):.1f}" for i in reversed(run)]
        if len(run) == 1:  # one window: a whisker
            i = run[0]
            x, y1, y2 = scale.x(i), scale.y(series.low[i]), scale.y(series.high[i])
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{colour}"/>')
        else:
            parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{colour}" fill-opacity="0.15"/>')
    return parts


def _legend(text: str, colour: str, row: int) -> str:
    x, y = WIDTH - RIGHT + 10, TOP + 14 * row + 8
    return (
        f'<rect x="{x}" y="{y - 7}" width="10" height="3" fill="{colour}"/>'
        f'<text x="{x + 14}" y="{y}" font-size="10">{html.escape(text)}</text>'
    )
