"""The drift reference profile, fixed once when a reference dataset is registered.

Django-free. ``reference_profile`` returns a strict-JSON profile that fixes everything later drift
comparisons (evidence.drift) need.

Binning (numeric features). The cut points are the reference quantiles at 1/bins .. (bins-1)/bins, each
the smallest reference value with at least that share at or below it (numpy's "inverted_cdf", so cuts are
observed values and never fall inside a gap next to a tie), deduplicated. Bins are right-closed,
``(cut[i-1], cut[i]]``, with open outer bins, so any current value, however far out, lands in a bin.
A value that holds at least 1/bins of the reference (an atom: the zero of a zero-inflated feature, a
constant column, a level of a coarse integer feature) also gets a cut just below it (``nextafter``), so
the atom is a bin of its own and a shift of mass onto or off it is seen rather than merged with its
neighbours. A constant column thus has three bins: below, at and above the constant. Bins empty in the
reference are legitimate (values never seen there); the epsilon keeps their PSI finite.

KS (numeric features). The profile keeps a sorted sample of at most ``KS_SAMPLE_MAX`` reference values:
all of them when the reference is that small (the test is then exact against the reference), otherwise
the order statistics at evenly spaced ranks ``floor((i + 0.5) * n / N)``. That sample's ECDF is within
1/(2N) (5e-5) of the full reference ECDF everywhere, so the reported D is within 5e-5 of D against the
full reference. The p-value is Smirnov's asymptotic one, taken with the full reference size: as
``scipy.stats.ks_2samp(method="asymp")`` up to an effective size of 10**4, the limiting distribution
beyond. At large n it flags harmless shifts, which is why D, the mean and median shifts in reference
standard deviations (numeric) and Cramér's V (categorical) are reported beside it as effect sizes.

Categorical features. Values are compared as strings (an integral float 3.0 counts as "3", because an
integer column reads as float once it holds a missing value). The profile lists at most
``MAX_CATEGORIES`` reference categories; the rest, and every category not listed, fall into an "other"
bucket when comparing. The chi-square is the test of homogeneity on the 2 x k table of reference and
current counts (the reference is a sample too), without continuity correction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "KS_SAMPLE_MAX",
    "MAX_CATEGORIES",
    "PROFILE_VERSION",
    "DriftInputError",
    "prediction_profile",
    "reference_profile",
    "reference_profile_for",
]

PROFILE_VERSION = 1
KS_SAMPLE_MAX = 10_000
MAX_CATEGORIES = 1_000
PREDICTION = "prediction"


class DriftInputError(ValueError):
    """A frame or profile that cannot be compared; ``columns`` names the columns at fault, if any."""

    def __init__(self, message: str, columns: Iterable[str] = ()):
        super().__init__(message)
        self.columns = list(columns)


def reference_profile(
    frame: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    bins: int = 10,
    max_categories: int = MAX_CATEGORIES,
) -> dict[str, Any]:
    """The reference bins, proportions and KS sample of each declared feature, as strict JSON."""
    _check_declaration(frame, numeric, categorical, bins, max_categories)
    features: dict[str, dict[str, Any]] = {}
    for name in numeric:
        features[name] = _numeric_reference(name, frame[name], bins)
    for name in categorical:
        features[name] = _categorical_reference(name, frame[name], max_categories)
    return {
        "version": PROFILE_VERSION,
        "n_ref": len(frame),
        "bins": bins,
        "ks_sample_max": KS_SAMPLE_MAX,
        "features": features,
    }


def prediction_profile(values: Sequence[float] | np.ndarray | pd.Series, *, bins: int = 10) -> dict[str, Any]:
    """The profile of the model's reference predictions (scores or probabilities), for ``predictions_ref``."""
    frame = pd.DataFrame({PREDICTION: pd.Series(values).reset_index(drop=True)})
    return reference_profile(frame, numeric=[PREDICTION], categorical=[], bins=bins)


def _check_declaration(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], bins: int, max_categories: int
) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an integer of at least 2, not {bins!r}")
    if max_categories < 1:
        raise ValueError(f"max_categories must be at least 1, not {max_categories!r}")
    declared = [*numeric, *categorical]
    if not declared:
        raise DriftInputError("Declare at least one numeric or categorical feature.")
    repeated = sorted({name for name in declared if declared.count(name) > 1})
    if repeated:
        raise DriftInputError(f"Features declared more than once: {', '.join(repeated)}.", repeated)
    require_columns(frame, declared, "reference")


def require_columns(frame: pd.DataFrame, names: Iterable[str], sample: str) -> None:
    columns = list(frame.columns)
    absent = [name for name in names if name not in columns]
    if absent:
        raise DriftInputError(f"The {sample} sample has no column {', '.join(map(repr, absent))}.", absent)
    doubled = [name for name in names if columns.count(name) > 1]
    if doubled:
        raise DriftInputError(f"The {sample} sample has several columns named {doubled[0]!r}.", doubled)


def _numeric_reference(name: str, series: pd.Series, bins: int) -> dict[str, Any]:
    ordered, missing, infinite = finite_sorted(name, series)
    if not len(ordered):
        raise DriftInputError(f"Reference column {name!r} has no finite values to fix bins on.", [name])
    cuts = _cuts(ordered, bins)
    counts = bin_counts(ordered, cuts)
    sample = _ks_sample(ordered)
    return {
        "kind": "numeric",
        "n": len(ordered),
        "missing": missing,
        "infinite": infinite,
        "cuts": cuts.tolist(),
        "counts": counts.tolist(),
        "proportions": (counts / len(ordered)).tolist(),
        "mean": json_number(np.mean(ordered)),
        "std": json_number(np.std(ordered, ddof=1)) if len(ordered) > 1 else None,
        "median": json_number(sorted_median(ordered)),
        "ks_sample": sample.tolist(),
        "ks_sample_exact": len(sample) == len(ordered),
    }


def finite_sorted(name: str, series: pd.Series) -> tuple[np.ndarray, int, int]:
    """The finite values in ascending order, the count of missing values and the count of infinities."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif series.isna().all():  # a column of nulls only has no numeric dtype to read, yet is merely missing
        values = np.full(len(series), np.nan)
    else:
        raise DriftInputError(f"Column {name!r} is declared numeric but holds {series.dtype} values.", [name])
    # One sort serves the bins, the median and KS; NaN sorts last, after +inf, so three searches split it.
    ordered = np.sort(values)
    low = int(np.searchsorted(ordered, -np.inf, side="right"))
    high = int(np.searchsorted(ordered, np.inf, side="left"))
    not_missing = int(np.searchsorted(ordered, np.inf, side="right"))
    return ordered[low:high], len(ordered) - not_missing, low + not_missing - high


def _cuts(ordered: np.ndarray, bins: int) -> np.ndarray:
    """Deduplicated quantile cuts, plus a cut just below each atom so that the atom is a bin of its own."""
    quantiles = np.unique(np.quantile(ordered, np.arange(1, bins) / bins, method="inverted_cdf"))
    mass = np.searchsorted(ordered, quantiles, side="right") - np.searchsorted(ordered, quantiles, side="left")
    below_atoms = np.nextafter(quantiles[mass * bins >= len(ordered)], -np.inf)
    cuts = np.unique(np.concatenate([quantiles, below_atoms]))
    return cuts[np.isfinite(cuts)]  # below -max_float is -inf, which JSON cannot carry


def bin_counts(ordered: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Counts in the right-closed bins (-inf, cut0], (cut0, cut1], ..., (cut_last, +inf)."""
    ends = np.searchsorted(ordered, cuts, side="right")
    return np.diff(ends, prepend=0, append=len(ordered))


def _ks_sample(ordered: np.ndarray) -> np.ndarray:
    """All values when few; else the order statistics at evenly spaced ranks (ECDF within 1/(2N) of the full one)."""
    n = len(ordered)
    if n <= KS_SAMPLE_MAX:
        return ordered
    ranks = ((np.arange(KS_SAMPLE_MAX) + 0.5) * n / KS_SAMPLE_MAX).astype(np.int64)
    return ordered[ranks]


def sorted_median(ordered: np.ndarray) -> float:
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else float((ordered[middle - 1] + ordered[middle]) / 2)


def _categorical_reference(name: str, series: pd.Series, max_categories: int) -> dict[str, Any]:
    counts, missing = category_counts(series)
    n = sum(counts.values())
    if not n:
        raise DriftInputError(f"Reference column {name!r} has no values to take proportions of.", [name])
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    listed = ranked[:max_categories]
    listed_counts = [counts[key] for key in listed]
    return {
        "kind": "categorical",
        "n": n,
        "missing": missing,
        "categories": listed,
        "counts": listed_counts,
        "proportions": [count / n for count in listed_counts],
        "other_count": n - sum(listed_counts),
    }


def category_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    for value, count in series.value_counts(dropna=True, sort=False).items():
        if count:  # a categorical dtype lists its unused categories with a count of 0
            key = _category_key(value)
            counts[key] = counts.get(key, 0) + int(count)
    return counts, int(series.isna().sum())


def _category_key(value: Any) -> str:
    # An integer column reads as float once it holds a missing value: 3 and 3.0 must stay one category.
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def reference_profile_for(frame: pd.DataFrame, features: list[str]) -> dict:
    """The drift reference fixed at registration: bins and category shares of the reference data."""
    numeric = [
        c for c in features if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in features if c not in numeric]
    return reference_profile(frame[features], numeric=numeric, categorical=categorical)


def json_number(value: Any) -> float | None:
    """A plain float for JSON, or None where the value is undefined or overflowed."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
