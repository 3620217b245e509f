"""Data sets for the bias-audit tests, small enough to count by hand or generated with known disparities."""

from typing import Any

import numpy as np
import pandas as pd
import pytest

from evidence.fairness import BiasAuditResult, bias_audit

# Group A (6 rows)               Group B (6 rows)
#   y: 1 1 1 0 0 0                 y: 1 1 0 0 0 0
#   p: 1 1 0 1 0 0                 p: 1 0 0 0 0 0
#   TP=2 FN=1 FP=1 TN=2            TP=1 FN=1 FP=0 TN=4
TINY_Y = [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]
TINY_P = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]
TINY_GROUP = ["A"] * 6 + ["B"] * 6


def exactly(value: float) -> Any:
    """Equal up to the last bits of a double: the hand formulas and the libraries divide the same counts."""
    return pytest.approx(value, rel=0, abs=1e-12)


def tiny_audit(**options: Any) -> BiasAuditResult:
    arguments = {"min_group_size": 5, "n_bootstrap": 200, **options}
    return bias_audit(
        y_true=TINY_Y,
        y_pred=TINY_P,
        sensitive=pd.DataFrame({"group": TINY_GROUP}),
        task="binary_classification",
        **arguments,
    )


def random_binary(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Three races with clearly different selection and error rates, and two sexes with different base rates."""
    rng = np.random.default_rng(seed)
    race = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.5, 0.3, 0.2])
    sex = rng.choice(np.array(["f", "m"]), size=n)
    y = (rng.random(n) < 0.4 + 0.1 * (sex == "m")).astype(int)
    base = np.select([race == "a", race == "b"], [0.55, 0.35], 0.2)
    p = (rng.random(n) < base + 0.25 * y).astype(int)
    return y, p, pd.DataFrame({"race": race, "sex": sex})


def random_audit(n: int, *, data_seed: int = 0, **options: Any) -> BiasAuditResult:
    """An audit of random_binary(n, data_seed); options (seed included) go to bias_audit."""
    y, p, sensitive = random_binary(n, data_seed)
    return bias_audit(y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", **options)


def all_estimates(result: BiasAuditResult) -> list[tuple[str, Any]]:
    """Every (name, Estimate) in a result: group metrics, disparities (headline and full table), AIF360 pairs and
    the Theil index."""
    found = [("theil_index", estimate) for estimate in result.aif360_overall.values()]
    for feature in result.features:
        for group in feature.groups:
            found += [(f"{feature.name}/{group.group}/{m}", e) for m, e in group.metrics.items()]
        found += [(f"{feature.name}/{m}", e) for m, e in feature.fairlearn.items()]
        found += [(f"{feature.name}/all groups/{m}", e) for m, e in feature.fairlearn_all_groups.items()]
        for pair in feature.aif360:
            found += [(f"{feature.name}/{pair.unprivileged_group}/{m}", e) for m, e in pair.metrics.items()]
    return found


def rows_from_counts(counts: dict[str, tuple[int, int, int, int]]) -> tuple[list[int], list[int], list[str]]:
    """Labels, predictions and group per row for the given (TP, FP, TN, FN) of each group."""
    y: list[int] = []
    p: list[int] = []
    groups: list[str] = []
    for group, (tp, fp, tn, fn) in counts.items():
        for label, prediction, repeat in ((1, 1, tp), (0, 1, fp), (0, 0, tn), (1, 0, fn)):
            y += [label] * repeat
            p += [prediction] * repeat
            groups += [group] * repeat
    return y, p, groups


def audit_counts(counts: dict[str, tuple[int, int, int, int]], **options: Any) -> BiasAuditResult:
    y, p, groups = rows_from_counts(counts)
    arguments = {"n_bootstrap": 50, **options}
    sensitive = pd.DataFrame({"group": groups})
    return bias_audit(y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", **arguments)
