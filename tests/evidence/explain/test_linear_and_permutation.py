"""Linear models get shap's LinearExplainer; pipelines and ONNX graphs the permutation explainer."""

import numpy as np
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from evidence import explain
from mlio.artifacts import ArtifactFormat
from mlio.predictors import SklearnPredictor
from tests.evidence.explain.conftest import FEATURES, additivity_error, fitted, with_gaps


def test_logistic_regression_gets_the_linear_explainer_against_the_background(data, skops_predictor):
    model = LogisticRegression(max_iter=500).fit(data.X, data.y)
    predictor = skops_predictor(model, "logistic")
    choice = explain.choose_explainer(predictor)
    assert (choice.kind, choice.output_space, choice.needs_background) == (explain.LINEAR, "log_odds", True)
    background = data.X.iloc[:150]

    chunk = explain.shap_chunk(predictor, data.rows, choice, background)

    # A linear model's exact SHAP values: coefficient times the distance from the background's mean.
    mean = background.mean().to_numpy()
    np.testing.assert_allclose(chunk.values, (data.rows.to_numpy() - mean) * model.coef_[0], atol=1e-12)
    np.testing.assert_allclose(chunk.base_values, mean @ model.coef_[0] + model.intercept_[0], atol=1e-12)
    np.testing.assert_allclose(chunk.model_output, model.decision_function(data.rows))
    assert additivity_error(chunk) < 1e-12


def test_multiclass_linear_models_explain_the_class_asked_for(data):
    predictor = fitted(LogisticRegression(max_iter=500), data.X, data.y3)
    choice = explain.choose_explainer(predictor, class_label=2)
    assert (choice.kind, choice.output_space, choice.class_index) == (explain.LINEAR, "raw", 2)
    chunk = explain.shap_chunk(predictor, data.rows, choice, data.X)
    mean = data.X.mean().to_numpy()
    np.testing.assert_allclose(chunk.values, (data.rows.to_numpy() - mean) * predictor.model.coef_[2], atol=1e-12)
    np.testing.assert_allclose(chunk.model_output, predictor.model.decision_function(data.rows)[:, 2])


def test_the_permutation_explainer_is_exact_on_an_additive_pipeline(data):
    """A scaler and a linear regression add feature effects up: the permutation estimate must be exact."""
    predictor = fitted(make_pipeline(StandardScaler(), LinearRegression()), data.X, data.y_value)
    choice = explain.choose_explainer(predictor)
    assert (choice.kind, choice.output_space) == (explain.PERMUTATION, "raw")
    assert "pipeline" in choice.reason and "kmeans" in choice.reason
    background = explain.summarise_background(data.X)
    assert len(background) == explain.PERMUTATION_BACKGROUND_K

    chunk = explain.shap_chunk(predictor, data.rows.iloc[:5], choice, background)

    scaler, regression = predictor.model[0], predictor.model[1]
    slopes = regression.coef_ / scaler.scale_
    exact = (data.rows.iloc[:5].to_numpy() - background.mean().to_numpy()) * slopes
    np.testing.assert_allclose(chunk.values, exact, atol=1e-9)
    assert additivity_error(chunk) < 1e-9


@pytest.fixture(scope="session")
def neural_pipeline(data):
    return fitted(make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=300, random_state=0)), data.X, data.y)


def test_a_pipeline_with_a_neural_network_adds_up_and_reruns_the_same(data, neural_pipeline):
    choice = explain.choose_explainer(neural_pipeline)
    assert (choice.kind, choice.output_space) == (explain.PERMUTATION, "probability")
    rows = data.rows.iloc[:4]
    state = np.random.get_state()

    first = explain.shap_chunk(neural_pipeline, rows, choice, data.X, seed=7)
    again = explain.shap_chunk(neural_pipeline, rows, choice, data.X, seed=7)
    other_seed = explain.shap_chunk(neural_pipeline, rows, choice, data.X, seed=8)

    np.testing.assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other_seed.values)  # the seed does drive the permutations
    np.testing.assert_allclose(first.model_output, neural_pipeline.predict_proba(rows)[:, 1])
    assert additivity_error(first) < choice.tolerance
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), state, strict=True))


@pytest.fixture(scope="session")
def onnx_logistic(data, folder, load):
    from skl2onnx import to_onnx

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(data.X.to_numpy(np.float32), data.y)
    graph = to_onnx(model, data.X.to_numpy(np.float32)[:1], options={LogisticRegression: {"zipmap": False}})
    path = folder / "logistic.onnx"
    path.write_bytes(graph.SerializeToString())
    return model, load(path, ArtifactFormat.ONNX)


def test_an_onnx_graph_gets_the_permutation_explainer(data, onnx_logistic):
    model, predictor = onnx_logistic
    choice = explain.choose_explainer(predictor)
    assert (choice.kind, choice.output_space) == (explain.PERMUTATION, "probability")
    assert "onnx" in choice.reason
    rows = data.rows.iloc[:4]
    background = explain.summarise_background(data.X)

    chunk = explain.shap_chunk(predictor, rows, choice, background)

    assert additivity_error(chunk) < choice.tolerance
    # The same model run by scikit-learn, explained the same way, differs only by float32 rounding.
    reference = explain.shap_chunk(SklearnPredictor(model), rows, choice, background)
    np.testing.assert_allclose(chunk.values, reference.values, atol=1e-5)


def test_text_columns_and_gaps_go_through_the_permutation_explainer(data):
    """A pipeline that imputes and one-hot encodes: shap's masker gets the text as codes, the model
    gets the text back, and a row's values do not depend on the codes its chunk happened to use."""
    rng = np.random.default_rng(0)
    X = with_gaps(data.X).assign(region=rng.choice(["north", "south", "east"], len(data.X)))
    rows = with_gaps(data.rows).assign(region=rng.choice(["north", "south", "east", "west"], len(data.rows)))
    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    columns = make_column_transformer((numeric, FEATURES), (OneHotEncoder(handle_unknown="ignore"), ["region"]))
    predictor = fitted(make_pipeline(columns, LogisticRegression(max_iter=500)), X, data.y)
    choice = explain.choose_explainer(predictor)
    background = explain.summarise_background(X)
    assert len(background) == explain.PERMUTATION_BACKGROUND_K and set(background["region"]) <= set(X["region"])
    west = int(np.flatnonzero(rows["region"] == "west")[0])

    alone = explain.shap_chunk(predictor, rows.iloc[[west]], choice, background)
    among_others = explain.shap_chunk(predictor, rows.iloc[: west + 1], choice, background)

    np.testing.assert_array_equal(alone.values[0], among_others.values[-1])
    assert additivity_error(among_others) < choice.tolerance
    np.testing.assert_allclose(among_others.model_output, predictor.predict_proba(rows.iloc[: west + 1])[:, 1])
