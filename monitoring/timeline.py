"""The timeline of a version's production windows, oldest first: one row per window and the two charts.
Django-free: it reads the windows' stored results (plain dicts), never the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitoring import performance as perf
from monitoring.charts import Chart, Series, chart_svg


def _get(mapping: Mapping | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def largest_feature_psi(result: Mapping) -> float | None:
    values = [entry.get("psi") for entry in (_get(result, "monitors", "feature_drift", "features") or {}).values()]
    values = [value for value in values if value is not None]
    return max(values) if values else None


def timeline_rows(windows: Sequence[Mapping]) -> list[dict]:
    """Per window (``label``, ``result``): the verdict, the alerts and the figures the charts show."""
    rows = []
    for window in windows:
        result = window["result"]
        primary = result["primary_metric"]
        rows.append(
            {
                **window,
                "verdict": result["verdict"],
                "alerts": result["alerts"],
                "feature_psi": largest_feature_psi(result),
                "prediction_psi": _get(result, "monitors", "prediction_drift", "psi"),
                "primary": primary,
                "realised": _get(result, "monitors", "performance", "metrics", primary),
                "estimated": _get(result, "monitors", "estimated_performance", "metrics", primary),
                "baseline": _get(result, "reference", "baseline", primary, "value"),
            }
        )
    return rows


def timeline_charts(rows: Sequence[Mapping], policy: Mapping) -> list[str]:
    """The drift chart and the performance chart, as SVG; the policy is the latest window's."""
    labels = [row["label"] for row in rows]
    drift = Chart(
        title="Population stability index per window",
        labels=labels,
        series=[
            Series("largest feature PSI", [row["feature_psi"] for row in rows]),
            Series("prediction PSI", [row["prediction_psi"] for row in rows]),
        ],
        levels=[("PSI alert", float(policy["psi_alert"]))],
        y_title="population stability index",
        x_title="production window (start)",
    )
    return [chart_svg(drift), chart_svg(_performance_chart(rows, labels, policy))]


def _performance_chart(rows: Sequence[Mapping], labels: list[str], policy: Mapping) -> Chart:
    primary = rows[-1]["primary"] if rows else "accuracy"
    same = [row if row["primary"] == primary else {} for row in rows]
    realised = [row.get("realised") or {} for row in same]
    estimated = [row.get("estimated") or {} for row in same]
    baseline = next((row["baseline"] for row in reversed(same) if row.get("baseline") is not None), None)
    levels = []
    if baseline is not None:
        drop = float(policy["max_performance_drop"])
        alert_at = baseline * (1 - drop) if perf.HIGHER_IS_BETTER[primary] else baseline * (1 + drop)
        levels = [("evaluation", baseline), ("alerts beyond", alert_at)]
    return Chart(
        title=f"{primary} per window",
        labels=labels,
        series=[
            Series(
                "realised (95% interval)",
                [m.get("value") for m in realised],
                low=[m.get("low") for m in realised],
                high=[m.get("high") for m in realised],
            ),
            Series("estimated from probabilities", [m.get("value") for m in estimated], dashed=True),
        ],
        levels=levels,
        y_title=f"{primary} (realised or estimated)",
        x_title="production window (start)",
    )
