"""Realised and estimated performance of a window: against scikit-learn, and CBPE against the realised figures
on calibrated data."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, precision_score, recall_score, roc_auc_score

from monitoring import performance as perf


@pytest.fixture(scope="module")
def calibrated():
    """Scores that are exactly the probability of the positive class, and outcomes drawn from them."""
    rng = np.random.default_rng(3)
    scores = rng.beta(2, 3, size=20_000)
    labels = (rng.uniform(size=scores.size) < scores).astype(int)
    return scores, labels, (scores >= 0.5).astype(int)


def test_realised_metrics_agree_with_scikit_learn_and_sit_inside_their_intervals(calibrated):
    scores, labels, predictions = calibrated
    metrics = perf.binary_performance(labels, predictions, scores, n_bootstrap=300)
    expected = {
        "accuracy": accuracy_score(labels, predictions),
        "precision": precision_score(labels, predictions),
        "recall": recall_score(labels, predictions),
        "f1": f1_score(labels, predictions),
        "roc_auc": roc_auc_score(labels, scores),
    }
    for name, value in expected.items():
        assert metrics[name]["value"] == pytest.approx(value, abs=1e-12)
        assert metrics[name]["low"] < value < metrics[name]["high"]
        assert metrics[name]["high"] - metrics[name]["low"] < 0.05  # 20,000 rows pin them down


def test_a_metric_without_its_cases_is_undefined_not_zero():
    metrics = perf.binary_performance(np.zeros(50, int), np.zeros(50, int), None, n_bootstrap=50)
    assert metrics["precision"]["value"] is None and metrics["recall"]["value"] is None
    assert metrics["accuracy"]["value"] == 1.0


def test_cbpe_estimates_what_calibrated_scores_then_realise(calibrated):
    scores, labels, predictions = calibrated
    estimated = perf.estimated_binary_performance(scores, predictions, scores)
    realised = perf.binary_performance(labels, predictions, scores, n_bootstrap=0)
    assert all(metric["estimate"] for metric in estimated.values())
    for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert estimated[name]["value"] == pytest.approx(realised[name]["value"], abs=0.015)
    assert estimated["accuracy"]["low"] < realised["accuracy"]["value"] < estimated["accuracy"]["high"]


def test_the_calibrator_learns_probabilities_from_labelled_reference_rows(calibrated):
    scores, labels, _ = calibrated
    squeezed = scores**3  # a monotone distortion: ranks kept, probabilities wrong
    calibrate = perf.calibrator(squeezed, labels)
    assert np.mean(np.abs(calibrate(squeezed) - scores)) < 0.03
    with pytest.raises(ValueError, match="both classes"):
        perf.calibrator(squeezed, np.ones_like(labels))


def test_regression_errors_and_their_intervals():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=5000)
    predicted = truth + rng.normal(scale=0.5, size=5000)
    metrics = perf.regression_performance(truth, predicted)
    assert metrics["mae"]["value"] == pytest.approx(mean_absolute_error(truth, predicted))
    assert metrics["mae"]["low"] < metrics["mae"]["value"] < metrics["mae"]["high"]
    assert metrics["rmse"]["low"] < 0.5 < metrics["rmse"]["high"]


def test_a_drop_is_relative_and_knows_which_way_is_worse():
    assert perf.relative_drop("roc_auc", 0.8, 0.72) == pytest.approx(0.1)
    assert perf.relative_drop("mae", 2.0, 2.5) == pytest.approx(0.25)
    assert perf.relative_drop("accuracy", 0.8, 0.9) < 0
    assert perf.beyond_chance("roc_auc", 0.8, {"value": 0.7, "low": 0.65, "high": 0.75})
    assert not perf.beyond_chance("roc_auc", 0.8, {"value": 0.7, "low": 0.6, "high": 0.82})
