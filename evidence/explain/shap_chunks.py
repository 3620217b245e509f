"""SHAP over a chunk of rows (ShapChunk, shap_chunk): what one worker computes. Django-free."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlio.predictors import Predictor

from .choice import ExplainerChoice
from .common import _plain
from .explainers import _EXPLAINERS
from .rows import _checked_background, _rows_for


@dataclasses.dataclass(frozen=True)
class ShapChunk:
    """SHAP values of one chunk of rows, for the class explained, with what the check needs."""

    index: list[Any]  # the rows' index labels
    values: np.ndarray  # rows x features
    base_values: np.ndarray  # per row
    model_output: np.ndarray  # the model's own output on the rows, in output_space
    feature_names: list[str]
    kind: str
    output_space: str
    class_label: Any
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, for handing a chunk from a worker to the merge; floats round-trip exactly."""
        data = dataclasses.asdict(self)
        for name in ("values", "base_values", "model_output"):
            data[name] = getattr(self, name).tolist()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShapChunk:
        arrays = {name: np.asarray(data[name], dtype=np.float64) for name in ("values", "base_values", "model_output")}
        return cls(**{**data, **arrays})  # type: ignore[arg-type]

    def to_bytes(self) -> bytes:
        """The arrays as .npy (exact, and read back in milliseconds by the merge), the rest as JSON beside them."""
        meta = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        arrays = {name: meta.pop(name) for name in _ARRAYS}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ShapChunk:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(**json.loads(str(stored["meta"])), **{name: stored[name] for name in _ARRAYS})


_ARRAYS = ("values", "base_values", "model_output")


def shap_chunk(
    predictor: Predictor,
    X_chunk: pd.DataFrame,
    choice: ExplainerChoice,
    background: pd.DataFrame | None = None,
    *,
    seed: int = 0,
) -> ShapChunk:
    """SHAP values of the rows for the class the choice explains, and the model's output on them.

    Chunks explained by separate workers must get the same background (summarise it once, with
    summarise_background) and the same seed.
    """
    rows = _rows_for(predictor, X_chunk, choice)
    bg = _checked_background(predictor, background, choice)
    values, base, output = _EXPLAINERS[choice.kind](predictor, rows, choice, bg, seed)
    return ShapChunk(
        index=rows.index.tolist(),
        values=np.ascontiguousarray(values, dtype=np.float64).reshape(len(rows), rows.shape[1]),
        base_values=np.broadcast_to(np.asarray(base, dtype=np.float64), (len(rows),)).copy(),
        model_output=np.asarray(output, dtype=np.float64).reshape(len(rows)),
        feature_names=[str(name) for name in rows.columns],
        kind=choice.kind,
        output_space=choice.output_space,
        class_label=_plain(choice.class_label),
        tolerance=choice.tolerance,
    )
