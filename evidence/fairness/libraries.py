"""The point estimates from the Fairlearn and AIF360 libraries; Django-free."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from .counts import _Cells
from .groupings import _by_group, _fairlearn_sensitive, _Grouping
from .results import AIF360_PAIR_METRICS


def _weighted_count(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    # Fairlearn's own count ignores weights, and a collapsed cell stands for `weight` rows.
    return float(np.sum(sample_weight))


def _precision(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    # A group with no positive predictions has no precision: NaN, not scikit-learn's default 0 with a warning.
    return skm.precision_score(y_true, y_pred, sample_weight=sample_weight, zero_division=np.nan)


def _mean_prediction(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_pred))


def _roc_auc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    # A group whose labels are all one class has no ROC curve; scikit-learn raises, the audit reports null.
    if np.unique(y_true).size < 2:
        return float("nan")
    return float(skm.roc_auc_score(y_true, y_pred))


def _fairlearn_binary(cells: _Cells, grouping: _Grouping) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    metrics: dict[str, Callable[..., float]] = {
        "count": _weighted_count,
        "selection_rate": selection_rate,
        "accuracy": skm.accuracy_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision": _precision,
    }
    sensitive = _fairlearn_sensitive(grouping, cells.columns)
    weights = {"sample_weight": cells.counts}
    frame = MetricFrame(
        metrics=metrics,
        y_true=cells.y,
        y_pred=cells.p,
        sensitive_features=sensitive,
        sample_params={name: weights for name in metrics},
    )
    disparities = _disparities(cells.y, cells.p, sensitive, cells.counts)
    return _by_group(frame.by_group, grouping, list(metrics)), disparities


def _disparities(y: np.ndarray, p: np.ndarray, sensitive: Any, weights: np.ndarray) -> dict[str, float]:
    functions = (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equal_opportunity_difference,
    )
    return {f.__name__: float(f(y, p, sensitive_features=sensitive, sample_weight=weights)) for f in functions}


def _fairlearn_binary_among(cells: _Cells, grouping: _Grouping, eligible: np.ndarray) -> dict[str, float]:
    """Fairlearn's disparities over the cells of the eligible groups only, as a user would filter the rows."""
    keep = eligible[grouping.codes]
    sensitive = _fairlearn_sensitive(grouping, {column: codes[keep] for column, codes in cells.columns.items()})
    return _disparities(cells.y[keep], cells.p[keep], sensitive, cells.counts[keep])


def _fairlearn_rows(
    y: np.ndarray, p: np.ndarray, grouping: _Grouping, unit_codes: Mapping[str, np.ndarray], metrics: dict
) -> tuple[dict[str, np.ndarray], pd.Series]:
    frame = MetricFrame(
        metrics=metrics, y_true=y, y_pred=p, sensitive_features=_fairlearn_sensitive(grouping, unit_codes)
    )
    return _by_group(frame.by_group, grouping, list(metrics)), frame.difference()


def _fairlearn_rows_difference_among(
    y: np.ndarray, p: np.ndarray, grouping: _Grouping, unit_codes: Mapping[str, np.ndarray], metrics: dict, eligible
) -> pd.Series:
    """Fairlearn's between-group differences over the rows of the eligible groups only."""
    keep = eligible[grouping.codes]
    sensitive = _fairlearn_sensitive(grouping, {column: codes[keep] for column, codes in unit_codes.items()})
    return MetricFrame(metrics=metrics, y_true=y[keep], y_pred=p[keep], sensitive_features=sensitive).difference()


def _aif360_classification(
    cells: _Cells, groupings: Sequence[_Grouping], privileged: Sequence[int]
) -> list[dict[str, np.ndarray]]:
    """AIF360's per-group rates and pair metrics, one ClassificationMetric per (group, privileged) pair."""
    # Imported here: AIF360 takes seconds to import and logs about optional extras it lacks.
    from aif360.datasets import BinaryLabelDataset

    attributes = [f"g{i}" for i in range(len(groupings))]
    # Float codes: AIF360's dataset classes do not take pandas string columns.
    frame = pd.DataFrame(
        {
            "label": cells.y.astype(np.float64),
            **{a: g.codes.astype(np.float64) for a, g in zip(attributes, groupings, strict=True)},
            "weight": cells.counts,
        }
    )
    truth = BinaryLabelDataset(
        df=frame,
        label_names=["label"],
        protected_attribute_names=attributes,
        instance_weights_name="weight",
        favorable_label=1.0,
        unfavorable_label=0.0,
    )
    predicted = truth.copy(deepcopy=True)
    predicted.labels = cells.p.astype(np.float64).reshape(-1, 1)
    return [
        _aif360_grouping(truth, predicted, attribute, grouping.size, top)
        for attribute, grouping, top in zip(attributes, groupings, privileged, strict=True)
    ]


def _aif360_grouping(truth: Any, predicted: Any, attribute: str, size: int, privileged: int) -> dict[str, np.ndarray]:
    from aif360.metrics import ClassificationMetric

    rates = ("selection_rate", "true_positive_rate", "false_positive_rate")
    out = {name: np.full(size, np.nan) for name in (*rates, *AIF360_PAIR_METRICS)}
    for group in range(size):
        if group == privileged:
            continue
        metric = ClassificationMetric(
            truth,
            predicted,
            unprivileged_groups=[{attribute: float(group)}],
            privileged_groups=[{attribute: float(privileged)}],
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            for name in rates:
                out[name][group] = getattr(metric, name)(privileged=False)
                out[name][privileged] = getattr(metric, name)(privileged=True)
            for name in AIF360_PAIR_METRICS:
                out[name][group] = getattr(metric, name)()
    return out


def _aif360_theil(cells: _Cells) -> float:
    from aif360.sklearn.metrics import theil_index

    # AIF360's Theil index ignores instance weights, so it gets the rows' benefits back, one per row.
    benefit = np.repeat((1 + cells.p - cells.y).astype(np.float64), cells.counts.astype(np.int64))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(theil_index(benefit))
