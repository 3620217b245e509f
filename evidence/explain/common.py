"""What the explainers share: exceptions, explainer kinds, tolerances, limits, small helpers. Django-free."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evidence.unexplainable import NOT_EXPLAINABLE, RECORDED_ONLY  # noqa: F401  (re-exported by the package)


class ExplanationUnavailable(Exception):
    """The model cannot be explained (and why): no explainer fits it. An evidence job that meets
    this fails with an error that begins with NOT_EXPLAINABLE, for policy to tell it from a fault."""


class ExplanationInputError(ValueError):
    """The rows, background or options handed over cannot be explained as given."""


XGBOOST_NATIVE = "xgboost_native"
LIGHTGBM_NATIVE = "lightgbm_native"
TREE = "tree"
LINEAR = "linear"
PERMUTATION = "permutation"

PATH_DEPENDENT = "tree_path_dependent"
INTERVENTIONAL = "interventional"

# Base value + sum of SHAP values against the model's output, scaled by the output's magnitude when
# above 1. Float64 paths are exact to rounding; XGBoost computes in float32; the permutation
# estimate telescopes to the model's output but the model (an ONNX graph) may compute in float32.
TOLERANCES = {XGBOOST_NATIVE: 1e-4, LIGHTGBM_NATIVE: 1e-6, TREE: 1e-6, LINEAR: 1e-6, PERMUTATION: 1e-5}

PERMUTATION_BACKGROUND_K = 10  # k-means centres summarising the permutation background
PERMUTATION_MAX_BACKGROUND = 20  # a larger background is summarised before use
INTERVENTIONAL_MAX_BACKGROUND = 100  # interventional Tree SHAP costs grow with every background row
PERMUTATIONS = 10  # antithetic permutations per row: exact up to second-order interactions


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype)


def _row_seed(seed: int, label: Any) -> int:
    """A row's own random stream, from its index label: the same wherever the row is explained."""
    if isinstance(label, int | np.integer) and not isinstance(label, bool):
        return (seed + int(label)) % 2**32
    return (seed + zlib.crc32(repr(label).encode())) % 2**32


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _listed(values: Sequence[Any]) -> str:
    return ", ".join(map(repr, values))
