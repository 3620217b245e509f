"""One prediction interface over every accepted model format, and the loader that builds it.

The evidence workers and the acceptance probe load models through load_predictor(), which checks
the artifact's SHA-256 and the data-only policy before anything reads the model. Framework
imports are deferred to the loader that needs them: a worker holding an ONNX graph never imports
XGBoost.

Django-free. Modules: ``base`` (the Predictor interface and shared helpers), ``scikit_learn``
(scikit-learn API models, skops), ``boosters`` (XGBoost, LightGBM), ``onnx_graphs``, ``mlflow_models``,
``recorded`` (predictions recorded in a dataset) and ``loading`` (``load_predictor``).
"""

from __future__ import annotations

from .base import FeatureMismatch, Predictor
from .boosters import LightGBMPredictor, XGBoostPredictor
from .loading import load_predictor
from .mlflow_models import PyfuncPredictor
from .onnx_graphs import OnnxPredictor
from .recorded import RecordedPredictions
from .scikit_learn import SklearnPredictor

__all__ = [
    "FeatureMismatch",
    "LightGBMPredictor",
    "OnnxPredictor",
    "Predictor",
    "PyfuncPredictor",
    "RecordedPredictions",
    "SklearnPredictor",
    "XGBoostPredictor",
    "load_predictor",
]
