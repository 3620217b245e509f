"""The types a skops artifact may contain, and the content checks that make trusting them safe.

skops rebuilds objects from a JSON schema instead of running pickle code, but it still has to
import and instantiate every type the schema names. This list decides which ones: it lives here,
reviewed, and is never taken from the artifact (an MLmodel file's ``skops_trusted_types`` is
ignored). skops' own defaults are wider (every scikit-learn estimator, every numpy ufunc), so an
artifact is checked against this list type by type, not just against what skops would refuse.

Adding a type: it must hold plain data, rebuild through skops' data-only nodes, and predict
without calling anything named by the file. Add a test that saves and reloads it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# Containers and scalars every skops schema is built from; XGBoost keeps its booster as bytes,
# LightGBM its parameters in an OrderedDict.
_PYTHON = (
    "builtins.bool",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.set",
    "builtins.slice",
    "builtins.str",
    "builtins.tuple",
    "collections.OrderedDict",
    "collections.defaultdict",
)

# HistGradientBoosting with categorical features stores partial(check_array, ...) as its input
# validation; partial only binds arguments to a function that must itself be listed here.
_FUNCTIONS = (
    "functools.partial",
    "sklearn.utils.validation.check_array",
    # Element-wise transforms people hand to FunctionTransformer and TransformedTargetRegressor.
    "numpy.exp",
    "numpy.expm1",
    "numpy.log",
    "numpy.log1p",
    "numpy.sqrt",
    "numpy.square",
)

# Arrays, their dtypes and scalar types (fitted attributes, dtype= parameters), random states
# (random_state= of fitted estimators).
_NUMPY = (
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.bool",
    "numpy.int8",
    "numpy.int16",
    "numpy.int32",
    "numpy.int64",
    "numpy.uint8",
    "numpy.uint16",
    "numpy.uint32",
    "numpy.uint64",
    "numpy.float16",
    "numpy.float32",
    "numpy.float64",
    "numpy.str_",
    "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator",
)

# Sparse matrices some estimators keep as fitted attributes (e.g. a sparsified coef_).
_SCIPY = (
    "scipy.sparse._csr.csr_matrix",
    "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._csr.csr_array",
    "scipy.sparse._csc.csc_array",
)

# Decision trees and the forests and gradient boosting built from them. Tree holds raw node
# indices that scikit-learn follows without bounds checks, which is why skops does not trust it
# by default: check_tree_structures() below validates them after every load.
_SKLEARN_TREES = (
    "sklearn.tree._tree.Tree",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._gb.GradientBoostingClassifier",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    # GradientBoosting's init_ estimator.
    "sklearn.dummy.DummyClassifier",
    "sklearn.dummy.DummyRegressor",
)

# HistGradientBoosting: its predictors (node arrays, checked like Tree) and the binning it
# applies to the input.
_SKLEARN_HIST_GRADIENT_BOOSTING = (
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
)

# Loss and link objects fitted gradient boosting and GLMs keep (they turn raw scores into
# predictions), with the Cython halves that skops rebuilds from plain parameters.
_SKLEARN_LOSSES = (
    "sklearn._loss.link.HalfLogitLink",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.ExponentialLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfGammaLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HalfTweedieLoss",
    "sklearn._loss.loss.HalfTweedieLossIdentity",
    "sklearn._loss.loss.HuberLoss",
    "sklearn._loss.loss.PinballLoss",
    "sklearn._loss._loss.CyAbsoluteError",
    "sklearn._loss._loss.CyExponentialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfGammaLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfPoissonLoss",
    "sklearn._loss._loss.CyHalfSquaredError",
    "sklearn._loss._loss.CyHalfTweedieLoss",
    "sklearn._loss._loss.CyHalfTweedieLossIdentity",
    "sklearn._loss._loss.CyHuberLoss",
    "sklearn._loss._loss.CyPinballLoss",
)

# Linear models: coefficients and intercepts only.
_SKLEARN_LINEAR = (
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._glm.glm.GammaRegressor",
    "sklearn.linear_model._glm.glm.PoissonRegressor",
    "sklearn.linear_model._glm.glm.TweedieRegressor",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._logistic.LogisticRegressionCV",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._ridge.RidgeCV",
    "sklearn.linear_model._ridge.RidgeClassifier",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier",
    "sklearn.linear_model._stochastic_gradient.SGDRegressor",
)

# Preprocessing and the pipelines that chain it to a model.
_SKLEARN_PREPROCESSING = (
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.compose._target.TransformedTargetRegressor",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._discretization.KBinsDiscretizer",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.preprocessing._polynomial.PolynomialFeatures",
)

# Probability calibration around any of the models above.
_SKLEARN_CALIBRATION = (
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.isotonic.IsotonicRegression",
)

# The scikit-learn wrappers of XGBoost and LightGBM: skops stores their boosters as the
# libraries' own model bytes/text, which load through the same native parsers as model files.
_BOOSTING_WRAPPERS = (
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
)

TRUSTED_TYPES: tuple[str, ...] = (
    _PYTHON
    + _FUNCTIONS
    + _NUMPY
    + _SCIPY
    + _SKLEARN_TREES
    + _SKLEARN_HIST_GRADIENT_BOOSTING
    + _SKLEARN_LOSSES
    + _SKLEARN_LINEAR
    + _SKLEARN_PREPROCESSING
    + _SKLEARN_CALIBRATION
    + _BOOSTING_WRAPPERS
)

TRUSTED_GROUPS: dict[str, tuple[str, ...]] = {
    "python": _PYTHON,
    "functions": _FUNCTIONS,
    "numpy": _NUMPY,
    "scipy": _SCIPY,
    "sklearn_trees": _SKLEARN_TREES,
    "sklearn_hist_gradient_boosting": _SKLEARN_HIST_GRADIENT_BOOSTING,
    "sklearn_losses": _SKLEARN_LOSSES,
    "sklearn_linear": _SKLEARN_LINEAR,
    "sklearn_preprocessing": _SKLEARN_PREPROCESSING,
    "sklearn_calibration": _SKLEARN_CALIBRATION,
    "boosting_wrappers": _BOOSTING_WRAPPERS,
}

SkopsSource = str | Path | bytes


def untrusted_skops_types(source: SkopsSource) -> list[str]:
    """Every type the skops file needs that is not in TRUSTED_TYPES, sorted.

    Two views are combined: every type the schema names (so skops' wider defaults cannot
    widen our list), and what skops itself reports (types a loader implies without naming).
    """
    import skops.io  # deferred: pulls in scikit-learn

    trusted = set(TRUSTED_TYPES)
    named = _schema_type_names(source)
    if isinstance(source, bytes):
        reported = skops.io.get_untrusted_types(data=source)
    else:
        reported = skops.io.get_untrusted_types(file=source)
    return sorted((named | set(reported)) - trusted)


def _schema_type_names(source: SkopsSource) -> set[str]:
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    with zipfile.ZipFile(handle) as archive:
        schema = json.loads(archive.read("schema.json"))
    return set(_iter_type_names(schema))


def _iter_type_names(state: Any) -> Iterator[str]:
    # Iterative: a crafted schema can nest deeper than Python's recursion limit.
    pending = [state]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                yield f"{node['__module__']}.{node['__class__']}"
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


class UnsafeModelContent(ValueError):
    """A trusted type whose content would make scikit-learn read or write out of bounds."""


def check_tree_structures(model: object) -> None:
    """Validate the node arrays of every tree in a loaded model before anything predicts with it.

    scikit-learn follows Tree and TreePredictor node indices without bounds checks, so a file
    with an out-of-range child or feature index crashes (or reads arbitrary memory in) the
    process that predicts. Children must come after their parent (no cycles) and inside the
    array; split features must exist in the estimator's input.
    """
    from sklearn.tree._tree import Tree  # deferred: only needed once a skops model is loaded

    for owner in _reachable(model):
        tree = getattr(owner, "tree_", None)
        if isinstance(tree, Tree):
            _check_tree(tree, _n_features(owner))
        if hasattr(owner, "_predictors") and hasattr(owner, "_bin_mapper"):
            _check_hist_gradient_boosting(owner)
        _check_ensemble_members(owner)


def _reachable(root: object, limit: int = 1_000_000) -> Iterator[object]:
    seen: set[int] = set()
    pending = [root]
    while pending and len(seen) < limit:
        obj = pending.pop()
        if id(obj) in seen or isinstance(obj, str | bytes | bytearray | int | float | type(None)):
            continue
        seen.add(id(obj))
        yield obj
        pending.extend(_children(obj))


def _children(obj: object) -> list[object]:
    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, list | tuple | set):
        return list(obj)
    if isinstance(obj, np.ndarray):
        return list(obj.ravel()) if obj.dtype == object else []
    return list(vars(obj).values()) if hasattr(obj, "__dict__") else []


def _n_features(estimator: object) -> int:
    n_features = getattr(estimator, "n_features_in_", None)
    if not isinstance(n_features, int | np.integer) or n_features < 1:
        raise UnsafeModelContent(f"{type(estimator).__name__} does not record how many features it takes")
    return int(n_features)


def _check_tree(tree: Any, n_features: int) -> None:
    if tree.n_features != n_features:
        raise UnsafeModelContent(f"a tree expects {tree.n_features} features but its estimator takes {n_features}")
    _check_nodes(tree.children_left, tree.children_right, tree.children_left == -1, tree.feature, n_features)
    if np.any((tree.children_right == -1) != (tree.children_left == -1)):
        raise UnsafeModelContent("a tree node has one child only")


def _check_nodes(left: np.ndarray, right: np.ndarray, leaf: np.ndarray, feature: np.ndarray, n_features: int) -> None:
    count = len(left)
    index = np.arange(count)
    inner = ~np.asarray(leaf, dtype=bool)
    for name, child in (("left", left), ("right", right)):
        child = np.asarray(child, dtype=np.int64)[inner]
        if np.any(child <= index[inner]) or np.any(child >= count):
            raise UnsafeModelContent(f"a tree node's {name} child points outside the tree ({count} nodes) or backwards")
    split = np.asarray(feature, dtype=np.int64)[inner]
    if np.any(split < 0) or np.any(split >= n_features):
        raise UnsafeModelContent(f"a tree splits on a feature outside the model's {n_features} features")


def _check_hist_gradient_boosting(estimator: Any) -> None:
    n_features = _n_features(estimator)
    is_categorical = getattr(estimator._bin_mapper, "is_categorical_", None)
    for predictor in (p for row in estimator._predictors for p in row):
        nodes = predictor.nodes
        leaf = nodes["is_leaf"] != 0
        _check_nodes(nodes["left"], nodes["right"], leaf, nodes["feature_idx"], n_features)
        categorical = (nodes["is_categorical"] != 0) & ~leaf
        if not np.any(categorical):
            continue
        if is_categorical is None or len(is_categorical) != n_features:
            raise UnsafeModelContent("categorical splits without a categorical feature map")
        if np.any(nodes["bitset_idx"][categorical] >= len(predictor.raw_left_cat_bitsets)):
            raise UnsafeModelContent("a categorical split points outside the model's category sets")
        _check_category_codes(estimator._bin_mapper)


def _check_category_codes(bin_mapper: Any) -> None:
    # Known categories are written into fixed 256-bit sets by raw value.
    for feature, categorical in enumerate(bin_mapper.is_categorical_):
        codes = np.asarray(bin_mapper.bin_thresholds_[feature]) if categorical else np.zeros(0)
        if np.any(codes < 0) or np.any(codes > 255) or np.any(codes != np.floor(codes)):
            raise UnsafeModelContent("a categorical feature records category codes outside 0..255")


def _check_ensemble_members(owner: object) -> None:
    # Forests and gradient boosting validate the input once and hand it to their trees unchecked.
    members = getattr(owner, "estimators_", None)
    if members is None or not hasattr(owner, "n_features_in_"):
        return
    members = np.asarray(members, dtype=object).ravel() if isinstance(members, np.ndarray) else members
    expected = _n_features(owner)
    for member in members if isinstance(members, list | tuple | np.ndarray) else ():
        if hasattr(member, "tree_") and _n_features(member) != expected:
            raise UnsafeModelContent(
                f"an ensemble member takes {_n_features(member)} features, the ensemble {expected}"
            )
