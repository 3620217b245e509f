"""Groups under min_group_size: listed with their counts, left out of the verdict and the headline disparities.

The COMPAS-like case: two large groups whose false positive rates differ clearly (0.45 vs 0.23) and two groups
of 5 and 3 rows that would decide the verdict (inconclusive) and the disparities (1.0) if they counted. Expected
numbers come from plain pandas over the rows, and from Fairlearn and AIF360 run here on the filtered rows.
"""

import json

import numpy as np
import pandas as pd
import pytest
from aif360.datasets import BinaryLabelDataset
from aif360.metrics import ClassificationMetric
from fairlearn import metrics as flm

from evidence.fairness import FairnessMismatch, audit, bias_audit
from tests.evidence.fairness.builders import audit_counts, exactly, random_audit, rows_from_counts

# (TP, FP, TN, FN) per group. TPR 0.70 vs 0.50, FPR 0.45 vs 0.23; the tiny groups have TPR 0 and 1.
LARGE = {"African-American": (700, 450, 550, 300), "Caucasian": (300, 207, 693, 300)}
TINY = {"Native American": (0, 3, 0, 2), "Other": (2, 0, 1, 0)}
DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
)


def _frame(counts: dict) -> pd.DataFrame:
    y, p, groups = rows_from_counts(counts)
    return pd.DataFrame({"y": y, "p": p, "race": groups})


def _audit(frame: pd.DataFrame, columns=("race",), **options):
    arguments = {"n_bootstrap": 200, **options}
    sensitive = frame[list(columns)]
    return bias_audit(
        y_true=frame["y"], y_pred=frame["p"], sensitive=sensitive, task="binary_classification", **arguments
    )


def _by_hand(frame: pd.DataFrame, groups) -> dict[str, float]:
    """Fairlearn's disparities with a pandas groupby over the given groups' rows only."""
    rows = frame[frame["race"].isin(groups)]
    tpr = rows[rows["y"] == 1].groupby("race")["p"].mean()
    fpr = rows[rows["y"] == 0].groupby("race")["p"].mean()
    selection = rows.groupby("race")["p"].mean()
    return {
        "demographic_parity_difference": selection.max() - selection.min(),
        "demographic_parity_ratio": selection.min() / selection.max(),
        "equalized_odds_difference": max(tpr.max() - tpr.min(), fpr.max() - fpr.min()),
        "equal_opportunity_difference": tpr.max() - tpr.min(),
    }


@pytest.fixture(scope="module")
def compas_like():
    frame = _frame({**LARGE, **TINY})
    return frame, _audit(frame)


def test_the_large_groups_decide_the_verdict_and_the_tiny_ones_are_listed(compas_like):
    frame, result = compas_like
    race = result.feature("race")
    large = _by_hand(frame, LARGE)

    assert race.verdict.status == "fail" and result.verdict.status == "fail"
    assert [c.status for c in race.verdict.checks] == ["fail", "fail"]
    assert race.eligible_groups == ("African-American", "Caucasian")
    assert [(g.group, g.count) for g in race.insufficient_groups] == [("Native American", 5), ("Other", 3)]
    assert all("fewer than min_group_size 30" in g.reason for g in race.insufficient_groups)
    assert "insufficient data: group 'Other' has 3 rows, fewer than min_group_size 30" in " | ".join(
        race.verdict.reasons
    )
    # The headline is over the groups the verdict judges, and agrees with the verdict's own numbers.
    assert race.fairlearn["equal_opportunity_difference"].value == exactly(large["equal_opportunity_difference"])
    assert race.fairlearn["equalized_odds_difference"].value == exactly(large["equalized_odds_difference"])
    assert race.fairlearn["equalized_odds_difference"].value == exactly(0.45 - 0.23)
    assert race.verdict.checks[1].value == exactly(large["equalized_odds_difference"])
    assert race.fairlearn["demographic_parity_ratio"].value == exactly(race.verdict.checks[0].value)


def test_the_full_table_still_shows_the_tiny_groups(compas_like):
    frame, result = compas_like
    race = result.feature("race")
    every = _by_hand(frame, [*LARGE, *TINY])

    assert [(g.group, g.count, g.insufficient_data) for g in race.groups] == [
        ("African-American", 2000, False),
        ("Caucasian", 1500, False),
        ("Native American", 5, True),
        ("Other", 3, True),
    ]
    assert race.group("Other").metrics["true_positive_rate"].value == 1.0
    assert race.fairlearn_all_groups["equal_opportunity_difference"].value == exactly(1.0)
    for name in DISPARITIES:
        assert race.fairlearn_all_groups[name].value == exactly(every[name]), name


def test_the_headline_is_fairlearn_on_the_eligible_rows(compas_like):
    frame, result = compas_like
    rows = frame[frame["race"].isin(LARGE)]
    race = result.feature("race")

    for name in DISPARITIES:
        expected = getattr(flm, name)(rows["y"], rows["p"], sensitive_features=rows["race"])
        assert race.fairlearn[name].value == pytest.approx(expected, rel=0, abs=1e-12), name
        low, high = race.fairlearn[name].ci
        assert low <= race.fairlearn[name].value <= high


def test_the_headline_is_that_of_an_audit_of_the_large_groups_alone(compas_like):
    _, result = compas_like
    alone = _audit(_frame(LARGE)).feature("race")
    race = result.feature("race")

    assert {n: e.value for n, e in race.fairlearn.items()} == {n: e.value for n, e in alone.fairlearn.items()}
    assert [(c.status, c.value, c.detail) for c in race.verdict.checks] == [
        (c.status, c.value, c.detail) for c in alone.verdict.checks
    ]


def test_aif360_takes_the_privileged_group_among_the_eligible_ones(compas_like):
    frame, result = compas_like
    race = result.feature("race")
    pairs = {pair.unprivileged_group: pair for pair in race.aif360}

    # "Other" (3 rows) has the highest selection rate of all, but cannot be the reference.
    assert (
        race.group("Other").metrics["selection_rate"].value
        > race.group("African-American").metrics["selection_rate"].value
    )
    assert {pair.privileged_group for pair in race.aif360} == {"African-American"}
    assert {name: pair.insufficient_data for name, pair in pairs.items()} == {
        "Caucasian": False,
        "Native American": True,
        "Other": True,
    }
    codes = frame["race"].map({name: float(i) for i, name in enumerate([*LARGE, *TINY])})
    truth = BinaryLabelDataset(
        df=pd.DataFrame({"label": frame["y"].astype(float), "g": codes}),
        label_names=["label"],
        protected_attribute_names=["g"],
    )
    predicted = truth.copy(deepcopy=True)
    predicted.labels = frame["p"].to_numpy(dtype=float).reshape(-1, 1)
    metric = ClassificationMetric(truth, predicted, unprivileged_groups=[{"g": 1.0}], privileged_groups=[{"g": 0.0}])
    for name, estimate in pairs["Caucasian"].metrics.items():
        assert estimate.value == pytest.approx(getattr(metric, name)(), rel=0, abs=1e-12), name
    # Like with like: the eligible pair spans the headline range, as Fairlearn measures it.
    assert pairs["Caucasian"].metrics["statistical_parity_difference"].value == pytest.approx(
        -race.fairlearn["demographic_parity_difference"].value, abs=1e-12
    )
    assert -pairs["Caucasian"].metrics["equal_opportunity_difference"].value == pytest.approx(
        race.fairlearn["equal_opportunity_difference"].value, abs=1e-12
    )


def test_one_eligible_group_leaves_the_feature_inconclusive_and_says_why():
    result = audit_counts({"A": (40, 20, 100, 40), "B": (4, 1, 3, 2), "C": (1, 1, 5, 1)})
    feature = result.feature("group")

    assert feature.verdict.status == "inconclusive" and result.verdict.status == "inconclusive"
    assert feature.verdict.reasons[0] == (
        "inconclusive: fewer than two groups have at least min_group_size 30 rows (eligible: 'A' (200 rows)), "
        "so there are no groups to compare"
    )
    assert feature.eligible_groups == ("A",)
    assert [(g.group, g.count) for g in feature.insufficient_groups] == [("B", 10), ("C", 8)]
    assert {e.value for e in feature.fairlearn.values()} == {None}
    assert {e.ci for e in feature.fairlearn.values()} == {(None, None)}
    assert feature.fairlearn_all_groups["demographic_parity_difference"].value == exactly(0.5 - 0.25)


def test_no_eligible_group_at_all_is_inconclusive_too():
    feature = audit_counts({"A": (4, 1, 3, 2), "B": (1, 1, 5, 1)}).feature("group")

    assert feature.verdict.status == "inconclusive"
    assert "(eligible: none)" in feature.verdict.reasons[0]
    assert feature.eligible_groups == () and len(feature.insufficient_groups) == 2
    assert {pair.insufficient_data for pair in feature.aif360} == {True}


def test_when_every_group_is_eligible_the_headline_is_the_full_table():
    result = random_audit(3000, n_bootstrap=100)

    for feature in result.features:
        assert feature.fairlearn == feature.fairlearn_all_groups, feature.name
        assert feature.eligible_groups == tuple(g.group for g in feature.groups)
        assert feature.insufficient_groups == ()
        assert not any(pair.insufficient_data for pair in feature.aif360)
        rates = {g.group: g.metrics["selection_rate"].value for g in feature.groups}
        assert feature.aif360[0].privileged_group == max(rates, key=rates.get)


def test_an_intersection_is_judged_among_its_eligible_cells():
    frame = _frame({**LARGE, **TINY})
    # Sex splits every race: the tiny races make four cells of 1 to 3 rows.
    frame["sex"] = np.where(np.arange(len(frame)) % 2 == 0, "Female", "Male")
    result = _audit(frame, columns=("race", "sex"), n_bootstrap=50)
    cells = result.feature("race x sex")
    frame["cell"] = frame["race"] + " x " + frame["sex"]
    eligible = [g.group for g in cells.groups if g.count >= 30]
    hand = _by_hand(frame.assign(race=frame["cell"]), eligible)

    sizes = frame.groupby("cell").size()

    assert cells.verdict.status == "fail"
    assert {g.group: g.count for g in cells.insufficient_groups} == sizes[sizes < 30].to_dict()
    assert sorted(g.group for g in cells.insufficient_groups) == [
        "Native American x Female",
        "Native American x Male",
        "Other x Female",
        "Other x Male",
    ]
    assert cells.eligible_groups == tuple(eligible) and len(eligible) == 4
    for name in DISPARITIES:
        assert cells.fairlearn[name].value == exactly(hand[name]), name
    assert cells.fairlearn_all_groups["equal_opportunity_difference"].value == exactly(1.0)


def test_scores_and_regression_take_their_headline_differences_over_the_eligible_groups():
    frame = _frame({**LARGE, **TINY})
    score = np.clip(0.3 + 0.4 * frame["y"] - 0.2 * frame["p"] + (frame.index % 7) / 20, 0, 1)
    race = _audit(frame, score=score, n_bootstrap=50).feature("race")
    aucs = {g.group: g.metrics["roc_auc"].value for g in race.groups}

    assert race.fairlearn["roc_auc_difference"].value == exactly(abs(aucs["African-American"] - aucs["Caucasian"]))
    defined = [v for v in aucs.values() if v is not None]
    assert race.fairlearn_all_groups["roc_auc_difference"].value == exactly(max(defined) - min(defined))

    regression = bias_audit(
        y_true=frame["y"] * 10.0,
        y_pred=frame["p"] * 10.0 + frame["y"],
        sensitive=frame[["race"]],
        task="regression",
        n_bootstrap=50,
    ).feature("race")
    means = (frame["p"] * 10.0 + frame["y"]).groupby(frame["race"]).mean()
    assert regression.fairlearn["mean_prediction_difference"].value == exactly(
        abs(means["African-American"] - means["Caucasian"])
    )
    assert regression.fairlearn_all_groups["mean_prediction_difference"].value == exactly(means.max() - means.min())
    assert [g.group for g in regression.insufficient_groups] == ["Native American", "Other"]


def test_the_json_form_carries_both_tables_and_the_insufficient_groups(compas_like):
    _, result = compas_like
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    race = data["features"][0]

    assert race["eligible_groups"] == ["African-American", "Caucasian"]
    assert [(g["group"], g["count"]) for g in race["insufficient_groups"]] == [("Native American", 5), ("Other", 3)]
    assert set(race["fairlearn"]) == set(race["fairlearn_all_groups"]) == set(DISPARITIES)
    assert race["fairlearn_all_groups"]["equal_opportunity_difference"]["value"] == 1.0
    assert "fairlearn_all_groups" in data["conventions"]["headline"]
    assert "insufficient_groups" in data["conventions"]["verdict"]


def test_a_corrupted_fairlearn_figure_over_the_eligible_rows_raises_fairness_mismatch(monkeypatch):
    original = audit._fairlearn_binary_among

    def nudged(*args, **kwargs):
        out = original(*args, **kwargs)
        return {**out, "equal_opportunity_difference": out["equal_opportunity_difference"] + 1e-6}

    # Looked up where it is used, in the audit module.
    monkeypatch.setattr(audit, "_fairlearn_binary_among", nudged)
    frame = _frame({**LARGE, **TINY})

    with pytest.raises(FairnessMismatch, match="equal_opportunity_difference among eligible groups vs counts"):
        _audit(frame, n_bootstrap=0)
