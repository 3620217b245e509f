"""Neural networks converted to ONNX without a ZipMap: their classes come from the graph, so the
model-agnostic explainers (permutation SHAP over a k-means background, LIME) run on them."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.neural_network import MLPClassifier

from evidence import explain
from mlio.artifacts import ArtifactFormat
from mlio.predictors import SklearnPredictor
from tests.evidence.explain.conftest import additivity_error


def _onnx_network(data, folder, load, y: pd.Series, name: str):
    from skl2onnx import to_onnx

    X = data.X.to_numpy(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small MLP stops before it converges; irrelevant here
        model = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, y)
    graph = to_onnx(model, X[:1], options={MLPClassifier: {"zipmap": False}})
    path = folder / f"{name}.onnx"
    path.write_bytes(graph.SerializeToString())
    return model, load(path, ArtifactFormat.ONNX)


@pytest.fixture(scope="session")
def onnx_network(data, folder, load):
    """Text labels, so the class asked for ("approve") is the first column, not the default second."""
    return _onnx_network(data, folder, load, data.y.map({0: "deny", 1: "approve"}), "network")


def test_an_onnx_network_explains_the_class_asked_for_and_adds_up(data, onnx_network):
    model, predictor = onnx_network
    choice = explain.choose_explainer(predictor, class_label="approve")
    assert (choice.kind, choice.output_space) == (explain.PERMUTATION, "probability")
    assert (choice.class_index, choice.class_label) == (0, "approve") and "onnx" in choice.reason
    rows = data.rows.iloc[:4]
    background = explain.summarise_background(data.X)

    chunk = explain.shap_chunk(predictor, rows, choice, background)

    assert additivity_error(chunk) < choice.tolerance
    np.testing.assert_allclose(chunk.model_output, model.predict_proba(rows.to_numpy(np.float32))[:, 0], atol=1e-6)
    # The same network run by scikit-learn, explained the same way, differs only by float32 rounding.
    reference = explain.shap_chunk(SklearnPredictor(model), rows.astype(np.float32), choice, background)
    np.testing.assert_allclose(chunk.values, reference.values, atol=1e-5)


def test_lime_explains_the_onnx_network_and_is_compared_with_shap(data, onnx_network):
    _, predictor = onnx_network
    rows = data.rows.iloc[:3]
    choice = explain.choose_explainer(predictor, class_label="approve")

    lime = explain.lime_rows(predictor, data.X, rows, seed=0, class_label="approve", num_samples=500)
    chunk = explain.shap_chunk(predictor, rows, choice, explain.summarise_background(data.X))
    values = pd.DataFrame(chunk.values, index=chunk.index, columns=chunk.feature_names)
    agreement = explain.lime_shap_agreement(lime, values)

    assert [row["class_label"] for row in lime] == ["approve"] * 3
    assert all(len(row["features"]) == data.X.shape[1] for row in lime)
    assert agreement["summary"]["rows_compared"] + agreement["summary"]["rows_undefined"] == 3


def test_a_multiclass_onnx_network_must_be_told_which_class_and_explains_it(data, folder, load):
    model, predictor = _onnx_network(data, folder, load, data.y3 + 10, "network3")
    assert predictor.classes == [10, 11, 12]
    with pytest.raises(explain.ExplanationInputError, match="3 classes"):
        explain.choose_explainer(predictor)
    choice = explain.choose_explainer(predictor, class_label=12)
    rows = data.rows.iloc[:3]

    chunk = explain.shap_chunk(predictor, rows, choice, explain.summarise_background(data.X))

    assert choice.class_index == 2 and additivity_error(chunk) < choice.tolerance
    np.testing.assert_allclose(chunk.model_output, model.predict_proba(rows.to_numpy(np.float32))[:, 2], atol=1e-6)
