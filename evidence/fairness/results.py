"""Public result types of a bias audit and their JSON form, its exceptions, thresholds and constants; Django-free."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

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
        "Per feature, among its eligible groups (those with at least min_group_size rows): the selection rate of "
        "the lowest group must be at least min_selection_rate_ratio times that of the highest, and the equalized "
        "odds difference at most max_equalized_odds_difference, both over the eligible groups whose rates are "
        "defined; a value exactly at a limit meets it. A group below min_group_size is listed under "
        "insufficient_groups with its row count and left out of the verdict (as NYC Local Law 144 bias audits "
        "leave out categories under 2% of the data); a feature with fewer than two eligible groups is "
        "inconclusive. Overall: fail if any feature fails, else inconclusive if any feature is, else pass."
    ),
    "headline": (
        "A feature's fairlearn disparities (the headline numbers) are over its eligible_groups, the groups its "
        "verdict judges, and are null when fewer than two groups are eligible; fairlearn_all_groups holds the "
        "same disparities over every group, the insufficient ones included (the full table, beside the per-group "
        "metrics of every group). Eligibility is decided on the full data and kept in every bootstrap resample. "
        "AIF360's privileged group is the eligible group with the highest selection rate (any group when none is "
        "eligible); a pair whose unprivileged group is below min_group_size is flagged insufficient_data."
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
    insufficient_data: bool = False


@dataclass(frozen=True)
class InsufficientGroup:
    """A group with fewer than min_group_size rows: listed, never silently dropped, but not judged on."""

    group: str
    count: int
    reason: str


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
    # fairlearn (the headline) is over eligible_groups, the groups the verdict judges; fairlearn_all_groups is
    # over every group, insufficient_groups included.
    fairlearn_all_groups: dict[str, Estimate] = field(default_factory=dict)
    eligible_groups: tuple[str, ...] = ()
    insufficient_groups: tuple[InsufficientGroup, ...] = ()

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
