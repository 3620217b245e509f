"""Explanations of a loaded model: SHAP with the explainer that fits it, LIME on a sample, charts.

Pure computation over a registry Predictor and a DataFrame of feature columns; no database.

SHAP, by model family (choose_explainer records which and why):

* XGBoost and LightGBM boosters (native or their scikit-learn wrappers): the libraries' own exact
  path-dependent Tree SHAP (``pred_contribs`` / ``pred_contrib``), in margin space.
* scikit-learn trees, forests and gradient boosting: exact path-dependent Tree SHAP over the trees as
  shap's TreeExplainer reads them, computed by the parallel kernel below (shap's own C++ loop runs
  on one core and cannot meet the 10,000-rows-in-10-seconds goal); with a background set, shap's
  interventional TreeExplainer.
* scikit-learn linear models: shap's LinearExplainer against a background.
* everything else (pipelines with preprocessing, ONNX graphs, MLflow pyfunc, HistGradientBoosting
  with native categorical features, see shap issue 3436): shap's PermutationExplainer over a
  background summarised by shap.kmeans. It is exact for models with up to second-order interactions
  and additive by construction; KernelExplainer is slower and less exact.

Every explanation is checked against the model itself: base value + sum of SHAP values must give the
model's own output (probability, log-odds or raw score, as ``output_space`` says) on the same rows.

Explanations are computed in chunks by separate workers (shap_chunk) and merged (merge_shap); every
row is explained independently of the others (random streams are seeded per row), so the merge of
any chunking equals explaining all rows at once.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numba
import numpy as np
import pandas as pd

from registry.models_io import (
    FeatureMismatch,
    LightGBMPredictor,
    Predictor,
    RecordedPredictions,
    SklearnPredictor,
    XGBoostPredictor,
)


class ExplanationUnavailable(Exception):
    """The model cannot be explained (and why): no explainer fits it."""


class ExplanationInputError(ValueError):
    """The rows, background or options handed over cannot be explained as given."""


XGBOOST_NATIVE = "xgboost_native"
LIGHTGBM_NATIVE = "lightgbm_native"
TREE = "tree"
LINEAR = "linear"
PERMUTATION = "permutation"

PATH_DEPENDENT = "tree_path_dependent"
INTERVENTIONAL = "interventional"

# Base value + sum of SHAP values against the model's output, scaled by the output's magnitude when
# above 1. Float64 paths are exact to rounding; XGBoost computes in float32; the permutation
# estimate telescopes to the model's output but the model (an ONNX graph) may compute in float32.
TOLERANCES = {XGBOOST_NATIVE: 1e-4, LIGHTGBM_NATIVE: 1e-6, TREE: 1e-6, LINEAR: 1e-6, PERMUTATION: 1e-5}

PERMUTATION_BACKGROUND_K = 10  # k-means centres summarising the permutation background
PERMUTATION_MAX_BACKGROUND = 20  # a larger background is summarised before use
INTERVENTIONAL_MAX_BACKGROUND = 100  # interventional Tree SHAP costs grow with every background row
PERMUTATIONS = 10  # antithetic permutations per row: exact up to second-order interactions

_PROBABILITY_TREES = {
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
    "ExtraTreeClassifier",
}
_RAW_TREES = {
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "DecisionTreeRegressor",
    "ExtraTreeRegressor",
    "GradientBoostingRegressor",
    "HistGradientBoostingRegressor",
}
_BOOSTED_CLASSIFIERS = {"GradientBoostingClassifier", "HistGradientBoostingClassifier"}
_IDENTITY_LOSSES = {"squared_error", "absolute_error", "quantile", "huber"}


# ---------------------------------------------------------------------------------------------
# Which explainer, and why.


@dataclasses.dataclass(frozen=True)
class ExplainerChoice:
    """The explainer for one model and class, with the reason recorded in the evidence."""

    kind: str
    reason: str
    output_space: str = "raw"  # "probability" | "log_odds" | "raw"
    class_index: int | None = None  # column of predictor.classes explained; None: a single output
    class_label: Any = None
    tolerance: float = 1e-6
    feature_perturbation: str | None = None
    needs_background: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def choose_explainer(predictor: Predictor, *, class_label: Any = None, background: bool = False) -> ExplainerChoice:
    """The explainer that fits the model; ``background`` asks for interventional tree SHAP.

    Binary classifiers explain their second class unless ``class_label`` names another; a
    multiclass model must be told which class to explain.
    """
    if isinstance(predictor, RecordedPredictions):
        raise ExplanationUnavailable(
            "The model is a set of recorded predictions, not a model: nothing can be asked what it would "
            "predict for other inputs, so neither SHAP nor LIME can explain it."
        )
    class_index = _class_index(predictor, class_label)
    label = None if class_index is None else predictor.classes[class_index]
    kind, reason, space = _family(predictor, background)
    return ExplainerChoice(
        kind=kind,
        reason=reason,
        output_space=space,
        class_index=class_index,
        class_label=label,
        tolerance=TOLERANCES[kind],
        feature_perturbation=_perturbation(kind, background),
        needs_background=kind in {LINEAR, PERMUTATION} or (kind == TREE and background),
    )


def _class_index(predictor: Predictor, class_label: Any) -> int | None:
    classes = predictor.classes
    if not classes:
        if class_label is not None:
            raise ExplanationInputError(f"the model has no classes; it cannot explain class {class_label!r}")
        return None
    if class_label is None:
        if len(classes) == 2:
            return 1
        raise ExplanationInputError(
            f"the model has {len(classes)} classes ({_listed(classes)}): name the class to explain"
        )
    matches = [i for i, known in enumerate(classes) if known == class_label or str(known) == str(class_label)]
    if not matches:
        raise ExplanationInputError(f"the model has no class {class_label!r}; its classes are {_listed(classes)}")
    return matches[0]


def _perturbation(kind: str, background: bool) -> str | None:
    if kind in {XGBOOST_NATIVE, LIGHTGBM_NATIVE}:
        return PATH_DEPENDENT
    if kind == TREE:
        return INTERVENTIONAL if background else PATH_DEPENDENT
    return INTERVENTIONAL if kind == LINEAR else None


def _family(predictor: Predictor, background: bool) -> tuple[str, str, str]:
    """(kind, reason, output space) for the model behind the predictor."""
    native = _native_family(predictor, background)
    if native is not None:
        return native
    model = predictor.model if isinstance(predictor, SklearnPredictor) else None
    if model is None:
        reason = f"{predictor.model_class} ({predictor.kind}) exposes only its predictions"
        return PERMUTATION, _permutation_reason(reason), _generic_space(predictor)
    trap = _tree_trap(model)
    if trap is not None:
        return PERMUTATION, _permutation_reason(trap), _generic_space(predictor)
    name = type(model).__name__
    if name in _PROBABILITY_TREES | _RAW_TREES | _BOOSTED_CLASSIFIERS:
        return TREE, _tree_reason(predictor, background), _tree_space(name, predictor)
    if _is_linear(model):
        return LINEAR, _linear_reason(predictor), _linear_space(model, predictor)
    what = (
        "a pipeline with preprocessing"
        if name == "Pipeline"
        else f"{predictor.model_class}, not a tree or linear model"
    )
    return PERMUTATION, _permutation_reason(what), _generic_space(predictor)


def _native_family(predictor: Predictor, background: bool) -> tuple[str, str, str] | None:
    library = _native_library(predictor)
    if library is None:
        return None
    space = (
        "log_odds"
        if _native_objective(predictor, library) in {"binary:logistic", "binary:logitraw", "binary"}
        else "raw"
    )
    if background:
        reason = (
            f"{predictor.model_class}: exact interventional Tree SHAP by shap's TreeExplainer against the background "
            f"(the {library} library computes only path-dependent contributions); explains the margin ({space})"
        )
        return TREE, reason, space
    function = "Booster.predict(pred_contribs=True)" if library == "xgboost" else "Booster.predict(pred_contrib=True)"
    reason = (
        f"{predictor.model_class}: exact path-dependent Tree SHAP computed by {library} itself ({function}); "
        f"explains the model's margin ({space}), not the probability"
    )
    return (XGBOOST_NATIVE if library == "xgboost" else LIGHTGBM_NATIVE), reason, space


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


def _tree_trap(model: Any) -> str | None:
    """A tree model shap's TreeExplainer reads wrongly or not at all."""
    name = type(model).__name__
    categorical = getattr(model, "is_categorical_", None)
    if name.startswith("HistGradientBoosting") and categorical is not None and np.any(categorical):
        return (
            f"{name} with native categorical features: shap's TreeExplainer reads categorical splits as numeric "
            "thresholds and returns wrong values while its own additivity check passes (shap issue 3436)"
        )
    if name == "GradientBoostingClassifier" and getattr(model, "n_classes_", 2) > 2:
        return "multiclass GradientBoostingClassifier, which shap's TreeExplainer does not read"
    if name == "HistGradientBoostingRegressor" and getattr(model, "loss", "squared_error") not in _IDENTITY_LOSSES:
        return f"HistGradientBoostingRegressor with the {model.loss} loss, whose trees predict through a log link"
    return None


def _tree_reason(predictor: Predictor, background: bool) -> str:
    if background:
        return f"{predictor.model_class}: exact interventional Tree SHAP by shap's TreeExplainer against the background"
    return (
        f"{predictor.model_class}: exact path-dependent Tree SHAP over the trees as shap's TreeExplainer reads "
        "them, computed on all cores by Verity's kernel (same values as shap's TreeExplainer)"
    )


def _tree_space(name: str, predictor: Predictor) -> str:
    if name in _PROBABILITY_TREES:
        return "probability"
    if name in _BOOSTED_CLASSIFIERS:
        return "log_odds" if len(predictor.classes or []) == 2 else "raw"
    return "raw"


def _is_linear(model: Any) -> bool:
    module = type(model).__module__
    linear_module = module.startswith("sklearn.linear_model") or type(model).__name__ in {"LinearSVC", "LinearSVR"}
    return linear_module and hasattr(model, "coef_")


def _linear_reason(predictor: Predictor) -> str:
    return (
        f"{predictor.model_class}: shap's LinearExplainer, exact for a linear model, interventional against the "
        "background's mean; explains the linear score (decision function)"
    )


def _linear_space(model: Any, predictor: Predictor) -> str:
    binary_logistic = type(model).__name__.startswith("LogisticRegression") and len(predictor.classes or []) == 2
    return "log_odds" if binary_logistic else "raw"


def _permutation_reason(what: str) -> str:
    return (
        f"{what}: shap's PermutationExplainer ({PERMUTATIONS} antithetic permutations per row) over a background "
        f"summarised by shap.kmeans (k={PERMUTATION_BACKGROUND_K}; a sample of rows when a column holds text); "
        "KernelExplainer would be slower and less exact"
    )


def _generic_space(predictor: Predictor) -> str:
    if not predictor.classes:
        return "raw"
    if predictor.has_predict_proba:
        return "probability"
    if isinstance(predictor, SklearnPredictor) and hasattr(predictor.model, "decision_function"):
        return "raw"
    raise ExplanationUnavailable(
        f"{predictor.model_class} is a classifier without probabilities or scores: its predicted labels give "
        "nothing continuous to explain"
    )


def _listed(values: Sequence[Any]) -> str:
    return ", ".join(map(repr, values))


# ---------------------------------------------------------------------------------------------
# SHAP over a chunk of rows.


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


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype)


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


# ---------------------------------------------------------------------------------------------
# The model's own output, in the space explained.


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


# ---------------------------------------------------------------------------------------------
# Rows and background.


def _rows_for(predictor: Predictor, X: pd.DataFrame, choice: ExplainerChoice, what: str = "rows") -> pd.DataFrame:
    """Rows as the choice's explainer can take them: only permutation takes text columns, and the
    linear explainer cannot take gaps (trees, boosters and most pipelines route missing values)."""
    return _checked_rows(predictor, X, what=what, numeric=choice.kind != PERMUTATION, complete=choice.kind == LINEAR)


def _checked_rows(predictor: Predictor, X: pd.DataFrame, *, what: str, numeric: bool, complete: bool) -> pd.DataFrame:
    """The model's columns in the model's order, or a clear ExplanationInputError."""
    if not isinstance(X, pd.DataFrame):
        raise ExplanationInputError(f"the {what} must be a pandas DataFrame of feature columns, not {type(X).__name__}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ExplanationInputError(
            f"the {what} are empty ({X.shape[0]} rows, {X.shape[1]} columns): nothing to explain"
        )
    try:
        rows = predictor.align(X)
    except FeatureMismatch as exc:
        raise ExplanationInputError(f"the {what} do not match the model's columns: {exc}") from exc
    if rows.index.has_duplicates:
        raise ExplanationInputError(f"the {what} repeat index labels; each row needs its own label")
    if numeric:
        _require_numeric(rows, what)
    if complete:
        _require_complete(rows, what)
    return rows


def _require_numeric(rows: pd.DataFrame, what: str) -> None:
    bad = [str(name) for name in rows.columns if not _numeric(rows[name])]
    if bad:
        raise ExplanationInputError(f"the {what} have non-numeric columns the explainer cannot take: {', '.join(bad)}")


def _require_complete(rows: pd.DataFrame, what: str) -> None:
    gaps = rows.isna().sum()
    bad = [f"{name} ({count} rows)" for name, count in gaps.items() if count]
    if bad:
        raise ExplanationInputError(f"the {what} have missing values the explainer cannot take: {', '.join(bad)}")


def _checked_background(
    predictor: Predictor, background: pd.DataFrame | None, choice: ExplainerChoice
) -> pd.DataFrame | None:
    if not choice.needs_background:
        return None
    if background is None:
        raise ExplanationInputError(f"the {choice.kind} explainer needs a background set (e.g. a training sample)")
    rows = _rows_for(predictor, background, choice, what="background rows")
    if choice.kind == PERMUTATION and len(rows) > PERMUTATION_MAX_BACKGROUND:
        return summarise_background(rows)
    if choice.kind == TREE and len(rows) > INTERVENTIONAL_MAX_BACKGROUND:
        return rows.sample(INTERVENTIONAL_MAX_BACKGROUND, random_state=0)
    return rows


def summarise_background(X: pd.DataFrame, *, k: int = PERMUTATION_BACKGROUND_K) -> pd.DataFrame:
    """k rows standing for X: shap.kmeans centres snapped to values X holds (a deterministic sample
    of rows when a column is not numeric). Summarise once and hand the result to every chunk."""
    if len(X) <= k:
        return X.reset_index(drop=True)
    if not all(_numeric(X[name]) for name in X.columns):
        return X.sample(k, random_state=0).reset_index(drop=True)
    import shap

    summary = shap.kmeans(X.astype(np.float64), k, round_values=True)
    return pd.DataFrame(summary.data, columns=X.columns).astype(X.dtypes.to_dict())


def _row_seed(seed: int, label: Any) -> int:
    """A row's own random stream, from its index label: the same wherever the row is explained."""
    if isinstance(label, int | np.integer) and not isinstance(label, bool):
        return (seed + int(label)) % 2**32
    return (seed + zlib.crc32(repr(label).encode())) % 2**32


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------------------------
# Merging chunks.


def merge_shap(
    chunks: Sequence[ShapChunk], feature_names: Sequence[str], *, sample_rows: int = 50, seed: int = 0
) -> dict[str, Any]:
    """Global importance, a sample of rows and the additivity check over all chunks' rows.

    Rows are put in index order first, so the result does not depend on how the rows were split
    into chunks nor on the order the chunks arrive in.
    """
    first = _consistent(chunks, feature_names)
    index, values, base, output = _concatenated(chunks)
    importance = np.abs(values).mean(axis=0)
    order = sorted(range(len(feature_names)), key=lambda j: (-importance[j], j))
    return {
        "explainer": first.kind,
        "output_space": first.output_space,
        "class_label": first.class_label,
        "rows_explained": len(index),
        "base_value": float(base.mean()),
        "importance": [{"feature": feature_names[j], "mean_abs_shap": float(importance[j])} for j in order],
        "sample": _sample(index, values, base, output, sample_rows, seed),
        "additivity": _additivity(values, base, output, first.tolerance),
    }


def _consistent(chunks: Sequence[ShapChunk], feature_names: Sequence[str]) -> ShapChunk:
    if not chunks:
        raise ExplanationInputError("no chunks to merge")
    first = chunks[0]
    for chunk in chunks:
        if list(chunk.feature_names) != list(feature_names):
            raise ExplanationInputError(
                f"a chunk explains columns {_listed(chunk.feature_names)}, not {_listed(list(feature_names))}"
            )
        if (chunk.kind, chunk.output_space, chunk.class_label) != (first.kind, first.output_space, first.class_label):
            raise ExplanationInputError("the chunks come from different explainers, output spaces or classes")
    return first


def _concatenated(chunks: Sequence[ShapChunk]) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    index = [label for chunk in chunks for label in chunk.index]
    labels = pd.Index(index)
    if labels.has_duplicates:
        repeated = labels[labels.duplicated()].unique().tolist()[:5]
        raise ExplanationInputError(f"rows appear in more than one chunk (index labels {_listed(repeated)})")
    try:
        order = np.asarray(labels.argsort(kind="stable"))
    except TypeError:  # labels of mixed types do not sort: keep the chunks' order
        order = np.arange(len(index))
    values = np.concatenate([chunk.values for chunk in chunks])[order]
    base = np.concatenate([chunk.base_values for chunk in chunks])[order]
    output = np.concatenate([chunk.model_output for chunk in chunks])[order]
    return [_plain(index[i]) for i in order], values, base, output


def _sample(
    index: list[Any], values: np.ndarray, base: np.ndarray, output: np.ndarray, size: int, seed: int
) -> dict[str, Any]:
    chosen = np.sort(np.random.default_rng(seed).choice(len(index), size=min(size, len(index)), replace=False))
    return {
        "index": [index[i] for i in chosen],
        "values": values[chosen].tolist(),
        "base_values": base[chosen].tolist(),
        "model_output": output[chosen].tolist(),
    }


def _additivity(values: np.ndarray, base: np.ndarray, output: np.ndarray, tolerance: float) -> dict[str, Any]:
    errors = np.abs(base + values.sum(axis=1) - output)
    used = tolerance * max(1.0, float(np.max(np.abs(output))))
    worst = float(np.max(errors)) if np.all(np.isfinite(errors)) else math.inf
    return {
        "max_abs_error": worst,
        "tolerance": used,
        "passed": worst <= used,
        "rows_over_tolerance": int(np.sum(~(errors <= used))),
        "compared_with": "the model's own output on the same rows",
    }


def explain_shap(
    predictor: Predictor,
    X: pd.DataFrame,
    choice: ExplainerChoice | None = None,
    *,
    background: pd.DataFrame | None = None,
    chunk_rows: int = 10_000,
    sample_rows: int = 50,
    seed: int = 0,
) -> dict[str, Any]:
    """All rows in one process, chunk after chunk: what a single worker runs."""
    choice = choice or choose_explainer(predictor)
    if choice.kind == PERMUTATION and background is not None and len(background) > PERMUTATION_MAX_BACKGROUND:
        background = summarise_background(_rows_for(predictor, background, choice, what="background rows"))
    chunks = [
        shap_chunk(predictor, X.iloc[start : start + chunk_rows], choice, background, seed=seed)
        for start in range(0, max(len(X), 1), chunk_rows)
    ]
    return {
        "choice": choice.to_dict(),
        **merge_shap(chunks, chunks[0].feature_names, sample_rows=sample_rows, seed=seed),
    }


# ---------------------------------------------------------------------------------------------
# Path-dependent Tree SHAP on all cores.
#
# For one leaf, path-dependent Tree SHAP plays a game whose players are the distinct features on
# the leaf's path: a coalition S is worth v * prod(o_j for j in S) * prod(z_j for j not in S), where
# o_j says whether the row follows the path's splits on feature j and z_j is the share of training
# cover that follows them. The Shapley values of that game depend on the row only through the
# pattern of o (one bit per feature), so for short paths they are tabulated once per leaf and looked
# up per row; longer paths are computed per row. Either way the cost is a polynomial product and one
# division per feature, as in Lundberg et al.'s algorithm, and rows are split across all cores.

TABLE_MAX_FEATURES = 8  # paths with at most this many distinct features get a table of 2**d patterns
TABLE_BUDGET = 4_000_000  # floats of tables held at once


def _tree_shap(ensemble: Any, column: int, X: np.ndarray) -> tuple[np.ndarray, float]:
    """SHAP values (rows x features) of one output of shap's TreeEnsemble, and its expected value."""
    leaves = _ensemble_leaves(ensemble, column)
    weights = _shapley_weights(int(leaves["length"].max(initial=0)))
    # Feature-major arrays: the inner loop walks rows, so it reads and writes contiguous memory.
    X_t, phi_t = np.ascontiguousarray(X.T), np.zeros((X.shape[1], X.shape[0]))
    blocks = max(1, numba.get_num_threads() * 4)
    arrays = [leaves[name] for name in ("value", "start", "length", "feature", "lo", "hi", "nan_ok", "zero")]
    for first, last, starts, size in _table_groups(leaves["length"]):
        table = np.zeros(size)
        _build_tables(
            first, last, leaves["value"], leaves["start"], leaves["length"], leaves["zero"], starts, weights, table
        )
        _accumulate(X_t, phi_t, first, last, *arrays, starts, weights, table, blocks)
    expected = float(np.sum(leaves["value"] * leaves["cover"]))
    return phi_t.T, expected


def _ensemble_leaves(ensemble: Any, column: int) -> dict[str, np.ndarray]:
    """Every leaf of every tree, with its path's features as intervals, concatenated."""
    parts = []
    for t in range(ensemble.values.shape[0]):
        value = np.ascontiguousarray(ensemble.values[t, :, column], dtype=np.float64)
        if not value.any():  # a tree of another class, in a stacked multiclass model
            continue
        arrays = (
            ensemble.children_left[t],
            ensemble.children_right[t],
            ensemble.children_default[t],
            ensemble.features[t],
        )
        left, right, default, feature = (np.ascontiguousarray(a, dtype=np.int64) for a in arrays)
        threshold = np.ascontiguousarray(ensemble.thresholds[t], dtype=np.float64)
        weight = np.ascontiguousarray(ensemble.node_sample_weight[t], dtype=np.float64)
        depth = _tree_depth(left, right)
        parts.append(_tree_leaves(left, right, default, feature, threshold, weight, value, depth))
    names = ("value", "cover", "length", "feature", "lo", "hi", "nan_ok", "zero")
    leaves = {
        name: np.concatenate([part[i] for part in parts]) if parts else np.zeros(0) for i, name in enumerate(names)
    }
    leaves["length"] = leaves["length"].astype(np.int64)
    leaves["feature"] = leaves["feature"].astype(np.int64)
    leaves["nan_ok"] = leaves["nan_ok"].astype(np.bool_)
    leaves["start"] = np.concatenate([[0], np.cumsum(leaves["length"])[:-1]]).astype(np.int64)
    return leaves


def _shapley_weights(max_players: int) -> np.ndarray:
    """weights[d, s]: the Shapley weight s! (d - 1 - s)! / d! of a coalition of s among d players."""
    weights = np.zeros((max_players + 1, max(max_players, 1)))
    for d in range(1, max_players + 1):
        for s in range(d):
            weights[d, s] = 1.0 / (d * math.comb(d - 1, s))
    return weights


def _table_groups(lengths: np.ndarray) -> list[tuple[int, int, np.ndarray, int]]:
    """Runs of consecutive leaves whose tables fit the budget: (first, last, table starts, size)."""
    sizes = np.where((lengths > 0) & (lengths <= TABLE_MAX_FEATURES), lengths * (2 ** np.minimum(lengths, 62)), 0)
    starts = np.full(len(lengths), -1, dtype=np.int64)
    groups, first, used = [], 0, 0
    for leaf, size in enumerate(sizes):
        if used + size > TABLE_BUDGET and leaf > first:
            groups.append((first, leaf, starts.copy(), used))
            first, used = leaf, 0
        if size:
            starts[leaf] = used
            used += int(size)
    groups.append((first, len(lengths), starts, used))
    return groups


@numba.njit(cache=True)
def _tree_depth(left: np.ndarray, right: np.ndarray) -> int:
    stack_node, stack_depth = np.empty(left.shape[0] + 1, np.int64), np.empty(left.shape[0] + 1, np.int64)
    stack_node[0], stack_depth[0], top, deepest = 0, 0, 1, 0
    while top > 0:
        top -= 1
        node, depth = stack_node[top], stack_depth[top]
        if left[node] >= 0:
            deepest = max(deepest, depth + 1)
            stack_node[top], stack_depth[top] = left[node], depth + 1
            stack_node[top + 1], stack_depth[top + 1] = right[node], depth + 1
            top += 2
    return deepest


@numba.njit(cache=True)
def _tree_leaves(
    left: np.ndarray,
    right: np.ndarray,
    default: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    weight: np.ndarray,
    value: np.ndarray,
    depth: int,
) -> tuple[np.ndarray, ...]:
    """One tree's leaves: value, cover share, and per distinct path feature its interval
    (lo < x <= hi), whether a missing value follows the path, and its cover fraction."""
    n, width = left.shape[0], max(depth, 1)
    # The path's state at each depth: per distinct feature, its index in path_int and
    # (lo, hi, 1.0 if a missing value follows the path, cover fraction) in path.
    path_int = np.empty((depth + 1, width), np.int64)
    path = np.empty((depth + 1, width, 4))
    counts = np.zeros(depth + 1, np.int64)
    leaf_value, leaf_cover, leaf_length = np.empty(n), np.empty(n), np.empty(n, np.int64)
    entry_feature, entry = np.empty(n * width, np.int64), np.empty((n * width, 4))
    stack, parent_of = np.empty((n + 1, 3), np.int64), np.full(n, -1, np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, 0, 0
    top, leaves, entries = 1, 0, 0
    while top > 0:
        top -= 1
        node, d, went_left = stack[top, 0], stack[top, 1], stack[top, 2] == 1
        if d > 0:
            parent = parent_of[node]
            counts[d] = _follow(path_int, path, counts, d, parent, node, went_left, feature, threshold, default, weight)
        if left[node] >= 0:
            parent_of[left[node]], parent_of[right[node]] = node, node
            stack[top, 0], stack[top, 1], stack[top, 2] = right[node], d + 1, 0
            stack[top + 1, 0], stack[top + 1, 1], stack[top + 1, 2] = left[node], d + 1, 1
            top += 2
            continue
        count = counts[d]
        leaf_value[leaves], leaf_length[leaves] = value[node], count
        entry_feature[entries : entries + count] = path_int[d, :count]
        entry[entries : entries + count] = path[d, :count]
        leaf_cover[leaves] = np.prod(path[d, :count, 3])
        leaves += 1
        entries += count
    return (
        leaf_value[:leaves],
        leaf_cover[:leaves],
        leaf_length[:leaves],
        entry_feature[:entries],
        entry[:entries, 0].copy(),
        entry[:entries, 1].copy(),
        entry[:entries, 2] == 1.0,
        entry[:entries, 3].copy(),
    )


@numba.njit(cache=True)
def _follow(
    path_int: np.ndarray,
    path: np.ndarray,
    counts: np.ndarray,
    d: int,
    parent: int,
    node: int,
    went_left: bool,
    feature: np.ndarray,
    threshold: np.ndarray,
    default: np.ndarray,
    weight: np.ndarray,
) -> int:
    """The path's state at depth d: its parent's, narrowed by the split from parent to node.
    A feature split on again keeps one row: the intersection of intervals, the product of covers."""
    count = counts[d - 1]
    path_int[d, :count] = path_int[d - 1, :count]
    path[d, :count] = path[d - 1, :count]
    slot = count
    for j in range(count):
        if path_int[d, j] == feature[parent]:
            slot = j
    if slot == count:
        path_int[d, slot] = feature[parent]
        path[d, slot, 0], path[d, slot, 1], path[d, slot, 2], path[d, slot, 3] = -np.inf, np.inf, 1.0, 1.0
        count += 1
    if went_left:
        path[d, slot, 1] = min(path[d, slot, 1], threshold[parent])
    else:
        path[d, slot, 0] = max(path[d, slot, 0], threshold[parent])
    if default[parent] != node:
        path[d, slot, 2] = 0.0
    path[d, slot, 3] *= weight[node] / weight[parent] if weight[parent] > 0 else 0.0
    return count


@numba.njit(cache=True)
def _pattern_shap(
    zero: np.ndarray,
    start: int,
    d: int,
    agree: np.ndarray,
    w: np.ndarray,
    coef: np.ndarray,
    quot: np.ndarray,
    out: np.ndarray,
) -> None:
    """Shapley values of one leaf's game (unit leaf value) for one pattern of agreement.

    The coalition values are products over the path features: (o_j or z_j). With A the features
    the row agrees with and B the rest, player i's value is (o_i - z_i) * prod(z_B without i) *
    sum_s w(s, d) * e_s, where e_s are the coefficients of prod over A without i of (z_j + t).
    """
    coef[0] = 1.0
    m = 0
    zero_b = 1.0
    for k in range(d):
        z = zero[start + k]
        if agree[k]:
            coef[m + 1] = coef[m]
            for s in range(m, 0, -1):
                coef[s] = coef[s] * z + coef[s - 1]
            coef[0] *= z
            m += 1
        else:
            zero_b *= z
    outside = 0.0
    for s in range(m + 1):
        outside += w[s] * coef[s]
    for k in range(d):
        z = zero[start + k]
        if not agree[k]:
            out[k] = -zero_b * outside  # (0 - z_k) * prod(z_B without k) == -prod(z_B)
            continue
        # Dividing by (z + t) from the top term down only ever multiplies errors by z <= 1.
        quot[m - 1] = coef[m]
        for s in range(m - 1, 0, -1):
            quot[s - 1] = coef[s] - z * quot[s]
        inside = 0.0
        for s in range(m):
            inside += w[s] * quot[s]
        out[k] = (1.0 - z) * zero_b * inside


@numba.njit(cache=True, parallel=True)
def _build_tables(
    first: int,
    last: int,
    value: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    zero: np.ndarray,
    table_start: np.ndarray,
    weights: np.ndarray,
    table: np.ndarray,
) -> None:
    """Per tabulated leaf, for each path feature k and pattern p: table[start + k * 2**d + p] is the
    leaf's value times feature k's Shapley value when the row agrees with the path as p says."""
    players = weights.shape[0]
    for leaf in numba.prange(first, last):
        offset, d = table_start[leaf], length[leaf]
        if offset < 0:
            continue
        agree, coef, quot, out = np.empty(d, np.bool_), np.empty(players + 1), np.empty(players + 1), np.empty(d)
        for pattern in range(1 << d):
            for k in range(d):
                agree[k] = (pattern >> k) & 1 == 1
            _pattern_shap(zero, start[leaf], d, agree, weights[d], coef, quot, out)
            for k in range(d):
                table[offset + (k << d) + pattern] = value[leaf] * out[k]


@numba.njit(cache=True)
def _agrees(x: float, lo: float, hi: float, nan_ok: bool) -> bool:
    return nan_ok if np.isnan(x) else (lo < x and x <= hi)


@numba.njit(cache=True)
def _add_tabulated(X_t, phi_t, begin, end, s0, d, offset, feature, lo, hi, nan_ok, table, pattern):  # noqa: ANN001
    """One leaf's values for a block of rows: the agreement pattern of every row first (a loop the
    compiler vectorises), then one table column per feature."""
    pattern[: end - begin] = 0
    for k in range(d):
        f, low, high, missing = feature[s0 + k], lo[s0 + k], hi[s0 + k], nan_ok[s0 + k]
        for r in range(begin, end):
            if _agrees(X_t[f, r], low, high, missing):
                pattern[r - begin] |= 1 << k
    for k in range(d):
        f, column = feature[s0 + k], offset + (k << d)
        for r in range(begin, end):
            phi_t[f, r] += table[column + pattern[r - begin]]


@numba.njit(cache=True)
def _add_computed(X_t, phi_t, begin, end, s0, d, v, feature, lo, hi, nan_ok, zero, w, scratch):  # noqa: ANN001
    """One leaf with too long a path to tabulate: its game solved row by row."""
    agree, coef, quot, out = scratch
    for r in range(begin, end):
        for k in range(d):
            agree[k] = _agrees(X_t[feature[s0 + k], r], lo[s0 + k], hi[s0 + k], nan_ok[s0 + k])
        _pattern_shap(zero, s0, d, agree, w, coef, quot, out)
        for k in range(d):
            phi_t[feature[s0 + k], r] += v * out[k]


@numba.njit(cache=True, parallel=True)
def _accumulate(
    X_t: np.ndarray,
    phi_t: np.ndarray,
    first: int,
    last: int,
    value: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    feature: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    nan_ok: np.ndarray,
    zero: np.ndarray,
    table_start: np.ndarray,
    weights: np.ndarray,
    table: np.ndarray,
    blocks: int,
) -> None:
    """Adds every leaf's Shapley values to every row's; rows are split in blocks across threads and
    each block walks the leaves in the same order, so a row's sums never depend on its block."""
    n = X_t.shape[1]
    players = weights.shape[0]
    for block in numba.prange(blocks):
        begin, end = block * n // blocks, (block + 1) * n // blocks
        pattern = np.empty(end - begin, np.int64)
        scratch = (np.empty(players, np.bool_), np.empty(players + 1), np.empty(players + 1), np.empty(players))
        for leaf in range(first, last):
            d, s0, offset = length[leaf], start[leaf], table_start[leaf]
            if d == 0 or value[leaf] == 0.0:
                continue
            if offset >= 0:
                _add_tabulated(X_t, phi_t, begin, end, s0, d, offset, feature, lo, hi, nan_ok, table, pattern)
            else:
                w = weights[d]
                _add_computed(X_t, phi_t, begin, end, s0, d, value[leaf], feature, lo, hi, nan_ok, zero, w, scratch)


# ---------------------------------------------------------------------------------------------
# LIME on a sample of rows.


def lime_rows(
    predictor: Predictor,
    X_train_sample: pd.DataFrame,
    X_rows: pd.DataFrame,
    *,
    seed: int,
    num_features: int = 10,
    num_samples: int = 5000,
    class_label: Any = None,
) -> list[dict[str, Any]]:
    """LIME's local linear model per row: its top features with weights.

    LIME's explainer consumes its random state as it explains, so each row gets a fresh explainer
    seeded from the row's index label: a row's explanation is the same in any run and any batch.
    """
    choice = choose_explainer(predictor, class_label=class_label)
    # LIME's sampler takes numeric, complete columns only.
    train = _checked_rows(predictor, X_train_sample, what="training sample", numeric=True, complete=True)
    rows = _checked_rows(predictor, X_rows, what="rows", numeric=True, complete=True)
    if predictor.classes and not predictor.has_predict_proba:
        raise ExplanationUnavailable(f"{predictor.model_class} gives no probabilities for LIME to explain")
    lime = _Lime(predictor, train, choice, seed, num_features, num_samples)
    return [lime.explain(rows.iloc[position], label) for position, label in enumerate(rows.index)]


@dataclasses.dataclass(frozen=True)
class _Lime:
    predictor: Predictor
    train: pd.DataFrame
    choice: ExplainerChoice
    seed: int
    num_features: int
    num_samples: int

    @property
    def classify(self) -> bool:
        return bool(self.predictor.classes)

    def predict(self, data: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(data, columns=self.train.columns)
        output = self.predictor.predict_proba(frame) if self.classify else self.predictor.predict(frame)
        return np.asarray(output, dtype=np.float64)

    def explain(self, row: pd.Series, label: Any) -> dict[str, Any]:
        from lime.lime_tabular import LimeTabularExplainer

        names = [str(name) for name in self.train.columns]
        explainer = LimeTabularExplainer(
            self.train.to_numpy(dtype=np.float64),
            mode="classification" if self.classify else "regression",
            feature_names=names,
            discretize_continuous=True,
            random_state=_row_seed(self.seed, label),
        )
        target = self.choice.class_index if self.classify else 1  # LIME files a regression under 1
        explanation = explainer.explain_instance(
            row.to_numpy(dtype=np.float64),
            self.predict,
            labels=(target,),
            num_features=self.num_features,
            num_samples=self.num_samples,
        )
        return _lime_result(explanation, target, label, names, self.choice.class_label if self.classify else None)


def _lime_result(explanation: Any, target: int, label: Any, names: list[str], class_label: Any) -> dict[str, Any]:
    rules = explanation.as_list(label=target)
    weights = explanation.as_map()[target]
    return {
        "index": _plain(label),
        "class_label": _plain(class_label),
        "features": [
            {"feature": names[j], "weight": float(weight), "rule": rule}
            for (j, weight), (rule, _) in zip(weights, rules, strict=True)
        ],
        "intercept": float(explanation.intercept[target]),
        "local_prediction": float(np.ravel(explanation.local_pred)[0]),
        "score": float(explanation.score),
    }


def lime_shap_agreement(lime_results: Sequence[Mapping[str, Any]], shap_values: pd.DataFrame) -> dict[str, Any]:
    """Per row, Spearman's rank correlation of |LIME weight| and |SHAP value| over LIME's top features.

    ``shap_values`` holds SHAP values indexed by row label, one column per feature. A row whose
    ranking is undefined (fewer than two features, or all weights tied) is reported, not dropped.
    """
    rows = [_row_agreement(result, shap_values) for result in lime_results]
    defined = [row["spearman"] for row in rows if row["spearman"] is not None]
    return {
        "method": "Spearman rank correlation of |LIME weight| and |SHAP value| over each row's LIME top features",
        "rows": rows,
        "summary": {
            "mean": float(np.mean(defined)) if defined else None,
            "min": float(np.min(defined)) if defined else None,
            "rows_compared": len(defined),
            "rows_undefined": len(rows) - len(defined),
            "top_feature_matches": sum(row["top_feature_lime"] == row["top_feature_shap"] for row in rows),
        },
    }


def _row_agreement(result: Mapping[str, Any], shap_values: pd.DataFrame) -> dict[str, Any]:
    from scipy.stats import spearmanr

    label, features = result["index"], [item["feature"] for item in result["features"]]
    if label not in shap_values.index:
        raise ExplanationInputError(f"no SHAP values for row {label!r}")
    missing = [name for name in features if name not in shap_values.columns]
    if missing:
        raise ExplanationInputError(f"the SHAP values have no column for {', '.join(missing)}")
    lime_weights = np.abs([item["weight"] for item in result["features"]])
    shap_weights = np.abs(shap_values.loc[label, features].to_numpy(dtype=np.float64))
    rho = spearmanr(lime_weights, shap_weights).statistic if len(features) > 1 else math.nan
    return {
        "index": label,
        "features": features,
        "spearman": None if not np.isfinite(rho) else float(rho),
        "top_feature_lime": features[int(np.argmax(lime_weights))] if features else None,
        "top_feature_shap": features[int(np.argmax(shap_weights))] if features else None,
    }


# ---------------------------------------------------------------------------------------------
# Charts: PNG bytes, the same bytes for the same inputs.


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
    axes.set_xlabel("mean |SHAP value|")
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
    axes.set_xlabel("SHAP value")
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
