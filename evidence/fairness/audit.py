"""bias_audit, its chart wrapper, and the assembling of an audit from the other modules; Django-free."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from fairlearn.metrics import count

from .agreement import _Agreement, _check_aif360, _check_fairlearn
from .bootstrap import _cell_bootstrap, _estimate, _row_bootstrap
from .counts import (
    _auc_layout,
    _Cells,
    _collapse,
    _confusion,
    _finest,
    _rates,
    _regression_moments,
    _regression_stats,
    _score_stats,
    _theil,
)
from .eligibility import (
    ALL_GROUPS,
    _eligible,
    _insufficient_groups,
    _judged_apart,
    _library_tables,
    _privileged,
    _with_tables,
)
from .groupings import _Grouping, _groupings
from .inputs import _Rows, _rows, _Settings, _settings
from .libraries import (
    _aif360_classification,
    _aif360_theil,
    _fairlearn_binary,
    _fairlearn_binary_among,
    _fairlearn_rows,
    _fairlearn_rows_difference_among,
    _mean_prediction,
    _roc_auc,
)
from .results import (
    AIF360_PAIR_METRICS,
    BINARY_DISPARITIES,
    BINARY_GROUP_METRICS,
    CONFIDENCE_LEVEL,
    CONVENTIONS,
    DEFAULT_THRESHOLDS,
    REGRESSION_DISPARITIES,
    REGRESSION_GROUP_METRICS,
    SCORE_DISPARITIES,
    SCORE_GROUP_METRICS,
    BiasAuditResult,
    Estimate,
    FeatureAudit,
    GroupResult,
    PairResult,
    Task,
    Thresholds,
    Verdict,
    _py,
)
from .verdicts import NO_REGRESSION_THRESHOLDS, _binary_verdict, _overall_verdict, _verdict


def bias_audit(
    *,
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    task: Task,
    positive_label: Any = 1,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    min_group_size: int = 30,
    n_bootstrap: int = 1000,
    seed: int = 0,
    score: Any = None,
) -> BiasAuditResult:
    """Audit predictions across each sensitive feature (a column of ``sensitive``) and their intersection.

    Rows are matched by position; pandas indexes are ignored. ``score`` (binary audits only) is the model's
    continuous score: when given, each group also gets its mean score and ROC AUC.
    """
    settings = _settings(task, thresholds, min_group_size, n_bootstrap, seed)
    rows = _rows(y_true, y_pred, sensitive, task, positive_label, score)
    binary = task == "binary_classification"
    audit = _audit_binary if binary else _audit_regression
    features, overall, agreement = audit(rows, settings)
    return BiasAuditResult(
        task=task,
        n_rows=len(rows.y),
        positive_label=_py(positive_label) if binary else None,
        min_group_size=min_group_size,
        thresholds=thresholds,
        bootstrap=_bootstrap_description(settings, binary),
        conventions=_conventions(binary),
        features=tuple(features),
        aif360_overall=overall,
        agreement=agreement,
        verdict=_overall_verdict(features),
    )


def group_metric_chart_png(
    result: BiasAuditResult | Mapping[str, Any], metric: str = "selection_rate", *, feature: str | None = None
) -> bytes:
    """Per-group bars of one metric with their confidence intervals, one panel per feature (PNG bytes)."""
    # Imported here so that audits without charts never load matplotlib.
    from .charts import group_metric_chart_png as render

    return render(result, metric=metric, feature=feature)


@dataclass(frozen=True)
class _Numbers:
    """One grouping's point estimates (per group: arrays; disparities: floats) and their bootstrap samples."""

    values: dict[str, Any]
    samples: dict[str, np.ndarray]

    def merge(self, other: _Numbers) -> _Numbers:
        return _Numbers({**self.values, **other.values}, {**self.samples, **other.samples})


def _feature_audit(
    grouping: _Grouping,
    numbers: _Numbers,
    group_metrics: Sequence[str],
    disparities: Sequence[str],
    pairs: tuple[PairResult, ...],
    verdict: Verdict,
    min_group_size: int,
) -> FeatureAudit:
    counts = numbers.values["count"]
    eligible = _eligible(counts, min_group_size)
    groups = tuple(
        GroupResult(
            group=label,
            values=grouping.values[k],
            count=int(round(counts[k])),
            insufficient_data=not eligible[k],
            metrics={m: _estimate(numbers.values[m][k], numbers.samples[m][:, k]) for m in group_metrics},
        )
        for k, label in enumerate(grouping.labels)
    )

    def table(prefix: str) -> dict[str, Estimate]:
        return {name: _estimate(numbers.values[prefix + name], numbers.samples[prefix + name]) for name in disparities}

    return FeatureAudit(
        grouping.name,
        grouping.kind,
        grouping.columns,
        groups,
        table(""),
        pairs,
        verdict,
        fairlearn_all_groups=table(ALL_GROUPS),
        eligible_groups=tuple(label for label, judged in zip(grouping.labels, eligible, strict=True) if judged),
        insufficient_groups=_insufficient_groups(grouping.labels, counts, min_group_size),
    )


def _pair_results(point: _BinaryPoint, grouping: _Grouping, samples: Mapping) -> tuple:
    aif, privileged = point.aif360, point.privileged
    return tuple(
        PairResult(
            unprivileged_group=grouping.labels[k],
            privileged_group=grouping.labels[privileged],
            metrics={m: _estimate(aif[m][k], samples[f"aif360_{m}"][:, k]) for m in AIF360_PAIR_METRICS},
            insufficient_data=not point.eligible[k],
        )
        for k in range(grouping.size)
        if k != privileged
    )


def _compare(agreement: _Agreement, what: str, grouping: _Grouping, library: Mapping, own: Mapping) -> None:
    for name, value in library.items():
        if np.ndim(value):
            agreement.compare_groups(f"{grouping.name}: {what} {name}", grouping.labels, value, own[name])
        else:
            agreement.compare(f"{grouping.name}: {what} {name}", value, own[name])


@dataclass(frozen=True)
class _BinaryPoint:
    """One grouping's point estimates: count formulas, Fairlearn, AIF360 and its privileged group, the eligible
    groups and Fairlearn's disparities as reported (over the eligible groups, and under ALL_GROUPS over all)."""

    rates: dict[str, np.ndarray]
    fairlearn: tuple[dict[str, np.ndarray], dict[str, float]]
    privileged: int
    aif360: dict[str, np.ndarray]
    eligible: np.ndarray
    disparities: dict[str, float]


def _binary_points(
    cells: _Cells, groupings: Sequence[_Grouping], agreement: _Agreement, min_group_size: int
) -> list[_BinaryPoint]:
    rates = [_rates(_confusion(cells.counts, cells, g)) for g in groupings]
    fairlearn = [_fairlearn_binary(cells, g) for g in groupings]
    eligible = [_eligible(r["count"], min_group_size) for r in rates]
    # Ties go to the first group in sorted order, so the choice is deterministic.
    privileged = [_privileged(r["selection_rate"], judged) for r, judged in zip(rates, eligible, strict=True)]
    aif = _aif360_classification(cells, groupings, privileged)
    points = []
    for g, *parts in zip(groupings, rates, fairlearn, privileged, aif, eligible, strict=True):
        r, f, top, a, judged = parts
        # Compared in _check_fairlearn, against the count formulas in Fairlearn's convention for undefined rates.
        _, reported = _library_tables(f[1], judged, functools.partial(_fairlearn_binary_among, cells, g, judged))
        headline = {name: reported[name] for name in f[1]}
        _check_fairlearn(agreement, g, f, r, (judged, headline) if _judged_apart(judged) else None)
        _check_aif360(agreement, g, a, f, r, top, (judged, headline))
        points.append(_BinaryPoint(*parts, reported))
    return points


def _audit_binary(rows: _Rows, settings: _Settings) -> tuple[list[FeatureAudit], dict[str, Estimate], dict]:
    cells = _collapse(rows)
    groupings = _groupings(rows.features, list(cells.columns.values()))
    agreement = _Agreement()
    points = _binary_points(cells, groupings, agreement, settings.min_group_size)
    theil = _aif360_theil(cells)
    agreement.compare("Theil index: AIF360 vs counts", theil, _theil(cells.counts, cells))
    on_rows = [g.on(cells.row_cell) for g in groupings] if rows.score is not None else []
    score_values = [_score_values(rows, g, p.eligible, agreement) for g, p in zip(on_rows, points, strict=False)]
    summary = agreement.summary()  # raises before any resampling if the sources disagree
    eligible = [p.eligible for p in points]
    samples, theil_samples = _cell_bootstrap(cells, groupings, [p.privileged for p in points], eligible, settings)
    score_samples = _score_bootstrap(rows, on_rows, eligible, settings)
    features = []
    for i, (g, point) in enumerate(zip(groupings, points, strict=True)):
        numbers = _binary_numbers(point, samples[i])
        group_metrics, disparities = list(BINARY_GROUP_METRICS), list(BINARY_DISPARITIES)
        if on_rows:
            numbers = numbers.merge(_Numbers(score_values[i], score_samples[i]))
            group_metrics, disparities = (
                group_metrics + list(SCORE_GROUP_METRICS),
                disparities + list(SCORE_DISPARITIES),
            )
        pairs = _pair_results(point, g, samples[i])
        verdict = _binary_verdict(g, point.rates, settings)
        features.append(_feature_audit(g, numbers, group_metrics, disparities, pairs, verdict, settings.min_group_size))
    return features, {"theil_index": _estimate(theil, theil_samples)}, summary


def _binary_numbers(point: _BinaryPoint, samples: dict[str, np.ndarray]) -> _Numbers:
    """Fairlearn's numbers as reported: a rate with nothing to divide by is NaN (null), not Fairlearn's 0."""
    by_group, _ = point.fairlearn
    reported = {m: np.where(np.isnan(point.rates[m]), np.nan, by_group[m]) for m in BINARY_GROUP_METRICS}
    return _Numbers({**reported, "count": by_group["count"], **point.disparities}, samples)


def _score_values(rows: _Rows, grouping: _Grouping, eligible: np.ndarray, agreement: _Agreement) -> dict[str, Any]:
    """Mean score and ROC AUC per group from Fairlearn on the rows (continuous scores do not collapse)."""
    row_codes = {f.column: f.codes for f in rows.features}
    metrics = {"mean_score": _mean_prediction, "roc_auc": _roc_auc}
    by_group, difference = _fairlearn_rows(rows.y, rows.score, grouping, row_codes, metrics)
    among = functools.partial(
        _rows_differences, rows.y, rows.score, grouping, row_codes, {"roc_auc": _roc_auc}, eligible
    )
    compared, reported = _library_tables({"roc_auc_difference": float(difference["roc_auc"])}, eligible, among)
    layout = _auc_layout(grouping, rows.score, rows.y)
    own = _with_tables(_score_stats(np.ones(len(rows.y)), grouping, layout, rows.score), ["roc_auc"], eligible)
    _compare(agreement, "Fairlearn vs counts:", grouping, {**by_group, **compared}, own)
    return {**by_group, **reported}


def _rows_differences(
    y: np.ndarray, p: np.ndarray, grouping: _Grouping, row_codes: dict, metrics: dict, eligible: np.ndarray
) -> dict[str, float]:
    difference = _fairlearn_rows_difference_among(y, p, grouping, row_codes, metrics, eligible)
    return {f"{metric}_difference": float(difference[metric]) for metric in metrics}


def _score_bootstrap(
    rows: _Rows, on_rows: Sequence[_Grouping], eligible: Sequence[np.ndarray], settings: _Settings
) -> list[dict[str, np.ndarray]]:
    if not on_rows:
        return []
    layouts = [_auc_layout(g, rows.score, rows.y) for g in on_rows]

    def statistics(weights: np.ndarray) -> list[dict[str, Any]]:
        return [
            _with_tables(_score_stats(weights, g, layout, rows.score), ["roc_auc"], judged)
            for g, layout, judged in zip(on_rows, layouts, eligible, strict=True)
        ]

    return _row_bootstrap(settings.row_seed, settings.n_bootstrap, len(rows.y), statistics)


def _audit_regression(rows: _Rows, settings: _Settings) -> tuple[list[FeatureAudit], dict[str, Estimate], dict]:
    row_codes = {f.column: f.codes for f in rows.features}
    groupings = _groupings(rows.features, list(row_codes.values()))
    finest, maps = _finest(groupings)
    error = np.abs(rows.y - rows.p)
    eligible = [_eligible(np.bincount(g.codes, minlength=g.size), settings.min_group_size) for g in groupings]

    def statistics(weights: np.ndarray) -> list[dict[str, Any]]:
        moments = _regression_moments(weights, finest, rows.p, error)
        return [
            _with_tables(_regression_stats(moments, to_group, g.size), REGRESSION_GROUP_METRICS, judged)
            for g, to_group, judged in zip(groupings, maps, eligible, strict=True)
        ]

    metrics = {"count": count, "mean_prediction": _mean_prediction, "mean_absolute_error": skm.mean_absolute_error}
    compared_metrics = {m: metrics[m] for m in REGRESSION_GROUP_METRICS}
    agreement, values = _Agreement(), []
    for g, own, judged in zip(groupings, statistics(np.ones(len(rows.y))), eligible, strict=True):
        by_group, difference = _fairlearn_rows(rows.y, rows.p, g, row_codes, metrics)
        every = {f"{m}_difference": float(difference[m]) for m in REGRESSION_GROUP_METRICS}
        among = functools.partial(_rows_differences, rows.y, rows.p, g, row_codes, compared_metrics, judged)
        compared, reported = _library_tables(every, judged, among)
        _compare(agreement, "Fairlearn vs counts:", g, {**by_group, **compared}, own)
        values.append({**by_group, **reported})
    summary = agreement.summary()
    samples = _row_bootstrap(settings.row_seed, settings.n_bootstrap, len(rows.y), statistics)
    features = [
        _feature_audit(
            g,
            _Numbers(v, s),
            REGRESSION_GROUP_METRICS,
            REGRESSION_DISPARITIES,
            (),
            _verdict(g.labels, v["count"], (), settings.min_group_size, NO_REGRESSION_THRESHOLDS),
            settings.min_group_size,
        )
        for g, v, s in zip(groupings, values, samples, strict=True)
    ]
    return features, {}, summary


def _bootstrap_description(settings: _Settings, binary: bool) -> dict[str, Any]:
    return {
        "n_resamples": settings.n_bootstrap,
        "seed": settings.seed,
        "confidence_level": CONFIDENCE_LEVEL,
        "method": "percentile",
        "resampling": "multinomial over distinct (label, prediction, groups) cells" if binary else "rows",
    }


def _conventions(binary: bool) -> dict[str, str]:
    if binary:
        return dict(CONVENTIONS)
    return {
        "fairlearn": (
            "Per group: mean prediction and mean absolute error. A difference is the maximum minus the minimum "
            "over the groups (never negative)."
        ),
        "intersection": CONVENTIONS["intersection"],
        "confidence_intervals": CONVENTIONS["confidence_intervals"],
        "verdict": (
            f"{NO_REGRESSION_THRESHOLDS}; a group below min_group_size is listed under insufficient_groups with its "
            "row count."
        ),
        "headline": (
            "A feature's fairlearn differences (the headline numbers) are over its eligible_groups, those with at "
            "least min_group_size rows, and are null when fewer than two groups are eligible; fairlearn_all_groups "
            "holds the same differences over every group (the full table). Eligibility is decided on the full data "
            "and kept in every bootstrap resample."
        ),
    }
