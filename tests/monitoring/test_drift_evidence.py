"""How a checked window's result reads as drift evidence (no database)."""

from monitoring.drift_evidence import window_drift_reading


def _result(**monitors) -> dict:
    return {"verdict": "ok", "monitors": monitors}


def test_a_window_that_found_drift_reads_as_drift_naming_the_features():
    features = {"age": {"status": "drift"}, "priors": {"status": "stable"}}
    reading = window_drift_reading(
        _result(
            feature_drift={"status": "drift", "reason": "PSI >= 0.2 on age", "features": features},
            prediction_drift={"status": "stable", "reason": "the predictions' PSI 0.010 is below 0.2"},
            performance={"status": "no_labels", "reason": "no labels"},
        )
    )
    assert reading == {"verdict": "drift", "reason": "feature_drift: PSI >= 0.2 on age", "drifted_features": ["age"]}


def test_a_stable_window_reads_as_stable_and_one_without_enough_rows_as_nothing():
    stable = _result(feature_drift={"status": "stable", "reason": "every feature's PSI is below 0.2", "features": {}})
    assert window_drift_reading(stable)["verdict"] == "stable"
    short = _result(feature_drift={"status": "insufficient_data", "reason": "40 rows", "features": {}})
    assert window_drift_reading(short) is None
    assert window_drift_reading(_result(performance={"status": "ok", "reason": ""})) is None
    assert window_drift_reading(None) is None
