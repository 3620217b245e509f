"""Merging chunks (importance, sample, additivity check), and explain_shap in one process. Django-free."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlio.predictors import Predictor

from .choice import ExplainerChoice, choose_explainer
from .common import PERMUTATION, PERMUTATION_MAX_BACKGROUND, ExplanationInputError, _listed, _plain
from .rows import _rows_for, summarise_background
from .shap_chunks import ShapChunk, shap_chunk


def merge_shap(
    chunks: Sequence[ShapChunk], feature_names: Sequence[str], *, sample_rows: int = 50, seed: int = 0
) -> dict[str, Any]:
    """Global importance, a sample of rows and the additivity check over all chunks' rows.

    Rows are put in index order first, so the result does not depend on how the rows were split
    into chunks nor on the order the chunks arrive in.
    """
    first = _consistent(chunks, feature_names)
    index, values, base, output = _concatenated(chunks)
    importance = np.abs(values).mean(axis=0)
    order = sorted(range(len(feature_names)), key=lambda j: (-importance[j], j))
    return {
        "explainer": first.kind,
        "output_space": first.output_space,
        "class_label": first.class_label,
        "rows_explained": len(index),
        "base_value": float(base.mean()),
        "importance": [{"feature": feature_names[j], "mean_abs_shap": float(importance[j])} for j in order],
        "sample": _sample(index, values, base, output, sample_rows, seed),
        "additivity": _additivity(values, base, output, first.tolerance),
    }


def _consistent(chunks: Sequence[ShapChunk], feature_names: Sequence[str]) -> ShapChunk:
    if not chunks:
        raise ExplanationInputError("no chunks to merge")
    first = chunks[0]
    for chunk in chunks:
        if list(chunk.feature_names) != list(feature_names):
            raise ExplanationInputError(
                f"a chunk explains columns {_listed(chunk.feature_names)}, not {_listed(list(feature_names))}"
            )
        if (chunk.kind, chunk.output_space, chunk.class_label) != (first.kind, first.output_space, first.class_label):
            raise ExplanationInputError("the chunks come from different explainers, output spaces or classes")
    return first


def _concatenated(chunks: Sequence[ShapChunk]) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    index = [label for chunk in chunks for label in chunk.index]
    labels = pd.Index(index)
    if labels.has_duplicates:
        repeated = labels[labels.duplicated()].unique().tolist()[:5]
        raise ExplanationInputError(f"rows appear in more than one chunk (index labels {_listed(repeated)})")
    try:
        order = np.asarray(labels.argsort(kind="stable"))
    except TypeError:  # labels of mixed types do not sort: keep the chunks' order
        order = np.arange(len(index))
    values = np.concatenate([chunk.values for chunk in chunks])[order]
    base = np.concatenate([chunk.base_values for chunk in chunks])[order]
    output = np.concatenate([chunk.model_output for chunk in chunks])[order]
    return [_plain(index[i]) for i in order], values, base, output


def _sample(
    index: list[Any], values: np.ndarray, base: np.ndarray, output: np.ndarray, size: int, seed: int
) -> dict[str, Any]:
    chosen = np.sort(np.random.default_rng(seed).choice(len(index), size=min(size, len(index)), replace=False))
    return {
        "index": [index[i] for i in chosen],
        "values": values[chosen].tolist(),
        "base_values": base[chosen].tolist(),
        "model_output": output[chosen].tolist(),
    }


def _additivity(values: np.ndarray, base: np.ndarray, output: np.ndarray, tolerance: float) -> dict[str, Any]:
    errors = np.abs(base + values.sum(axis=1) - output)
    used = tolerance * max(1.0, float(np.max(np.abs(output))))
    worst = float(np.max(errors)) if np.all(np.isfinite(errors)) else math.inf
    return {
        "max_abs_error": worst,
        "tolerance": used,
        "passed": worst <= used,
        "rows_over_tolerance": int(np.sum(~(errors <= used))),
        "compared_with": "the model's own output on the same rows",
    }


def explain_shap(
    predictor: Predictor,
    X: pd.DataFrame,
    choice: ExplainerChoice | None = None,
    *,
    background: pd.DataFrame | None = None,
    chunk_rows: int = 10_000,
    sample_rows: int = 50,
    seed: int = 0,
) -> dict[str, Any]:
    """All rows in one process, chunk after chunk: what a single worker runs."""
    choice = choice or choose_explainer(predictor)
    if choice.kind == PERMUTATION and background is not None and len(background) > PERMUTATION_MAX_BACKGROUND:
        background = summarise_background(_rows_for(predictor, background, choice, what="background rows"))
    chunks = [
        shap_chunk(predictor, X.iloc[start : start + chunk_rows], choice, background, seed=seed)
        for start in range(0, max(len(X), 1), chunk_rows)
    ]
    return {
        "choice": choice.to_dict(),
        **merge_shap(chunks, chunks[0].feature_names, sample_rows=sample_rows, seed=seed),
    }
