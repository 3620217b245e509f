"""ONNX graphs, run by onnxruntime on the CPU, and their loader. Django-free; onnx and onnxruntime are
imported only by the loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlio.artifacts import ArtifactRejected

from .base import Predictor

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


def _load_onnx(path: Path, allow_pickle: bool = False) -> Predictor:
    import onnx  # deferred: only ONNX models need it
    import onnxruntime

    model = onnx.load_model(str(path), load_external_data=False)
    # Only the CPU provider: no GPU libraries, no custom-op libraries named by the model.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return OnnxPredictor(session, model)
