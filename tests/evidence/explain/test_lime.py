"""LIME on a sample of rows: reruns agree, and its agreement with SHAP is measured, not assumed."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from evidence import explain
from tests.evidence.explain.conftest import fitted, with_gaps

OPTIONS = {"num_features": 4, "num_samples": 400}


@pytest.fixture(scope="session")
def forest(data):
    return fitted(RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0), data.X, data.y)


def test_lime_reruns_give_the_same_explanations(data, forest):
    rows = data.rows.iloc[:3]
    first = explain.lime_rows(forest, data.X, rows, seed=11, **OPTIONS)
    again = explain.lime_rows(forest, data.X, rows, seed=11, **OPTIONS)
    other = explain.lime_rows(forest, data.X, rows, seed=12, **OPTIONS)

    assert first == again
    assert first != other  # the seed does drive LIME's sampling
    assert [row["index"] for row in first] == rows.index.tolist()
    assert all(len(row["features"]) == 4 and row["class_label"] == 1 for row in first)
    assert {"feature", "weight", "rule"} == set(first[0]["features"][0])


def test_a_rows_explanation_does_not_depend_on_the_rows_beside_it(data, forest):
    together = explain.lime_rows(forest, data.X, data.rows.iloc[:3], seed=5, **OPTIONS)
    alone = explain.lime_rows(forest, data.X, data.rows.iloc[2:3], seed=5, **OPTIONS)
    assert together[2] == alone[0]


def test_each_row_draws_its_own_samples(data, forest):
    """The random stream comes from the row's label: one row filed under two labels is sampled twice."""
    twice = data.rows.iloc[[0, 0]].set_axis([1, 2])
    first, second = explain.lime_rows(forest, data.X, twice, seed=0, **OPTIONS)
    assert first["features"] != second["features"]


def test_lime_explains_regressors_and_the_class_asked_for(data, forest):
    regressor = fitted(RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0), data.X, data.y_value)
    [row] = explain.lime_rows(regressor, data.X, data.rows.iloc[:1], seed=0, **OPTIONS)
    assert row["class_label"] is None and len(row["features"]) == 4
    first_class, second_class = (
        explain.lime_rows(forest, data.X, data.rows.iloc[:1], seed=0, class_label=label, **OPTIONS)[0]
        for label in (0, 1)
    )
    # Probabilities of two classes sum to one: their local models mirror each other.
    assert first_class["features"][0]["weight"] == pytest.approx(-second_class["features"][0]["weight"], abs=1e-9)


def test_lime_refuses_missing_values(data, forest):
    with pytest.raises(explain.ExplanationInputError, match="missing values"):
        explain.lime_rows(forest, data.X, with_gaps(data.rows.iloc[:4]), seed=0, **OPTIONS)


def test_lime_and_shap_agreement_is_a_rank_correlation_per_row(data, forest):
    rows = data.rows.iloc[:5]
    lime = explain.lime_rows(forest, data.X, rows, seed=0, **OPTIONS)
    chunk = explain.shap_chunk(forest, rows, explain.choose_explainer(forest))
    shap_values = pd.DataFrame(chunk.values, index=chunk.index, columns=chunk.feature_names)

    agreement = explain.lime_shap_agreement(lime, shap_values)

    rhos = [row["spearman"] for row in agreement["rows"]]
    assert len(rhos) == 5 and all(-1.0 <= rho <= 1.0 for rho in rhos)
    assert agreement["summary"]["mean"] == pytest.approx(np.mean(rhos))
    assert agreement["summary"]["min"] == min(rhos)
    assert agreement["summary"]["rows_compared"] == 5


def test_disagreement_is_reported_not_hidden():
    shap_values = pd.DataFrame([[0.4, 0.3, 0.2, 0.1]], index=[7], columns=["a", "b", "c", "d"])
    reversed_ranks = [
        {
            "index": 7,
            "features": [{"feature": f, "weight": w} for f, w in zip("abcd", [0.1, -0.2, 0.3, -0.4], strict=True)],
        }
    ]
    single = [{"index": 7, "features": [{"feature": "a", "weight": 1.0}]}]

    agreement = explain.lime_shap_agreement(reversed_ranks + single, shap_values)

    assert agreement["rows"][0]["spearman"] == pytest.approx(-1.0)
    assert (agreement["rows"][0]["top_feature_lime"], agreement["rows"][0]["top_feature_shap"]) == ("d", "a")
    assert agreement["rows"][1]["spearman"] is None  # one feature has no ranking
    assert agreement["summary"] == {
        "mean": pytest.approx(-1.0),
        "min": pytest.approx(-1.0),
        "rows_compared": 1,
        "rows_undefined": 1,
        "top_feature_matches": 1,
    }


def test_agreement_needs_shap_values_for_every_row():
    with pytest.raises(explain.ExplanationInputError, match="no SHAP values for row 3"):
        explain.lime_shap_agreement([{"index": 3, "features": []}], pd.DataFrame({"a": [1.0]}, index=[4]))
