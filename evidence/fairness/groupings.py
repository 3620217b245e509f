"""Groupings: each sensitive feature and their intersection as group codes over cells or rows; Django-free."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .inputs import _Feature
from .results import INTERSECTION_SEPARATOR


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
