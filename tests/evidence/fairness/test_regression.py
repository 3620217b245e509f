"""Regression audits: mean prediction and mean absolute error per group, against hand counts and pandas."""

import numpy as np
import pandas as pd
import pytest

from evidence.fairness import FairnessMismatch, audit, bias_audit
from tests.evidence.fairness.builders import all_estimates, exactly

# A: y 1 2 3, predictions 2 2 2    -> mean prediction 2,  MAE (1 + 0 + 1) / 3
# B: y 10 20, predictions 12 14    -> mean prediction 13, MAE (2 + 6) / 2
HAND_Y = [1.0, 2.0, 3.0, 10.0, 20.0]
HAND_P = [2.0, 2.0, 2.0, 12.0, 14.0]


@pytest.fixture(scope="module")
def hand():
    sensitive = pd.DataFrame({"group": ["A", "A", "A", "B", "B"]})
    return bias_audit(y_true=HAND_Y, y_pred=HAND_P, sensitive=sensitive, task="regression", n_bootstrap=200)


def test_mean_prediction_and_mae_match_the_hand_counts(hand):
    a, b = hand.feature("group").group("A"), hand.feature("group").group("B")

    assert (a.count, b.count) == (3, 2)
    assert a.metrics["mean_prediction"].value == exactly(2.0)
    assert b.metrics["mean_prediction"].value == exactly(13.0)
    assert a.metrics["mean_absolute_error"].value == exactly(2 / 3)
    assert b.metrics["mean_absolute_error"].value == exactly(4.0)


def test_regression_differences_are_max_minus_min(hand):
    feature = hand.feature("group")
    every = feature.fairlearn_all_groups

    assert set(feature.fairlearn) == set(every) == {"mean_prediction_difference", "mean_absolute_error_difference"}
    assert every["mean_prediction_difference"].value == exactly(13.0 - 2.0)
    assert every["mean_absolute_error_difference"].value == exactly(4.0 - 2 / 3)
    # Neither group has min_group_size (30) rows: there is no headline, and both are listed.
    assert {e.value for e in feature.fairlearn.values()} == {None}
    assert [(g.group, g.count) for g in feature.insufficient_groups] == [("A", 3), ("B", 2)]


def test_with_a_minimum_both_groups_meet_the_headline_is_the_full_table():
    sensitive = pd.DataFrame({"group": ["A", "A", "A", "B", "B"]})
    feature = bias_audit(
        y_true=HAND_Y, y_pred=HAND_P, sensitive=sensitive, task="regression", n_bootstrap=50, min_group_size=2
    ).feature("group")

    assert feature.fairlearn == feature.fairlearn_all_groups
    assert feature.fairlearn["mean_prediction_difference"].value == exactly(13.0 - 2.0)
    assert feature.insufficient_groups == ()


def test_a_regression_audit_has_no_thresholds_so_it_is_inconclusive(hand):
    verdict = hand.feature("group").verdict

    assert verdict.status == "inconclusive" and hand.verdict.status == "inconclusive"
    assert verdict.reasons[0].startswith("no thresholds apply to regression audits")
    assert hand.feature("group").aif360 == () and hand.aif360_overall == {}
    assert hand.positive_label is None


def test_resampled_maes_of_two_rows_stay_between_their_errors(hand):
    # Resampling B's absolute errors {2, 6} gives MAEs of 2, 4 or 6 only.
    low, high = hand.feature("group").group("B").metrics["mean_absolute_error"].ci

    assert 2.0 <= low <= high <= 6.0
    assert hand.feature("group").group("A").metrics["mean_prediction"].ci == (2.0, 2.0)


@pytest.fixture(scope="module")
def generated():
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame({"region": rng.choice(["east", "west", "south"], n), "sex": rng.choice(["f", "m"], n)})
    # Prices in the hundreds of thousands: agreement must hold relative to the magnitude, not to 1e-9 absolute.
    frame["y"] = 2e5 + 5e4 * (frame["region"] == "west") + rng.normal(0, 3e4, n)
    frame["p"] = frame["y"] + rng.normal(0, 1e4, n) + 2e4 * (frame["sex"] == "m")
    result = bias_audit(
        y_true=frame["y"], y_pred=frame["p"], sensitive=frame[["region", "sex"]], task="regression", n_bootstrap=200
    )
    return frame, result


@pytest.mark.parametrize("columns", [["region"], ["sex"], ["region", "sex"]])
def test_generated_groups_match_a_pandas_groupby(generated, columns):
    frame, result = generated
    expected = frame.assign(error=(frame["y"] - frame["p"]).abs()).groupby(columns)
    feature = result.feature(" x ".join(columns))

    for group in feature.groups:
        key = tuple(group.values.values()) if len(columns) > 1 else group.group
        assert group.count == expected.size()[key]
        assert group.metrics["mean_prediction"].value == pytest.approx(expected["p"].mean()[key], rel=1e-12)
        assert group.metrics["mean_absolute_error"].value == pytest.approx(expected["error"].mean()[key], rel=1e-12)


def test_generated_intervals_contain_their_estimates(generated):
    _, result = generated

    assert [name for name, e in all_estimates(result) if not e.ci[0] <= e.value <= e.ci[1]] == []


def test_a_wrong_regression_formula_raises_fairness_mismatch(monkeypatch):
    original = audit._regression_stats

    def wrong(moments, to_group, size):
        stats = original(moments, to_group, size)
        stats["mean_absolute_error"] = stats["mean_absolute_error"] * (1 + 1e-6)
        return stats

    monkeypatch.setattr(audit, "_regression_stats", wrong)

    with pytest.raises(FairnessMismatch, match=r"group: Fairlearn vs counts: mean_absolute_error \[A\]"):
        bias_audit(y_true=HAND_Y, y_pred=HAND_P, sensitive=pd.DataFrame({"group": list("AAABB")}), task="regression")
