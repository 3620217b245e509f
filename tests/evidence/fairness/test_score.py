"""Optional model scores: mean score and ROC AUC per group, checked against scikit-learn on each group's rows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from evidence.fairness import bias_audit
from tests.evidence.fairness.builders import random_binary


@pytest.fixture(scope="module")
def scored():
    y, p, sensitive = random_binary(3000, seed=2)
    rng = np.random.default_rng(2)
    # One decimal: plenty of tied scores, which ROC AUC counts as half a win.
    score = np.round(np.clip(0.3 * y + 0.4 * p + rng.normal(0, 0.2, len(y)), 0, 1), 1)
    result = bias_audit(
        y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", score=score, n_bootstrap=100
    )
    return pd.DataFrame({"y": y, "score": score, **sensitive}), result


@pytest.mark.parametrize("columns", [["race"], ["sex"], ["race", "sex"]])
def test_group_auc_and_mean_score_match_scikit_learn(scored, columns):
    frame, result = scored
    feature = result.feature(" x ".join(columns))

    for group in feature.groups:
        rows = frame.loc[(frame[list(group.values)] == pd.Series(group.values)).all(axis=1)]
        assert group.metrics["roc_auc"].value == pytest.approx(roc_auc_score(rows["y"], rows["score"]), abs=1e-12)
        assert group.metrics["mean_score"].value == pytest.approx(rows["score"].mean(), abs=1e-12)


def test_auc_difference_is_max_minus_min_with_an_interval_around_it(scored):
    _, result = scored
    feature = result.feature("race")
    aucs = [g.metrics["roc_auc"].value for g in feature.groups]
    difference = feature.fairlearn["roc_auc_difference"]

    assert difference.value == pytest.approx(max(aucs) - min(aucs), abs=1e-12)
    assert difference.ci[0] <= difference.value <= difference.ci[1]


def test_a_group_with_one_class_has_no_auc():
    result = bias_audit(
        y_true=[0, 0, 0, 1, 0, 1],
        y_pred=[0, 1, 0, 1, 0, 1],
        sensitive=pd.DataFrame({"g": list("AAABBB")}),
        task="binary_classification",
        score=[0.1, 0.7, 0.2, 0.9, 0.3, 0.8],
        n_bootstrap=20,
    )

    assert result.feature("g").group("A").metrics["roc_auc"].value is None
    assert result.feature("g").group("B").metrics["roc_auc"].value == 1.0


def test_scores_do_not_move_the_classification_intervals(scored):
    frame, with_scores = scored
    y, p, sensitive = random_binary(3000, seed=2)
    without = bias_audit(y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", n_bootstrap=100)

    group = with_scores.feature("race").group("a").metrics
    assert group["selection_rate"] == without.feature("race").group("a").metrics["selection_rate"]
