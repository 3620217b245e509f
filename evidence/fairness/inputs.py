"""Settings and input validation: arrays and a sensitive-feature frame in, checked rows out; Django-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .results import TASKS, BiasAuditInputError, Thresholds, _py


@dataclass(frozen=True)
class _Settings:
    thresholds: Thresholds
    min_group_size: int
    n_bootstrap: int
    seed: int
    cell_seed: np.random.SeedSequence
    row_seed: np.random.SeedSequence


@dataclass(frozen=True)
class _Feature:
    column: str
    codes: np.ndarray
    uniques: tuple[Any, ...]


@dataclass(frozen=True)
class _Rows:
    y: np.ndarray
    p: np.ndarray
    features: tuple[_Feature, ...]
    score: np.ndarray | None


def _settings(task: str, thresholds: Thresholds, min_group_size: int, n_bootstrap: int, seed: int) -> _Settings:
    if task not in TASKS:
        raise BiasAuditInputError(f"task must be one of {list(TASKS)}; got {task!r}")
    _check_thresholds(thresholds)
    for name, value, lowest in (("min_group_size", min_group_size, 1), ("n_bootstrap", n_bootstrap, 0)):
        if not _is_int(value) or value < lowest:
            raise BiasAuditInputError(f"{name} must be an integer >= {lowest}; got {value!r}")
    if not _is_int(seed) or seed < 0:
        raise BiasAuditInputError(f"seed must be a non-negative integer; got {seed!r}")
    # Separate streams, so asking for scores does not move the classifier intervals.
    cell_seed, row_seed = np.random.SeedSequence(int(seed)).spawn(2)
    return _Settings(thresholds, int(min_group_size), int(n_bootstrap), int(seed), cell_seed, row_seed)


def _check_thresholds(thresholds: Thresholds) -> None:
    if not isinstance(thresholds, Thresholds):
        raise BiasAuditInputError(f"thresholds must be a Thresholds; got {type(thresholds).__name__}")
    limits = (
        ("min_selection_rate_ratio", thresholds.min_selection_rate_ratio, "(0, 1]", lambda v: 0 < v <= 1),
        ("max_equalized_odds_difference", thresholds.max_equalized_odds_difference, "[0, 1]", lambda v: 0 <= v <= 1),
    )
    for name, value, interval, inside in limits:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not inside(value):
            raise BiasAuditInputError(f"{name} must be a number in {interval}; got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _rows(y_true: Any, y_pred: Any, sensitive: Any, task: str, positive_label: Any, score: Any) -> _Rows:
    if not isinstance(sensitive, pd.DataFrame):
        raise BiasAuditInputError("sensitive must be a pandas DataFrame with one column per sensitive feature")
    arrays = {"y_true": _as_1d("y_true", y_true), "y_pred": _as_1d("y_pred", y_pred)}
    if score is not None:
        if task != "binary_classification":
            raise BiasAuditInputError("score is only used by binary_classification audits")
        arrays["score"] = _as_1d("score", score)
    _check_lengths({**{name: len(a) for name, a in arrays.items()}, "sensitive": len(sensitive)})
    for name, array in arrays.items():
        _check_no_missing(name, array)
    features = _sensitive_features(sensitive)
    if task == "binary_classification":
        y, p = _binary_labels(arrays["y_true"], arrays["y_pred"], positive_label)
    else:
        y, p = _numeric("y_true", arrays["y_true"]), _numeric("y_pred", arrays["y_pred"])
    scores = _numeric("score", arrays["score"]) if score is not None else None
    return _Rows(y, p, features, scores)


def _as_1d(name: str, values: Any) -> np.ndarray:
    array = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if array.ndim != 1:
        raise BiasAuditInputError(f"{name} must be one-dimensional; got shape {array.shape}")
    return array


def _check_lengths(lengths: dict[str, int]) -> None:
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n} rows" for name, n in lengths.items())
        raise BiasAuditInputError(f"length mismatch: {described}")
    if next(iter(lengths.values())) == 0:
        raise BiasAuditInputError("empty input: there are no rows to audit")


def _check_no_missing(name: str, array: np.ndarray) -> None:
    missing = np.asarray(pd.isna(array), dtype=bool)
    if missing.any():
        first = int(np.argmax(missing))
        raise BiasAuditInputError(f"{name} has {int(missing.sum())} missing value(s) (NaN/None), first at row {first}")


def _sensitive_features(sensitive: pd.DataFrame) -> tuple[_Feature, ...]:
    names = [str(column) for column in sensitive.columns]
    if not names:
        raise BiasAuditInputError("sensitive has no columns: name at least one sensitive feature")
    if len(set(names)) != len(names):
        raise BiasAuditInputError(f"sensitive feature names must be unique; got {names}")
    features = []
    for name, (_, column) in zip(names, sensitive.items(), strict=True):
        _check_no_missing(f"sensitive feature '{name}'", column.to_numpy())
        codes, uniques = _factorize(column)
        if len(uniques) < 2:
            raise BiasAuditInputError(f"sensitive feature '{name}' has a single group: {uniques[0]!r}")
        features.append(_Feature(name, codes, uniques))
    return tuple(features)


def _factorize(column: pd.Series) -> tuple[np.ndarray, tuple[Any, ...]]:
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:
        # Mixed types that do not sort: keep the order of first appearance, still deterministic.
        codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.intp), tuple(_py(u) for u in uniques)


def _binary_labels(y_true: np.ndarray, y_pred: np.ndarray, positive_label: Any) -> tuple[np.ndarray, np.ndarray]:
    seen_true, seen_pred = _distinct(y_true), _distinct(y_pred)
    seen = list(dict.fromkeys([*seen_true, *seen_pred]))
    if len(seen) > 2:
        raise BiasAuditInputError(
            "binary_classification needs at most two label values across y_true and y_pred; "
            f"y_true has {_describe(seen_true)}, y_pred has {_describe(seen_pred)}"
        )
    if len(seen) == 2 and positive_label not in seen:
        raise BiasAuditInputError(f"positive_label {positive_label!r} is not one of the labels seen: {_describe(seen)}")
    return (y_true == positive_label).astype(np.int8), (y_pred == positive_label).astype(np.int8)


def _distinct(array: np.ndarray) -> list[Any]:
    return [_py(value) for value in pd.unique(array)]


def _describe(values: list[Any]) -> str:
    try:
        return repr(sorted(values))
    except TypeError:
        return repr(values)


def _numeric(name: str, array: np.ndarray) -> np.ndarray:
    try:
        values = np.asarray(array, dtype=np.float64) if array.dtype.kind in "biufO" else None
    except (TypeError, ValueError):
        values = None
    if values is None:
        raise BiasAuditInputError(f"{name} must be numeric; got dtype {array.dtype}")
    infinite = ~np.isfinite(values)
    if infinite.any():
        first = int(np.argmax(infinite))
        raise BiasAuditInputError(f"{name} has {int(infinite.sum())} infinite value(s), first at row {first}")
    return values
