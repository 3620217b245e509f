"""Bias audit of a model's predictions: per-group metrics, disparities, bootstrap intervals and verdicts.

Pure computation (no Django, no ORM): arrays in, a JSON-ready :class:`BiasAuditResult` out.

Point estimates come from Fairlearn (``MetricFrame`` and its disparity functions) and, for classifiers,
from AIF360 (``ClassificationMetric``). Where the libraries compute the same number they must agree to
``TOLERANCE``, and so must this module's own count formulas (which the bootstrap uses), or the audit raises
:class:`FairnessMismatch` instead of reporting numbers nobody can vouch for.

Classifier rows are collapsed to their distinct (label, prediction, groups) cells with the cell counts as
sample weights: every classification metric here is a function of weighted confusion counts, so the numbers
are those of the raw rows. The bootstrap resamples the cells (a multinomial draw of n rows over the cells)
rather than the rows, which makes 1,000 resamples of a million rows a few small matrix products.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from scipy import sparse

Task = Literal["binary_classification", "regression"]
TASKS: tuple[str, ...] = ("binary_classification", "regression")
TOLERANCE = 1e-9
CONFIDENCE_LEVEL = 0.95
INTERSECTION_SEPARATOR = " x "
FOUR_FIFTHS_SOURCE = "four-fifths rule, US Uniform Guidelines on Employee Selection Procedures, 29 CFR 1607.4(D)"
POLICY_DEFAULT_SOURCE = "policy default"
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"

RATE_METRICS = ("selection_rate", "accuracy", "true_positive_rate", "false_positive_rate", "false_negative_rate")
BINARY_GROUP_METRICS = (*RATE_METRICS, "precision")
BINARY_DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
)
AIF360_PAIR_METRICS = (
    "disparate_impact",
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "average_odds_difference",
)
SCORE_GROUP_METRICS = ("mean_score", "roc_auc")
SCORE_DISPARITIES = ("roc_auc_difference",)
REGRESSION_GROUP_METRICS = ("mean_prediction", "mean_absolute_error")
REGRESSION_DISPARITIES = ("mean_prediction_difference", "mean_absolute_error_difference")

CONVENTIONS = {
    "fairlearn": (
        "Between groups: a difference is the maximum minus the minimum over the groups (never negative) and a "
        "ratio is the minimum over the maximum. equalized_odds_difference is the larger of the true positive "
        "rate and false positive rate differences; equal_opportunity_difference is the true positive rate "
        "difference. In these disparities a group with no actual positives (or negatives) counts with a true "
        "(false) positive rate of 0, as scikit-learn's confusion-matrix normalisation gives; in the per-group "
        "metrics such an undefined rate is null."
    ),
    "aif360": (
        "Each group is compared with the privileged group, the group of the feature with the highest selection "
        "rate: differences are unprivileged minus privileged (negative when the unprivileged group gets fewer "
        "positive predictions or a lower true positive rate), disparate_impact is unprivileged over privileged, "
        "average_odds_difference is the mean of the false and true positive rate differences. A rate with "
        "nothing to divide by is undefined (null). theil_index is over all rows, with benefit 1 + prediction - "
        "label."
    ),
    "intersection": "The intersection groups are the combinations of the sensitive features' values seen in the data.",
    "confidence_intervals": (
        "95% percentile bootstrap. Classifiers resample the distinct (label, prediction, groups) cells: a "
        "multinomial draw of n rows with the cell shares as probabilities; regression (and scores) resample rows "
        "with replacement. An interval uses the resamples in which its statistic is defined (a small group can be "
        "absent from a resample) and is null when there are none. The privileged group stays the one chosen on "
        "the full data."
    ),
    "verdict": (
        "Per feature: the selection rate of the lowest group must be at least min_selection_rate_ratio times "
        "that of the highest, and the equalized odds difference at most max_equalized_odds_difference, both "
        "over the groups with at least min_group_size rows whose rates are defined; a value exactly at a limit "
        "meets it. A group below min_group_size makes the feature inconclusive whatever the checks say. "
        "Overall: fail if any feature fails, else inconclusive if any feature is, else pass."
    ),
}


class BiasAuditInputError(ValueError):
    """The inputs cannot be audited as given; the message says what to fix."""


class FairnessMismatch(RuntimeError):
    """Fairlearn, AIF360 and the count formulas disagree on a number they all compute."""


@dataclass(frozen=True)
class Thresholds:
    """Limits a feature must meet to pass; each carries the source it comes from, which the output quotes."""

    min_selection_rate_ratio: float = 0.8
    max_equalized_odds_difference: float = 0.1
    min_selection_rate_ratio_source: str = FOUR_FIFTHS_SOURCE
    max_equalized_odds_difference_source: str = POLICY_DEFAULT_SOURCE

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {
            "min_selection_rate_ratio": {
                "value": self.min_selection_rate_ratio,
                "source": self.min_selection_rate_ratio_source,
            },
            "max_equalized_odds_difference": {
                "value": self.max_equalized_odds_difference,
                "source": self.max_equalized_odds_difference_source,
            },
        }


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap confidence interval; None where undefined."""

    value: float | None
    ci: tuple[float | None, float | None] = (None, None)


@dataclass(frozen=True)
class GroupResult:
    group: str
    values: dict[str, Any]
    count: int
    insufficient_data: bool
    metrics: dict[str, Estimate]


@dataclass(frozen=True)
class PairResult:
    """AIF360's comparison of one group (unprivileged) with the feature's privileged group."""

    unprivileged_group: str
    privileged_group: str
    metrics: dict[str, Estimate]


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    value: float | None
    threshold: float
    source: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    status: str
    reasons: tuple[str, ...]
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class FeatureAudit:
    name: str
    kind: str
    columns: tuple[str, ...]
    groups: tuple[GroupResult, ...]
    fairlearn: dict[str, Estimate]
    aif360: tuple[PairResult, ...]
    verdict: Verdict

    def group(self, label: str) -> GroupResult:
        for group in self.groups:
            if group.group == label:
                return group
        raise KeyError(f"feature {self.name!r} has no group {label!r}")

    def pair(self, unprivileged: str) -> PairResult:
        for pair in self.aif360:
            if pair.unprivileged_group == unprivileged:
                return pair
        raise KeyError(f"feature {self.name!r} has no AIF360 pair for {unprivileged!r}")


@dataclass(frozen=True)
class BiasAuditResult:
    task: str
    n_rows: int
    positive_label: Any
    min_group_size: int
    thresholds: Thresholds
    bootstrap: dict[str, Any]
    conventions: dict[str, str]
    features: tuple[FeatureAudit, ...]
    aif360_overall: dict[str, Estimate]
    agreement: dict[str, Any]
    verdict: Verdict

    def feature(self, name: str) -> FeatureAudit:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(f"the audit has no feature {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON (no NaN or infinity: undefined numbers are None), identical for identical inputs."""
        data = dataclasses.asdict(self)
        data["thresholds"] = self.thresholds.to_dict()
        return _jsonable(data)


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
    from audits.charts_fairness import group_metric_chart_png as render

    return render(result, metric=metric, feature=feature)


# --- settings and input validation ---------------------------------------------------------------------------


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


# --- groupings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grouping:
    """A sensitive feature or the intersection, over some units (cells or rows): group index per unit."""

    name: str
    kind: str
    columns: tuple[str, ...]
    codes: np.ndarray
    keys: tuple[Any, ...]
    labels: tuple[str, ...]
    values: tuple[dict[str, Any], ...]

    @property
    def size(self) -> int:
        return len(self.labels)

    def on(self, units: np.ndarray) -> _Grouping:
        """The same groups over other units, given each new unit's index among the current ones."""
        return dataclasses.replace(self, codes=self.codes[units])


def _distinct_combinations(
    columns: Sequence[np.ndarray], radices: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of stacked integer codes (sorted), their counts, and each row's index among them."""
    space = math.prod(radices)
    if space >= 2**62:
        stacked = np.column_stack(columns)
        combos, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
        return combos, counts, inverse.ravel()
    key = np.ravel_multi_index(tuple(columns), tuple(radices))
    if space <= max(4 * key.size, 1 << 16):
        # A dense key space counts faster with bincount than with a sort.
        counts = np.bincount(key, minlength=space)
        present = np.flatnonzero(counts)
        inverse = (np.cumsum(counts > 0) - 1)[key]
        return np.column_stack(np.unravel_index(present, radices)), counts[present], inverse
    keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return np.column_stack(np.unravel_index(keys, radices)), counts, inverse


def _groupings(features: Sequence[_Feature], unit_codes: Sequence[np.ndarray]) -> list[_Grouping]:
    groupings = [
        _Grouping(
            name=f.column,
            kind="feature",
            columns=(f.column,),
            codes=codes,
            keys=tuple(range(len(f.uniques))),
            labels=tuple(str(u) for u in f.uniques),
            values=tuple({f.column: u} for u in f.uniques),
        )
        for f, codes in zip(features, unit_codes, strict=True)
    ]
    if len(features) > 1:
        groupings.append(_intersection(features, unit_codes))
    return groupings


def _intersection(features: Sequence[_Feature], unit_codes: Sequence[np.ndarray]) -> _Grouping:
    combos, _, codes = _distinct_combinations(unit_codes, [len(f.uniques) for f in features])
    values = tuple({f.column: f.uniques[c] for f, c in zip(features, combo, strict=True)} for combo in combos)
    columns = tuple(f.column for f in features)
    return _Grouping(
        name=INTERSECTION_SEPARATOR.join(columns),
        kind="intersection",
        columns=columns,
        codes=codes,
        keys=tuple(tuple(int(c) for c in combo) for combo in combos),
        labels=tuple(INTERSECTION_SEPARATOR.join(str(v) for v in vals.values()) for vals in values),
        values=values,
    )


def _fairlearn_sensitive(grouping: _Grouping, unit_codes: Mapping[str, np.ndarray]) -> pd.Series | pd.DataFrame:
    # The intersection goes to Fairlearn as several columns, as a user of Fairlearn would pass it.
    if len(grouping.columns) == 1:
        return pd.Series(unit_codes[grouping.columns[0]], name=grouping.columns[0])
    return pd.DataFrame({column: unit_codes[column] for column in grouping.columns})


def _by_group(frame: pd.DataFrame, grouping: _Grouping, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    # A multi-column MetricFrame also lists unseen combinations (all NaN); only the seen ones are kept.
    table = frame.loc[list(grouping.keys)]
    return {metric: table[metric].to_numpy(dtype=np.float64) for metric in metrics}


# --- count formulas (the bootstrap's arithmetic, checked against the libraries on every audit) ----------------


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


# --- the libraries -------------------------------------------------------------------------------------------


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
    functions = (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equal_opportunity_difference,
    )
    disparities = {
        f.__name__: float(f(cells.y, cells.p, sensitive_features=sensitive, sample_weight=cells.counts))
        for f in functions
    }
    return _by_group(frame.by_group, grouping, list(metrics)), disparities


def _fairlearn_rows(
    y: np.ndarray, p: np.ndarray, grouping: _Grouping, unit_codes: Mapping[str, np.ndarray], metrics: dict
) -> tuple[dict[str, np.ndarray], pd.Series]:
    frame = MetricFrame(
        metrics=metrics, y_true=y, y_pred=p, sensitive_features=_fairlearn_sensitive(grouping, unit_codes)
    )
    return _by_group(frame.by_group, grouping, list(metrics)), frame.difference()


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


# --- agreement -----------------------------------------------------------------------------------------------


class _Agreement:
    """Collects comparisons of numbers two sources compute; NaN agrees only with NaN."""

    def __init__(self) -> None:
        self.comparisons = 0
        self.max_difference = 0.0
        self.mismatches: list[str] = []

    def compare(self, what: str, left: float, right: float) -> None:
        self.comparisons += 1
        left, right = float(left), float(right)
        if math.isnan(left) and math.isnan(right):
            return
        # Relative as well as absolute, so regression numbers in the millions are not held to 1e-9 absolute.
        if math.isclose(left, right, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            if left != right:
                self.max_difference = max(self.max_difference, abs(left - right))
            return
        self.mismatches.append(f"{what}: {left!r} vs {right!r}")

    def compare_groups(self, what: str, labels: Sequence[str], left: np.ndarray, right: np.ndarray) -> None:
        for label, a, b in zip(labels, left, right, strict=True):
            self.compare(f"{what} [{label}]", a, b)

    def summary(self) -> dict[str, Any]:
        if self.mismatches:
            shown = "; ".join(self.mismatches[:10])
            raise FairnessMismatch(f"{len(self.mismatches)} disagreement(s) beyond {TOLERANCE:g}: {shown}")
        return {"tolerance": TOLERANCE, "comparisons": self.comparisons, "max_abs_difference": self.max_difference}


def _check_fairlearn(
    agreement: _Agreement, grouping: _Grouping, fairlearn: tuple[dict, dict], rates: dict[str, np.ndarray]
) -> None:
    """Fairlearn against the count formulas, in Fairlearn's convention for undefined rates."""
    by_group, disparities = fairlearn
    filled = _fairlearn_convention(rates)
    for metric in ("count", *BINARY_GROUP_METRICS):
        agreement.compare_groups(
            f"{grouping.name}: Fairlearn {metric} vs counts", grouping.labels, by_group[metric], filled[metric]
        )
    for name, value in _binary_disparities(rates).items():
        agreement.compare(f"{grouping.name}: Fairlearn {name} vs counts", disparities[name], value)


def _check_aif360(
    agreement: _Agreement, grouping: _Grouping, aif: dict, fairlearn: tuple[dict, dict], rates: dict, privileged: int
) -> None:
    by_group, _ = fairlearn
    for metric in ("selection_rate", "true_positive_rate", "false_positive_rate"):
        # Where a rate is undefined Fairlearn says 0 and AIF360 NaN; there AIF360 must say NaN.
        fairlearn_side = np.where(np.isnan(rates[metric]), np.nan, by_group[metric])
        agreement.compare_groups(
            f"{grouping.name}: AIF360 vs Fairlearn {metric}", grouping.labels, aif[metric], fairlearn_side
        )
    others = np.arange(grouping.size) != privileged
    for name, value in _pair_metrics(rates, privileged).items():
        labels = [label for label, other in zip(grouping.labels, others, strict=True) if other]
        agreement.compare_groups(f"{grouping.name}: AIF360 {name} vs counts", labels, aif[name][others], value[others])
    _check_identities(agreement, grouping, aif, fairlearn[1], rates, privileged)


def _with_zero(values: np.ndarray) -> np.ndarray:
    """The privileged group's own difference, 0, joined to the others'."""
    return np.append(values, 0.0)


def _check_identities(
    agreement: _Agreement, grouping: _Grouping, aif: dict, disparities: dict, rates: dict, privileged: int
) -> None:
    """Identities linking AIF360's privileged-vs-group numbers to Fairlearn's between-group ones."""
    name, others = grouping.name, np.flatnonzero(np.arange(grouping.size) != privileged)
    selection = rates["selection_rate"]
    lowest = others[np.argmin(selection[others])]
    # The privileged group has the highest selection rate, so (lowest, privileged) spans the whole range.
    spd = aif["statistical_parity_difference"][lowest]
    agreement.compare(
        f"{name}: AIF360 SPD (lowest vs privileged) = -Fairlearn DP difference",
        spd,
        -disparities["demographic_parity_difference"],
    )
    if selection[privileged] > 0:
        impact = np.min(aif["disparate_impact"][others])
        agreement.compare(
            f"{name}: lowest AIF360 disparate impact = Fairlearn DP ratio",
            impact,
            disparities["demographic_parity_ratio"],
        )
    if np.isnan(rates["true_positive_rate"]).any() or np.isnan(rates["false_positive_rate"]).any():
        return  # the libraries treat undefined rates differently, so the odds identities need every rate defined
    tpr_gaps = aif["equal_opportunity_difference"][others]
    fpr_gaps = 2 * aif["average_odds_difference"][others] - tpr_gaps
    tpr_spread, fpr_spread = np.ptp(_with_zero(tpr_gaps)), np.ptp(_with_zero(fpr_gaps))
    agreement.compare(
        f"{name}: AIF360 TPR gaps spread = Fairlearn equal opportunity",
        tpr_spread,
        disparities["equal_opportunity_difference"],
    )
    agreement.compare(
        f"{name}: AIF360 TPR/FPR gaps spread = Fairlearn equalized odds",
        max(tpr_spread, fpr_spread),
        disparities["equalized_odds_difference"],
    )


# --- bootstrap -----------------------------------------------------------------------------------------------

PERCENTILES = (2.5, 97.5)  # the 95% percentile interval


def _cell_bootstrap(
    cells: _Cells, groupings: Sequence[_Grouping], privileged: Sequence[int], settings: _Settings
) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """Resampled statistics per grouping, (resamples, groups) or (resamples,), and the resampled Theil index."""
    rng = np.random.default_rng(settings.cell_seed)
    n = int(round(cells.counts.sum()))
    # Drawing n rows with replacement lands in each cell a multinomial number of times.
    draws = rng.multinomial(n, cells.counts / n, size=settings.n_bootstrap).astype(np.float64)
    per_grouping = []
    for grouping, top in zip(groupings, privileged, strict=True):
        rates = _rates(_confusion(draws, cells, grouping))
        pairs = {f"aif360_{name}": value for name, value in _pair_metrics(rates, top).items()}
        per_grouping.append({**rates, **_binary_disparities(rates), **pairs})
    return per_grouping, _theil(draws, cells)


def _row_bootstrap(
    seed: np.random.SeedSequence, n_resamples: int, n_rows: int, statistics: Callable[[np.ndarray], list[dict]]
) -> list[dict[str, np.ndarray]]:
    """Statistics of row resamples (row weights = how often each row was drawn), stacked per grouping."""
    rng = np.random.default_rng(seed)
    shapes = [{name: np.shape(value) for name, value in stats.items()} for stats in statistics(np.ones(n_rows))]
    draws = [
        statistics(np.bincount(rng.integers(0, n_rows, size=n_rows), minlength=n_rows).astype(np.float64))
        for _ in range(n_resamples)
    ]
    return [
        {
            name: np.array([d[i][name] for d in draws], dtype=np.float64).reshape(n_resamples, *shape)
            for name, shape in grouping_shapes.items()
        }
        for i, grouping_shapes in enumerate(shapes)
    ]


def _interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    defined = samples[np.isfinite(samples)]
    if defined.size == 0:
        return None, None
    low, high = np.percentile(defined, PERCENTILES)
    return float(low), float(high)


def _estimate(value: float, samples: np.ndarray) -> Estimate:
    value = float(value)
    return Estimate(value if math.isfinite(value) else None, _interval(samples))


# --- verdicts ------------------------------------------------------------------------------------------------

# A number exactly at a limit meets it; rounding (0.5 - 0.4 = 0.09999999999999998) must not decide a verdict.
LIMIT_SLACK = 1e-12
NO_REGRESSION_THRESHOLDS = (
    "no thresholds apply to regression audits (the four-fifths rule and the equalized odds limit judge "
    "binary decisions); the per-group numbers need a reviewer's judgement"
)


def _selection_ratio_check(
    labels: Sequence[str], sr: np.ndarray, eligible: np.ndarray, thresholds: Thresholds
) -> Check:
    limit, source = thresholds.min_selection_rate_ratio, thresholds.min_selection_rate_ratio_source
    compared = np.flatnonzero(eligible & np.isfinite(sr))
    if compared.size < 2:
        detail = "fewer than two groups have enough data to compare selection rates"
        return Check("min_selection_rate_ratio", INCONCLUSIVE, None, limit, source, detail)
    low, high = compared[np.argmin(sr[compared])], compared[np.argmax(sr[compared])]
    if sr[high] == 0:
        detail = "no group with enough data has a positive prediction, so the selection rate ratio is undefined"
        return Check("min_selection_rate_ratio", INCONCLUSIVE, None, limit, source, detail)
    ratio = float(sr[low] / sr[high])
    failed = ratio < limit - LIMIT_SLACK
    detail = (
        f"selection rate ratio {ratio:.4f} ({labels[low]} {sr[low]:.4f} / {labels[high]} {sr[high]:.4f}) "
        f"{'is below' if failed else 'meets'} the minimum {limit:g} ({source})"
    )
    return Check("min_selection_rate_ratio", FAIL if failed else PASS, ratio, limit, source, detail)


def _widest_gap(labels: Sequence[str], metric: str, values: np.ndarray, eligible: np.ndarray) -> tuple | None:
    compared = np.flatnonzero(eligible & np.isfinite(values))
    if compared.size < 2:
        return None
    low, high = compared[np.argmin(values[compared])], compared[np.argmax(values[compared])]
    gap = float(values[high] - values[low])
    return gap, metric.replace("_", " "), labels[high], float(values[high]), labels[low], float(values[low])


def _equalized_odds_check(
    labels: Sequence[str], rates: Mapping[str, np.ndarray], eligible: np.ndarray, thresholds: Thresholds
) -> Check:
    limit, source = thresholds.max_equalized_odds_difference, thresholds.max_equalized_odds_difference_source
    gaps = [
        gap
        for metric in ("true_positive_rate", "false_positive_rate")
        if (gap := _widest_gap(labels, metric, rates[metric], eligible)) is not None
    ]
    if not gaps:
        detail = "fewer than two groups with enough data have a defined true or false positive rate"
        return Check("max_equalized_odds_difference", INCONCLUSIVE, None, limit, source, detail)
    value, metric, high, high_value, low, low_value = max(gaps)
    failed = value > limit + LIMIT_SLACK
    detail = (
        f"equalized odds difference {value:.4f} ({metric} {high} {high_value:.4f} vs {low} {low_value:.4f}) "
        f"{'exceeds' if failed else 'is within'} the maximum {limit:g} ({source})"
    )
    return Check("max_equalized_odds_difference", FAIL if failed else PASS, value, limit, source, detail)


def _verdict(
    labels: Sequence[str], counts: np.ndarray, checks: tuple[Check, ...], min_group_size: int, unassessed: str = ""
) -> Verdict:
    small = [(label, int(n)) for label, n in zip(labels, counts, strict=True) if n < min_group_size]
    reasons = [unassessed] if unassessed else []
    reasons += [f"{check.name}: {check.detail}" for check in checks if check.status != PASS]
    reasons += [
        f"insufficient data: group '{label}' has {n} rows, fewer than min_group_size {min_group_size}"
        for label, n in small
    ]
    statuses = {check.status for check in checks}
    # A small group's rates are too noisy to pass or fail on: the product rule makes the feature inconclusive.
    if small or unassessed:
        status = INCONCLUSIVE
    elif FAIL in statuses:
        status = FAIL
    else:
        status = INCONCLUSIVE if INCONCLUSIVE in statuses else PASS
    return Verdict(status, tuple(reasons), checks)


def _binary_verdict(grouping: _Grouping, rates: Mapping[str, np.ndarray], settings: _Settings) -> Verdict:
    eligible = rates["count"] >= settings.min_group_size
    checks = (
        _selection_ratio_check(grouping.labels, rates["selection_rate"], eligible, settings.thresholds),
        _equalized_odds_check(grouping.labels, rates, eligible, settings.thresholds),
    )
    return _verdict(grouping.labels, rates["count"], checks, settings.min_group_size)


def _overall_verdict(features: Sequence[FeatureAudit]) -> Verdict:
    statuses = {feature.verdict.status for feature in features}
    status = FAIL if FAIL in statuses else INCONCLUSIVE if INCONCLUSIVE in statuses else PASS
    reasons = tuple(f"{feature.name}: {reason}" for feature in features for reason in feature.verdict.reasons)
    return Verdict(status, reasons)


# --- assembling the audit ------------------------------------------------------------------------------------


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
    groups = tuple(
        GroupResult(
            group=label,
            values=grouping.values[k],
            count=int(round(counts[k])),
            insufficient_data=bool(counts[k] < min_group_size),
            metrics={m: _estimate(numbers.values[m][k], numbers.samples[m][:, k]) for m in group_metrics},
        )
        for k, label in enumerate(grouping.labels)
    )
    fairlearn = {name: _estimate(numbers.values[name], numbers.samples[name]) for name in disparities}
    return FeatureAudit(grouping.name, grouping.kind, grouping.columns, groups, fairlearn, pairs, verdict)


def _pair_results(grouping: _Grouping, privileged: int, aif: Mapping[str, np.ndarray], samples: Mapping) -> tuple:
    return tuple(
        PairResult(
            unprivileged_group=grouping.labels[k],
            privileged_group=grouping.labels[privileged],
            metrics={m: _estimate(aif[m][k], samples[f"aif360_{m}"][:, k]) for m in AIF360_PAIR_METRICS},
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
    """One grouping's point estimates: count formulas, Fairlearn, AIF360 and its privileged group."""

    rates: dict[str, np.ndarray]
    fairlearn: tuple[dict[str, np.ndarray], dict[str, float]]
    privileged: int
    aif360: dict[str, np.ndarray]


def _binary_points(cells: _Cells, groupings: Sequence[_Grouping], agreement: _Agreement) -> list[_BinaryPoint]:
    rates = [_rates(_confusion(cells.counts, cells, g)) for g in groupings]
    fairlearn = [_fairlearn_binary(cells, g) for g in groupings]
    # Ties go to the first group in sorted order, so the choice is deterministic.
    privileged = [int(np.argmax(r["selection_rate"])) for r in rates]
    aif = _aif360_classification(cells, groupings, privileged)
    points = [_BinaryPoint(*parts) for parts in zip(rates, fairlearn, privileged, aif, strict=True)]
    for g, point in zip(groupings, points, strict=True):
        _check_fairlearn(agreement, g, point.fairlearn, point.rates)
        _check_aif360(agreement, g, point.aif360, point.fairlearn, point.rates, point.privileged)
    return points


def _audit_binary(rows: _Rows, settings: _Settings) -> tuple[list[FeatureAudit], dict[str, Estimate], dict]:
    cells = _collapse(rows)
    groupings = _groupings(rows.features, list(cells.columns.values()))
    agreement = _Agreement()
    points = _binary_points(cells, groupings, agreement)
    theil = _aif360_theil(cells)
    agreement.compare("Theil index: AIF360 vs counts", theil, _theil(cells.counts, cells))
    on_rows = [g.on(cells.row_cell) for g in groupings] if rows.score is not None else []
    score_values = [_score_values(rows, g, agreement) for g in on_rows]
    summary = agreement.summary()  # raises before any resampling if the sources disagree
    samples, theil_samples = _cell_bootstrap(cells, groupings, [p.privileged for p in points], settings)
    score_samples = _score_bootstrap(rows, on_rows, settings)
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
        pairs = _pair_results(g, point.privileged, point.aif360, samples[i])
        verdict = _binary_verdict(g, point.rates, settings)
        features.append(_feature_audit(g, numbers, group_metrics, disparities, pairs, verdict, settings.min_group_size))
    return features, {"theil_index": _estimate(theil, theil_samples)}, summary


def _binary_numbers(point: _BinaryPoint, samples: dict[str, np.ndarray]) -> _Numbers:
    """Fairlearn's numbers as reported: a rate with nothing to divide by is NaN (null), not Fairlearn's 0."""
    by_group, disparities = point.fairlearn
    reported = {m: np.where(np.isnan(point.rates[m]), np.nan, by_group[m]) for m in BINARY_GROUP_METRICS}
    return _Numbers({**reported, "count": by_group["count"], **disparities}, samples)


def _score_values(rows: _Rows, grouping: _Grouping, agreement: _Agreement) -> dict[str, Any]:
    """Mean score and ROC AUC per group from Fairlearn on the rows (continuous scores do not collapse)."""
    row_codes = {f.column: f.codes for f in rows.features}
    metrics = {"mean_score": _mean_prediction, "roc_auc": _roc_auc}
    by_group, difference = _fairlearn_rows(rows.y, rows.score, grouping, row_codes, metrics)
    library = {**by_group, "roc_auc_difference": float(difference["roc_auc"])}
    layout = _auc_layout(grouping, rows.score, rows.y)
    own = _score_stats(np.ones(len(rows.y)), grouping, layout, rows.score)
    _compare(agreement, "Fairlearn vs counts:", grouping, library, own)
    return library


def _score_bootstrap(rows: _Rows, on_rows: Sequence[_Grouping], settings: _Settings) -> list[dict[str, np.ndarray]]:
    if not on_rows:
        return []
    layouts = [_auc_layout(g, rows.score, rows.y) for g in on_rows]
    return _row_bootstrap(
        settings.row_seed,
        settings.n_bootstrap,
        len(rows.y),
        lambda w: [_score_stats(w, g, layout, rows.score) for g, layout in zip(on_rows, layouts, strict=True)],
    )


def _audit_regression(rows: _Rows, settings: _Settings) -> tuple[list[FeatureAudit], dict[str, Estimate], dict]:
    row_codes = {f.column: f.codes for f in rows.features}
    groupings = _groupings(rows.features, list(row_codes.values()))
    finest, maps = _finest(groupings)
    error = np.abs(rows.y - rows.p)

    def statistics(weights: np.ndarray) -> list[dict[str, Any]]:
        moments = _regression_moments(weights, finest, rows.p, error)
        return [_regression_stats(moments, to_group, g.size) for g, to_group in zip(groupings, maps, strict=True)]

    metrics = {"count": count, "mean_prediction": _mean_prediction, "mean_absolute_error": skm.mean_absolute_error}
    agreement, values = _Agreement(), []
    for g, own in zip(groupings, statistics(np.ones(len(rows.y))), strict=True):
        by_group, difference = _fairlearn_rows(rows.y, rows.p, g, row_codes, metrics)
        library = {**by_group, **{f"{m}_difference": float(difference[m]) for m in REGRESSION_GROUP_METRICS}}
        _compare(agreement, "Fairlearn vs counts:", g, library, own)
        values.append(library)
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
        "verdict": f"{NO_REGRESSION_THRESHOLDS}; a group below min_group_size is flagged as insufficient data.",
    }


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    value = _py(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
