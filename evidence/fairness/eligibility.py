"""Which groups a feature is judged on: those with at least min_group_size rows; Django-free.

The verdict and the headline disparities are taken over the eligible groups only, so a handful of rows cannot
decide a feature; the groups below the minimum are listed with their counts and kept in the full table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .counts import _spread
from .results import InsufficientGroup

# The key prefix of a disparity taken over every group (the full table) among the point estimates and samples.
ALL_GROUPS = "all_groups:"


def _eligible(counts: np.ndarray, min_group_size: int) -> np.ndarray:
    return np.asarray(counts) >= min_group_size


def _insufficient_reason(count: int, min_group_size: int) -> str:
    return (
        f"{count} rows, fewer than min_group_size {min_group_size}: left out of the verdict and the headline "
        "disparities, kept in the full table"
    )


def _insufficient_groups(
    labels: Sequence[str], counts: np.ndarray, min_group_size: int
) -> tuple[InsufficientGroup, ...]:
    return tuple(
        InsufficientGroup(label, int(round(n)), _insufficient_reason(int(round(n)), min_group_size))
        for label, n in zip(labels, counts, strict=True)
        if n < min_group_size
    )


def _too_few_eligible(labels: Sequence[str], counts: np.ndarray, min_group_size: int) -> str:
    eligible = [
        f"'{label}' ({int(round(n))} rows)" for label, n in zip(labels, counts, strict=True) if n >= min_group_size
    ]
    named = ", ".join(eligible) if eligible else "none"
    return (
        f"fewer than two groups have at least min_group_size {min_group_size} rows (eligible: {named}), "
        "so there are no groups to compare"
    )


def _privileged(selection_rate: np.ndarray, eligible: np.ndarray) -> int:
    """The eligible group with the highest selection rate (any group when none is eligible); ties to the first."""
    candidates = np.flatnonzero(eligible) if eligible.any() else np.arange(len(selection_rate))
    return int(candidates[np.argmax(selection_rate[candidates])])


def _headline(
    compute: Callable[[Mapping[str, np.ndarray]], dict[str, Any]], per_group: Mapping[str, np.ndarray], eligible
) -> dict[str, Any]:
    """compute over the eligible groups (per_group's last axis), NaN where fewer than two are eligible."""
    if np.count_nonzero(eligible) >= 2:
        return compute({name: values[..., eligible] for name, values in per_group.items()})
    return {name: np.full(np.shape(value), np.nan) for name, value in compute(per_group).items()}


def _both_tables(
    compute: Callable[[Mapping[str, np.ndarray]], dict[str, Any]], per_group: Mapping[str, np.ndarray], eligible
) -> dict[str, Any]:
    """The headline disparities (eligible groups) and, under ALL_GROUPS, the same over every group."""
    every = {f"{ALL_GROUPS}{name}": value for name, value in compute(per_group).items()}
    return {**_headline(compute, per_group, eligible), **every}


def _judged_apart(eligible: np.ndarray) -> bool:
    """Whether the headline needs its own computation: some group is left out and at least two remain."""
    return not eligible.all() and np.count_nonzero(eligible) >= 2


def _differences(per_group: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Fairlearn's between-group difference (maximum minus minimum) of each metric."""
    return {f"{metric}_difference": _spread(values) for metric, values in per_group.items()}


def _with_tables(stats: dict[str, Any], metrics: Sequence[str], eligible: np.ndarray) -> dict[str, Any]:
    """Per-group statistics with their differences over the eligible groups and, under ALL_GROUPS, over all."""
    return {**stats, **_both_tables(_differences, {m: stats[m] for m in metrics}, eligible)}


def _library_tables(
    every: dict[str, float], eligible: np.ndarray, among: Callable[[], dict[str, float]]
) -> tuple[dict[str, float], dict[str, float]]:
    """A library's disparities, as (to compare with the counts, to report): over every group under ALL_GROUPS, and
    the headline over the eligible groups, which ``among`` computes from their rows alone. That is done only when
    some group is left out and two remain; otherwise the headline is the full table (every group eligible) or
    undefined (fewer than two), and there is nothing new to compare."""
    every_keyed = {f"{ALL_GROUPS}{name}": value for name, value in every.items()}
    if _judged_apart(eligible):
        headline = among()
        return {**every_keyed, **headline}, {**every_keyed, **headline}
    headline = dict(every) if eligible.all() else {name: float("nan") for name in every}
    return every_keyed, {**every_keyed, **headline}
