"""XGBoost and LightGBM native boosters and their loaders. Django-free; each framework is imported only
by its own loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import Predictor

# XGBoost native boosters.

_XGB_BINARY_PROBABILITY = {"binary:logistic", "binary:logitraw"}
_XGB_MULTICLASS = {"multi:softprob", "multi:softmax"}


class XGBoostPredictor(Predictor):
    kind = "xgboost"

    def __init__(self, booster: Any) -> None:
        config = json.loads(booster.save_config())
        self.objective = config["learner"]["objective"]["name"]
        n_classes = int(config["learner"]["learner_model_param"].get("num_class", "0"))
        super().__init__(
            model_class="xgboost.Booster",
            classes=_xgb_classes(self.objective, n_classes),
            feature_names=list(booster.feature_names) if booster.feature_names else None,
            n_features=booster.num_features(),
            framework_version=".".join(map(str, config.get("version", []))) or None,
            details={"objective": self.objective},
        )
        self.booster = booster
        best = booster.attr("best_iteration")
        # Like the sklearn wrapper: a model trained with early stopping predicts with its best round.
        self._rounds = (0, int(best) + 1) if best is not None else (0, 0)

    @property
    def has_predict_proba(self) -> bool:
        return self.objective in _XGB_BINARY_PROBABILITY | _XGB_MULTICLASS

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        probabilities = self.predict_proba(X)
        if probabilities is not None:
            return np.asarray(self.classes)[np.argmax(probabilities, axis=1)]
        values = self._raw(X, margin=False)
        return values.astype(np.int64) if self.objective == "binary:hinge" else values

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not self.has_predict_proba:
            return None
        if self.objective == "binary:logistic":
            positive = self._raw(X, margin=False)
            return np.column_stack([1 - positive, positive])
        margins = self._raw(X, margin=True)
        if self.objective == "binary:logitraw":
            positive = 1 / (1 + np.exp(-margins))
            return np.column_stack([1 - positive, positive])
        margins = margins.reshape(len(X), -1)
        exp = np.exp(margins - margins.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def _raw(self, X: pd.DataFrame, *, margin: bool) -> np.ndarray:
        import xgboost  # loaded already: the booster came from it

        aligned = self.align(X)
        data = xgboost.DMatrix(aligned if self.feature_names else aligned.to_numpy(dtype=np.float32))
        return np.asarray(self.booster.predict(data, output_margin=margin, iteration_range=self._rounds))


def _xgb_classes(objective: str, n_classes: int) -> list[int] | None:
    if objective.startswith("binary:"):
        return [0, 1]
    if objective in _XGB_MULTICLASS:
        return list(range(n_classes))
    return None


def _load_xgboost(path: Path, allow_pickle: bool = False) -> Predictor:
    import xgboost  # deferred: only XGBoost models need it

    # From a buffer XGBoost tells JSON from UBJSON by content; from a file it guesses by extension.
    return XGBoostPredictor(xgboost.Booster(model_file=bytearray(path.read_bytes())))


# LightGBM native boosters.


class LightGBMPredictor(Predictor):
    kind = "lightgbm"

    def __init__(self, booster: Any) -> None:
        # The header only: with num_iteration=1 the dump skips all trees but the first.
        header = booster.dump_model(num_iteration=1)
        self.objective = str(header.get("objective", "")).split(" ")[0]
        names = header.get("feature_names") or []
        recorded = names if names != [f"Column_{i}" for i in range(len(names))] else None
        super().__init__(
            model_class="lightgbm.Booster",
            classes=_lgb_classes(self.objective, int(header.get("num_class", 1))),
            feature_names=recorded,
            n_features=booster.num_feature(),
            framework_version=header.get("version"),
            details={"objective": header.get("objective")},
        )
        self.booster = booster

    @property
    def has_predict_proba(self) -> bool:
        return self.classes is not None

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        probabilities = self.predict_proba(X)
        if probabilities is not None:
            return np.asarray(self.classes)[np.argmax(probabilities, axis=1)]
        return self._raw(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not self.has_predict_proba:
            return None
        values = self._raw(X)
        if values.ndim == 1:
            return np.column_stack([1 - values, values])
        return values

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        aligned = self.align(X)
        return np.asarray(self.booster.predict(aligned if self.feature_names else aligned.to_numpy()))


def _lgb_classes(objective: str, n_classes: int) -> list[int] | None:
    if objective == "binary":
        return [0, 1]
    if objective in {"multiclass", "multiclassova", "softmax", "ova", "multiclass_ova", "ovr"}:
        return list(range(n_classes))
    return None


def _load_lightgbm(path: Path, allow_pickle: bool = False) -> Predictor:
    import lightgbm  # deferred: only LightGBM models need it

    return LightGBMPredictor(lightgbm.Booster(model_file=str(path)))
