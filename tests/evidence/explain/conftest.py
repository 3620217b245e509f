"""Small real models of every family the explainers handle, trained once per session on synthetic rows."""

import dataclasses
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import make_classification

from mlio.artifacts import ArtifactFormat, sha256_file
from mlio.predictors import Predictor, SklearnPredictor, load_predictor

FEATURES = ["f0", "f1", "f2", "f3", "f4"]


@dataclasses.dataclass(frozen=True)
class Data:
    X: pd.DataFrame  # training rows
    rows: pd.DataFrame  # rows to explain, indexed 1000.. so labels differ from positions
    y: pd.Series  # binary
    y3: pd.Series  # three classes
    y_value: pd.Series  # regression target


@pytest.fixture(scope="session")
def data() -> Data:
    X, y3 = make_classification(
        n_samples=300, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=3
    )
    frame = pd.DataFrame(X, columns=FEATURES)
    y_value = frame["f0"] * 2 - frame["f1"] + frame["f2"] * frame["f3"]
    train, rows = frame.iloc[:240], frame.iloc[240:].set_axis(range(1000, 1060))
    y3 = pd.Series(y3[:240])
    return Data(train, rows, (y3 == 1).astype(int), y3, y_value.iloc[:240])


@pytest.fixture(scope="session")
def load(tmp_path_factory) -> Callable[[Path, ArtifactFormat], Predictor]:
    """load_predictor as the evidence workers call it."""

    def loaded(path: Path, fmt: ArtifactFormat) -> Predictor:
        return load_predictor(path, fmt, expected_sha256=sha256_file(path), allow_pickle=False)

    return loaded


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("explain-models")


@pytest.fixture(scope="session")
def skops_predictor(folder, load) -> Callable[[object, str], Predictor]:
    def saved(model: object, name: str) -> Predictor:
        path = folder / f"{name}.skops"
        skops.io.dump(model, path)
        return load(path, ArtifactFormat.SKOPS)

    return saved


def fitted(model, X: pd.DataFrame, y: pd.Series) -> SklearnPredictor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small MLPs stop before they converge; irrelevant here
        return SklearnPredictor(model.fit(X, y))


def with_gaps(rows: pd.DataFrame, column: str = "f2", every: int = 4) -> pd.DataFrame:
    gappy = rows.copy()
    gappy.iloc[::every, gappy.columns.get_loc(column)] = np.nan
    return gappy


def additivity_error(chunk) -> float:
    return float(np.max(np.abs(chunk.base_values + chunk.values.sum(axis=1) - chunk.model_output)))
