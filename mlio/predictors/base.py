"""The ``Predictor`` interface every loaded model implements, ``FeatureMismatch``, and helpers the
predictors share. Django-free."""

from __future__ import annotations

import abc
import sys
from typing import Any

import numpy as np
import pandas as pd


class FeatureMismatch(ValueError):
    """The rows handed to a model lack columns it was trained on (or have the wrong number)."""

    def __init__(self, message: str, *, missing: list[str] | None = None, extra: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []
        self.extra = extra or []


class Predictor(abc.ABC):
    """A loaded model: predict / predict_proba on a DataFrame of feature columns.

    ``feature_names`` is None when the model does not record them; then ``n_features`` (if
    known) is checked and the columns are used in the order given.
    """

    kind: str = "unknown"

    def __init__(
        self,
        *,
        model_class: str,
        classes: list[Any] | None = None,
        feature_names: list[str] | None = None,
        n_features: int | None = None,
        framework_version: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.model_class = model_class
        self.classes = classes
        self.feature_names = feature_names
        self.n_features = len(feature_names) if feature_names else n_features
        self.framework_version = framework_version
        self.flavor: str | None = None
        self.details: dict[str, Any] = details or {}

    @abc.abstractmethod
    def predict(self, X: pd.DataFrame) -> np.ndarray: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities, one column per entry of ``classes``; None when unsupported."""
        return None

    @property
    def has_predict_proba(self) -> bool:
        return False

    def align(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's columns in the model's order; raise FeatureMismatch naming what is missing."""
        if self.feature_names:
            missing = [name for name in self.feature_names if name not in X.columns]
            if missing:
                extra = [str(name) for name in X.columns if name not in self.feature_names]
                raise FeatureMismatch(_mismatch_message(missing, extra), missing=missing, extra=extra)
            return X[self.feature_names]
        if self.n_features is not None and X.shape[1] != self.n_features:
            raise FeatureMismatch(f"the model takes {self.n_features} features; the data has {X.shape[1]} columns")
        return X

    def describe(self) -> dict[str, Any]:
        return {
            "framework": self.kind,
            "framework_version": self.framework_version,
            "flavor": self.flavor,
            "model_class": self.model_class,
            "n_features": self.n_features,
            "feature_names": self.feature_names,
            "classes": self.classes,
            "has_predict_proba": self.has_predict_proba,
            "details": self.details,
        }


def _mismatch_message(missing: list[str], extra: list[str]) -> str:
    message = f"missing columns the model was trained on: {', '.join(map(str, missing))}"
    return f"{message}; columns the model does not know: {', '.join(extra)}" if extra else message


def _plain_list(values: Any) -> list[Any] | None:
    return None if values is None else np.asarray(values).tolist()


def _public_name(cls: type) -> str:
    """The shortest importable path: sklearn.ensemble.RandomForestClassifier, not ..._forest."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = ".".join(parts[:end])
        if getattr(sys.modules.get(module), cls.__qualname__, None) is cls:
            return f"{module}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"
