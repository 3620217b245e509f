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
    (label, probabilities) for classifiers, where probabilities is a tensor or ZipMap dicts.

    The classes come from a classifier's or ZipMap's class labels or, for a graph without them (a neural
    network converted without a ZipMap), from the table its label is looked up in (_traced_classes)."""

    kind = "onnx"

    def __init__(self, session: Any, model: Any) -> None:
        inputs, outputs = session.get_inputs(), session.get_outputs()
        for item in inputs:
            if item.type not in _ONNX_DTYPES:
                raise ArtifactRejected("load_failed", f"The ONNX input {item.name!r} has unsupported type {item.type}.")
        self._matrix_input = len(inputs) == 1 and len(inputs[0].shape) == 2
        width = inputs[0].shape[1] if self._matrix_input else None
        probabilities = outputs[1] if len(outputs) > 1 and _is_probability(outputs[1]) else None
        self._proba_output = probabilities.name if probabilities is not None else None
        opsets = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
        super().__init__(
            model_class=model.graph.name or "onnx.ModelProto",
            classes=_onnx_classes(model) or _traced_classes(model, outputs[0], probabilities),
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


_PASS_THROUGH = {"Cast", "Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten"}


def _traced_classes(model: Any, label: Any, probabilities: Any) -> list[Any] | None:
    """Classes read from how the graph makes its label: ArrayFeatureExtractor(classes, ArgMax(probabilities)),
    as skl2onnx writes a neural network (and any classifier without a ZipMap), or ArgMax(probabilities)
    alone, whose labels are the column numbers. None when the label comes from anything else: a label
    not taken from the probabilities' columns says nothing about which column is which class."""
    if probabilities is None or probabilities.type not in _ONNX_DTYPES or label.type not in _ONNX_DTYPES:
        return None
    graph = _Graph(model)
    node = graph.source(label.name)
    if node is not None and node.op_type == "ArrayFeatureExtractor":
        values, argmax = graph.constant(node.input[0]), graph.source(node.input[1])
    else:
        values, argmax = None, node
    if argmax is None or argmax.op_type != "ArgMax" or graph.axis(argmax) not in (1, -1):
        return None
    if graph.origin(argmax.input[0]) != graph.origin(probabilities.name):
        return None
    width = probabilities.shape[1] if isinstance(probabilities.shape[1], int) else None
    if values is None:
        return list(range(width)) if width else None
    table = np.ravel(values).tolist()
    if width is not None and len(table) != width:
        return None
    return _as_label_type([entry.decode() if isinstance(entry, bytes) else entry for entry in table], label)


def _as_label_type(labels: list[Any], output: Any) -> list[Any] | None:
    """The classes as the label output gives them (the graph may cast its class table on the way)."""
    dtype = _ONNX_DTYPES[output.type]
    if dtype is object:
        return [str(label) for label in labels]
    try:
        return np.asarray(labels).astype(dtype).tolist()
    except ValueError:
        return None


class _Graph:
    """The nodes of a graph by the tensor each makes, and its constant tensors by name."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self._producers = {name: node for node in model.graph.node for name in node.output}
        self._constants = {item.name: item for item in model.graph.initializer}
        for node in model.graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self._constants[node.output[0]] = node.attribute[0].t
        self._to_array = numpy_helper.to_array

    def origin(self, name: str) -> str:
        """The tensor a name stands for once casts and reshapes are looked through."""
        node = self._producers.get(name)
        while node is not None and node.op_type in _PASS_THROUGH:
            name = node.input[0]
            node = self._producers.get(name)
        return name

    def source(self, name: str) -> Any:
        return self._producers.get(self.origin(name))

    def constant(self, name: str) -> np.ndarray | None:
        tensor = self._constants.get(self.origin(name))
        return None if tensor is None else self._to_array(tensor)

    @staticmethod
    def axis(node: Any) -> int:
        return next((int(item.i) for item in node.attribute if item.name == "axis"), 0)


def _load_onnx(path: Path, allow_pickle: bool = False) -> Predictor:
    import onnx  # deferred: only ONNX models need it
    import onnxruntime

    model = onnx.load_model(str(path), load_external_data=False)
    # Only the CPU provider: no GPU libraries, no custom-op libraries named by the model.
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return OnnxPredictor(session, model)
