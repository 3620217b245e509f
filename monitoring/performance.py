"""Performance of a model on a window of production rows: realised where labels are known, estimated from
calibrated probabilities where they are not. Django-free: no ORM, no settings; sizes and seeds are arguments.

Every metric is ``{"value", "low", "high"}``, a point and its 95% interval (None where undefined).

Realised, binary classification. Accuracy, precision, recall and F1 come from the confusion matrix; their
intervals are the percentiles of a bootstrap of its four cells (drawing n rows with replacement lands a
multinomial number of them in each cell, so the bootstrap costs the same at any n). ROC AUC comes from the
scores; its interval is Hanley and McNeil's normal approximation (Radiology 143:29-36, 1982).
Regression: MAE with a normal interval, RMSE with the delta method's interval on the MSE.

Estimated, binary classification: confidence-based performance estimation (CBPE, as NannyML does). With
calibrated probabilities p, a row predicted positive is a true positive with probability p and a false
positive with 1 - p; one predicted negative is a false negative with probability p and a true negative with
1 - p. The expected confusion matrix is the sum of those, and the metrics follow from it. ROC AUC is
estimated with each row counted p times as a positive and 1 - p times as a negative. Accuracy's interval is
the spread of realised accuracy given the probabilities (a sum of independent Bernoulli variables, variance
sum p(1 - p) / n^2); the other estimates carry none. It holds only while the probabilities stay calibrated
for the window, which is what a change of concept breaks (see monitoring.monitors).

Calibration is learnt on the reference rows (the version's evaluation data, labelled): an isotonic
regression of the labels on the scores, applied to the window's scores, as NannyML calibrates.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn.isotonic import IsotonicRegression

Z95 = 1.959963984540054
HIGHER_IS_BETTER = {
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "mae": False,
    "rmse": False,
}


def primary_metric(task: str, *, has_scores: bool) -> str:
    """The metric a drop is judged on: ROC AUC when there are scores, else accuracy; MAE for regression."""
    if task == "regression":
        return "mae"
    return "roc_auc" if has_scores else "accuracy"


def _metric(value: float | None, low: float | None = None, high: float | None = None) -> dict:
    def number(x):
        return float(x) if x is not None and math.isfinite(x) else None

    return {"value": number(value), "low": number(low), "high": number(high)}


# --- realised --------------------------------------------------------------------------------------


def binary_performance(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, *, n_bootstrap: int = 1000, seed: int = 0
) -> dict[str, dict]:
    """Realised metrics of 0/1 predictions against 0/1 labels, and ROC AUC when scores are given."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    cells = _cells(y_true, y_pred)
    rng = np.random.default_rng(seed)
    n = int(cells.sum())
    draws = rng.multinomial(n, cells / n, size=n_bootstrap).astype(np.float64) if n and n_bootstrap else None
    point = _cell_metrics(cells.astype(np.float64)[None, :])
    result = {}
    for name, values in point.items():
        low, high = _percentiles(_cell_metrics(draws)[name]) if draws is not None else (None, None)
        result[name] = _metric(values[0], low, high)
    if scores is not None:
        result["roc_auc"] = _auc_with_interval(np.asarray(scores, dtype=np.float64), y_true)
    return result


def _cells(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """[tp, fp, fn, tn]"""
    positive = y_pred == 1
    tp = int(np.count_nonzero(positive & (y_true == 1)))
    fp = int(np.count_nonzero(positive)) - tp
    fn = int(np.count_nonzero(y_true == 1)) - tp
    return np.array([tp, fp, fn, len(y_true) - tp - fp - fn], dtype=np.int64)


def _cell_metrics(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics of confusion matrices, one per row of ``cells`` ([tp, fp, fn, tn]); NaN where undefined."""
    tp, fp, fn, tn = cells.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "precision": tp / (tp + fp),
            "recall": tp / (tp + fn),
            "f1": 2 * tp / (2 * tp + fp + fn),
        }


def _percentiles(samples: np.ndarray) -> tuple[float | None, float | None]:
    defined = samples[np.isfinite(samples)]
    if not defined.size:
        return None, None
    low, high = np.percentile(defined, (2.5, 97.5))
    return float(low), float(high)


def weighted_auc(scores: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> float | None:
    """P(a positive outranks a negative), ties counting half, with rows weighted as positives and negatives."""
    total_positive, total_negative = float(positive.sum()), float(negative.sum())
    if total_positive <= 0 or total_negative <= 0:
        return None
    values, inverse = np.unique(scores, return_inverse=True)
    positive_at = np.bincount(inverse, weights=positive, minlength=len(values))
    negative_at = np.bincount(inverse, weights=negative, minlength=len(values))
    negative_below = np.cumsum(negative_at) - negative_at
    wins = float(np.sum(positive_at * (negative_below + 0.5 * negative_at)))
    return wins / (total_positive * total_negative)


def _auc_with_interval(scores: np.ndarray, y_true: np.ndarray) -> dict:
    positive = (y_true == 1).astype(np.float64)
    auc = weighted_auc(scores, positive, 1 - positive)
    if auc is None:
        return _metric(None)
    n_pos, n_neg = positive.sum(), len(positive) - positive.sum()
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    se = math.sqrt(max(variance, 0.0))
    return _metric(auc, max(auc - Z95 * se, 0.0), min(auc + Z95 * se, 1.0))


def regression_performance(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, dict]:
    errors = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    n = len(errors)
    if not n:
        return {"mae": _metric(None), "rmse": _metric(None)}
    absolute, squared = np.abs(errors), errors * errors
    mae, mse = float(absolute.mean()), float(squared.mean())
    mae_se = float(absolute.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    mse_se = float(squared.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    rmse_low = math.sqrt(max(mse - Z95 * mse_se, 0.0)) if math.isfinite(mse_se) else None
    rmse_high = math.sqrt(mse + Z95 * mse_se) if math.isfinite(mse_se) else None
    return {
        "mae": _metric(mae, max(mae - Z95 * mae_se, 0.0), mae + Z95 * mae_se),
        "rmse": _metric(math.sqrt(mse), rmse_low, rmse_high),
    }


# --- estimated (CBPE) --------------------------------------------------------------------------------


def calibrator(scores: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Calibrated probabilities of the positive class from scores, learnt on labelled reference rows."""
    labels = np.asarray(labels, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        raise ValueError("calibration needs reference rows of both classes")
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    model.fit(np.asarray(scores, dtype=np.float64), labels)
    return lambda values: np.clip(model.predict(np.asarray(values, dtype=np.float64)), 0.0, 1.0)


def estimated_binary_performance(probabilities: np.ndarray, y_pred: np.ndarray, scores: np.ndarray) -> dict[str, dict]:
    """Expected metrics of the predictions given calibrated probabilities; each marked as an estimate."""
    p = np.asarray(probabilities, dtype=np.float64)
    positive = np.asarray(y_pred, dtype=np.int64) == 1
    expected = np.array([p[positive].sum(), (1 - p[positive]).sum(), p[~positive].sum(), (1 - p[~positive]).sum()])
    point = {name: values[0] for name, values in _cell_metrics(expected[None, :]).items()}
    n = len(p)
    result = {name: _metric(value) for name, value in point.items()}
    if n:
        se = math.sqrt(float(np.sum(p * (1 - p)))) / n
        accuracy = point["accuracy"]
        result["accuracy"] = _metric(accuracy, max(accuracy - Z95 * se, 0.0), min(accuracy + Z95 * se, 1.0))
    result["roc_auc"] = _metric(weighted_auc(np.asarray(scores, dtype=np.float64), p, 1 - p))
    return {name: {**value, "estimate": True} for name, value in result.items()}


def relative_drop(metric: str, baseline: float | None, value: float | None) -> float | None:
    """How much worse ``value`` is than ``baseline``, as a fraction of the baseline (negative: better)."""
    if baseline is None or value is None or baseline == 0:
        return None
    worse = baseline - value if HIGHER_IS_BETTER[metric] else value - baseline
    return worse / abs(baseline)


def beyond_chance(metric: str, baseline: float | None, estimate: dict) -> bool:
    """The window's interval lies wholly on the worse side of the baseline (no interval: not beyond chance)."""
    if baseline is None:
        return False
    if HIGHER_IS_BETTER[metric]:
        return estimate["high"] is not None and estimate["high"] < baseline
    return estimate["low"] is not None and estimate["low"] > baseline
