"""Count formulas: the bootstrap's arithmetic, checked against the libraries on every audit; Django-free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from .groupings import _distinct_combinations, _Grouping
from .inputs import _Rows


@dataclass(frozen=True)
class _Cells:
    """Distinct (label, prediction, groups) combinations of a classifier's rows, with their counts."""

    y: np.ndarray
    p: np.ndarray
    counts: np.ndarray
    columns: dict[str, np.ndarray]
    row_cell: np.ndarray


_CONFUSION = (("tp", 1, 1), ("fp", 0, 1), ("tn", 0, 0), ("fn", 1, 0))


def _collapse(rows: _Rows) -> _Cells:
    columns = [rows.y.astype(np.intp), rows.p.astype(np.intp), *(f.codes for f in rows.features)]
    radices = [2, 2, *(len(f.uniques) for f in rows.features)]
    combos, counts, row_cell = _distinct_combinations(columns, radices)
    per_feature = {f.column: combos[:, i + 2] for i, f in enumerate(rows.features)}
    return _Cells(combos[:, 0], combos[:, 1], counts.astype(np.float64), per_feature, row_cell)


def _group_sums(weights: np.ndarray, grouping: _Grouping) -> np.ndarray:
    """Sums of unit weights per group; weights is (units,) or (resamples, units)."""
    n_units = len(grouping.codes)
    onehot = sparse.csr_array((np.ones(n_units), (np.arange(n_units), grouping.codes)), shape=(n_units, grouping.size))
    return np.asarray((onehot.T @ np.atleast_2d(weights).T).T).reshape(*weights.shape[:-1], grouping.size)


def _confusion(weights: np.ndarray, cells: _Cells, grouping: _Grouping) -> dict[str, np.ndarray]:
    return {
        name: _group_sums(weights * ((cells.y == label) & (cells.p == prediction)), grouping)
        for name, label, prediction in _CONFUSION
    }


def _rates(confusion: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Group metrics from confusion counts; NaN where the denominator is zero (undefined or absent group)."""
    tp, fp, tn, fn = (confusion[name] for name, _, _ in _CONFUSION)
    n = tp + fp + tn + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "count": n,
            "selection_rate": (tp + fp) / n,
            "accuracy": (tp + tn) / n,
            "true_positive_rate": tp / (tp + fn),
            "false_positive_rate": fp / (fp + tn),
            "false_negative_rate": fn / (tp + fn),
            "precision": tp / (tp + fp),
        }


def _fairlearn_convention(rates: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Undefined confusion-matrix rates of groups that are present become 0, as scikit-learn normalises them."""
    present = rates["count"] > 0
    filled = dict(rates)
    for metric in ("true_positive_rate", "false_positive_rate", "false_negative_rate"):
        filled[metric] = np.where(present & np.isnan(rates[metric]), 0.0, rates[metric])
    return filled


def _extremes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum over groups (last axis) skipping NaN (absent groups); NaN where all are NaN."""
    defined = ~np.isnan(values)
    low = np.where(defined, values, np.inf).min(axis=-1)
    high = np.where(defined, values, -np.inf).max(axis=-1)
    none = ~defined.any(axis=-1)
    return np.where(none, np.nan, low), np.where(none, np.nan, high)


def _spread(values: np.ndarray) -> np.ndarray:
    low, high = _extremes(values)
    return high - low


def _binary_disparities(rates: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    filled = _fairlearn_convention(rates)
    selection = filled["selection_rate"]
    tpr_spread = _spread(filled["true_positive_rate"])
    low, high = _extremes(selection)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = low / high
    return {
        "demographic_parity_difference": _spread(selection),
        "demographic_parity_ratio": ratio,
        "equalized_odds_difference": np.fmax(tpr_spread, _spread(filled["false_positive_rate"])),
        "equal_opportunity_difference": tpr_spread,
    }


def _pair_metrics(rates: Mapping[str, np.ndarray], privileged: int) -> dict[str, np.ndarray]:
    """AIF360's unprivileged-minus-privileged metrics for every group against the privileged one."""
    sr, tpr, fpr = (
        rates[m][..., [privileged]] for m in ("selection_rate", "true_positive_rate", "false_positive_rate")
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "disparate_impact": rates["selection_rate"] / sr,
            "statistical_parity_difference": rates["selection_rate"] - sr,
            "equal_opportunity_difference": rates["true_positive_rate"] - tpr,
            "average_odds_difference": 0.5
            * ((rates["false_positive_rate"] - fpr) + (rates["true_positive_rate"] - tpr)),
        }


def _theil(weights: np.ndarray, cells: _Cells) -> np.ndarray:
    """AIF360's Theil index (alpha = 1) of the benefit b = 1 + prediction - label, from weighted counts."""
    benefit = 1 + cells.p - cells.y
    n0, n1, n2 = ((weights * (benefit == b)).sum(axis=-1) for b in (0, 1, 2))
    total = n0 + n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (n1 + 2 * n2) / total
        # Rows with b = 0 add 0 (the limit of x log x), as in AIF360.
        terms = n1 * np.log(1 / mean) / mean + n2 * 2 * np.log(2 / mean) / mean
        return terms / total


def _finest(groupings: Sequence[_Grouping]) -> tuple[_Grouping, list[np.ndarray]]:
    """The finest grouping (the intersection, if any) and, per grouping, the group of each of its groups.

    Sums over rows are taken once per resample for the finest groups and added up into the coarser ones.
    """
    finest = groupings[-1]
    maps = []
    for grouping in groupings:
        if grouping is finest:
            maps.append(np.arange(finest.size))
        else:
            position = finest.columns.index(grouping.columns[0])
            maps.append(np.array([key[position] for key in finest.keys], dtype=np.intp))
    return finest, maps


def _regression_moments(weights: np.ndarray, finest: _Grouping, p: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Per finest group: weighted rows, sum of predictions, sum of absolute errors; shape (3, groups)."""
    return np.stack(
        [np.bincount(finest.codes, weights=w, minlength=finest.size) for w in (weights, weights * p, weights * error)]
    )


def _regression_stats(moments: np.ndarray, to_group: np.ndarray, size: int) -> dict[str, Any]:
    n, predictions, errors = (np.bincount(to_group, weights=m, minlength=size) for m in moments)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_prediction, mae = predictions / n, errors / n
    return {
        "count": n,
        "mean_prediction": mean_prediction,
        "mean_absolute_error": mae,
        "mean_prediction_difference": _spread(mean_prediction),
        "mean_absolute_error_difference": _spread(mae),
    }


@dataclass(frozen=True)
class _AucLayout:
    """Rows sorted by (group, score) and cut into tie blocks, so a weighted ROC AUC is a few vector sums."""

    order: np.ndarray
    positive: np.ndarray
    starts: np.ndarray
    block_group: np.ndarray
    size: int


def _auc_layout(grouping: _Grouping, score: np.ndarray, y: np.ndarray) -> _AucLayout:
    order = np.lexsort((score, grouping.codes))
    codes, sorted_score = grouping.codes[order], score[order]
    new_block = np.ones(len(order), dtype=bool)
    new_block[1:] = (codes[1:] != codes[:-1]) | (sorted_score[1:] != sorted_score[:-1])
    starts = np.flatnonzero(new_block)
    return _AucLayout(order, y[order].astype(np.float64), starts, codes[starts], grouping.size)


def _score_stats(weights: np.ndarray, grouping: _Grouping, layout: _AucLayout, score: np.ndarray) -> dict[str, Any]:
    """Mean score and Mann-Whitney ROC AUC (ties count half) per group, for row weights."""
    w = weights[layout.order]
    pos = np.add.reduceat(w * layout.positive, layout.starts)
    neg = np.add.reduceat(w, layout.starts) - pos
    neg_total = np.bincount(layout.block_group, weights=neg, minlength=layout.size)
    earlier_groups = (np.cumsum(neg_total) - neg_total)[layout.block_group]
    below = np.cumsum(neg) - neg - earlier_groups
    wins = np.bincount(layout.block_group, weights=pos * (below + 0.5 * neg), minlength=layout.size)
    pos_total = np.bincount(layout.block_group, weights=pos, minlength=layout.size)
    n = np.bincount(grouping.codes, weights=weights, minlength=grouping.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = wins / (pos_total * neg_total)
        mean_score = np.bincount(grouping.codes, weights=weights * score, minlength=grouping.size) / n
    return {"mean_score": mean_score, "roc_auc": auc, "roc_auc_difference": _spread(auc)}
