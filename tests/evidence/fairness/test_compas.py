"""The public COMPAS case (ProPublica, 2016), when the shared copy of the data is on this machine.

Prediction: decile_score >= 5 ("medium" or "high" risk); label: two_year_recid; sensitive: race and sex.
Every expected number is computed here with a plain pandas groupby, independently of the audit module.
"""

from pathlib import Path

import pandas as pd
import pytest

from evidence.fairness import bias_audit

COMPAS = Path("/work/shared/datasets/compas-scores-two-years.csv")
pytestmark = pytest.mark.skipif(not COMPAS.exists(), reason="the shared COMPAS file is not on this machine")


@pytest.fixture(scope="module")
def compas() -> pd.DataFrame:
    # decile_score appears twice in the published file; pandas reads the first copy as decile_score.
    frame = pd.read_csv(COMPAS)[["race", "sex", "decile_score", "two_year_recid"]]
    return frame.assign(predicted=(frame["decile_score"] >= 5).astype(int))


def _audit(compas: pd.DataFrame, **options):
    return bias_audit(
        y_true=compas["two_year_recid"],
        y_pred=compas["predicted"],
        sensitive=compas[["race", "sex"]],
        task="binary_classification",
        n_bootstrap=300,
        **options,
    )


@pytest.fixture(scope="module")
def result(compas):
    return _audit(compas)


def _pandas_rates(compas: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    by = compas.groupby(columns)["predicted"]
    negatives = compas[compas["two_year_recid"] == 0].groupby(columns)["predicted"]
    positives = compas[compas["two_year_recid"] == 1].groupby(columns)["predicted"]
    return pd.DataFrame(
        {
            "count": by.size(),
            "selection_rate": by.mean(),
            "false_positive_rate": negatives.mean(),
            "true_positive_rate": positives.mean(),
        }
    )


def test_false_positive_rates_reproduce_propublicas_finding(compas, result):
    expected = _pandas_rates(compas, ["race"])["false_positive_rate"]
    race = result.feature("race")
    black = race.group("African-American").metrics["false_positive_rate"].value
    white = race.group("Caucasian").metrics["false_positive_rate"].value

    # "Machine Bias": about 45% of black and 23% of white defendants who did not reoffend were labelled higher risk.
    assert 0.42 < black < 0.48 and 0.20 < white < 0.26
    assert black == pytest.approx(expected["African-American"], rel=0, abs=1e-12)
    assert white == pytest.approx(expected["Caucasian"], rel=0, abs=1e-12)


@pytest.mark.parametrize("columns", [["race"], ["sex"], ["race", "sex"]])
def test_every_group_matches_a_pandas_groupby(compas, result, columns):
    expected = _pandas_rates(compas, columns)
    feature = result.feature(" x ".join(columns))

    assert len(feature.groups) == len(expected)
    for group in feature.groups:
        row = expected.loc[tuple(group.values.values()) if len(columns) > 1 else group.group]
        assert group.count == row["count"]
        for metric in ("selection_rate", "false_positive_rate", "true_positive_rate"):
            assert group.metrics[metric].value == pytest.approx(row[metric], rel=0, abs=1e-12), (group.group, metric)


def test_race_fails_the_four_fifths_rule_on_the_groups_with_enough_data(compas, result):
    rates = _pandas_rates(compas, ["race"])
    enough = rates.loc[rates["count"] >= 30, "selection_rate"]
    check = result.feature("race").verdict.checks[0]

    assert check.name == "min_selection_rate_ratio" and check.status == "fail"
    assert check.value == pytest.approx(enough.min() / enough.max(), rel=1e-12)
    assert (enough.idxmin(), enough.idxmax()) == ("Other", "African-American")


def test_small_groups_are_listed_and_the_others_decide_race_and_the_intersection(result):
    race, intersection = result.feature("race"), result.feature("race x sex")
    small = {g.group: g.count for g in intersection.groups if g.insufficient_data}

    assert race.group("Native American").insufficient_data and race.group("Native American").count == 18
    assert not race.group("Asian").insufficient_data  # 32 rows
    assert small == {"Asian x Female": 2, "Native American x Female": 4, "Native American x Male": 14}
    assert {g.group: g.count for g in intersection.insufficient_groups} == small
    assert [(g.group, g.count) for g in race.insufficient_groups] == [("Native American", 18)]
    assert (race.verdict.status, intersection.verdict.status) == ("fail", "fail")
    assert "insufficient data: group 'Native American x Female' has 4 rows" in " | ".join(intersection.verdict.reasons)


def test_sex_passes_both_thresholds_and_race_fails_overall(result):
    assert result.feature("sex").verdict.status == "pass"
    assert result.verdict.status == "fail"


def test_with_a_lower_minimum_every_race_counts(compas):
    # With a minimum of 15 every race qualifies (the smallest has 18), but not every race x sex cell.
    result = _audit(compas, min_group_size=15)

    assert result.feature("race").verdict.status == "fail"
    assert result.feature("race").insufficient_groups == ()
    assert result.feature("race").fairlearn == result.feature("race").fairlearn_all_groups
    assert {g.group: g.count for g in result.feature("race x sex").insufficient_groups} == {
        "Asian x Female": 2,
        "Native American x Female": 4,
        "Native American x Male": 14,
    }
    assert result.verdict.status == "fail"


def _pandas_disparities(rates: pd.DataFrame) -> dict[str, float]:
    def spread(column: str) -> float:
        return rates[column].max() - rates[column].min()

    return {
        "demographic_parity_difference": spread("selection_rate"),
        "demographic_parity_ratio": rates["selection_rate"].min() / rates["selection_rate"].max(),
        "equal_opportunity_difference": spread("true_positive_rate"),
        "equalized_odds_difference": max(spread("true_positive_rate"), spread("false_positive_rate")),
    }


@pytest.mark.parametrize("columns", [["race"], ["race", "sex"]])
def test_headline_disparities_span_the_eligible_groups_and_the_full_table_all(compas, result, columns):
    rates = _pandas_rates(compas, columns)
    feature = result.feature(" x ".join(columns))
    headline, every = _pandas_disparities(rates[rates["count"] >= 30]), _pandas_disparities(rates)

    for name in headline:
        assert feature.fairlearn[name].value == pytest.approx(headline[name], rel=0, abs=1e-12), name
        assert feature.fairlearn_all_groups[name].value == pytest.approx(every[name], rel=0, abs=1e-12), name
    assert feature.verdict.checks[1].value == pytest.approx(headline["equalized_odds_difference"], rel=0, abs=1e-12)
