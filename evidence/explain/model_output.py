"""The model's own output in the space explained, which base value + SHAP values must give. Django-free."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlio.predictors import Predictor, SklearnPredictor

from .boosters import _native_library, _native_margins
from .choice import ExplainerChoice
from .common import ExplanationInputError, ExplanationUnavailable


def _model_output(predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice) -> np.ndarray:
    """What the explanation must add up to: the model's own output, never shap's copy of the model."""
    try:
        if _native_library(predictor) is not None:
            output = _native_margins(predictor, rows)
        elif choice.output_space == "probability":
            output = predictor.predict_proba(rows)
        elif (
            isinstance(predictor, SklearnPredictor)
            and predictor.classes
            and hasattr(predictor.model, "decision_function")
        ):
            output = predictor.model.decision_function(_sklearn_input(predictor, rows))
        else:
            output = predictor.predict(rows)
    except ValueError as exc:
        raise ExplanationInputError(f"the model refused the rows: {exc}") from exc
    output = np.asarray(output)
    if not np.issubdtype(output.dtype, np.number):
        raise ExplanationUnavailable(f"{predictor.model_class} returns {output.dtype} values, not numbers to explain")
    return _select_output(output, choice)


def _sklearn_input(predictor: SklearnPredictor, rows: pd.DataFrame) -> pd.DataFrame | np.ndarray:
    aligned = predictor.align(rows)
    # A model fitted on an array warns when given named columns, as in SklearnPredictor.
    return aligned if predictor.feature_names else aligned.to_numpy()


def _select_output(output: np.ndarray, choice: ExplainerChoice) -> np.ndarray:
    output = np.asarray(output, dtype=np.float64)
    if output.ndim == 2 and output.shape[1] > 1:
        return output[:, _output_column(choice)]
    return _margin_sign(choice, output) * output.reshape(-1)


def _margin_sign(choice: ExplainerChoice, output: np.ndarray) -> float:
    """A binary model's single score is for its second class; the first class gets its negation."""
    single = output.ndim == 1 or output.shape[-1] == 1
    return -1.0 if single and choice.class_index == 0 else 1.0


def _output_column(choice: ExplainerChoice) -> int:
    if choice.class_index is None:
        raise ExplanationUnavailable("the model has several outputs but no class to explain among them")
    return choice.class_index
