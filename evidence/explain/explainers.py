"""The SHAP explainer of each kind (native boosters, trees, linear, permutation). Django-free."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlio.predictors import Predictor

from .boosters import _booster, _native_library, _native_margins, _xgboost_predict
from .choice import ExplainerChoice
from .common import (
    INTERVENTIONAL,
    LIGHTGBM_NATIVE,
    LINEAR,
    PATH_DEPENDENT,
    PERMUTATION,
    PERMUTATIONS,
    TREE,
    XGBOOST_NATIVE,
    _numeric,
    _row_seed,
)
from .model_output import _margin_sign, _model_output, _output_column, _select_output
from .tree_shap import _tree_shap

Explained = tuple[np.ndarray, np.ndarray | float, np.ndarray]


def _xgboost_native(predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice, bg: Any, seed: int) -> Explained:
    contributions = _xgboost_predict(predictor, rows, pred_contribs=True)
    return _split_contributions(contributions, _native_margins(predictor, rows), choice, rows.shape[1])


def _lightgbm_native(
    predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice, bg: Any, seed: int
) -> Explained:
    data = rows if predictor.feature_names else rows.to_numpy()
    contributions = np.asarray(_booster(predictor).predict(data, pred_contrib=True))
    if contributions.shape[1] != rows.shape[1] + 1:  # multiclass: one block of features + bias per class
        contributions = contributions.reshape(len(rows), -1, rows.shape[1] + 1)
    return _split_contributions(contributions, _native_margins(predictor, rows), choice, rows.shape[1])


def _split_contributions(
    contributions: np.ndarray, margins: np.ndarray, choice: ExplainerChoice, width: int
) -> Explained:
    """Native contributions hold one column per feature and the bias last."""
    contributions = np.asarray(contributions, dtype=np.float64)
    if contributions.ndim == 3:
        contributions = contributions[:, _output_column(choice), :]
    sign = _margin_sign(choice, np.asarray(margins))
    return sign * contributions[:, :width], sign * contributions[:, width], _select_output(margins, choice)


def _tree_path_dependent(
    predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice, bg: Any, seed: int
) -> Explained:
    ensemble = _shap_tree_explainer(predictor).model
    column = _output_column(choice) if ensemble.values.shape[2] > 1 else 0
    sign = -1.0 if ensemble.values.shape[2] == 1 and choice.class_index == 0 else 1.0
    values, expected = _tree_shap(ensemble, column, _as_tree_input(rows, ensemble.input_dtype))
    offset = np.ravel(np.asarray(ensemble.base_offset, dtype=np.float64))
    offset_value = offset[column] if offset.size > 1 else offset[0]
    return sign * values, sign * (expected + offset_value), _model_output(predictor, rows, choice)


def _tree_interventional(
    predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice, bg: Any, seed: int
) -> Explained:
    import shap

    model = _tree_model(predictor)
    # Rows and background in the precision the trees compare in (float32 for scikit-learn's), or a
    # value beside a threshold would take another branch than in the model.
    dtype = _shap_tree_explainer(predictor).model.input_dtype
    explainer = shap.TreeExplainer(
        model, data=_as_tree_input(bg, dtype), feature_perturbation=INTERVENTIONAL, model_output="raw"
    )
    values = np.asarray(explainer.shap_values(_as_tree_input(rows, dtype), check_additivity=False))
    return _select_shap(values, explainer.expected_value, choice) + (_model_output(predictor, rows, choice),)


def _shap_tree_explainer(predictor: Predictor) -> Any:
    import shap

    return shap.TreeExplainer(_tree_model(predictor), feature_perturbation=PATH_DEPENDENT)


def _tree_model(predictor: Predictor) -> Any:
    return _booster(predictor) if _native_library(predictor) else predictor.model  # type: ignore[attr-defined]


def _as_tree_input(rows: pd.DataFrame, dtype: Any) -> np.ndarray:
    return rows.to_numpy(dtype=dtype).astype(np.float64)


def _linear(predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice, bg: Any, seed: int) -> Explained:
    import shap

    # All the background's rows: given a bare matrix, shap would sample 100 of them for the mean.
    masker = shap.maskers.Independent(bg.to_numpy(dtype=np.float64), max_samples=len(bg))
    explainer = shap.LinearExplainer(predictor.model, masker)  # type: ignore[attr-defined]
    values = np.asarray(explainer.shap_values(rows.to_numpy(dtype=np.float64)))
    return _select_shap(values, explainer.expected_value, choice) + (_model_output(predictor, rows, choice),)


def _select_shap(values: np.ndarray, expected: Any, choice: ExplainerChoice) -> tuple[np.ndarray, np.ndarray]:
    """shap's values are rows x features (x outputs); pick the class explained."""
    expected = np.ravel(np.asarray(expected, dtype=np.float64))
    if values.ndim == 3:
        column = _output_column(choice)
        return values[:, :, column], expected[column]
    sign = -1.0 if choice.class_index == 0 else 1.0  # one output: the score of the second class
    return sign * values, sign * expected[0]


def _permutation(predictor: Predictor, rows: pd.DataFrame, choice: ExplainerChoice, bg: Any, seed: int) -> Explained:
    import shap

    columns, codes = list(rows.columns), _TextCodes.of(rows, bg)

    def model(data: Any) -> np.ndarray:
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data, columns=columns)
        return _model_output(predictor, codes.decode(frame), choice)

    max_evals = PERMUTATIONS * (2 * len(columns) + 1)
    values, base, output = np.empty(rows.shape), np.empty(len(rows)), np.empty(len(rows))
    with _global_numpy_random():
        explainer = shap.PermutationExplainer(model, codes.encode(bg), seed=seed)
        for position, label in enumerate(rows.index):
            row = rows.iloc[[position]]
            # shap draws permutations from numpy's global generator: seed it per row, so a row's
            # values do not depend on which rows share its chunk.
            np.random.seed(_row_seed(seed, label))
            explanation = explainer(codes.encode(row), max_evals=max_evals, silent=True)
            values[position], base[position] = explanation.values[0], explanation.base_values[0]
            # Row by row too: a network's batched arithmetic rounds differently by batch size.
            output[position] = _model_output(predictor, row, choice)[0]
    return values, base, output


@dataclasses.dataclass(frozen=True)
class _TextCodes:
    """Text columns as numbers for shap's masker, which compares values arithmetically; the model
    gets the text back. The explainer only swaps whole values, so any consistent coding will do."""

    categories: dict[Any, pd.Index]

    @classmethod
    def of(cls, *frames: pd.DataFrame) -> _TextCodes:
        text = [name for name in frames[0].columns if not all(_numeric(frame[name]) for frame in frames)]
        return cls({name: pd.Index(pd.unique(pd.concat([f[name] for f in frames]).astype(object))) for name in text})

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        coded = frame.copy() if self.categories else frame
        for name, categories in self.categories.items():
            coded[name] = categories.get_indexer(frame[name].astype(object)).astype(np.float64)
        return coded

    def decode(self, frame: pd.DataFrame) -> pd.DataFrame:
        plain = frame.copy() if self.categories else frame
        for name, categories in self.categories.items():
            plain[name] = categories.take(frame[name].to_numpy().astype(np.int64))
        return plain


class _global_numpy_random:
    """Leaves numpy's global generator as it was: shap's permutation explainer reseeds it."""

    def __enter__(self) -> None:
        self._state = np.random.get_state()

    def __exit__(self, *exc: object) -> None:
        np.random.set_state(self._state)


_EXPLAINERS: dict[str, Callable[..., Explained]] = {
    XGBOOST_NATIVE: _xgboost_native,
    LIGHTGBM_NATIVE: _lightgbm_native,
    TREE: lambda predictor, rows, choice, bg, seed: (
        _tree_interventional(predictor, rows, choice, bg, seed)
        if choice.feature_perturbation == INTERVENTIONAL
        else _tree_path_dependent(predictor, rows, choice, bg, seed)
    ),
    LINEAR: _linear,
    PERMUTATION: _permutation,
}
