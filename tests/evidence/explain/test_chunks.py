"""Chunks explained by separate workers merge to what explaining all rows at once gives."""

import json

import numpy as np
import pytest
import xgboost
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from evidence import explain
from mlio.predictors import XGBoostPredictor
from tests.evidence.explain.conftest import fitted


def _forest(data):
    return fitted(RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0), data.X, data.y)


def _booster(data):
    return XGBoostPredictor(
        xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(data.X, data.y), 10)
    )


def _pipeline(data):
    return fitted(make_pipeline(StandardScaler(), MLPClassifier((6,), max_iter=200, random_state=0)), data.X, data.y)


@pytest.mark.parametrize(("build", "rows"), [(_forest, 60), (_booster, 60), (_pipeline, 9)])
def test_merged_chunks_equal_explaining_all_rows_at_once(data, build, rows):
    predictor = build(data)
    choice = explain.choose_explainer(predictor)
    background = explain.summarise_background(data.X) if choice.needs_background else None
    X = data.rows.iloc[:rows]
    names = list(X.columns)

    at_once = explain.merge_shap([explain.shap_chunk(predictor, X, choice, background)], names, sample_rows=5)
    # Uneven chunks, arriving out of order, as separate workers would return them.
    cuts = [0, rows // 3, rows // 3 + 1, rows]
    chunks = [
        explain.shap_chunk(predictor, X.iloc[a:b], choice, background) for a, b in zip(cuts, cuts[1:], strict=False)
    ]
    merged = explain.merge_shap(chunks[::-1], names, sample_rows=5)

    assert merged == at_once
    assert merged["rows_explained"] == rows
    assert merged["additivity"]["passed"]
    assert [item["feature"] for item in merged["importance"]] != []


def test_the_merge_reports_importance_sample_and_additivity(data):
    predictor = _forest(data)
    chunk = explain.shap_chunk(predictor, data.rows, explain.choose_explainer(predictor))

    merged = explain.merge_shap([chunk], list(data.rows.columns), sample_rows=7, seed=3)

    means = np.abs(chunk.values).mean(axis=0)
    assert [item["mean_abs_shap"] for item in merged["importance"]] == sorted(means.tolist(), reverse=True)
    assert merged["importance"][0]["feature"] == data.rows.columns[int(np.argmax(means))]
    assert len(merged["sample"]["index"]) == 7 and set(merged["sample"]["index"]) <= set(data.rows.index)
    position = data.rows.index.get_loc(merged["sample"]["index"][0])
    assert merged["sample"]["values"][0] == chunk.values[position].tolist()
    assert explain.merge_shap([chunk], list(data.rows.columns), sample_rows=7, seed=3)["sample"] == merged["sample"]
    assert explain.merge_shap([chunk], list(data.rows.columns), sample_rows=7, seed=4)["sample"] != merged["sample"]
    assert merged["additivity"]["passed"] and merged["additivity"]["tolerance"] == 1e-6
    assert (merged["explainer"], merged["output_space"], merged["class_label"]) == ("tree", "probability", 1)


def test_a_chunk_that_does_not_add_up_fails_the_check(data):
    predictor = _forest(data)
    chunk = explain.shap_chunk(predictor, data.rows, explain.choose_explainer(predictor))
    values = chunk.values.copy()
    values[3, 0] += 1e-3
    tampered = explain.ShapChunk.from_dict({**chunk.to_dict(), "values": values.tolist()})

    additivity = explain.merge_shap([tampered], list(data.rows.columns))["additivity"]

    assert not additivity["passed"]
    assert additivity["rows_over_tolerance"] == 1
    assert additivity["max_abs_error"] == pytest.approx(1e-3, rel=1e-6)


def test_chunks_travel_as_json_unchanged(data):
    predictor = _booster(data)
    chunk = explain.shap_chunk(predictor, data.rows.iloc[:10], explain.choose_explainer(predictor))

    back = explain.ShapChunk.from_dict(json.loads(json.dumps(chunk.to_dict())))

    np.testing.assert_array_equal(back.values, chunk.values)
    np.testing.assert_array_equal(back.base_values, chunk.base_values)
    assert back.index == chunk.index and back.kind == chunk.kind


def test_overlapping_or_mismatched_chunks_are_refused(data):
    predictor = _forest(data)
    choice = explain.choose_explainer(predictor)
    first = explain.shap_chunk(predictor, data.rows.iloc[:10], choice)
    overlapping = explain.shap_chunk(predictor, data.rows.iloc[5:15], choice)
    other_class = explain.shap_chunk(predictor, data.rows.iloc[10:], explain.choose_explainer(predictor, class_label=0))
    names = list(data.rows.columns)

    with pytest.raises(explain.ExplanationInputError, match="more than one chunk"):
        explain.merge_shap([first, overlapping], names)
    with pytest.raises(explain.ExplanationInputError, match="different explainers, output spaces or classes"):
        explain.merge_shap([first, other_class], names)
    with pytest.raises(explain.ExplanationInputError, match="explains columns"):
        explain.merge_shap([first], names[::-1])
    with pytest.raises(explain.ExplanationInputError, match="no chunks"):
        explain.merge_shap([], names)


def test_explain_shap_runs_chunks_in_one_process(data):
    predictor = _forest(data)
    one = explain.explain_shap(predictor, data.rows, sample_rows=5)
    chunked = explain.explain_shap(predictor, data.rows, chunk_rows=7, sample_rows=5)
    assert one == chunked
    assert one["choice"]["kind"] == "tree" and "path-dependent" in one["choice"]["reason"]
