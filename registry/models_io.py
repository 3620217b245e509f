"""One prediction interface over every accepted model format, and the loader that builds it.

The evidence workers and the acceptance probe load models through load_predictor(), which checks
the artifact's SHA-256 and the data-only policy before anything reads the model. Framework
imports are deferred to the loader that needs them: a worker holding an ONNX graph never imports
XGBoost.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from registry.artifacts import (
    DEFAULT_MAX_UNPACKED_BYTES,
    ArtifactFormat,
    ArtifactRejected,
    StrPath,
    check_allowed,
    extract_archive,
    native_mlflow_flavor,
    read_mlmodel,
    sha256_file,
)
from registry.trusted_types import TRUSTED_TYPES, UnsafeModelContent, check_tree_structures


class FeatureMismatch(ValueError):
    """The rows handed to a model lack columns it was trained on (or have the wrong number)."""

    def __init__(self, message: str, *, missing: list[str] | None = None, extra: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []
        self.extra = extra or []


class Predictor(abc.ABC):
    """A loaded model: predict / predict_proba on a DataFrame of feature columns.

    ``feature_names`` is None when the model does not record them; then ``n_features`` (if
    known) is checked and the columns are used in the order given.
    """

    kind: str = "unknown"

    def __init__(
        self,
        *,
        model_class: str,
        classes: list[Any] | None = None,
        feature_names: list[str] | None = None,
        n_features: int | None = None,
        framework_version: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.model_class = model_class
        self.classes = classes
        self.feature_names = feature_names
        self.n_features = len(feature_names) if feature_names else n_features
        self.framework_version = framework_version
        self.flavor: str | None = None
        self.details: dict[str, Any] = details or {}

    @abc.abstractmethod
    def predict(self, X: pd.DataFrame) -> np.ndarray: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities, one column per entry of ``classes``; None when unsupported."""
        return None

    @property
    def has_predict_proba(self) -> bool:
        return False

    def align(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's columns in the model's order; raise FeatureMismatch naming what is missing."""
        if self.feature_names:
            missing = [name for name in self.feature_names if name not in X.columns]
            if missing:
                extra = [str(name) for name in X.columns if name not in self.feature_names]
                raise FeatureMismatch(_mismatch_message(missing, extra), missing=missing, extra=extra)
            return X[self.feature_names]
        if self.n_features is not None and X.shape[1] != self.n_features:
            raise FeatureMismatch(f"the model takes {self.n_features} features; the data has {X.shape[1]} columns")
        return X

    def describe(self) -> dict[str, Any]:
        return {
            "framework": self.kind,
            "framework_version": self.framework_version,
            "flavor": self.flavor,
            "model_class": self.model_class,
            "n_features": self.n_features,
            "feature_names": self.feature_names,
            "classes": self.classes,
            "has_predict_proba": self.has_predict_proba,
            "details": self.details,
        }


def _mismatch_message(missing: list[str], extra: list[str]) -> str:
    message = f"missing columns the model was trained on: {', '.join(map(str, missing))}"
    return f"{message}; columns the model does not know: {', '.join(extra)}" if extra else message


def _plain_list(values: Any) -> list[Any] | None:
    return None if values is None else np.asarray(values).tolist()


def _public_name(cls: type) -> str:
    """The shortest importable path: sklearn.ensemble.RandomForestClassifier, not ..._forest."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = ".".join(parts[:end])
        if getattr(sys.modules.get(module), cls.__qualname__, None) is cls:
            return f"{module}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------------------------------
# scikit-learn API models (skops files; XGBoost/LightGBM sklearn wrappers; allowed pickles).


def _single_threaded(model: Any) -> Any:
    """Evidence must be the same numbers every time: a forest predicting on several threads sums
    its trees' probabilities in whatever order the threads finish, which moves the last bits. The
    workers scale out by processes and chunks instead."""
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    jobs = {name: None for name, value in params.items() if name.split("__")[-1] == "n_jobs" and value not in (None, 1)}
    if jobs:
        model.set_params(**jobs)
    return model


class SklearnPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        names = getattr(model, "feature_names_in_", None)
        super().__init__(
            model_class=_public_name(type(model)),
            classes=_plain_list(getattr(model, "classes_", None)),
            feature_names=[str(name) for name in names] if names is not None else None,
            n_features=_int_or_none(getattr(model, "n_features_in_", None)),
            framework_version=getattr(model, "_sklearn_version", None),
        )
        self.kind = type(model).__module__.split(".")[0]
        self.model = _single_threaded(model)

    @property
    def has_predict_proba(self) -> bool:
        return hasattr(self.model, "predict_proba")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self._input(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not self.has_predict_proba:
            return None
        return np.asarray(self.model.predict_proba(self._input(X)))

    def _input(self, X: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        aligned = self.align(X)
        # A model fitted on an array warns when given named columns.
        return aligned if self.feature_names else aligned.to_numpy()


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | np.integer) else None


# ---------------------------------------------------------------------------------------------
# XGBoost native boosters.

_XGB_BINARY_PROBABILITY = {"binary:logistic", "binary:logitraw"}
_XGB_MULTICLASS = {"multi:softprob", "multi:softmax"}


class XGBoostPredictor(Predictor):
    kind = "xgboost"

    def __init__(self, booster: Any) -> None:
        config = json.loads(booster.save_config())
        self.objective = config["learner"]["objective"]["name"]
        n_classes = int(config["learner"]["learner_model_param"].get("num_class", "0"))
        super().__init__(
            model_class="xgboost.Booster",
            classes=_xgb_classes(self.objective, n_classes),
            feature_names=list(booster.feature_names) if booster.feature_names else None,
            n_features=booster.num_features(),
            framework_version=".".join(map(str, config.get("version", []))) or None,
            details={"objective": self.objective},
        )
        self.booster = booster
        best = booster.attr("best_iteration")
        # Like the sklearn wrapper: a model trained with early stopping predicts with its best round.
        self._rounds = (0, int(best) + 1) if best is not None else (0, 0)

    @property
    def has_predict_proba(self) -> bool:
        return self.objective in _XGB_BINARY_PROBABILITY | _XGB_MULTICLASS

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        probabilities = self.predict_proba(X)
        if probabilities is not None:
            return np.asarray(self.classes)[np.argmax(probabilities, axis=1)]
        values = self._raw(X, margin=False)
        return values.astype(np.int64) if self.objective == "binary:hinge" else values

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not self.has_predict_proba:
            return None
        if self.objective == "binary:logistic":
            positive = self._raw(X, margin=False)
            return np.column_stack([1 - positive, positive])
        margins = self._raw(X, margin=True)
        if self.objective == "binary:logitraw":
            positive = 1 / (1 + np.exp(-margins))
            return np.column_stack([1 - positive, positive])
        margins = margins.reshape(len(X), -1)
        exp = np.exp(margins - margins.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def _raw(self, X: pd.DataFrame, *, margin: bool) -> np.ndarray:
        import xgboost  # loaded already: the booster came from it

        aligned = self.align(X)
        data = xgboost.DMatrix(aligned if self.feature_names else aligned.to_numpy(dtype=np.float32))
        return np.asarray(self.booster.predict(data, output_margin=margin, iteration_range=self._rounds))


def _xgb_classes(objective: str, n_classes: int) -> list[int] | None:
    if objective.startswith("binary:"):
        return [0, 1]
    if objective in _XGB_MULTICLASS:
        return list(range(n_classes))
    return None


# ---------------------------------------------------------------------------------------------
# LightGBM native boosters.


class LightGBMPredictor(Predictor):
    kind = "lightgbm"

    def __init__(self, booster: Any) -> None:
        # The header only: with num_iteration=1 the dump skips all trees but the first.
        header = booster.dump_model(num_iteration=1)
        self.objective = str(header.get("objective", "")).split(" ")[0]
        names = header.get("feature_names") or []
        recorded = names if names != [f"Column_{i}" for i in range(len(names))] else None
        super().__init__(
            model_class="lightgbm.Booster",
            classes=_lgb_classes(self.objective, int(header.get("num_class", 1))),
            feature_names=recorded,
            n_features=booster.num_feature(),
            framework_version=header.get("version"),
            details={"objective": header.get("objective")},
        )
        self.booster = booster

    @property
    def has_predict_proba(self) -> bool:
        return self.classes is not None

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        probabilities = self.predict_proba(X)
        if probabilities is not None:
            return np.asarray(self.classes)[np.argmax(probabilities, axis=1)]
        return self._raw(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not self.has_predict_proba:
            return None
        values = self._raw(X)
        if values.ndim == 1:
            return np.column_stack([1 - values, values])
        return values

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        aligned = self.align(X)
        return np.asarray(self.booster.predict(aligned if self.feature_names else aligned.to_numpy()))


def _lgb_classes(objective: str, n_classes: int) -> list[int] | None:
    if objective == "binary":
        return [0, 1]
    if objective in {"multiclass", "multiclassova", "softmax", "ova", "multiclass_ova", "ovr"}:
        return list(range(n_classes))
    return None


# ---------------------------------------------------------------------------------------------
# ONNX graphs, run by onnxruntime on the CPU.

_ONNX_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}


class OnnxPredictor(Predictor):
    """skl2onnx's conventions: one [N, k] tensor or one [N, 1] input per column; outputs
    (label, probabilities) for classifiers, where probabilities is a tensor or ZipMap dicts."""

    kind = "onnx"

    def __init__(self, session: Any, model: Any) -> None:
        inputs, outputs = session.get_inputs(), session.get_outputs()
        for item in inputs:
            if item.type not in _ONNX_DTYPES:
                raise ArtifactRejected("load_failed", f"The ONNX input {item.name!r} has unsupported type {item.type}.")
        self._matrix_input = len(inputs) == 1 and len(inputs[0].shape) == 2
        width = inputs[0].shape[1] if self._matrix_input else None
        self._proba_output = outputs[1].name if len(outputs) > 1 and _is_probability(outputs[1]) else None
        opsets = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
        super().__init__(
            model_class=model.graph.name or "onnx.ModelProto",
            classes=_onnx_classes(model),
            feature_names=None if self._matrix_input else [item.name for item in inputs],
            n_features=width if isinstance(width, int) else None,
            framework_version=f"opset {opsets['ai.onnx']}" if "ai.onnx" in opsets else None,
            details={"producer": f"{model.producer_name} {model.producer_version}".strip(), "opsets": opsets},
        )
        self.session, self._inputs, self._label_output = session, inputs, outputs[0].name

    @property
    def has_predict_proba(self) -> bool:
        return self._proba_output is not None

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        values = np.asarray(self.session.run([self._label_output], self._feeds(X))[0])
        return values.ravel() if values.ndim == 2 and values.shape[1] == 1 else values

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if self._proba_output is None:
            return None
        values = self.session.run([self._proba_output], self._feeds(X))[0]
        if isinstance(values, list):  # ZipMap: one {class: probability} dict per row
            classes = self.classes if self.classes is not None else list(values[0]) if values else []
            return np.array([[row[label] for label in classes] for row in values], dtype=np.float64)
        return np.asarray(values)

    def _feeds(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        aligned = self.align(X)
        if self._matrix_input:
            return {self._inputs[0].name: _onnx_array(aligned, self._inputs[0].type)}
        return {
            item.name: _onnx_array(aligned[[item.name]], item.type).reshape(-1, *([1] if len(item.shape) == 2 else []))
            for item in self._inputs
        }


def _onnx_array(frame: pd.DataFrame, onnx_type: str) -> np.ndarray:
    dtype = _ONNX_DTYPES[onnx_type]
    if dtype is object:
        return frame.astype(str).to_numpy(dtype=object)
    return frame.to_numpy(dtype=dtype)


def _is_probability(output: Any) -> bool:
    return output.type.startswith("seq(map(") or (output.type in _ONNX_DTYPES and len(output.shape) == 2)


def _onnx_classes(model: Any) -> list[Any] | None:
    # Classifier and ZipMap nodes carry the class labels as attributes.
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in {"classlabels_int64s", "classlabels_ints"} and attribute.ints:
                return list(attribute.ints)
            if attribute.name == "classlabels_strings" and attribute.strings:
                return [label.decode() for label in attribute.strings]
    return None


# ---------------------------------------------------------------------------------------------
# MLflow pyfunc (only for flavors that unpickle, so only when the deployment allows pickles).


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


# ---------------------------------------------------------------------------------------------
# Vendor models without an artifact: the predictions recorded in a dataset.


class RecordedPredictions(Predictor):
    """Predictions (and optionally probabilities) recorded per row, looked up by the rows' index.

    ``probabilities`` is a DataFrame with one column per class, or a Series holding the positive
    class's probability for a binary model (classes then default to the two sorted labels).
    """

    kind = "recorded"

    def __init__(
        self,
        predictions: pd.Series,
        probabilities: pd.Series | pd.DataFrame | None = None,
        *,
        classes: list[Any] | None = None,
    ) -> None:
        if isinstance(probabilities, pd.DataFrame) and classes is None:
            classes = list(probabilities.columns)
        elif probabilities is not None and classes is None:
            labels = sorted(pd.unique(predictions.dropna()).tolist())
            classes = labels if len(labels) == 2 else None
        super().__init__(model_class="recorded predictions", classes=classes)
        self.predictions = predictions
        self.probabilities = probabilities

    @property
    def has_predict_proba(self) -> bool:
        return self.probabilities is not None

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self._rows(self.predictions, X.index).to_numpy()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if self.probabilities is None:
            return None
        values = self._rows(self.probabilities, X.index).to_numpy(dtype=np.float64)
        return values if values.ndim == 2 else np.column_stack([1 - values, values])

    @staticmethod
    def _rows(recorded: pd.Series | pd.DataFrame, index: pd.Index) -> Any:
        unknown = index.difference(recorded.index)
        if len(unknown):
            raise FeatureMismatch(f"no recorded prediction for {len(unknown)} rows, e.g. index {unknown[0]!r}")
        return recorded.loc[index]


# ---------------------------------------------------------------------------------------------
# Loading.


def load_predictor(path: StrPath, fmt: ArtifactFormat, *, expected_sha256: str, allow_pickle: bool) -> Predictor:
    """Load an accepted artifact; the file must still have the digest it was accepted with."""
    actual = sha256_file(path)
    if actual != expected_sha256.lower():
        raise ArtifactRejected(
            "digest_mismatch",
            f"The artifact's SHA-256 is {actual}, not the recorded {expected_sha256}: the stored file changed. "
            "It is not loaded; upload the model again.",
        )
    check_allowed(fmt, path, allow_pickle=allow_pickle)
    try:
        return _LOADERS[fmt](Path(path), allow_pickle)
    except (ArtifactRejected, MemoryError):
        raise
    except UnsafeModelContent as exc:
        raise ArtifactRejected("malformed", f"The model's content is unsafe to run: {exc}.") from exc
    except Exception as exc:  # any loader failure means the artifact does not load
        raise ArtifactRejected(
            "load_failed", f"The {fmt.value} artifact does not load: {type(exc).__name__}: {exc}"
        ) from exc


def _load_skops(path: Path, allow_pickle: bool = False) -> Predictor:
    import skops.io  # deferred: pulls in scikit-learn

    model = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    check_tree_structures(model)
    predictor = SklearnPredictor(model)
    predictor.framework_version = predictor.framework_version or _skops_sklearn_version(path)
    return predictor


def _skops_sklearn_version(path: Path) -> str | None:
    # scikit-learn drops _sklearn_version when it restores an estimator; the schema still has it.
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    attributes = schema.get("content", {}).get("content", {}) if isinstance(schema.get("content"), dict) else {}
    entry = attributes.get("_sklearn_version") if isinstance(attributes, dict) else None
    value = json.loads(entry["content"]) if isinstance(entry, dict) and isinstance(entry.get("content"), str) else None
    return value if isinstance(value, str) else None


def _load_xgboost(path: Path, allow_pickle: bool = False) -> Predictor:
    import xgboost  # deferred: only XGBoost models need it

    # From a buffer XGBoost tells JSON from UBJSON by content; from a file it guesses by extension.
    return XGBoostPredictor(xgboost.Booster(model_file=bytearray(path.read_bytes())))


def _load_lightgbm(path: Path, allow_pickle: bool = False) -> Predictor:
    import lightgbm  # deferred: only LightGBM models need it

    return LightGBMPredictor(lightgbm.Booster(model_file=str(path)))


def _load_onnx(path: Path, allow_pickle: bool = False) -> Predictor:
    import onnx  # deferred: only ONNX models need it
    import onnxruntime

    model = onnx.load_model(str(path), load_external_data=False)
    # Only the CPU provider: no GPU libraries, no custom-op libraries named by the model.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return OnnxPredictor(session, model)


def _load_pickle(path: Path, allow_pickle: bool) -> Predictor:
    if not allow_pickle:
        raise ArtifactRejected("pickle_not_allowed", "Pickle artifacts are not allowed in this deployment.")
    import joblib  # reads plain pickles, cloudpickles and joblib's compressed files

    return _wrap(joblib.load(path))


def _wrap(model: Any) -> Predictor:
    xgboost, lightgbm = sys.modules.get("xgboost"), sys.modules.get("lightgbm")
    if xgboost is not None and isinstance(model, xgboost.Booster):
        return XGBoostPredictor(model)
    if lightgbm is not None and isinstance(model, lightgbm.Booster):
        return LightGBMPredictor(model)
    if callable(getattr(model, "predict", None)):
        return SklearnPredictor(model)
    raise ArtifactRejected(
        "load_failed", f"The artifact holds a {_public_name(type(model))}, not a model with predict()."
    )


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
        folder = extract_archive(path, workdir.name, max_unpacked_bytes=DEFAULT_MAX_UNPACKED_BYTES)
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


_LOADERS: dict[ArtifactFormat, Callable[[Path, bool], Predictor]] = {
    ArtifactFormat.SKOPS: _load_skops,
    ArtifactFormat.XGBOOST: _load_xgboost,
    ArtifactFormat.LIGHTGBM: _load_lightgbm,
    ArtifactFormat.ONNX: _load_onnx,
    ArtifactFormat.MLFLOW: _load_mlflow,
    ArtifactFormat.PICKLE: _load_pickle,
}
