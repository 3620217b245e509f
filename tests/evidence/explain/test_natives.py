"""XGBoost and LightGBM: their own contributions, in margin space, equal to shap's Tree SHAP."""

import lightgbm
import numpy as np
import pytest
import shap
import xgboost
from scipy.special import logit

from evidence import explain
from mlio.artifacts import ArtifactFormat
from mlio.predictors import LightGBMPredictor, SklearnPredictor, XGBoostPredictor
from tests.evidence.explain.conftest import additivity_error, with_gaps


@pytest.fixture(scope="session")
def xgboost_binary(data, folder, load):
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(data.X, data.y)
    path = folder / "binary.ubj"
    model.save_model(path)
    return load(path, ArtifactFormat.XGBOOST)


@pytest.fixture(scope="session")
def lightgbm_binary(data, folder, load):
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=7, min_child_samples=5, n_jobs=1, verbose=-1)
    path = folder / "binary.txt"
    model.fit(data.X, data.y).booster_.save_model(path)
    return load(path, ArtifactFormat.LIGHTGBM)


def _independent_tree_shap(model, rows, column=0):
    """Path-dependent Tree SHAP of the trees as shap parses them, computed without the library."""
    ensemble = shap.TreeExplainer(model).model
    values, expected = explain._tree_shap(
        ensemble, column, rows.to_numpy(dtype=ensemble.input_dtype).astype(np.float64)
    )
    return values, expected + np.ravel(ensemble.base_offset)[column if np.size(ensemble.base_offset) > 1 else 0]


@pytest.mark.parametrize("fixture", ["xgboost_binary", "lightgbm_binary"])
def test_boosters_explain_their_log_odds_with_their_own_contributions(request, data, fixture):
    predictor = request.getfixturevalue(fixture)
    choice = explain.choose_explainer(predictor)
    assert choice.kind == (explain.XGBOOST_NATIVE if fixture.startswith("xgboost") else explain.LIGHTGBM_NATIVE)
    assert (choice.output_space, choice.feature_perturbation) == ("log_odds", explain.PATH_DEPENDENT)
    assert "margin" in choice.reason

    chunk = explain.shap_chunk(predictor, data.rows, choice)

    booster = predictor.booster
    np.testing.assert_allclose(chunk.values, shap.TreeExplainer(booster).shap_values(data.rows), atol=1e-5)
    independent, expected = _independent_tree_shap(booster, data.rows)
    np.testing.assert_allclose(chunk.values, independent, atol=1e-5)
    np.testing.assert_allclose(chunk.base_values, expected, atol=1e-5)
    # The margin the contributions add up to is the log-odds of the probability the model gives.
    np.testing.assert_allclose(chunk.model_output, logit(predictor.predict_proba(data.rows)[:, 1]), atol=1e-4)
    assert additivity_error(chunk) < choice.tolerance


def test_the_first_class_of_a_binary_booster_is_the_negated_margin(data, xgboost_binary):
    second = explain.shap_chunk(xgboost_binary, data.rows, explain.choose_explainer(xgboost_binary))
    first = explain.shap_chunk(xgboost_binary, data.rows, explain.choose_explainer(xgboost_binary, class_label=0))
    np.testing.assert_array_equal(first.values, -second.values)
    np.testing.assert_array_equal(first.model_output, -second.model_output)
    assert first.class_label == 0 and additivity_error(first) < 1e-4


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_multiclass_boosters_explain_the_class_asked_for(data, library):
    if library == "xgboost":
        booster = xgboost.train(
            {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, xgboost.DMatrix(data.X, data.y3), 8
        )
        predictor = XGBoostPredictor(booster)
    else:
        params = {"objective": "multiclass", "num_class": 3, "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1}
        booster = lightgbm.train(params, lightgbm.Dataset(data.X, data.y3), 8)
        predictor = LightGBMPredictor(booster)
    choice = explain.choose_explainer(predictor, class_label=2)
    assert (choice.class_index, choice.output_space) == (2, "raw")

    chunk = explain.shap_chunk(predictor, data.rows, choice)

    reference = np.asarray(shap.TreeExplainer(booster).shap_values(data.rows))
    np.testing.assert_allclose(chunk.values, reference[:, :, 2], atol=1e-5)
    assert additivity_error(chunk) < choice.tolerance


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_scikit_learn_wrappers_of_boosters_use_the_native_contributions(data, library):
    if library == "xgboost":
        model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1)
    else:
        model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=7, min_child_samples=5, n_jobs=1, verbose=-1)
    predictor = SklearnPredictor(model.fit(data.X, data.y))
    choice = explain.choose_explainer(predictor)
    assert choice.kind == f"{library}_native" and choice.output_space == "log_odds"

    chunk = explain.shap_chunk(predictor, with_gaps(data.rows), choice)

    assert additivity_error(chunk) < choice.tolerance
    np.testing.assert_allclose(chunk.model_output, logit(model.predict_proba(with_gaps(data.rows))[:, 1]), atol=1e-4)


def test_a_background_set_gives_interventional_tree_shap_of_the_margin(data, xgboost_binary):
    choice = explain.choose_explainer(xgboost_binary, background=True)
    assert (choice.kind, choice.feature_perturbation, choice.output_space) == ("tree", "interventional", "log_odds")
    chunk = explain.shap_chunk(xgboost_binary, data.rows, choice, data.X)
    assert additivity_error(chunk) < choice.tolerance
    np.testing.assert_allclose(chunk.model_output, logit(xgboost_binary.predict_proba(data.rows)[:, 1]), atol=1e-4)
