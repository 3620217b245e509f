"""XGBoost and LightGBM boosters behind a predictor: the library, its booster, its raw scores. Django-free."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mlio.predictors import LightGBMPredictor, Predictor, SklearnPredictor, XGBoostPredictor


def _native_library(predictor: Predictor) -> str | None:
    if isinstance(predictor, XGBoostPredictor):
        return "xgboost"
    if isinstance(predictor, LightGBMPredictor):
        return "lightgbm"
    if isinstance(predictor, SklearnPredictor):
        module = type(predictor.model).__module__.split(".")[0]
        if module in {"xgboost", "lightgbm"} and hasattr(
            predictor.model, "get_booster" if module == "xgboost" else "booster_"
        ):
            return module
    return None


def _native_objective(predictor: Predictor, library: str) -> str:
    booster = _booster(predictor)
    if library == "xgboost":
        return json.loads(booster.save_config())["learner"]["objective"]["name"]
    return str(booster.dump_model(num_iteration=1).get("objective", "")).split(" ")[0]


def _booster(predictor: Predictor) -> Any:
    if isinstance(predictor, XGBoostPredictor | LightGBMPredictor):
        return predictor.booster
    model = predictor.model  # type: ignore[attr-defined]
    return model.get_booster() if hasattr(model, "get_booster") else model.booster_


def _native_margins(predictor: Predictor, rows: pd.DataFrame) -> np.ndarray:
    """The booster's raw score (log-odds for a binary model), which its contributions add up to."""
    if _native_library(predictor) == "xgboost":
        return _xgboost_predict(predictor, rows, output_margin=True)
    data = rows if predictor.feature_names else rows.to_numpy()
    return np.asarray(_booster(predictor).predict(data, raw_score=True))


def _xgboost_predict(predictor: Predictor, rows: pd.DataFrame, **output: bool) -> np.ndarray:
    import xgboost  # loaded already: the booster came from it

    booster = _booster(predictor)
    best = booster.attr("best_iteration")
    # As the predictors do: a model trained with early stopping predicts with its best round.
    rounds = (0, int(best) + 1) if best is not None else (0, 0)
    data = xgboost.DMatrix(rows if booster.feature_names else rows.to_numpy(dtype=np.float32))
    return np.asarray(booster.predict(data, iteration_range=rounds, **output))
