"""Our skops allowlist: every entry real, the wrappers it promises loadable, tree contents checked."""

import importlib

import numpy as np
import pytest
import skops.io
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from mlio.artifacts import ArtifactFormat, ArtifactRejected, sha256_file
from mlio.predictors import load_predictor
from mlio.trusted_types import TRUSTED_GROUPS, TRUSTED_TYPES, untrusted_skops_types
from tests.mlio.artifacts.builders import classification


def _resolve(name: str) -> object:
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize("name", TRUSTED_TYPES)
def test_every_trusted_name_is_a_real_object(name):
    assert _resolve(name) is not None


def test_the_list_is_the_union_of_its_reviewed_groups_without_repeats():
    assert len(set(TRUSTED_TYPES)) == len(TRUSTED_TYPES)
    assert [name for group in TRUSTED_GROUPS.values() for name in group] == list(TRUSTED_TYPES)


def _round_trip(model, tmp_path, X):
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    assert untrusted_skops_types(path) == []
    predictor = load_predictor(path, ArtifactFormat.SKOPS, expected_sha256=sha256_file(path), allow_pickle=False)
    return predictor, X


@pytest.mark.parametrize(
    "make",
    [
        lambda: __import__("xgboost").XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1),
        lambda: __import__("xgboost").XGBRegressor(n_estimators=3, max_depth=2, n_jobs=1),
        lambda: __import__("lightgbm").LGBMClassifier(n_estimators=3, num_leaves=4, verbose=-1, n_jobs=1),
        lambda: __import__("lightgbm").LGBMRegressor(n_estimators=3, num_leaves=4, verbose=-1, n_jobs=1),
    ],
    ids=["XGBClassifier", "XGBRegressor", "LGBMClassifier", "LGBMRegressor"],
)
def test_xgboost_and_lightgbm_sklearn_wrappers_persist_with_skops(tmp_path, make):
    X, y = classification()
    model = make().fit(X, y)
    predictor, _ = _round_trip(model, tmp_path, X)
    assert np.allclose(predictor.predict(X), model.predict(X))


def test_hist_gradient_boosting_with_categorical_features_loads(tmp_path):
    X, y = classification()
    X["f3"] = (X["f3"] > 0).astype(int) + (X["f2"] > 1)
    model = HistGradientBoostingClassifier(max_iter=4, categorical_features=["f3"]).fit(X, y)
    predictor, _ = _round_trip(model, tmp_path, X)
    assert np.allclose(predictor.predict_proba(X), model.predict_proba(X))


def _refused_on_load(model, tmp_path) -> ArtifactRejected:
    path = tmp_path / "crafted.skops"
    skops.io.dump(model, path)
    with pytest.raises(ArtifactRejected) as caught:
        load_predictor(path, ArtifactFormat.SKOPS, expected_sha256=sha256_file(path), allow_pickle=False)
    return caught.value


def _edit_tree(tree, field: str, value: int) -> None:
    # Never predict with the edited model in this process: that is the crash being guarded against.
    state = tree.__getstate__()
    nodes = state["nodes"].copy()
    nodes[field][0] = value
    tree.__setstate__({**state, "nodes": nodes})


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [("left_child", 10**12, "outside the tree"), ("right_child", 0, "backwards"), ("feature", 7, "feature outside")],
)
def test_a_tree_with_out_of_range_indices_is_refused(tmp_path, field, value, reason):
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(*classification())
    _edit_tree(model.tree_, field, value)
    refusal = _refused_on_load(model, tmp_path)
    assert refusal.code == "malformed"
    assert reason in refusal.message


def test_a_forest_member_taking_more_features_than_the_forest_is_refused(tmp_path):
    model = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(*classification())
    member = model.estimators_[0]
    member.n_features_in_ = 9
    member.tree_ = type(member.tree_)(9, member.tree_.n_classes, member.tree_.n_outputs)
    refusal = _refused_on_load(model, tmp_path)
    assert refusal.code == "malformed"
    assert "ensemble member takes 9 features" in refusal.message


def test_a_hist_gradient_boosting_node_pointing_outside_its_predictor_is_refused(tmp_path):
    model = HistGradientBoostingClassifier(max_iter=2, random_state=0).fit(*classification())
    nodes = model._predictors[0][0].nodes
    nodes["left"][0] = len(nodes) + 5
    refusal = _refused_on_load(model, tmp_path)
    assert refusal.code == "malformed"
    assert "outside the tree" in refusal.message
