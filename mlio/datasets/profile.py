"""The profile of a validated dataset (``DatasetProfile``): rows, per-column summaries, positive rate,
group counts and header warnings. Django-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlio.artifacts import sha256_file  # one streamed hash for every stored file

from .common import _json_scalar
from .formats import DatasetFormat, _unique_names
from .labels import binary_labels
from .schema import DatasetSchema

MAX_GROUPS = 50  # groups listed per sensitive feature in a profile
DISTINCT_CAP = 1000  # distinct counts above this are reported as the cap


@dataclass
class DatasetProfile:
    format: DatasetFormat
    sha256: str
    size: int
    rows: int
    columns: list[dict[str, Any]]
    positive_rate: float | None
    groups: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)

    def column(self, name: str) -> dict[str, Any]:
        return next(entry for entry in self.columns if entry["name"] == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "sha256": self.sha256,
            "size": self.size,
            "rows": self.rows,
            "columns": [{key: _json_scalar(value) for key, value in entry.items()} for entry in self.columns],
            "positive_rate": _json_scalar(self.positive_rate),
            "groups": {name: dict(counts) for name, counts in self.groups.items()},
            "warnings": list(self.warnings),
        }


def _profile(
    frame: pd.DataFrame, schema: DatasetSchema, fmt: DatasetFormat, path: Path, size: int, header: list[str]
) -> DatasetProfile:
    roles = schema.roles()
    positive_rate = None
    if schema.task == "binary_classification" and schema.target is not None:
        positive_rate = float(binary_labels(frame[schema.target], schema.positive_label).mean())
    return DatasetProfile(
        format=fmt,
        sha256=sha256_file(path),
        size=size,
        rows=len(frame),
        columns=[_column_profile(frame[name], roles.get(name, ["other"])[0]) for name in frame.columns],
        positive_rate=positive_rate,
        groups={name: _group_counts(frame[name]) for name in schema.sensitive_features},
        warnings=_header_warnings(header),
    )


def _column_profile(series: pd.Series, role: str) -> dict[str, Any]:
    distinct = _distinct_count(series)
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    has_values = numeric and bool(series.notna().any())
    return {
        "name": series.name,
        "dtype": str(series.dtype),
        "role": role,
        "missing": int(series.isna().sum()),
        "distinct": None if distinct is None else min(distinct, DISTINCT_CAP),
        "distinct_capped": distinct is not None and distinct > DISTINCT_CAP,
        "min": _json_scalar(series.min()) if has_values else None,
        "max": _json_scalar(series.max()) if has_values else None,
    }


def _distinct_count(series: pd.Series) -> int | None:
    try:
        return int(series.nunique(dropna=True))
    except TypeError:  # lists or mappings from Parquet, in a column nothing declared: no count, no failure
        return None


def _group_counts(series: pd.Series) -> dict[str, int]:
    counts = series.value_counts(dropna=True).head(MAX_GROUPS)
    return {str(_json_scalar(value)): int(count) for value, count in counts.items()}


def _header_warnings(header: list[str]) -> list[str]:
    warnings = []
    for name, as_read in zip(header, _unique_names(header), strict=True):
        if name == "":
            warnings.append(f"a column has no name; it is read as '{as_read}'")
        elif as_read != name:
            warnings.append(f"column '{name}' appears more than once; a copy is read as '{as_read}'")
    return warnings
