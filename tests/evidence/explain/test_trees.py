"""scikit-learn trees: exact path-dependent Tree SHAP equal to shap's TreeExplainer, adding up to the model."""

import numpy as np
import pytest
import shap
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier

from evidence import explain
from tests.evidence.explain.conftest import additivity_error, fitted, with_gaps


def _shap_reference(model, rows, choice):
    """shap's own TreeExplainer (its C++ algorithm) for the class the choice explains."""
    reference = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = np.asarray(reference.shap_values(rows.to_numpy(), check_additivity=False))
    expected = np.ravel(reference.expected_value)
    if values.ndim == 3:
        return values[:, :, choice.class_index], expected[choice.class_index]
    sign = -1.0 if choice.class_index == 0 else 1.0
    return sign * values, sign * expected[0]


TREE_CASES = {
    "random_forest": (lambda: RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0), "y", None),
    "extra_trees": (lambda: ExtraTreesClassifier(n_estimators=10, max_depth=6, random_state=0), "y", None),
    "gradient_boosting": (lambda: GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0), "y", None),
    "gradient_boosting_class_0": (lambda: GradientBoostingClassifier(n_estimators=15, random_state=0), "y", 0),
    "hist_gradient_boosting": (lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0), "y", None),
    "hist_gradient_boosting_3_classes": (lambda: HistGradientBoostingClassifier(max_iter=8, random_state=0), "y3", 2),
    "random_forest_3_classes": (lambda: RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0), "y3", 1),
    "decision_tree": (lambda: DecisionTreeClassifier(max_depth=6, random_state=0), "y", None),
    "forest_regressor": (lambda: RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0), "y_value", None),
    "hist_regressor": (lambda: HistGradientBoostingRegressor(max_iter=10, random_state=0), "y_value", None),
}
SPACES = {
    "random_forest": "probability",
    "extra_trees": "probability",
    "gradient_boosting": "log_odds",
    "gradient_boosting_class_0": "log_odds",
    "hist_gradient_boosting": "log_odds",
    "hist_gradient_boosting_3_classes": "raw",
    "random_forest_3_classes": "probability",
    "decision_tree": "probability",
    "forest_regressor": "raw",
    "hist_regressor": "raw",
}


@pytest.mark.parametrize("case", sorted(TREE_CASES))
def test_tree_models_get_exact_tree_shap_equal_to_shaps_tree_explainer(data, case):
    build, target, class_label = TREE_CASES[case]
    predictor = fitted(build(), data.X, getattr(data, target))
    choice = explain.choose_explainer(predictor, class_label=class_label)
    assert (choice.kind, choice.feature_perturbation, choice.output_space) == (
        explain.TREE,
        explain.PATH_DEPENDENT,
        SPACES[case],
    )

    chunk = explain.shap_chunk(predictor, data.rows, choice)

    values, expected = _shap_reference(predictor.model, data.rows, choice)
    np.testing.assert_allclose(chunk.values, values, rtol=0, atol=1e-10)
    np.testing.assert_allclose(chunk.base_values, expected, rtol=0, atol=1e-10)
    assert additivity_error(chunk) < 1e-9


def test_the_model_output_is_the_models_own(data):
    predictor = fitted(GradientBoostingClassifier(n_estimators=10, random_state=0), data.X, data.y)
    chunk = explain.shap_chunk(predictor, data.rows, explain.choose_explainer(predictor))
    np.testing.assert_array_equal(chunk.model_output, predictor.model.decision_function(data.rows))


def test_missing_values_follow_the_trees_own_route(data):
    rows = with_gaps(data.rows)
    for model in (
        RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
        HistGradientBoostingClassifier(max_iter=10),
    ):
        predictor = fitted(model, with_gaps(data.X, every=5), data.y)
        choice = explain.choose_explainer(predictor)
        chunk = explain.shap_chunk(predictor, rows, choice)
        values, _ = _shap_reference(predictor.model, rows, choice)
        np.testing.assert_allclose(chunk.values, values, rtol=0, atol=1e-10)
        assert additivity_error(chunk) < 1e-9


def test_long_paths_are_solved_row_by_row_with_the_same_values(data):
    """Leaves with more distinct features than a table holds take the per-row route."""
    rng = np.random.default_rng(0)
    wide = data.X.assign(**{f"g{i}": rng.normal(size=len(data.X)) for i in range(10)})
    rows = data.rows.assign(**{f"g{i}": rng.normal(size=len(data.rows)) for i in range(10)})
    predictor = fitted(ExtraTreesClassifier(n_estimators=4, random_state=0), wide, data.y)
    ensemble = shap.TreeExplainer(predictor.model).model
    assert explain._ensemble_leaves(ensemble, 1)["length"].max() > explain.TABLE_MAX_FEATURES
    choice = explain.choose_explainer(predictor)

    chunk = explain.shap_chunk(predictor, rows, choice)

    values, _ = _shap_reference(predictor.model, rows, choice)
    np.testing.assert_allclose(chunk.values, values, rtol=0, atol=1e-10)
    assert additivity_error(chunk) < 1e-9


def test_a_forest_loaded_from_its_skops_file(data, skops_predictor):
    model = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=1)
    predictor = skops_predictor(model.fit(data.X, data.y), "forest")
    choice = explain.choose_explainer(predictor)
    assert choice.kind == explain.TREE
    chunk = explain.shap_chunk(predictor, data.rows, choice)
    values, _ = _shap_reference(predictor.model, data.rows, choice)
    np.testing.assert_allclose(chunk.values, values, rtol=0, atol=1e-10)
    np.testing.assert_allclose(chunk.model_output, model.predict_proba(data.rows)[:, 1])


def test_a_background_set_asks_for_interventional_tree_shap(data):
    predictor = fitted(RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0), data.X, data.y)
    choice = explain.choose_explainer(predictor, background=True)
    assert (choice.kind, choice.feature_perturbation, choice.needs_background) == (explain.TREE, "interventional", True)
    background = data.X.iloc[:50]

    chunk = explain.shap_chunk(predictor, data.rows, choice, background)

    reference = shap.TreeExplainer(predictor.model, data=background.to_numpy(), feature_perturbation="interventional")
    expected = reference.shap_values(data.rows.to_numpy(), check_additivity=False)[:, :, 1]
    np.testing.assert_allclose(chunk.values, expected, atol=1e-12)
    assert chunk.base_values[0] == pytest.approx(predictor.predict_proba(background)[:, 1].mean(), abs=1e-12)
    # shap's interventional algorithm adds up to about 1e-8, not to rounding as path-dependent does.
    assert additivity_error(chunk) < choice.tolerance


def test_hist_gradient_boosting_with_categorical_features_avoids_shaps_tree_explainer(data):
    """shap issue 3436: TreeExplainer's values do not add up to the model's own output, although
    shap's own additivity check passes, so the model goes to the permutation explainer."""
    X, rows = data.X.copy(), data.rows.iloc[:4].copy()
    X["f4"], rows["f4"] = (X["f4"] > 0).astype(int) + (X["f4"] > 1), (rows["f4"] > 0).astype(int) + (rows["f4"] > 1)
    predictor = fitted(HistGradientBoostingClassifier(max_iter=10, categorical_features=[4], random_state=0), X, data.y)
    trap = shap.TreeExplainer(predictor.model)
    trap_values = trap.shap_values(X.to_numpy())  # shap's check_additivity passes: no error
    trap_error = np.abs(trap_values.sum(axis=1) + trap.expected_value - predictor.model.decision_function(X))
    assert trap_error.max() > 0.1  # the trap is real on this model

    choice = explain.choose_explainer(predictor)

    assert choice.kind == explain.PERMUTATION
    assert "3436" in choice.reason and "categorical" in choice.reason
    chunk = explain.shap_chunk(predictor, rows, choice, X)
    assert chunk.output_space == "probability"
    assert additivity_error(chunk) < choice.tolerance


@pytest.mark.parametrize(
    ("model", "target", "class_label", "why"),
    [
        (GradientBoostingClassifier(n_estimators=5, random_state=0), "y3", 1, "multiclass GradientBoostingClassifier"),
        (HistGradientBoostingRegressor(loss="poisson", max_iter=5), "y_value", None, "log link"),
    ],
)
def test_trees_shap_cannot_read_go_to_the_permutation_explainer(data, model, target, class_label, why):
    y = getattr(data, target)
    predictor = fitted(model, data.X, y - y.min() if target == "y_value" else y)
    choice = explain.choose_explainer(predictor, class_label=class_label)
    assert choice.kind == explain.PERMUTATION and why in choice.reason
    chunk = explain.shap_chunk(predictor, data.rows.iloc[:2], choice, data.X)
    assert additivity_error(chunk) < choice.tolerance
