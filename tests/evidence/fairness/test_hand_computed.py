"""Per-group metrics, disparities and verdicts on data whose confusion matrices are counted by hand."""

import math

import pandas as pd
import pytest

from evidence.fairness import bias_audit
from tests.evidence.fairness.builders import exactly, tiny_audit

# The counts, from builders.TINY_*: A has TP=2 FN=1 FP=1 TN=2, B has TP=1 FN=1 FP=0 TN=4.
HAND = {
    "selection_rate": ((2 + 1) / 6, (1 + 0) / 6),
    "accuracy": ((2 + 2) / 6, (1 + 4) / 6),
    "true_positive_rate": (2 / (2 + 1), 1 / (1 + 1)),
    "false_positive_rate": (1 / (1 + 2), 0 / (0 + 4)),
    "false_negative_rate": (1 / (2 + 1), 1 / (1 + 1)),
    "precision": (2 / (2 + 1), 1 / (1 + 0)),
}


@pytest.fixture(scope="module")
def feature():
    return tiny_audit().feature("group")


@pytest.mark.parametrize("metric", sorted(HAND))
def test_group_metrics_match_the_hand_counts(feature, metric):
    a, b = HAND[metric]

    assert feature.group("A").metrics[metric].value == exactly(a)
    assert feature.group("B").metrics[metric].value == exactly(b)


def test_group_sizes_are_counted(feature):
    assert [(g.group, g.count, g.insufficient_data) for g in feature.groups] == [("A", 6, False), ("B", 6, False)]


def test_fairlearn_disparities_match_the_hand_counts(feature):
    sr_a, sr_b = HAND["selection_rate"]
    tpr_a, tpr_b = HAND["true_positive_rate"]
    fpr_a, fpr_b = HAND["false_positive_rate"]

    assert feature.fairlearn["demographic_parity_difference"].value == exactly(sr_a - sr_b)  # 1/3
    assert feature.fairlearn["demographic_parity_ratio"].value == exactly(sr_b / sr_a)  # 1/3
    assert feature.fairlearn["equal_opportunity_difference"].value == exactly(tpr_a - tpr_b)  # 1/6
    # The FPR gap (1/3) is wider than the TPR gap (1/6).
    assert feature.fairlearn["equalized_odds_difference"].value == exactly(max(tpr_a - tpr_b, fpr_a - fpr_b))


def test_aif360_compares_b_with_a_the_group_with_the_higher_selection_rate(feature):
    sr_a, sr_b = HAND["selection_rate"]
    tpr_a, tpr_b = HAND["true_positive_rate"]
    fpr_a, fpr_b = HAND["false_positive_rate"]
    [pair] = feature.aif360

    assert (pair.unprivileged_group, pair.privileged_group) == ("B", "A")
    assert pair.metrics["disparate_impact"].value == exactly(sr_b / sr_a)
    assert pair.metrics["statistical_parity_difference"].value == exactly(sr_b - sr_a)
    assert pair.metrics["equal_opportunity_difference"].value == exactly(tpr_b - tpr_a)
    assert pair.metrics["average_odds_difference"].value == exactly(((fpr_b - fpr_a) + (tpr_b - tpr_a)) / 2)


def test_theil_index_matches_the_hand_formula():
    # Benefits b = 1 + p - y over the 12 rows: two 0s (the FNs), nine 1s, one 2 (the FP); mean 11/12.
    mean = (9 * 1 + 1 * 2) / 12
    expected = (9 * (1 / mean) * math.log(1 / mean) + 1 * (2 / mean) * math.log(2 / mean)) / 12

    assert tiny_audit().aif360_overall["theil_index"].value == exactly(expected)


def test_both_thresholds_fail_with_their_numbers(feature):
    verdict = feature.verdict

    assert verdict.status == "fail"
    assert [c.status for c in verdict.checks] == ["fail", "fail"]
    assert verdict.checks[0].value == exactly(1 / 3)
    assert "selection rate ratio 0.3333 (B 0.1667 / A 0.5000) is below the minimum 0.8" in verdict.reasons[0]
    assert "equalized odds difference 0.3333 (false positive rate A 0.3333 vs B 0.0000)" in verdict.reasons[1]


def test_intersection_groups_are_the_combinations_seen():
    # p per (g1, g2): A-x: 1 1 | A-y: 1 0 | B-x: 1 0 | B-y: 0 0
    sensitive = pd.DataFrame({"g1": list("AAAABBBB"), "g2": list("xxyyxxyy")})
    result = bias_audit(
        y_true=[1, 0, 1, 1, 0, 0, 1, 0],
        y_pred=[1, 1, 1, 0, 1, 0, 0, 0],
        sensitive=sensitive,
        task="binary_classification",
        min_group_size=1,
        n_bootstrap=50,
    )
    intersection = result.feature("g1 x g2")

    assert intersection.kind == "intersection" and intersection.columns == ("g1", "g2")
    rates = {g.group: g.metrics["selection_rate"].value for g in intersection.groups}
    assert rates == {"A x x": 1.0, "A x y": 0.5, "B x x": 0.5, "B x y": 0.0}
    assert intersection.group("A x y").values == {"g1": "A", "g2": "y"}
    assert intersection.fairlearn["demographic_parity_difference"].value == exactly(1.0 - 0.0)
