"""Verdicts: the threshold checks per feature and the overall pass, fail or inconclusive; Django-free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .eligibility import _eligible, _insufficient_groups, _too_few_eligible
from .groupings import _Grouping
from .inputs import _Settings
from .results import FAIL, INCONCLUSIVE, PASS, Check, FeatureAudit, Thresholds, Verdict

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
    """Judged among the eligible groups; a small group is named in the reasons but cannot decide the feature."""
    eligible = _eligible(counts, min_group_size)
    reasons = [unassessed] if unassessed else []
    if np.count_nonzero(eligible) < 2:
        reasons.append(f"inconclusive: {_too_few_eligible(labels, counts, min_group_size)}")
    reasons += [f"{check.name}: {check.detail}" for check in checks if check.status != PASS]
    reasons += [
        f"insufficient data: group '{small.group}' has {small.reason}"
        for small in _insufficient_groups(labels, counts, min_group_size)
    ]
    statuses = {check.status for check in checks}
    if unassessed or np.count_nonzero(eligible) < 2:
        status = INCONCLUSIVE
    elif FAIL in statuses:
        status = FAIL
    else:
        status = INCONCLUSIVE if INCONCLUSIVE in statuses else PASS
    return Verdict(status, tuple(reasons), checks)


def _binary_verdict(grouping: _Grouping, rates: Mapping[str, np.ndarray], settings: _Settings) -> Verdict:
    eligible = _eligible(rates["count"], settings.min_group_size)
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
