"""ONNX classifiers that behave on the registration probe's sample and turn hostile on one later row.

Both take four float features and answer ``label`` and ``probabilities`` (a softmax over two classes, so
they register as ordinary binary classifiers). Beside that, each runs a side computation whose cost grows
with ``max(X)`` over the batch: small on the first rows (what the probe predicts on), enormous once the
trigger row (row 300, past the probe's first 200) is in the batch.
"""

import numpy as np
import pandas as pd
from onnx import ModelProto, TensorProto, checker, helper, numpy_helper

FEATURES = ["x0", "x1", "x2", "x3"]
SCHEMA = {
    "features": FEATURES,
    "target": "approved",
    "positive_label": 1,
    "task": "binary_classification",
    "sensitive_features": ["group"],
}
TRIGGER_ROW = 300


def applications(trigger: float | None, n: int = 400) -> pd.DataFrame:
    """n rows of features in [0, 1); with a trigger, row TRIGGER_ROW's first feature is that value."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.uniform(0, 1, (n, 4)).round(4), columns=FEATURES)
    frame["group"] = rng.choice(["a", "b"], n)
    frame["approved"] = (frame.x1 > 0.5).astype(int)
    if trigger is not None:
        frame.loc[TRIGGER_ROW, "x0"] = trigger
    return frame


def spinning_model() -> ModelProto:
    """A Loop whose trip count is max(X) * 500: a thousand trips on the probe's rows, 5e8 on a 1e6."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["count_in", "one"], ["count_out"]),
        ],
        "spin",
        [
            helper.make_tensor_value_info("trip", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("count_in", TensorProto.FLOAT, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("count_out", TensorProto.FLOAT, []),
        ],
        [numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")],
    )
    side = [
        helper.make_node("Cast", ["scaled"], ["trips"], to=TensorProto.INT64),
        helper.make_node("Loop", ["trips", "always", "zero"], ["side"], body=body),
    ]
    return _classifier(side, scale=500.0, extra=[numpy_helper.from_array(np.array(True), "always")])


def hungry_model() -> ModelProto:
    """A tensor of max(X) * 1e6 floats: 4 MB on the probe's rows, 4 GB on a 1000."""
    side = [
        helper.make_node("Cast", ["scaled"], ["count"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["count", "one_dim"], ["shape"]),
        helper.make_node(
            "ConstantOfShape", ["shape"], ["big"], value=helper.make_tensor("fill", TensorProto.FLOAT, [1], [1.0])
        ),
        helper.make_node("ReduceSum", ["big"], ["side"], keepdims=0),
    ]
    return _classifier(side, scale=1e6, extra=[numpy_helper.from_array(np.array([1], dtype=np.int64), "one_dim")])


def _classifier(side: list, *, scale: float, extra: list) -> ModelProto:
    """probabilities = Softmax(X W + 0 * side), label = ArgMax: the side computation feeds the output, so
    no optimiser may drop it, and changes nothing the model answers."""
    nodes = [
        helper.make_node("ReduceMax", ["X"], ["largest"], keepdims=0),
        helper.make_node("Mul", ["largest", "scale"], ["scaled"]),
        *side,
        helper.make_node("Mul", ["side", "zero"], ["nothing"]),
        helper.make_node("MatMul", ["X", "weights"], ["raw"]),
        helper.make_node("Add", ["raw", "nothing"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    weights = np.array([[0.2, -0.2], [-3.0, 3.0], [0.1, 0.0], [0.0, 0.1]], dtype=np.float32)
    graph = helper.make_graph(
        nodes,
        "hostile",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2]),
        ],
        [
            numpy_helper.from_array(weights, "weights"),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), "scale"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
            *extra,
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    checker.check_model(model)
    return model
