"""Which explainer fits a model, and why: ExplainerChoice and choose_explainer. Django-free."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mlio.predictors import Predictor, RecordedPredictions, SklearnPredictor

from .boosters import _native_library, _native_objective
from .common import (
    INTERVENTIONAL,
    LIGHTGBM_NATIVE,
    LINEAR,
    PATH_DEPENDENT,
    PERMUTATION,
    PERMUTATION_BACKGROUND_K,
    PERMUTATIONS,
    RECORDED_ONLY,
    TOLERANCES,
    TREE,
    XGBOOST_NATIVE,
    ExplanationInputError,
    ExplanationUnavailable,
    _listed,
)

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
        raise ExplanationUnavailable(RECORDED_ONLY)
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
