"""Charts of explanations: PNG bytes, the same bytes for the same inputs. Django-free."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .common import ExplanationInputError


def importance_bar_png(
    importance: Sequence[Mapping[str, Any]] | Mapping[str, float], *, max_features: int = 20
) -> bytes:
    """Horizontal bars of mean |SHAP value| per feature, the largest on top."""
    pairs = _importance_pairs(importance)[:max_features]
    if not pairs:
        raise ExplanationInputError("no feature importance to draw")
    names, heights = [name for name, _ in reversed(pairs)], [value for _, value in reversed(pairs)]
    figure, axes = _figure(height=1.0 + 0.35 * len(pairs))
    axes.barh(range(len(pairs)), heights, color="#1f77b4")
    axes.set_yticks(range(len(pairs)), labels=names)
    axes.set_xlabel("mean |SHAP value| (average size of the feature's effect on the output)")
    axes.set_ylabel("feature (most important on top)")
    return _png(figure)


def _importance_pairs(importance: Sequence[Mapping[str, Any]] | Mapping[str, float]) -> list[tuple[str, float]]:
    if isinstance(importance, Mapping):
        pairs = [(str(name), float(value)) for name, value in importance.items()]
    else:
        pairs = [(str(item["feature"]), float(item["mean_abs_shap"])) for item in importance]
    return sorted(pairs, key=lambda pair: -pair[1])


def beeswarm_png(
    values: np.ndarray, X: pd.DataFrame | np.ndarray, feature_names: Sequence[str], *, max_features: int = 20
) -> bytes:
    """One row of dots per feature (SHAP value across, coloured by the feature's value), most
    important feature on top; dots that would overlap are stacked sideways, deterministically."""
    values = np.asarray(values, dtype=np.float64)
    data = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape != data.shape or values.shape[1] != len(feature_names):
        raise ExplanationInputError(
            f"beeswarm needs SHAP values and feature values of one shape (rows x {len(feature_names)} features); "
            f"got {values.shape} and {data.shape}"
        )
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_features][::-1]
    figure, axes = _figure(height=1.0 + 0.4 * len(order))
    scatter = None
    for position, j in enumerate(order):
        colour = _colour_scale(data[:, j])
        offsets = _swarm_offsets(values[:, j])
        scatter = axes.scatter(
            values[:, j], position + offsets, c=colour, cmap="coolwarm", vmin=0, vmax=1, s=10, plotnonfinite=True
        )
    axes.axvline(0.0, color="#999999", linewidth=0.8)
    axes.set_yticks(range(len(order)), labels=[str(feature_names[j]) for j in order])
    axes.set_xlabel("SHAP value (the feature's effect on one row's output)")
    axes.set_ylabel("feature (most important on top)")
    bar = figure.colorbar(scatter, ax=axes, ticks=[0, 1])
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value")
    return _png(figure)


def _colour_scale(column: np.ndarray) -> np.ndarray:
    """Feature values mapped to [0, 1] between their 5th and 95th percentiles; NaN where not numeric."""
    numbers = pd.to_numeric(pd.Series(column), errors="coerce").to_numpy(dtype=np.float64)
    finite = numbers[np.isfinite(numbers)]
    if finite.size == 0:
        return np.full(len(numbers), np.nan)
    low, high = np.percentile(finite, [5, 95])
    span = high - low if high > low else 1.0
    return np.clip((numbers - low) / span, 0.0, 1.0)


def _swarm_offsets(column: np.ndarray, bins: int = 100, spread: float = 0.4) -> np.ndarray:
    """Vertical offsets: dots in the same slice of the axis alternate above and below the line."""
    finite = np.where(np.isfinite(column), column, 0.0)
    low, high = finite.min(), finite.max()
    slices = (
        np.zeros(len(column), dtype=np.int64)
        if high == low
        else ((finite - low) / (high - low) * (bins - 1)).astype(np.int64)
    )
    offsets, seen = np.zeros(len(column)), np.zeros(bins, dtype=np.int64)
    for i in np.argsort(finite, kind="stable"):
        rank = seen[slices[i]]
        seen[slices[i]] += 1
        offsets[i] = (rank + 1) // 2 * (1 if rank % 2 else -1)
    top = max(1.0, float(np.abs(offsets).max()))
    return offsets / top * spread


def _figure(*, height: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A Figure of its own, not pyplot's global state: workers draw concurrently.
    figure = Figure(figsize=(7.0, min(max(height, 2.0), 12.0)), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    # No "Software" entry: the PNG's bytes then depend only on what is drawn.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
