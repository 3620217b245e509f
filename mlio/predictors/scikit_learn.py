"""scikit-learn API models (skops files; XGBoost/LightGBM sklearn wrappers; allowed pickles) and the
skops loader. Django-free; scikit-learn and skops are imported only by the loader."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlio.trusted_types import TRUSTED_TYPES, check_tree_structures

from .base import Predictor, _plain_list, _public_name


def _single_threaded(model: Any) -> Any:
    """Evidence must be the same numbers every time: a forest predicting on several threads sums
    its trees' probabilities in whatever order the threads finish, which moves the last bits. The
    workers scale out by processes and chunks instead."""
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    jobs = {name: None for name, value in params.items() if name.split("__")[-1] == "n_jobs" and value not in (None, 1)}
    if jobs:
        model.set_params(**jobs)
    return model


class SklearnPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        names = getattr(model, "feature_names_in_", None)
        super().__init__(
            model_class=_public_name(type(model)),
            classes=_plain_list(getattr(model, "classes_", None)),
            feature_names=[str(name) for name in names] if names is not None else None,
            n_features=_int_or_none(getattr(model, "n_features_in_", None)),
            framework_version=getattr(model, "_sklearn_version", None),
        )
        self.kind = type(model).__module__.split(".")[0]
        self.model = _single_threaded(model)

    @property
    def has_predict_proba(self) -> bool:
        return hasattr(self.model, "predict_proba")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self._input(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not self.has_predict_proba:
            return None
        return np.asarray(self.model.predict_proba(self._input(X)))

    def _input(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        aligned = self.align(X)
        # A model fitted on an array warns when given named columns.
        return aligned if self.feature_names else aligned.to_numpy()


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | np.integer) else None


def _load_skops(path: Path, allow_pickle: bool = False) -> Predictor:
    import skops.io  # deferred: pulls in scikit-learn

    model = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    check_tree_structures(model)
    predictor = SklearnPredictor(model)
    predictor.framework_version = predictor.framework_version or _skops_sklearn_version(path)
    return predictor


def _skops_sklearn_version(path: Path) -> str | None:
    # scikit-learn drops _sklearn_version when it restores an estimator; the schema still has it.
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    attributes = schema.get("content", {}).get("content", {}) if isinstance(schema.get("content"), dict) else {}
    entry = attributes.get("_sklearn_version") if isinstance(attributes, dict) else None
    value = json.loads(entry["content"]) if isinstance(entry, dict) and isinstance(entry.get("content"), str) else None
    return value if isinstance(value, str) else None
