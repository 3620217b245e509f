"""Bootstrap intervals: seeded, covering the estimate, narrowing with n, and built on verified count formulas."""

import math

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from aif360.datasets import BinaryLabelDataset
from aif360.metrics import ClassificationMetric
from fairlearn import metrics as flm

from evidence import fairness
from tests.evidence.fairness.builders import all_estimates, random_audit, random_binary


def _rate_ci(result, group: str = "a") -> tuple:
    return result.feature("race").group(group).metrics["selection_rate"].ci


def _width(estimate) -> float:
    low, high = estimate.ci
    return high - low


def test_the_same_seed_gives_the_same_result():
    first = random_audit(2000, n_bootstrap=200, seed=3).to_dict()

    assert random_audit(2000, n_bootstrap=200, seed=3).to_dict() == first


def test_another_seed_gives_other_intervals_around_the_same_estimates():
    first, second = random_audit(2000, n_bootstrap=200, seed=3), random_audit(2000, n_bootstrap=200, seed=4)

    assert _rate_ci(first) != _rate_ci(second)
    assert [e.value for _, e in all_estimates(first)] == [e.value for _, e in all_estimates(second)]


def test_intervals_contain_the_estimate_for_a_large_sample():
    estimates = all_estimates(random_audit(20000, n_bootstrap=400))

    outside = [(name, e) for name, e in estimates if not e.ci[0] <= e.value <= e.ci[1]]
    assert len(estimates) > 80
    assert outside == []


def test_intervals_narrow_as_the_sample_grows():
    small, large = random_audit(1000, n_bootstrap=300), random_audit(16000, n_bootstrap=300)

    for name in ("race", "sex", "race x sex"):
        # 16 times the rows: about a quarter of the width.
        assert _width(large.feature(name).fairlearn["demographic_parity_difference"]) < 0.5 * _width(
            small.feature(name).fairlearn["demographic_parity_difference"]
        )
        for group in large.feature(name).groups:
            narrow = group.metrics["true_positive_rate"]
            wide = small.feature(name).group(group.group).metrics["true_positive_rate"]
            assert _width(narrow) < 0.5 * _width(wide), (name, group.group)


def test_a_selection_rate_interval_is_as_wide_as_the_binomial_standard_error_says():
    group = random_audit(20000, n_bootstrap=1000).feature("race").group("a")
    rate = group.metrics["selection_rate"].value

    expected_width = 2 * 1.96 * math.sqrt(rate * (1 - rate) / group.count)
    assert _width(group.metrics["selection_rate"]) == pytest.approx(expected_width, rel=0.15)


def test_no_resamples_means_no_intervals_and_the_same_estimates():
    without, with_resamples = random_audit(2000, n_bootstrap=0), random_audit(2000, n_bootstrap=50)

    assert {e.ci for _, e in all_estimates(without)} == {(None, None)}
    assert [e.value for _, e in all_estimates(without)] == [e.value for _, e in all_estimates(with_resamples)]


@pytest.fixture(scope="module")
def counted():
    """The count formulas the bootstrap uses, applied to the original cell counts of the race feature."""
    y, p, sensitive = random_binary(3000, seed=11)
    rows = fairness._rows(y, p, sensitive, "binary_classification", 1, None)
    cells = fairness._collapse(rows)
    race = fairness._groupings(rows.features, list(cells.columns.values()))[0]
    return y, p, sensitive["race"], cells, fairness._rates(fairness._confusion(cells.counts, cells, race))


def test_count_formulas_give_fairleans_group_metrics(counted):
    y, p, race, _, rates = counted
    metrics = {"selection_rate": flm.selection_rate, "accuracy": skm.accuracy_score, "precision": skm.precision_score}
    metrics |= {m: getattr(flm, m) for m in ("true_positive_rate", "false_positive_rate", "false_negative_rate")}
    frame = flm.MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=race)

    for metric in metrics:
        assert rates[metric] == pytest.approx(frame.by_group[metric].to_numpy(), rel=0, abs=1e-12), metric
    assert rates["count"].tolist() == race.value_counts().sort_index().tolist()


def test_count_formulas_give_fairlearns_disparities(counted):
    y, p, race, _, rates = counted
    disparities = fairness._binary_disparities(rates)

    for function in (flm.demographic_parity_difference, flm.demographic_parity_ratio):
        assert disparities[function.__name__] == pytest.approx(function(y, p, sensitive_features=race), abs=1e-12)
    for function in (flm.equalized_odds_difference, flm.equal_opportunity_difference):
        assert disparities[function.__name__] == pytest.approx(function(y, p, sensitive_features=race), abs=1e-12)


def test_count_formulas_give_aif360s_pair_metrics_and_theil_index(counted):
    y, p, race, cells, rates = counted
    frame = pd.DataFrame({"label": y.astype(float), "g": pd.factorize(race, sort=True)[0].astype(float)})
    truth = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["g"])
    predicted = truth.copy(deepcopy=True)
    predicted.labels = p.astype(float).reshape(-1, 1)
    metric = ClassificationMetric(truth, predicted, unprivileged_groups=[{"g": 2}], privileged_groups=[{"g": 0}])
    pairs = fairness._pair_metrics(rates, 0)

    for name in fairness.AIF360_PAIR_METRICS:
        assert pairs[name][2] == pytest.approx(getattr(metric, name)(), rel=0, abs=1e-12), name
    assert fairness._theil(cells.counts, cells) == pytest.approx(metric.theil_index(), rel=0, abs=1e-12)


def test_resampled_cell_counts_add_up_to_the_rows(counted):
    *_, cells, _ = counted
    settings = fairness._settings("binary_classification", fairness.Thresholds(), 30, 50, 0)
    rng = np.random.default_rng(settings.cell_seed)
    draws = rng.multinomial(int(cells.counts.sum()), cells.counts / cells.counts.sum(), size=50)

    assert set(draws.sum(axis=1).tolist()) == {3000}
