"""Explanations of a loaded model: SHAP with the explainer that fits it, LIME on a sample, charts.

Pure computation over a registry Predictor and a DataFrame of feature columns; no database.

SHAP, by model family (choose_explainer records which and why):

* XGBoost and LightGBM boosters (native or their scikit-learn wrappers): the libraries' own exact
  path-dependent Tree SHAP (``pred_contribs`` / ``pred_contrib``), in margin space.
* scikit-learn trees, forests and gradient boosting: exact path-dependent Tree SHAP over the trees as
  shap's TreeExplainer reads them, computed by the parallel kernel in tree_shap (shap's own C++ loop runs
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

from .charts import beeswarm_png, importance_bar_png
from .choice import ExplainerChoice, choose_explainer
from .common import (
    INTERVENTIONAL,
    INTERVENTIONAL_MAX_BACKGROUND,
    LIGHTGBM_NATIVE,
    LINEAR,
    NOT_EXPLAINABLE,
    PATH_DEPENDENT,
    PERMUTATION,
    PERMUTATION_BACKGROUND_K,
    PERMUTATION_MAX_BACKGROUND,
    PERMUTATIONS,
    RECORDED_ONLY,
    TOLERANCES,
    TREE,
    XGBOOST_NATIVE,
    ExplanationInputError,
    ExplanationUnavailable,
)
from .lime_sample import lime_rows, lime_shap_agreement
from .merge import explain_shap, merge_shap
from .rows import summarise_background
from .shap_chunks import ShapChunk, shap_chunk
from .tree_paths import _ensemble_leaves
from .tree_shap import TABLE_BUDGET, TABLE_MAX_FEATURES, _tree_shap

__all__ = [
    "INTERVENTIONAL",
    "INTERVENTIONAL_MAX_BACKGROUND",
    "LIGHTGBM_NATIVE",
    "LINEAR",
    "NOT_EXPLAINABLE",
    "PATH_DEPENDENT",
    "PERMUTATION",
    "PERMUTATIONS",
    "PERMUTATION_BACKGROUND_K",
    "PERMUTATION_MAX_BACKGROUND",
    "RECORDED_ONLY",
    "TABLE_BUDGET",
    "TABLE_MAX_FEATURES",
    "TOLERANCES",
    "TREE",
    "XGBOOST_NATIVE",
    "ExplainerChoice",
    "ExplanationInputError",
    "ExplanationUnavailable",
    "ShapChunk",
    "beeswarm_png",
    "choose_explainer",
    "explain_shap",
    "importance_bar_png",
    "lime_rows",
    "lime_shap_agreement",
    "merge_shap",
    "shap_chunk",
    "summarise_background",
    # Internals the tests of the Tree SHAP kernel call directly.
    "_ensemble_leaves",
    "_tree_shap",
]
