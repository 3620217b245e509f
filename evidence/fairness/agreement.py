"""Agreement checks between Fairlearn, AIF360 and the count formulas, to TOLERANCE; Django-free."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .counts import _binary_disparities, _fairlearn_convention, _pair_metrics
from .eligibility import _headline
from .groupings import _Grouping
from .results import BINARY_GROUP_METRICS, TOLERANCE, FairnessMismatch


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
    agreement: _Agreement,
    grouping: _Grouping,
    fairlearn: tuple[dict, dict],
    rates: dict[str, np.ndarray],
    among_eligible: tuple[np.ndarray, dict[str, float]] | None,
) -> None:
    """Fairlearn against the count formulas, in Fairlearn's convention for undefined rates.

    among_eligible: the eligible groups and Fairlearn's disparities over their rows alone, where those were
    computed apart from the full table (some group is below the minimum and at least two are not)."""
    by_group, disparities = fairlearn
    filled = _fairlearn_convention(rates)
    for metric in ("count", *BINARY_GROUP_METRICS):
        agreement.compare_groups(
            f"{grouping.name}: Fairlearn {metric} vs counts", grouping.labels, by_group[metric], filled[metric]
        )
    for name, value in _binary_disparities(rates).items():
        agreement.compare(f"{grouping.name}: Fairlearn {name} vs counts", disparities[name], value)
    if among_eligible is not None:
        eligible, headline = among_eligible
        for name, value in _headline(_binary_disparities, rates, eligible).items():
            agreement.compare(
                f"{grouping.name}: Fairlearn {name} among eligible groups vs counts", headline[name], value
            )


def _check_aif360(
    agreement: _Agreement,
    grouping: _Grouping,
    aif: dict,
    fairlearn: tuple[dict, dict],
    rates: dict,
    privileged: int,
    headline: tuple[np.ndarray, dict[str, float]],
) -> None:
    """AIF360 against Fairlearn and the counts; headline: the eligible groups and Fairlearn's disparities over them."""
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
    _check_identities(agreement, grouping, aif, headline, rates, privileged)


def _with_zero(values: np.ndarray) -> np.ndarray:
    """The privileged group's own difference, 0, joined to the others'."""
    return np.append(values, 0.0)


def _check_identities(
    agreement: _Agreement,
    grouping: _Grouping,
    aif: dict,
    headline: tuple[np.ndarray, dict[str, float]],
    rates: dict,
    privileged: int,
) -> None:
    """Identities linking AIF360's privileged-vs-group numbers to Fairlearn's between-group ones.

    Like with like: the privileged group is the eligible group with the highest selection rate, so AIF360's pairs
    of the eligible groups span the range Fairlearn's headline disparities measure over those groups."""
    eligible, disparities = headline
    name = grouping.name
    others = np.flatnonzero(eligible & (np.arange(grouping.size) != privileged))
    if not eligible[privileged] or others.size == 0:
        return  # fewer than two eligible groups: there is no headline to meet
    selection = rates["selection_rate"]
    lowest = others[np.argmin(selection[others])]
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
    if np.isnan(rates["true_positive_rate"][eligible]).any() or np.isnan(rates["false_positive_rate"][eligible]).any():
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
