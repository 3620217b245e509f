"""load_predictor(): the one interface the evidence workers use, checked against the original models."""

import numpy as np
import pandas as pd
import pytest

from mlio.artifacts import ArtifactRejected, sha256_file
from mlio.predictors import FeatureMismatch, RecordedPredictions, load_predictor
from tests.mlio.artifacts.builders import BUILDERS, FEATURES, PICKLES


def _load(built, **kwargs):
    options = {"expected_sha256": sha256_file(built.path), "allow_pickle": built.path.name in PICKLES}
    return load_predictor(built.path, built.fmt, **{**options, **kwargs})


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_loaded_model_predicts_what_the_original_predicted(artifact, name):
    built = artifact(name)
    predictor = _load(built)
    assert np.array_equal(predictor.predict(built.rows), built.predictions)
    probabilities = predictor.predict_proba(built.rows)
    if built.probabilities is None:
        assert probabilities is None
        assert not predictor.has_predict_proba
    else:
        assert predictor.has_predict_proba
        assert np.allclose(probabilities, built.probabilities, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "kind", "model_class", "classes", "feature_names"),
    [
        ("random_forest", "sklearn", "sklearn.ensemble.RandomForestClassifier", [0, 1], FEATURES),
        ("gradient_boosting", "sklearn", "sklearn.ensemble.GradientBoostingClassifier", [0, 1, 2], FEATURES),
        ("logistic_regression", "sklearn", "sklearn.linear_model.LogisticRegression", [0, 1], None),
        ("pipeline", "sklearn", "sklearn.pipeline.Pipeline", [0, 1], [*FEATURES, "region"]),
        ("xgboost_multiclass", "xgboost", "xgboost.Booster", [0, 1, 2], FEATURES),
        ("lightgbm_binary", "lightgbm", "lightgbm.Booster", [0, 1], FEATURES),
        ("onnx_forest", "onnx", "ONNX(RandomForestClassifier)", [0, 1, 2], None),
        ("onnx_pipeline", "onnx", "ONNX(Pipeline)", [0, 1], [*FEATURES, "region"]),
        ("mlflow_skops", "sklearn", "sklearn.ensemble.RandomForestClassifier", [0, 1], FEATURES),
    ],
)
def test_the_predictor_describes_the_model(artifact, name, kind, model_class, classes, feature_names):
    predictor = _load(artifact(name))
    assert (predictor.kind, predictor.model_class) == (kind, model_class)
    assert predictor.classes == classes
    assert predictor.feature_names == feature_names
    assert predictor.n_features == (len(feature_names) if feature_names else 4)


def test_a_model_loaded_from_mlflow_says_which_flavor_and_versions(artifact):
    import sklearn

    predictor = _load(artifact("mlflow_skops"))
    assert predictor.flavor == "sklearn"
    assert predictor.framework_version == sklearn.__version__
    assert predictor.details["mlflow"]["sklearn_version"] == sklearn.__version__


def test_columns_are_matched_by_name_not_position(artifact):
    built = artifact("xgboost_json")
    shuffled = built.rows[list(reversed(built.rows.columns))].assign(unused=1.0)
    assert np.array_equal(_load(built).predict(shuffled), built.predictions)


@pytest.mark.parametrize("name", ["random_forest", "xgboost_ubjson", "lightgbm_binary", "onnx_pipeline"])
def test_a_missing_feature_column_is_named(artifact, name):
    built = artifact(name)
    with pytest.raises(FeatureMismatch, match="f2") as caught:
        _load(built).predict(built.rows.drop(columns="f2"))
    assert caught.value.missing == ["f2"]


def test_a_model_without_feature_names_checks_the_column_count(artifact):
    built = artifact("onnx_forest")
    with pytest.raises(FeatureMismatch, match="takes 4 features; the data has 3"):
        _load(built).predict(built.rows.iloc[:, :3])


def test_a_wrong_digest_stops_the_load(artifact):
    built = artifact("random_forest")
    with pytest.raises(ArtifactRejected) as caught:
        load_predictor(built.path, built.fmt, expected_sha256="0" * 64, allow_pickle=False)
    assert caught.value.code == "digest_mismatch"
    assert sha256_file(built.path) in caught.value.message


def test_a_file_changed_after_acceptance_is_not_loaded(artifact, copy_of):
    built = artifact("lightgbm_binary")
    stored = copy_of(built.path)
    accepted = sha256_file(stored)
    stored.write_bytes(stored.read_bytes().replace(b"shrinkage=0.1", b"shrinkage=9.9"))
    with pytest.raises(ArtifactRejected) as caught:
        load_predictor(stored, built.fmt, expected_sha256=accepted, allow_pickle=False)
    assert caught.value.code == "digest_mismatch"


def test_the_policy_is_applied_again_at_load_time(artifact):
    built = artifact("pickle")
    with pytest.raises(ArtifactRejected) as caught:
        load_predictor(built.path, built.fmt, expected_sha256=sha256_file(built.path), allow_pickle=False)
    assert caught.value.code == "pickle_not_allowed"


def test_mlflow_loading_leaves_the_pickle_switch_of_the_process_as_it_was(artifact, monkeypatch):
    import os

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "sentinel")
    _load(artifact("mlflow_cloudpickle"))
    assert os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] == "sentinel"


def test_recorded_predictions_follow_the_rows_index_not_their_position():
    recorded = pd.Series(["approve", "deny", "approve", "deny"], index=[10, 11, 12, 13])
    scores = pd.Series([0.2, 0.9, 0.1, 0.7], index=[10, 11, 12, 13])
    predictor = RecordedPredictions(recorded, scores)
    rows = pd.DataFrame({"income": [1.0, 2.0, 3.0]}, index=[13, 10, 11])
    assert predictor.predict(rows).tolist() == ["deny", "approve", "deny"]
    assert predictor.classes == ["approve", "deny"]
    assert np.allclose(predictor.predict_proba(rows), [[0.3, 0.7], [0.8, 0.2], [0.1, 0.9]])


def test_recorded_probabilities_per_class_keep_their_columns_as_classes():
    probabilities = pd.DataFrame({"a": [0.1, 0.6], "b": [0.2, 0.3], "c": [0.7, 0.1]}, index=["x", "y"])
    predictor = RecordedPredictions(pd.Series(["c", "a"], index=["x", "y"]), probabilities)
    rows = pd.DataFrame(index=["y", "x"])
    assert predictor.classes == ["a", "b", "c"]
    assert np.allclose(predictor.predict_proba(rows), [[0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])


def test_recorded_predictions_without_scores_have_no_probabilities():
    predictor = RecordedPredictions(pd.Series([1, 0]))
    assert predictor.predict_proba(pd.DataFrame(index=[0, 1])) is None
    assert not predictor.has_predict_proba
    assert predictor.kind == "recorded"


def test_rows_without_a_recorded_prediction_are_an_error():
    predictor = RecordedPredictions(pd.Series([1, 0], index=[0, 1]))
    with pytest.raises(FeatureMismatch, match="no recorded prediction for 1 rows"):
        predictor.predict(pd.DataFrame(index=[1, 5]))


def test_a_forest_saved_to_predict_on_all_cores_predicts_on_one(tmp_path):
    """Its evidence must be the same numbers every time: threads would sum trees in varying order."""
    import skops.io
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tests.mlio.artifacts.builders import classification

    X, y = classification()
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=5, n_jobs=-1, random_state=0))
    model.fit(X, y)
    path = tmp_path / "forest.skops"
    skops.io.dump(model, path)
    predictor = load_predictor(path, "skops", expected_sha256=sha256_file(path), allow_pickle=False)
    assert predictor.model.get_params()["randomforestclassifier__n_jobs"] is None
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X))


def _saved_onnx(graph, tmp_path, name="model.onnx"):
    path = tmp_path / name
    path.write_bytes(graph.SerializeToString())
    return load_predictor(path, "onnx", expected_sha256=sha256_file(path), allow_pickle=False)


@pytest.mark.parametrize(
    ("n_classes", "labels"),
    [(2, None), (2, ["deny", "approve"]), (3, [7, 3, 5])],
    ids=["binary", "text-labels", "three-classes-unsorted"],
)
def test_a_neural_network_without_a_zipmap_names_its_classes(tmp_path, n_classes, labels):
    """skl2onnx writes an MLP's label as ArrayFeatureExtractor(classes, ArgMax(probabilities)): the class
    table is read from the graph, in the order of the probabilities' columns."""
    import warnings

    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    from tests.mlio.artifacts.builders import classification

    X, y = classification(n_classes=n_classes)
    y = y if labels is None else pd.Series(np.asarray(labels, dtype=object if isinstance(labels[0], str) else int)[y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small MLP stops before it converges; irrelevant here
        model = MLPClassifier((6,), max_iter=200, random_state=0).fit(X.to_numpy(np.float32), y)
    graph = to_onnx(model, X.to_numpy(np.float32)[:1], options={MLPClassifier: {"zipmap": False}})

    predictor = _saved_onnx(graph, tmp_path)

    assert predictor.classes == model.classes_.tolist()
    assert predictor.has_predict_proba
    np.testing.assert_array_equal(predictor.predict(X), model.predict(X.to_numpy(np.float32)))
    np.testing.assert_allclose(predictor.predict_proba(X), model.predict_proba(X.to_numpy(np.float32)), atol=1e-5)


def _softmax_graph(label_from: str):
    """A hand-written network: probabilities = Softmax(X W), label = ArgMax of ``label_from``
    (the probabilities, or ``reversed``: their columns in reverse order)."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, "weights")
    order = numpy_helper.from_array(np.array([2, 1, 0], dtype=np.int64), "order")
    nodes = [
        helper.make_node("MatMul", ["X", "weights"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=1),
        helper.make_node("Gather", ["probabilities", "order"], ["reversed"], axis=1),
        helper.make_node("ArgMax", [label_from], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "network",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3]),
        ],
        [weights, order],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_a_label_that_is_the_probabilities_column_number_gives_the_column_numbers_as_classes(tmp_path):
    predictor = _saved_onnx(_softmax_graph("probabilities"), tmp_path)
    assert predictor.classes == [0, 1, 2]
    rows = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 4)))
    np.testing.assert_array_equal(predictor.predict(rows), np.argmax(predictor.predict_proba(rows), axis=1))


def test_a_label_not_taken_from_the_probabilities_says_nothing_of_the_classes(tmp_path):
    """Here label 0 is the last probability column: column numbers as classes would mislabel them all."""
    predictor = _saved_onnx(_softmax_graph("reversed"), tmp_path)
    assert predictor.classes is None
    rows = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 4)))
    np.testing.assert_array_equal(predictor.predict(rows), 2 - np.argmax(predictor.predict_proba(rows), axis=1))
