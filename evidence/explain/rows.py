"""Rows and background checked against the model's columns; the background summarised. Django-free."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlio.predictors import FeatureMismatch, Predictor

from .choice import ExplainerChoice
from .common import (
    INTERVENTIONAL_MAX_BACKGROUND,
    LINEAR,
    PERMUTATION,
    PERMUTATION_BACKGROUND_K,
    PERMUTATION_MAX_BACKGROUND,
    TREE,
    ExplanationInputError,
    _numeric,
)


def _rows_for(predictor: Predictor, X: pd.DataFrame, choice: ExplainerChoice, what: str = "rows") -> pd.DataFrame:
    """Rows as the choice's explainer can take them: only permutation takes text columns, and the
    linear explainer cannot take gaps (trees, boosters and most pipelines route missing values)."""
    return _checked_rows(predictor, X, what=what, numeric=choice.kind != PERMUTATION, complete=choice.kind == LINEAR)


def _checked_rows(predictor: Predictor, X: pd.DataFrame, *, what: str, numeric: bool, complete: bool) -> pd.DataFrame:
    """The model's columns in the model's order, or a clear ExplanationInputError."""
    if not isinstance(X, pd.DataFrame):
        raise ExplanationInputError(f"the {what} must be a pandas DataFrame of feature columns, not {type(X).__name__}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ExplanationInputError(
            f"the {what} are empty ({X.shape[0]} rows, {X.shape[1]} columns): nothing to explain"
        )
    try:
        rows = predictor.align(X)
    except FeatureMismatch as exc:
        raise ExplanationInputError(f"the {what} do not match the model's columns: {exc}") from exc
    if rows.index.has_duplicates:
        raise ExplanationInputError(f"the {what} repeat index labels; each row needs its own label")
    if numeric:
        _require_numeric(rows, what)
    if complete:
        _require_complete(rows, what)
    return rows


def _require_numeric(rows: pd.DataFrame, what: str) -> None:
    bad = [str(name) for name in rows.columns if not _numeric(rows[name])]
    if bad:
        raise ExplanationInputError(f"the {what} have non-numeric columns the explainer cannot take: {', '.join(bad)}")


def _require_complete(rows: pd.DataFrame, what: str) -> None:
    gaps = rows.isna().sum()
    bad = [f"{name} ({count} rows)" for name, count in gaps.items() if count]
    if bad:
        raise ExplanationInputError(f"the {what} have missing values the explainer cannot take: {', '.join(bad)}")


def _checked_background(
    predictor: Predictor, background: pd.DataFrame | None, choice: ExplainerChoice
) -> pd.DataFrame | None:
    if not choice.needs_background:
        return None
    if background is None:
        raise ExplanationInputError(f"the {choice.kind} explainer needs a background set (e.g. a training sample)")
    rows = _rows_for(predictor, background, choice, what="background rows")
    if choice.kind == PERMUTATION and len(rows) > PERMUTATION_MAX_BACKGROUND:
        return summarise_background(rows)
    if choice.kind == TREE and len(rows) > INTERVENTIONAL_MAX_BACKGROUND:
        return rows.sample(INTERVENTIONAL_MAX_BACKGROUND, random_state=0)
    return rows


def summarise_background(X: pd.DataFrame, *, k: int = PERMUTATION_BACKGROUND_K) -> pd.DataFrame:
    """k rows standing for X: shap.kmeans centres snapped to values X holds (a deterministic sample
    of rows when a column is not numeric). Summarise once and hand the result to every chunk."""
    if len(X) <= k:
        return X.reset_index(drop=True)
    if not all(_numeric(X[name]) for name in X.columns):
        return X.sample(k, random_state=0).reset_index(drop=True)
    import shap

    summary = shap.kmeans(X.astype(np.float64), k, round_values=True)
    return pd.DataFrame(summary.data, columns=X.columns).astype(X.dtypes.to_dict())
