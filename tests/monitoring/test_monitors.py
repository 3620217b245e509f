"""The monitors on one window: each alerts on the shift it is for, an unshifted window raises nothing, and a
window below the minimum size is never an alert."""

import numpy as np
import pandas as pd
import pytest

from mlio.reference_profile import prediction_profile, reference_profile_for
from monitoring import performance as perf
from monitoring.monitors import MONITORS, Reference, Rules, Window, window_report

RULES = Rules(
    monitors=MONITORS, psi_alert=0.15, min_rows=1000, min_labelled_rows=500, max_performance_drop=0.1, n_bootstrap=200
)


def _rows(n: int, seed: int, *, shift: float = 0.0, concept: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(shift, 1, n), "x2": rng.normal(0, 1, n)})
    logit = 1.5 * frame.x1 - frame.x2
    if concept:  # the same inputs, outcomes no longer following them as they did
        logit = -0.2 * frame.x1 + 0.2 * frame.x2
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, labels


def _score(frame: pd.DataFrame) -> np.ndarray:
    """The model: the true probabilities before any change."""
    return 1 / (1 + np.exp(-(1.5 * frame.x1 - frame.x2).to_numpy()))


@pytest.fixture(scope="module")
def reference() -> Reference:
    frame, labels = _rows(8000, seed=1)
    scores = _score(frame)
    predictions = (scores >= 0.5).astype(int)
    return Reference(
        task="binary_classification",
        drift_profile=reference_profile_for(frame, ["x1", "x2"]),
        prediction_profile=prediction_profile(scores),
        baseline=perf.binary_performance(labels, predictions, scores, n_bootstrap=200),
        calibrate=perf.calibrator(scores, labels),
    )


def _window(n: int, seed: int, *, labelled=True, **shift) -> Window:
    frame, labels = _rows(n, seed, **shift)
    scores = _score(frame)
    return Window(frame, (scores >= 0.5).astype(int), scores, labels if labelled else None)


def test_an_unshifted_window_raises_nothing(reference):
    report = window_report(_window(4000, seed=2), reference, RULES)
    assert report["verdict"] == "ok" and report["alerts"] == []
    assert {name: result["status"] for name, result in report["monitors"].items()} == {
        "feature_drift": "stable",
        "prediction_drift": "stable",
        "performance": "judged",
        "concept_drift": "judged",
        "estimated_performance": "judged",
    }
    assert report["monitors"]["estimated_performance"]["estimate"] is True


def test_moved_inputs_alert_feature_and_prediction_drift_but_not_the_concept(reference):
    report = window_report(_window(4000, seed=3, shift=1.0), reference, RULES)
    alerted = {alert["monitor"] for alert in report["alerts"]}
    assert {"feature_drift", "prediction_drift"} <= alerted
    assert "concept_drift" not in alerted  # outcomes still follow the inputs as the scores say
    assert report["monitors"]["feature_drift"]["features"]["x1"]["status"] == "drift"
    assert report["monitors"]["feature_drift"]["features"]["x2"]["status"] == "stable"


def test_a_changed_concept_alerts_performance_and_concept_drift_with_stable_inputs(reference):
    report = window_report(_window(4000, seed=4, concept=True), reference, RULES)
    alerted = {alert["monitor"] for alert in report["alerts"]}
    assert {"performance", "concept_drift"} <= alerted
    assert "feature_drift" not in alerted and "estimated_performance" not in alerted


def test_an_unlabelled_window_is_judged_on_its_estimate(reference):
    report = window_report(_window(4000, seed=5, labelled=False, shift=-1.5), reference, RULES)
    assert report["monitors"]["performance"]["status"] == "no_labels"
    estimated = report["monitors"]["estimated_performance"]
    assert estimated["estimate"] is True and estimated["metrics"]["roc_auc"]["estimate"] is True
    assert estimated["relative_drop"]["accuracy"] < 0  # far from the boundary, the model is surer: no false alarm


def test_a_window_below_the_minimum_size_is_never_an_alert(reference):
    report = window_report(_window(300, seed=6, shift=2.0, concept=True), reference, RULES)
    assert report["alerts"] == [] and report["verdict"] == "insufficient_data"


def test_only_the_monitors_a_policy_names_run(reference):
    rules = Rules(**{**RULES.__dict__, "monitors": ("prediction_drift",)})
    report = window_report(_window(4000, seed=7, shift=1.0), reference, rules)
    assert list(report["monitors"]) == ["prediction_drift"]
    assert report["monitors"]["prediction_drift"]["status"] == "drift"


def test_a_regressor_is_judged_on_its_errors_and_has_no_probabilities_to_estimate_from():

    def rows(n, seed, noise):
        local = np.random.default_rng(seed)
        frame = pd.DataFrame({"x1": local.normal(0, 1, n), "x2": local.normal(0, 1, n)})
        return frame, (2 * frame.x1 - frame.x2).to_numpy(), local.normal(0, noise, n)

    frame, truth, noise = rows(6000, 9, 0.5)
    reference = Reference(
        task="regression",
        drift_profile=reference_profile_for(frame, ["x1", "x2"]),
        prediction_profile=prediction_profile(truth),
        baseline=perf.regression_performance(truth + noise, truth),
        calibrate=None,
    )
    frame, truth, noise = rows(4000, 10, 1.0)  # twice the noise: outcomes further from the predictions
    report = window_report(Window(frame, truth, None, truth + noise), reference, RULES)
    assert report["primary_metric"] == "mae"
    assert (
        report["monitors"]["performance"]["alert"] and report["monitors"]["performance"]["relative_drop"]["mae"] > 0.5
    )
    assert report["monitors"]["concept_drift"]["status"] == "not_applicable"
    assert report["monitors"]["estimated_performance"]["status"] == "not_applicable"


def _small_reference(reference: Reference, rows: int) -> Reference:
    frame, _ = _rows(rows, seed=11)
    return Reference(
        task=reference.task,
        drift_profile=reference_profile_for(frame, ["x1", "x2"]),
        prediction_profile=prediction_profile(_score(frame)),
        baseline=reference.baseline,
        calibrate=reference.calibrate,
    )


def test_a_small_evaluation_set_still_alerts_on_a_large_shift(reference):
    report = window_report(_window(1500, seed=12, shift=2.0), _small_reference(reference, 600), RULES)
    alerted = {alert["monitor"] for alert in report["alerts"]}
    assert {"feature_drift", "prediction_drift"} <= alerted
    feature = report["monitors"]["feature_drift"]
    assert feature["features"]["x1"]["status"] == "drift"
    assert "the reference has 600 values, fewer than the 1000" in feature["reason"]
    assert "evaluation data has 600 predictions" in report["monitors"]["prediction_drift"]["reason"]


def test_a_small_evaluation_set_says_the_reference_is_short_not_the_window(reference):
    report = window_report(_window(1500, seed=13), _small_reference(reference, 600), RULES)
    feature, prediction = report["monitors"]["feature_drift"], report["monitors"]["prediction_drift"]
    assert feature["status"] == prediction["status"] == "insufficient_data"
    assert feature["reason"].startswith("the reference has 600 values, fewer than the 1000 a stable verdict needs")
    assert prediction["reason"].startswith("the evaluation data has 600 predictions, fewer than the 1000")
    assert "1500" not in feature["reason"] + prediction["reason"]


def test_a_short_window_names_its_own_size(reference):
    report = window_report(_window(300, seed=14), reference, RULES)
    assert report["monitors"]["feature_drift"]["reason"].startswith("the window has 300 rows")
    assert report["monitors"]["prediction_drift"]["reason"].startswith("the window has 300 predictions")


def test_a_policy_without_performance_monitors_computes_no_performance(reference):
    # A drift-only policy must not pay for (nor fail on) the performance computations it does not report.
    def calibrate(_scores):
        raise AssertionError("the estimate was computed though no monitor uses it")

    drift_only = Rules(**{**RULES.__dict__, "monitors": ("feature_drift", "prediction_drift")})
    uncalibrated = Reference(**{**reference.__dict__, "calibrate": calibrate})
    report = window_report(_window(4000, seed=2), uncalibrated, drift_only)
    assert set(report["monitors"]) == {"feature_drift", "prediction_drift"}
    with pytest.raises(AssertionError, match="the estimate was computed"):
        window_report(_window(4000, seed=2), uncalibrated, Rules(**{**RULES.__dict__, "monitors": ("concept_drift",)}))
