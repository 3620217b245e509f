"""Vendor models without an artifact: the predictions recorded in a dataset. Django-free."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .base import FeatureMismatch, Predictor


class RecordedPredictions(Predictor):
    """Predictions (and optionally probabilities) recorded per row, looked up by the rows' index.

    ``probabilities`` is a DataFrame with one column per class, or a Series holding the positive
    class's probability for a binary model (classes then default to the two sorted labels).
    """

    kind = "recorded"

    def __init__(
        self,
        predictions: pd.Series,
        probabilities: pd.Series | pd.DataFrame | None = None,
        *,
        classes: list[Any] | None = None,
    ) -> None:
        if isinstance(probabilities, pd.DataFrame) and classes is None:
            classes = list(probabilities.columns)
        elif probabilities is not None and classes is None:
            labels = sorted(pd.unique(predictions.dropna()).tolist())
            classes = labels if len(labels) == 2 else None
        super().__init__(model_class="recorded predictions", classes=classes)
        self.predictions = predictions
        self.probabilities = probabilities

    @property
    def has_predict_proba(self) -> bool:
        return self.probabilities is not None

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._rows(self.predictions, X.index).to_numpy()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if self.probabilities is None:
            return None
        values = self._rows(self.probabilities, X.index).to_numpy(dtype=np.float64)
        return values if values.ndim == 2 else np.column_stack([1 - values, values])

    @staticmethod
    def _rows(recorded: pd.Series | pd.DataFrame, index: pd.Index) -> Any:
        unknown = index.difference(recorded.index)
        if len(unknown):
            raise FeatureMismatch(f"no recorded prediction for {len(unknown)} rows, e.g. index {unknown[0]!r}")
        return recorded.loc[index]
