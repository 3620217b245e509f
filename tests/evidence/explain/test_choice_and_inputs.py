"""Which explainer a model gets and why; inputs the explainers cannot take are refused clearly."""

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from evidence import explain
from mlio.predictors import RecordedPredictions
from tests.evidence.explain.conftest import fitted, with_gaps


@pytest.fixture(scope="session")
def forest(data):
    return fitted(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0), data.X, data.y)


@pytest.fixture(scope="session")
def logistic(data):
    return fitted(LogisticRegression(max_iter=500), data.X, data.y)


def test_recorded_predictions_cannot_be_explained(data):
    recorded = RecordedPredictions(pd.Series(0, index=data.rows.index), pd.Series(0.2, index=data.rows.index))
    with pytest.raises(
        explain.ExplanationUnavailable, match="need a model that can be queried; .* recorded predictions"
    ):
        explain.choose_explainer(recorded)
    with pytest.raises(explain.ExplanationUnavailable, match="recorded predictions"):
        explain.lime_rows(recorded, data.X, data.rows.iloc[:1], seed=0)


def test_a_binary_model_explains_its_second_class_unless_told(forest):
    assert (explain.choose_explainer(forest).class_index, explain.choose_explainer(forest).class_label) == (1, 1)
    assert explain.choose_explainer(forest, class_label=0).class_index == 0
    assert explain.choose_explainer(forest, class_label="0").class_label == 0  # labels from JSON come as text


def test_a_multiclass_model_must_be_told_which_class(data):
    predictor = fitted(RandomForestClassifier(n_estimators=3, random_state=0), data.X, data.y3)
    with pytest.raises(explain.ExplanationInputError, match="3 classes .* name the class to explain"):
        explain.choose_explainer(predictor)
    with pytest.raises(explain.ExplanationInputError, match="no class 7; its classes are 0, 1, 2"):
        explain.choose_explainer(predictor, class_label=7)
    assert explain.choose_explainer(predictor, class_label=2).class_index == 2


def test_kernel_explainer_is_never_the_fallback(data):
    predictor = fitted(SVC(probability=True, random_state=0), data.X, data.y)
    choice = explain.choose_explainer(predictor)
    assert choice.kind == explain.PERMUTATION
    assert "KernelExplainer would be slower and less exact" in choice.reason


def test_the_choice_is_recorded_whole(logistic):
    recorded = explain.choose_explainer(logistic).to_dict()
    assert recorded == {
        "kind": "linear",
        "reason": recorded["reason"],
        "output_space": "log_odds",
        "class_index": 1,
        "class_label": 1,
        "tolerance": 1e-6,
        "feature_perturbation": "interventional",
        "needs_background": True,
    }
    assert "LinearExplainer" in recorded["reason"]


def test_columns_the_model_lacks_are_named(data, forest):
    choice = explain.choose_explainer(forest)
    with pytest.raises(
        explain.ExplanationInputError,
        match="do not match the model's columns: missing columns the model was trained on: f3$",
    ):
        explain.shap_chunk(forest, data.rows.drop(columns=["f3"]), choice)


def test_empty_rows_and_non_frames_are_refused(data, forest):
    choice = explain.choose_explainer(forest)
    with pytest.raises(explain.ExplanationInputError, match="empty .*0 rows"):
        explain.shap_chunk(forest, data.rows.iloc[:0], choice)
    with pytest.raises(explain.ExplanationInputError, match="DataFrame"):
        explain.shap_chunk(forest, data.rows.to_numpy(), choice)
    with pytest.raises(explain.ExplanationInputError, match="empty"):
        explain.explain_shap(forest, data.rows.iloc[:0])


def test_missing_values_are_refused_where_the_explainer_cannot_take_them(data, logistic):
    choice = explain.choose_explainer(logistic)
    with pytest.raises(explain.ExplanationInputError, match=r"missing values .*f2 \(15 rows\)"):
        explain.shap_chunk(logistic, with_gaps(data.rows), choice, data.X)
    with pytest.raises(explain.ExplanationInputError, match="background rows have missing values"):
        explain.shap_chunk(logistic, data.rows, choice, with_gaps(data.X))


def test_a_model_that_refuses_missing_values_is_reported(data):
    predictor = fitted(MLPClassifier((4,), max_iter=50, random_state=0), data.X, data.y)
    choice = explain.choose_explainer(predictor)
    with pytest.raises(explain.ExplanationInputError, match="the model refused the rows: .*NaN"):
        explain.shap_chunk(predictor, with_gaps(data.rows.iloc[:2], every=1), choice, data.X)


def test_text_columns_and_repeated_labels_are_refused(data, forest):
    choice = explain.choose_explainer(forest)
    with pytest.raises(explain.ExplanationInputError, match="non-numeric columns .*: f1"):
        explain.shap_chunk(forest, data.rows.astype({"f1": str}), choice)
    with pytest.raises(explain.ExplanationInputError, match="repeat index labels"):
        explain.shap_chunk(forest, pd.concat([data.rows.iloc[:2], data.rows.iloc[:1]]), choice)


def test_explainers_that_need_a_background_say_so(data, logistic):
    with pytest.raises(explain.ExplanationInputError, match="linear explainer needs a background"):
        explain.shap_chunk(logistic, data.rows, explain.choose_explainer(logistic))
