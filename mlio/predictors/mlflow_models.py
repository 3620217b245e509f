"""Zipped MLflow models: native flavors through their own loaders, pyfunc (only for flavors that
unpickle, so only when the deployment allows pickles). Django-free; MLflow is imported only for pyfunc."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlio.artifacts import (
    ArtifactFormat,
    extract_archive,
    native_mlflow_flavor,
    read_mlmodel,
)

from .base import Predictor
from .boosters import _load_lightgbm, _load_xgboost
from .onnx_graphs import _load_onnx
from .scikit_learn import _load_skops


class PyfuncPredictor(Predictor):
    kind = "mlflow.pyfunc"

    def __init__(self, model: Any, workdir: tempfile.TemporaryDirectory[str]) -> None:
        schema = model.metadata.get_input_schema()
        names = schema.input_names() if schema is not None and schema.has_input_names() else None
        super().__init__(
            model_class=str(model.metadata.flavors.get("python_function", {}).get("loader_module", "mlflow.pyfunc")),
            feature_names=[str(name) for name in names] if names else None,
        )
        self.model = model
        self._workdir = workdir  # the model may read its files lazily; removed with the predictor

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        values = np.asarray(self.model.predict(self.align(X)))
        return values.ravel() if values.ndim == 2 and values.shape[1] == 1 else values


_NATIVE_LOADERS: dict[ArtifactFormat, Callable[[Path], Predictor]] = {
    ArtifactFormat.SKOPS: _load_skops,
    ArtifactFormat.XGBOOST: _load_xgboost,
    ArtifactFormat.LIGHTGBM: _load_lightgbm,
    ArtifactFormat.ONNX: _load_onnx,
}
_FLAVOR_VERSION_KEYS = ("sklearn_version", "xgb_version", "lgb_version", "onnx_version")


def _load_mlflow(path: Path, allow_pickle: bool) -> Predictor:
    with zipfile.ZipFile(path) as archive:
        root, mlmodel = read_mlmodel(archive)
        native = native_mlflow_flavor(archive, root, mlmodel)
    workdir = tempfile.TemporaryDirectory(prefix="verity-mlflow-")
    try:
        # Accepted at registration under the cap: it may unpack to what it declares, and no more.
        folder = extract_archive(path, workdir.name, max_unpacked_bytes=None)
        if native is None:
            # check_allowed let an unpickling flavor through, so the deployment allows pickles.
            return _tag_mlflow(_load_pyfunc(folder / root, workdir, allow_pickle), "python_function", mlmodel)
        with workdir:
            return _tag_mlflow(_NATIVE_LOADERS[native.format](folder / native.member), native.name, mlmodel)
    except BaseException:
        workdir.cleanup()
        raise


def _tag_mlflow(predictor: Predictor, flavor: str, mlmodel: dict[str, Any]) -> Predictor:
    configs = [config for config in mlmodel["flavors"].values() if isinstance(config, dict)]
    versions = {key: str(config[key]) for config in configs for key in _FLAVOR_VERSION_KEYS if key in config}
    predictor.flavor = flavor
    predictor.framework_version = predictor.framework_version or next(iter(versions.values()), None)
    predictor.details["mlflow"] = {"flavor": flavor, "mlflow_version": mlmodel.get("mlflow_version"), **versions}
    return predictor


def _load_pyfunc(folder: Path, workdir: tempfile.TemporaryDirectory[str], allow_pickle: bool) -> Predictor:
    import mlflow.pyfunc  # deferred: MLflow is a heavy import

    with _mlflow_pickle_setting(allow_pickle):
        model = mlflow.pyfunc.load_model(str(folder))
    return PyfuncPredictor(model, workdir)


@contextlib.contextmanager
def _mlflow_pickle_setting(allow_pickle: bool) -> Iterator[None]:
    # MLflow's own switch; it must say what the deployment decided, whatever the environment says.
    name = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
    previous = os.environ.get(name)
    os.environ[name] = "true" if allow_pickle else "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
