"""The declared positive label against a column's values: ``binary_labels`` and the coercion of the
label to the column's type. Django-free."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .common import DatasetInvalid, Label


def binary_labels(series: pd.Series, positive_label: Label) -> np.ndarray:
    """1 where the value is the positive label, 0 elsewhere (missing included)."""
    try:
        label = _coerce_label(positive_label, series.dtype)
    except ValueError as exc:
        raise DatasetInvalid({f"columns.{series.name}": [str(exc)]}) from exc
    return (series == label).to_numpy(dtype=np.int64)


def _coerce_label(label: Label, dtype: Any) -> Any:
    """The declared label as a value of the column's type: a declared 1 matches a CSV's "1" read as 1."""
    if isinstance(dtype, pd.CategoricalDtype):
        return _coerce_label(label, dtype.categories.dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return _label_as_bool(label)
    if pd.api.types.is_integer_dtype(dtype):
        return _label_as_int(label)
    if pd.api.types.is_float_dtype(dtype):
        return _label_as_float(label)
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _label_as_bool(label: Label) -> bool:
    if isinstance(label, bool):
        return label
    text = str(label).strip().lower()
    if text in ("true", "1", "1.0"):
        return True
    if text in ("false", "0", "0.0"):
        return False
    raise ValueError(f"cannot hold the positive_label {label!r}: the column holds booleans")


def _label_as_int(label: Label) -> int:
    try:
        number = float(label)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise ValueError(f"cannot hold the positive_label {label!r}: the column holds integers")
    return int(number)


def _label_as_float(label: Label) -> float:
    try:
        return float(label)
    except ValueError:
        raise ValueError(f"cannot hold the positive_label {label!r}: the column holds numbers") from None
