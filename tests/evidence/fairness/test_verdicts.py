"""Verdicts against the thresholds, insufficient data, the overall verdict and the JSON form of a result."""

import json

import pandas as pd
import pytest

from evidence.fairness import FOUR_FIFTHS_SOURCE, Thresholds, bias_audit
from tests.evidence.fairness.builders import audit_counts, rows_from_counts, tiny_audit

# (TP, FP, TN, FN) per group.
EQUAL = {"A": (20, 10, 10, 0), "B": (20, 10, 10, 0)}
# Selection rates 0.5 (20/40) and 0.4 (16/40): a ratio of exactly 0.8. TPR 0.5 vs 0.4, FPR 0.5 vs 0.4.
FOUR_FIFTHS_EXACTLY = {"A": (10, 10, 10, 10), "B": (8, 8, 12, 12)}


def test_equal_groups_pass():
    result = audit_counts(EQUAL)

    assert result.feature("group").verdict.status == "pass"
    assert [c.value for c in result.feature("group").verdict.checks] == [1.0, 0.0]
    assert (result.verdict.status, result.verdict.reasons) == ("pass", ())


def test_numbers_exactly_at_the_limits_meet_them():
    ratio, odds = audit_counts(FOUR_FIFTHS_EXACTLY).feature("group").verdict.checks

    assert (ratio.status, ratio.value) == ("pass", 0.8)
    assert "meets the minimum 0.8" in ratio.detail
    # 0.5 - 0.4 is 0.09999999999999998 in doubles; the limit is about the real number.
    assert (odds.status, odds.value) == ("pass", pytest.approx(0.1, abs=1e-15))


def test_the_equalized_odds_limit_fails_with_its_numbers():
    # Selection rates 20/40 and 18/40 (ratio 0.9); TPR 10/20 vs 7/20, FPR 10/20 vs 11/20.
    verdict = audit_counts({"A": (10, 10, 10, 10), "B": (7, 11, 9, 13)}).feature("group").verdict

    assert verdict.status == "fail"
    assert [c.status for c in verdict.checks] == ["pass", "fail"]
    assert verdict.reasons == (
        "max_equalized_odds_difference: equalized odds difference 0.1500 (true positive rate A 0.5000 vs B 0.3500) "
        "exceeds the maximum 0.1 (policy default)",
    )


def test_custom_thresholds_and_their_sources_decide_and_are_quoted():
    lenient = Thresholds(
        min_selection_rate_ratio=0.3,
        max_equalized_odds_difference=0.4,
        min_selection_rate_ratio_source="board decision 2024-07",
        max_equalized_odds_difference_source="board decision 2024-07",
    )
    result = tiny_audit(thresholds=lenient)

    assert result.feature("group").verdict.status == "pass"
    assert {c.source for c in result.feature("group").verdict.checks} == {"board decision 2024-07"}
    assert result.to_dict()["thresholds"]["min_selection_rate_ratio"] == {
        "value": 0.3,
        "source": "board decision 2024-07",
    }


def test_default_thresholds_carry_their_sources():
    thresholds = tiny_audit().to_dict()["thresholds"]

    assert thresholds == {
        "min_selection_rate_ratio": {"value": 0.8, "source": FOUR_FIFTHS_SOURCE},
        "max_equalized_odds_difference": {"value": 0.1, "source": "policy default"},
    }
    assert "29 CFR 1607.4(D)" in FOUR_FIFTHS_SOURCE


def test_without_two_groups_of_enough_rows_the_feature_is_inconclusive_even_when_the_checks_would_fail():
    # The tiny groups have 6 rows each, under the default minimum of 30.
    feature = tiny_audit(min_group_size=30).feature("group")

    assert feature.verdict.status == "inconclusive"
    assert [g.insufficient_data for g in feature.groups] == [True, True]
    assert [c.status for c in feature.verdict.checks] == ["inconclusive", "inconclusive"]
    assert feature.verdict.reasons[0].startswith("inconclusive: fewer than two groups have at least min_group_size 30")
    assert (
        "insufficient data: group 'A' has 6 rows, fewer than min_group_size 30: left out of the verdict and the "
        "headline disparities, kept in the full table"
    ) in feature.verdict.reasons


def test_a_small_group_beside_two_equal_large_ones_leaves_the_pass_standing():
    result = audit_counts({**EQUAL, "C": (2, 1, 1, 0)})
    feature = result.feature("group")

    assert feature.verdict.status == "pass" and result.verdict.status == "pass"
    assert [c.status for c in feature.verdict.checks] == ["pass", "pass"]
    assert feature.group("C").insufficient_data
    assert [(g.group, g.count) for g in feature.insufficient_groups] == [("C", 4)]
    # Named in the reasons, never silently dropped.
    assert feature.verdict.reasons == (
        "insufficient data: group 'C' has 4 rows, fewer than min_group_size 30: left out of the verdict and the "
        "headline disparities, kept in the full table",
    )


def test_checks_leave_out_the_small_groups():
    # C would make the selection rate ratio 0; without it A and B are equal.
    check = audit_counts({**EQUAL, "C": (0, 0, 3, 1)}).feature("group").verdict.checks[0]

    assert (check.status, check.value) == ("pass", 1.0)


def _with_a_small_site(counts: dict):
    y, p, groups = rows_from_counts(counts)
    site = ["north"] * 5 + ["south"] * (len(y) - 5)  # north has 5 rows
    sensitive = pd.DataFrame({"group": groups, "site": site})
    return bias_audit(y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", n_bootstrap=20)


def test_overall_fails_when_one_feature_fails_and_another_is_inconclusive():
    result = _with_a_small_site({"A": (30, 10, 30, 10), "B": (10, 5, 55, 10)})

    statuses = {f.name: f.verdict.status for f in result.features}
    # site has one group of enough rows; the intersection has two (A x south, B x south) and they differ.
    assert statuses == {"group": "fail", "site": "inconclusive", "group x site": "fail"}
    assert result.verdict.status == "fail"
    assert any(reason.startswith("group: min_selection_rate_ratio:") for reason in result.verdict.reasons)
    assert "site: inconclusive: fewer than two groups have at least min_group_size 30 rows" in " | ".join(
        result.verdict.reasons
    )
    assert [g.group for g in result.feature("group x site").insufficient_groups] == ["A x north"]


def test_overall_is_inconclusive_when_nothing_fails_but_something_is_unknown():
    result = _with_a_small_site(EQUAL)

    statuses = {f.name: f.verdict.status for f in result.features}
    assert statuses == {"group": "pass", "site": "inconclusive", "group x site": "pass"}
    assert result.verdict.status == "inconclusive"


def test_to_dict_is_strict_json_with_nulls_for_undefined_numbers():
    # B has no actual positives: its TPR, FNR and the odds identities are undefined.
    result = audit_counts({"A": (10, 5, 20, 5), "B": (0, 4, 36, 0)}, n_bootstrap=30)
    data = result.to_dict()

    text = json.dumps(data, allow_nan=False)
    b = next(g for g in data["features"][0]["groups"] if g["group"] == "B")
    assert b["metrics"]["true_positive_rate"] == {"value": None, "ci": [None, None]}
    assert json.loads(text) == data


def test_to_dict_explains_both_libraries_sign_conventions():
    conventions = tiny_audit().to_dict()["conventions"]

    assert "maximum minus the minimum" in conventions["fairlearn"]
    assert "unprivileged minus privileged" in conventions["aif360"]
