"""PNG chart of a bias audit: per-group bars of one metric with their bootstrap confidence intervals; Django-free.

Drawn on a bare Agg canvas (no pyplot), so it holds no global figure state and is safe in a web or Celery
worker. The PNG carries no "Software" text chunk (it would change with the matplotlib version), so the same
result gives the same bytes on the same matplotlib and fonts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Metrics that are proportions get a fixed 0..1 axis, so charts of different audits compare at a glance.
PROPORTIONS = frozenset(
    (
        "selection_rate",
        "accuracy",
        "true_positive_rate",
        "false_positive_rate",
        "false_negative_rate",
        "precision",
        "roc_auc",
    )
)
BAR_COLOR, SMALL_GROUP_COLOR = "#3b6ea8", "#b8c4d4"
ROW_HEIGHT_INCHES, PANEL_PADDING_INCHES = 0.32, 1.0


def group_metric_chart_png(
    result: Any, metric: str = "selection_rate", *, feature: str | None = None, dpi: int = 100
) -> bytes:
    """One panel per feature (or only ``feature``): a bar per group, hatched where the group is too small.

    ``result`` is a BiasAuditResult or its ``to_dict()``, so a stored audit can be drawn again.
    """
    data = result if isinstance(result, Mapping) else result.to_dict()
    features = _features(data, feature)
    _check_metric(features, metric)
    heights = [len(f["groups"]) * ROW_HEIGHT_INCHES + PANEL_PADDING_INCHES for f in features]
    figure = Figure(figsize=(8, sum(heights)), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(features), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, feature_data in zip(axes, features, strict=True):
        _panel(ax, feature_data, metric)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _features(data: Mapping[str, Any], name: str | None) -> list[Mapping[str, Any]]:
    features = list(data["features"])
    if name is None:
        return features
    chosen = [f for f in features if f["name"] == name]
    if not chosen:
        raise ValueError(f"the audit has no feature {name!r}; it has {[f['name'] for f in features]}")
    return chosen


def _check_metric(features: Sequence[Mapping[str, Any]], metric: str) -> None:
    available = list(features[0]["groups"][0]["metrics"])
    if metric not in available:
        raise ValueError(f"unknown metric {metric!r}; the audit has {available}")


def _panel(ax: Axes, feature: Mapping[str, Any], metric: str) -> None:
    groups = feature["groups"]
    positions = list(range(len(groups)))
    for position, group in zip(positions, groups, strict=True):
        _bar(ax, position, group, metric)
    ax.set_yticks(positions, [_tick_label(g) for g in groups])
    ax.invert_yaxis()  # first group on top, as in the audit's table
    if metric in PROPORTIONS:
        ax.set_xlim(0, 1)
    ax.set_title(f"{feature['name']}: {metric.replace('_', ' ')} (95% CI)", loc="left", fontsize=10)
    ax.set_xlabel(f"{metric.replace('_', ' ')} (bar: estimate; whiskers: 95% bootstrap interval)", fontsize=9)
    ax.set_ylabel(f"group of {feature['name']} (rows)", fontsize=9)
    ax.set_axisbelow(True)
    ax.grid(axis="x", alpha=0.3)


def _bar(ax: Axes, position: int, group: Mapping[str, Any], metric: str) -> None:
    estimate = group["metrics"][metric]
    value, (low, high) = estimate["value"], estimate["ci"]
    if value is None:
        ax.text(0, position, " undefined", va="center", fontsize=8, color="#555555")
        return
    small = group["insufficient_data"]
    ax.barh(
        position,
        value,
        color=SMALL_GROUP_COLOR if small else BAR_COLOR,
        hatch="//" if small else None,
        edgecolor="#555555" if small else BAR_COLOR,
    )
    if low is not None and high is not None:
        # Clamped at 0: a percentile interval can sit entirely on one side of the point estimate.
        errors = [[max(value - low, 0.0)], [max(high - value, 0.0)]]
        ax.errorbar(value, position, xerr=errors, fmt="none", ecolor="black", capsize=3, linewidth=1)


def _tick_label(group: Mapping[str, Any]) -> str:
    suffix = ", insufficient data" if group["insufficient_data"] else ""
    return f"{group['group']} (n={group['count']}{suffix})"
