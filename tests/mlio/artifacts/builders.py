"""Real models, trained on small synthetic data and saved in every accepted (and refused) format.

Each builder returns the saved file with what the in-memory model predicted on held-out rows, so
tests can compare what load_predictor() gives back against the original.
"""

from __future__ import annotations

import dataclasses
import pickle
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlio.artifacts import ArtifactFormat

FEATURES = ["f0", "f1", "f2", "f3"]


@dataclasses.dataclass(frozen=True)
class Built:
    path: Path
    fmt: ArtifactFormat
    rows: pd.DataFrame  # held-out rows, feature columns only
    predictions: np.ndarray  # what the in-memory model predicted on them
    probabilities: np.ndarray | None
    model: object = None


def classification(n_classes: int = 2, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    X, y = make_classification(
        n_samples=240, n_features=4, n_informative=3, n_redundant=0, n_classes=n_classes, random_state=seed
    )
    return pd.DataFrame(X, columns=FEATURES), pd.Series(y, name="label")


def mixed() -> tuple[pd.DataFrame, pd.Series]:
    """Numeric columns with gaps and a text column, for a pipeline with a ColumnTransformer."""
    X, y = classification(seed=1)
    rng = np.random.default_rng(1)
    X["region"] = rng.choice(["north", "south", "east"], len(X))
    X.loc[rng.choice(len(X), 20, replace=False), "f1"] = np.nan
    y = ((y == 1) | (X["region"] == "east")).astype(int)
    return X, y


def _fitted(model, X: pd.DataFrame, y: pd.Series, path: Path, fmt: ArtifactFormat, *, numpy: bool = False) -> Built:
    train, rows = X.iloc[:200], X.iloc[200:]
    model.fit(train.to_numpy() if numpy else train, y.iloc[:200])
    held_out = rows.to_numpy() if numpy else rows
    probabilities = model.predict_proba(held_out) if hasattr(model, "predict_proba") else None
    return Built(path, fmt, rows, np.asarray(model.predict(held_out)), probabilities, model)


def _skops(model, X, y, path: Path, **kwargs) -> Built:
    built = _fitted(model, X, y, path, ArtifactFormat.SKOPS, **kwargs)
    skops.io.dump(built.model, path)
    return built


def random_forest(path: Path) -> Built:
    return _skops(RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0), *classification(), path)


def gradient_boosting(path: Path) -> Built:
    model = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0)
    return _skops(model, *classification(n_classes=3), path)


def hist_gradient_boosting(path: Path) -> Built:
    return _skops(HistGradientBoostingClassifier(max_iter=5, random_state=0), *classification(), path)


def logistic_regression(path: Path) -> Built:
    return _skops(LogisticRegression(max_iter=200), *classification(), path, numpy=True)


def pipeline(path: Path) -> Built:
    return _skops(_pipeline(), *mixed(), path)


def _pipeline() -> Pipeline:
    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    columns = ColumnTransformer(
        [("numeric", numeric, FEATURES), ("region", OneHotEncoder(handle_unknown="ignore"), ["region"])]
    )
    return Pipeline([("columns", columns), ("model", LogisticRegression(max_iter=200))])


def _xgboost(path: Path, n_classes: int) -> Built:
    import xgboost

    model = xgboost.XGBClassifier(n_estimators=4, max_depth=3, n_jobs=1)
    built = _fitted(model, *classification(n_classes), path, ArtifactFormat.XGBOOST)
    built.model.save_model(path)
    return built


def xgboost_json(path: Path) -> Built:
    return _xgboost(path.with_suffix(".json"), 2)


def xgboost_ubjson(path: Path) -> Built:
    return _xgboost(path.with_suffix(".ubj"), 2)


def xgboost_multiclass(path: Path) -> Built:
    return _xgboost(path.with_suffix(".ubj"), 3)


def _lightgbm(path: Path, n_classes: int) -> Built:
    import lightgbm

    model = lightgbm.LGBMClassifier(n_estimators=4, num_leaves=7, min_child_samples=5, n_jobs=1, verbose=-1)
    built = _fitted(model, *classification(n_classes), path, ArtifactFormat.LIGHTGBM)
    built.model.booster_.save_model(path)
    return built


def lightgbm_binary(path: Path) -> Built:
    return _lightgbm(path, 2)


def lightgbm_multiclass(path: Path) -> Built:
    return _lightgbm(path, 3)


def onnx_forest(path: Path) -> Built:
    """skl2onnx defaults: one float matrix input, probabilities as ZipMap dicts."""
    from skl2onnx import to_onnx

    model = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
    built = _fitted(model, *classification(n_classes=3), path, ArtifactFormat.ONNX, numpy=True)
    graph = to_onnx(built.model, built.rows.to_numpy(np.float32)[:1])
    path.write_bytes(graph.SerializeToString())
    return built


def onnx_pipeline(path: Path) -> Built:
    """One input per column (a string column among them), probabilities as a plain tensor."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    built = _fitted(_pipeline(), *mixed(), path, ArtifactFormat.ONNX)
    inputs = [(name, FloatTensorType([None, 1])) for name in FEATURES] + [("region", StringTensorType([None, 1]))]
    graph = to_onnx(built.model, initial_types=inputs, options={LogisticRegression: {"zipmap": False}})
    path.write_bytes(graph.SerializeToString())
    return built


def pickled(path: Path) -> Built:
    built = _fitted(RandomForestClassifier(n_estimators=5), *classification(), path, ArtifactFormat.PICKLE)
    path.write_bytes(pickle.dumps(built.model, protocol=pickle.HIGHEST_PROTOCOL))
    return built


def joblib_compressed(path: Path) -> Built:
    built = _fitted(RandomForestClassifier(n_estimators=5), *classification(), path, ArtifactFormat.PICKLE)
    joblib.dump(built.model, path, compress=("zlib", 3))
    return built


def _mlflow_zip(folder: Path, path: Path, *, top: str | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            name = file.relative_to(folder).as_posix()
            archive.write(file, f"{top}/{name}" if top else name)
    shutil.rmtree(folder)


def mlflow_skops(path: Path) -> Built:
    import mlflow.sklearn

    model = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
    built = _fitted(model, *classification(), path, ArtifactFormat.MLFLOW)
    folder = path.with_suffix(".dir")
    # MLflow refuses to save a forest in skops without trusting Tree; we ignore this list on load.
    mlflow.sklearn.save_model(
        built.model,
        folder,
        serialization_format="skops",
        skops_trusted_types=["sklearn.tree._tree.Tree"],
        pip_requirements=["scikit-learn"],
    )
    _mlflow_zip(folder, path, top="model")
    return built


def mlflow_cloudpickle(path: Path) -> Built:
    import mlflow.sklearn

    built = _fitted(LogisticRegression(max_iter=200), *classification(), path, ArtifactFormat.MLFLOW)
    folder = path.with_suffix(".dir")
    mlflow.sklearn.save_model(
        built.model, folder, serialization_format="cloudpickle", pip_requirements=["scikit-learn"]
    )
    _mlflow_zip(folder, path)
    # MLflow's pyfunc interface has predict only.
    return dataclasses.replace(built, probabilities=None)


def mlflow_xgboost(path: Path) -> Built:
    import mlflow.xgboost
    import xgboost

    model = xgboost.XGBClassifier(n_estimators=4, max_depth=3, n_jobs=1)
    built = _fitted(model, *classification(), path, ArtifactFormat.MLFLOW)
    folder = path.with_suffix(".dir")
    mlflow.xgboost.save_model(built.model, folder, pip_requirements=["xgboost"])
    _mlflow_zip(folder, path)
    return built


BUILDERS: dict[str, Callable[[Path], Built]] = {
    "random_forest": random_forest,
    "gradient_boosting": gradient_boosting,
    "hist_gradient_boosting": hist_gradient_boosting,
    "logistic_regression": logistic_regression,
    "pipeline": pipeline,
    "xgboost_json": xgboost_json,
    "xgboost_ubjson": xgboost_ubjson,
    "xgboost_multiclass": xgboost_multiclass,
    "lightgbm_binary": lightgbm_binary,
    "lightgbm_multiclass": lightgbm_multiclass,
    "onnx_forest": onnx_forest,
    "onnx_pipeline": onnx_pipeline,
    "pickle": pickled,
    "joblib": joblib_compressed,
    "mlflow_skops": mlflow_skops,
    "mlflow_cloudpickle": mlflow_cloudpickle,
    "mlflow_xgboost": mlflow_xgboost,
}
PICKLES = {"pickle", "joblib", "mlflow_cloudpickle"}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
