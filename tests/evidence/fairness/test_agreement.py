"""Fairlearn, AIF360 and the count formulas agree; collapsed cells give the raw rows' numbers; disagreement fails."""

import functools

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from aif360.datasets import BinaryLabelDataset
from aif360.metrics import ClassificationMetric
from fairlearn import metrics as flm

from evidence.fairness import FairnessMismatch, audit, bias_audit, bootstrap, libraries
from tests.evidence.fairness.builders import random_binary

RAW_METRICS = {
    "selection_rate": flm.selection_rate,
    "accuracy": skm.accuracy_score,
    "true_positive_rate": flm.true_positive_rate,
    "false_positive_rate": flm.false_positive_rate,
    "false_negative_rate": flm.false_negative_rate,
    "precision": skm.precision_score,
}
DISPARITY_FUNCTIONS = (
    flm.demographic_parity_difference,
    flm.demographic_parity_ratio,
    flm.equalized_odds_difference,
    flm.equal_opportunity_difference,
)


@pytest.fixture(scope="module")
def data():
    return random_binary(3000, seed=7)


@pytest.fixture(scope="module")
def result(data):
    y, p, sensitive = data
    return bias_audit(y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", n_bootstrap=20)


def _raw_sensitive(sensitive: pd.DataFrame, feature) -> pd.Series | pd.DataFrame:
    return sensitive[list(feature.columns)] if len(feature.columns) > 1 else sensitive[feature.columns[0]]


@pytest.mark.parametrize("name", ["race", "sex", "race x sex"])
def test_collapsed_cells_give_fairlearns_raw_row_group_metrics(data, result, name):
    y, p, sensitive = data
    feature = result.feature(name)
    frame = flm.MetricFrame(
        metrics=RAW_METRICS, y_true=y, y_pred=p, sensitive_features=_raw_sensitive(sensitive, feature)
    )
    for group in feature.groups:
        key = tuple(group.values.values()) if len(feature.columns) > 1 else group.group
        raw = frame.by_group.loc[key]
        assert group.count == _rows_in(sensitive, group.values)
        for metric in RAW_METRICS:
            assert group.metrics[metric].value == pytest.approx(raw[metric], rel=0, abs=1e-12), (group.group, metric)


def _rows_in(sensitive: pd.DataFrame, values: dict) -> int:
    mask = np.ones(len(sensitive), dtype=bool)
    for column, value in values.items():
        mask &= (sensitive[column] == value).to_numpy()
    return int(mask.sum())


@pytest.mark.parametrize("name", ["race", "sex", "race x sex"])
def test_collapsed_cells_give_fairlearns_raw_row_disparities(data, result, name):
    y, p, sensitive = data
    feature = result.feature(name)
    for function in DISPARITY_FUNCTIONS:
        raw = function(y, p, sensitive_features=_raw_sensitive(sensitive, feature))
        assert feature.fairlearn[function.__name__].value == pytest.approx(raw, rel=0, abs=1e-12), function.__name__


def _raw_aif360(y: np.ndarray, p: np.ndarray, codes: np.ndarray) -> tuple:
    frame = pd.DataFrame({"label": y.astype(float), "g": codes.astype(float)})
    truth = BinaryLabelDataset(df=frame, label_names=["label"], protected_attribute_names=["g"])
    predicted = truth.copy(deepcopy=True)
    predicted.labels = p.astype(float).reshape(-1, 1)
    return truth, predicted


def test_collapsed_cells_give_aif360s_raw_row_pair_metrics(data, result):
    y, p, sensitive = data
    codes, races = pd.factorize(sensitive["race"], sort=True)
    truth, predicted = _raw_aif360(y, p, codes)
    feature = result.feature("race")
    privileged = list(races).index(feature.aif360[0].privileged_group)
    for pair in feature.aif360:
        unprivileged = list(races).index(pair.unprivileged_group)
        metric = ClassificationMetric(
            truth, predicted, unprivileged_groups=[{"g": unprivileged}], privileged_groups=[{"g": privileged}]
        )
        for name, estimate in pair.metrics.items():
            assert estimate.value == pytest.approx(getattr(metric, name)(), rel=0, abs=1e-12), name
    assert result.aif360_overall["theil_index"].value == pytest.approx(metric.theil_index(), rel=0, abs=1e-12)


@pytest.mark.parametrize("name", ["race", "sex", "race x sex"])
def test_aif360_and_fairlearn_meet_in_the_identities(result, name):
    feature = result.feature(name)
    rates = {g.group: g.metrics["selection_rate"].value for g in feature.groups}
    spd = [pair.metrics["statistical_parity_difference"].value for pair in feature.aif360]
    impact = [pair.metrics["disparate_impact"].value for pair in feature.aif360]
    eod = [pair.metrics["equal_opportunity_difference"].value for pair in feature.aif360]

    assert feature.aif360[0].privileged_group == max(rates, key=rates.get)
    assert min(spd) == pytest.approx(-feature.fairlearn["demographic_parity_difference"].value, abs=1e-12)
    assert min(impact) == pytest.approx(feature.fairlearn["demographic_parity_ratio"].value, abs=1e-12)
    assert max([0, *eod]) - min([0, *eod]) == pytest.approx(
        feature.fairlearn["equal_opportunity_difference"].value, abs=1e-12
    )


def test_the_audit_reports_how_much_was_compared(result):
    assert result.agreement["tolerance"] == 1e-9
    assert result.agreement["comparisons"] > 100
    assert 0 <= result.agreement["max_abs_difference"] <= 1e-9


def _run(data):
    y, p, sensitive = data
    return bias_audit(y_true=y, y_pred=p, sensitive=sensitive, task="binary_classification", n_bootstrap=0)


def _nudged_aif360(offset: float):
    original = libraries._aif360_grouping

    def nudged(*args, **kwargs):
        out = original(*args, **kwargs)
        out["selection_rate"][1] += offset
        return out

    return nudged


def test_a_corrupted_aif360_rate_raises_fairness_mismatch(data, monkeypatch):
    monkeypatch.setattr(libraries, "_aif360_grouping", _nudged_aif360(1e-6))

    with pytest.raises(FairnessMismatch, match=r"AIF360 vs Fairlearn selection_rate \[b\]"):
        _run(data)


def test_a_difference_within_the_tolerance_passes(data, monkeypatch):
    monkeypatch.setattr(libraries, "_aif360_grouping", _nudged_aif360(1e-11))

    assert _run(data).agreement["max_abs_difference"] == pytest.approx(1e-11, rel=1e-3)


def test_a_corrupted_fairlearn_disparity_raises_fairness_mismatch(data, monkeypatch):
    original = libraries.demographic_parity_difference

    @functools.wraps(original)
    def nudged(*args, **kwargs):
        return original(*args, **kwargs) + 1e-6

    monkeypatch.setattr(libraries, "demographic_parity_difference", nudged)

    with pytest.raises(FairnessMismatch, match="demographic_parity_difference"):
        _run(data)


def test_a_wrong_count_formula_raises_fairness_mismatch(data, monkeypatch):
    # The bootstrap's own arithmetic is checked against the libraries on every audit.
    original = audit._rates

    def wrong(confusion):
        rates = original(confusion)
        rates["precision"] = confusion["tp"] / (confusion["tp"] + confusion["fn"])
        return rates

    # The formula is looked up where it is used: the point estimates and the bootstrap.
    monkeypatch.setattr(audit, "_rates", wrong)
    monkeypatch.setattr(bootstrap, "_rates", wrong)

    with pytest.raises(FairnessMismatch, match="Fairlearn precision vs counts"):
        _run(data)
