"""Drift reports: verdicts on stable and shifted samples, sample-size rules, missing values and predictions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evidence.drift import DriftInputError, drift_report, prediction_profile, reference_floor, reference_profile

CATEGORIES = np.array(["a", "b", "c"])


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _sample(rng: np.random.Generator, n: int, *, shift: float = 0.0, shares=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "c": rng.choice(CATEGORIES, size=n, p=shares)})


def _profile(frame: pd.DataFrame) -> dict:
    return reference_profile(frame, numeric=["x"], categorical=["c"])


@pytest.fixture(scope="module")
def profile() -> dict:
    return _profile(_sample(_rng(1), 100_000))


def test_same_distribution_is_stable_with_psi_near_its_expected_value(profile: dict) -> None:
    report = drift_report(profile, _sample(_rng(2), 20_000))
    for name in ("x", "c"):
        feature = report["features"][name]
        assert feature["status"] == "stable"
        assert feature["psi"] < 3 * feature["psi_expected"]
    assert report["features"]["x"]["psi_expected"] == pytest.approx(9 * (1 / 100_000 + 1 / 20_000))
    assert (report["verdict"], report["drifted_features"]) == ("stable", [])


def test_mean_shift_of_half_a_standard_deviation_is_drift(profile: dict) -> None:
    report = drift_report(profile, _sample(_rng(3), 20_000, shift=0.5))
    feature = report["features"]["x"]
    assert feature["psi"] > 0.15
    assert feature["status"] == "drift"
    assert feature["mean_shift_sd"] == pytest.approx(0.5, abs=0.03)
    assert feature["median_shift_sd"] == pytest.approx(0.5, abs=0.05)
    assert (report["verdict"], report["drifted_features"]) == ("drift", ["x"])


def test_changed_category_shares_are_drift(profile: dict) -> None:
    report = drift_report(profile, _sample(_rng(4), 20_000, shares=(0.3, 0.3, 0.4)))
    feature = report["features"]["c"]
    # PSI of 0.5, 0.3, 0.2 against 0.3, 0.3, 0.4: 0.2 ln(5/3) + 0.2 ln 2, about 0.24.
    assert feature["psi"] == pytest.approx(0.2 * np.log(5 / 3) + 0.2 * np.log(2), abs=0.02)
    assert feature["status"] == "drift"
    assert feature["chi2_pvalue"] < 1e-12
    assert 0.1 < feature["cramers_v"] < 0.3
    assert report["drifted_features"] == ["c"]


def test_a_new_category_is_named_and_drives_drift(profile: dict) -> None:
    current = _sample(_rng(5), 20_000)
    current.loc[current.index[:4_000], "c"] = "d"
    feature = drift_report(profile, current)["features"]["c"]
    assert feature["new_categories"] == ["d"]
    assert (feature["new_categories_total"], feature["new_categories_share"]) == (1, 0.2)
    assert feature["psi"] > 0.15
    assert feature["status"] == "drift"


def test_alert_threshold_is_an_argument(profile: dict) -> None:
    current = _sample(_rng(6), 20_000, shift=0.5)
    psi = drift_report(profile, current)["features"]["x"]["psi"]
    report = drift_report(profile, current, psi_alert=psi + 0.01)
    assert report["features"]["x"]["status"] == "stable"
    assert report["verdict"] == "stable"


def test_small_sample_gets_no_verdict_even_when_shifted(profile: dict) -> None:
    report = drift_report(profile, _sample(_rng(7), 100, shift=1.0))
    feature = report["features"]["x"]
    assert feature["psi"] > 0.15  # reported, but 100 rows are too few to call it
    assert feature["psi_expected"] == pytest.approx(9 * (1 / 100_000 + 1 / 100))
    assert {f["status"] for f in report["features"].values()} == {"insufficient_data"}
    assert (report["verdict"], report["drifted_features"], report["n_current"]) == ("inconclusive", [], 100)


def test_minimum_rows_is_an_argument(profile: dict) -> None:
    report = drift_report(profile, _sample(_rng(8), 100, shift=1.0), min_rows=50)
    assert report["features"]["x"]["status"] == "drift"
    assert report["verdict"] == "drift"


def test_feature_with_too_few_values_leaves_the_verdict_inconclusive(profile: dict) -> None:
    current = _sample(_rng(9), 20_000)
    current.loc[current.index[500:], "x"] = np.nan
    report = drift_report(profile, current)
    assert report["features"]["x"]["status"] == "insufficient_data"
    assert report["features"]["c"]["status"] == "stable"
    assert report["verdict"] == "inconclusive"


def test_large_sample_tiny_shift_has_tiny_p_value_but_small_effect(profile: dict) -> None:
    report = drift_report(profile, _sample(_rng(10), 1_000_000, shift=0.05))
    feature = report["features"]["x"]
    assert feature["ks_pvalue"] < 1e-6
    assert feature["ks_statistic"] < 0.05
    assert feature["mean_shift_sd"] == pytest.approx(0.05, abs=0.01)
    assert feature["psi"] < 0.15
    assert feature["status"] == "stable"


def test_constant_reference_column(profile: dict) -> None:
    reference = pd.DataFrame({"k": np.full(5_000, 3.0)})
    constant = reference_profile(reference, numeric=["k"], categorical=[])
    same = drift_report(constant, pd.DataFrame({"k": np.full(2_000, 3.0)}))["features"]["k"]
    moved = drift_report(constant, pd.DataFrame({"k": np.full(2_000, 4.0)}))["features"]["k"]
    assert (same["psi"], same["status"], same["ks_statistic"]) == (0.0, "stable", 0.0)
    assert same["psi_expected"] == 0.0  # one occupied bin: nothing to vary by chance
    assert moved["status"] == "drift"
    assert moved["ks_statistic"] == 1.0
    assert (moved["mean_shift_sd"], moved["median_current"]) == (None, 4.0)


def test_feature_absent_from_the_current_sample_is_named(profile: dict) -> None:
    with pytest.raises(DriftInputError, match="'c'") as caught:
        drift_report(profile, pd.DataFrame({"x": [0.0] * 2_000}))
    assert caught.value.columns == ["c"]


def test_missing_values_are_counted_and_left_out() -> None:
    rng = _rng(11)
    reference = _sample(rng, 50_000)
    reference.loc[reference.index[:5_000], ["x", "c"]] = np.nan
    reference.loc[reference.index[5_000:5_010], "x"] = np.inf
    current = _sample(rng, 20_000)
    current.loc[current.index[:8_000], "x"] = np.nan
    current.loc[current.index[:3_000], "c"] = None
    current.loc[current.index[8_000:8_003], "x"] = -np.inf
    report = drift_report(_profile(reference), current)
    x, c = report["features"]["x"], report["features"]["c"]
    assert x["missing"] == {"reference": 5_000, "current": 8_000}
    assert x["infinite"] == {"reference": 10, "current": 3}
    assert (x["n_reference"], x["n_current"]) == (44_990, 11_997)
    assert c["missing"] == {"reference": 5_000, "current": 3_000}
    assert (c["n_current"], c["new_categories"]) == (17_000, [])
    assert x["status"] == c["status"] == "stable"  # the missing rows are not a bin of their own


def test_column_of_nulls_only_is_all_missing(profile: dict) -> None:
    current = _sample(_rng(12), 2_000)
    current["x"] = pd.Series([None] * len(current), dtype=object)
    feature = drift_report(profile, current)["features"]["x"]
    assert feature["missing"]["current"] == 2_000
    assert (feature["n_current"], feature["psi"], feature["ks_pvalue"]) == (0, None, None)
    assert feature["status"] == "insufficient_data"


def test_prediction_drift_is_reported_and_drives_the_verdict(profile: dict) -> None:
    rng = _rng(13)
    scores = prediction_profile(rng.beta(2, 5, size=50_000))
    current = _sample(rng, 20_000)
    same = drift_report(profile, current, predictions_ref=scores, predictions=rng.beta(2, 5, size=20_000))
    moved = drift_report(profile, current, predictions_ref=scores, predictions=rng.beta(2, 3, size=20_000))
    assert (same["prediction"]["status"], same["verdict"]) == ("stable", "stable")
    assert moved["prediction"]["status"] == "drift"
    assert moved["prediction"]["psi"] > 0.15 and moved["prediction"]["ks_pvalue"] < 1e-12
    assert (moved["verdict"], moved["drifted_features"]) == ("drift", [])
    assert drift_report(profile, current)["prediction"] is None


def test_too_few_current_rows_leave_the_verdict_inconclusive_whatever_the_predictions(profile: dict) -> None:
    rng = _rng(19)
    scores = prediction_profile(rng.beta(2, 5, size=50_000))
    current = _sample(rng, 100)
    report = drift_report(profile, current, predictions_ref=scores, predictions=rng.beta(2, 3, size=5_000))
    assert report["prediction"]["status"] == "drift"
    assert report["verdict"] == "inconclusive"


def test_prediction_drift_needs_both_sides(profile: dict) -> None:
    with pytest.raises(DriftInputError, match="both"):
        drift_report(profile, _sample(_rng(14), 2_000), predictions=[0.5] * 2_000)


def test_report_is_strict_json_and_survives_a_json_round_trip_of_the_profile() -> None:
    rng = _rng(15)
    reference = _sample(rng, 5_000).assign(k=1.0)
    profile = reference_profile(reference, numeric=["x", "k"], categorical=["c"])
    current = _sample(rng, 300).assign(k=1.0)
    current["x"] = np.nan
    current["c"] = "z"
    report = drift_report(profile, current)
    again = drift_report(json.loads(json.dumps(profile, allow_nan=False)), current)
    assert json.dumps(report, allow_nan=False) == json.dumps(again, allow_nan=False)
    assert report["features"]["k"]["mean_shift_sd"] is None
    assert report["features"]["c"]["chi2_statistic"] is not None


def test_report_does_not_depend_on_the_key_order_of_the_stored_profile() -> None:
    rng = _rng(20)
    reference = pd.DataFrame({"b": rng.normal(size=5_000), "a": rng.normal(size=5_000)})
    current = pd.DataFrame({"b": rng.normal(1.0, 1.0, 2_000), "a": rng.normal(1.0, 1.0, 2_000)})
    profile = reference_profile(reference, numeric=["b", "a"], categorical=[])
    reordered = {**profile, "features": dict(reversed(list(profile["features"].items())))}
    report = drift_report(profile, current)
    assert json.dumps(report) == json.dumps(drift_report(reordered, current))
    assert report["drifted_features"] == ["a", "b"]


def test_profile_of_another_version_is_refused(profile: dict) -> None:
    with pytest.raises(DriftInputError, match="version"):
        drift_report({**profile, "version": 0}, _sample(_rng(16), 2_000))


@pytest.mark.parametrize(
    "options", [{"psi_alert": 0.0}, {"min_rows": 0}, {"epsilon": 0.0}, {"psi_alert": float("nan")}]
)
def test_invalid_rules_are_refused(profile: dict, options: dict) -> None:
    with pytest.raises(ValueError):
        drift_report(profile, _sample(_rng(17), 2_000), **options)


def test_a_small_reference_alerts_on_a_shift_its_test_shows() -> None:
    rng = _rng(18)
    small = _profile(_sample(rng, 600))
    report = drift_report(small, _sample(rng, 1_500, shift=1.0, shares=(0.1, 0.1, 0.8)))
    x, c = report["features"]["x"], report["features"]["c"]
    assert x["psi"] > 0.15 and x["ks_pvalue"] < 1e-6
    assert (x["status"], x["short"]) == ("drift", "reference")
    assert (c["status"], c["short"]) == ("drift", "reference")  # chi-square shows it
    assert report["verdict"] == "drift"


def test_a_small_reference_never_vouches_for_stability() -> None:
    rng = _rng(19)
    small = _profile(_sample(rng, 600))
    report = drift_report(small, _sample(rng, 20_000))
    assert {f["status"] for f in report["features"].values()} == {"insufficient_data"}
    assert {f["short"] for f in report["features"].values()} == {"reference"}
    assert report["verdict"] == "inconclusive"


def test_a_reference_below_the_tests_floor_gets_no_verdict_even_when_shifted() -> None:
    rng = _rng(20)
    floor = reference_floor(0.15, 20_000)
    assert 150 < floor < 200  # D = 0.15 at p < 0.001: n_eff = (1.95 / 0.153)**2
    tiny = _profile(_sample(rng, floor - 20))
    report = drift_report(tiny, _sample(rng, 20_000, shift=3.0))
    assert report["features"]["x"]["ks_pvalue"] < 1e-6
    assert report["features"]["x"]["status"] == "insufficient_data"
    assert reference_floor(0.15, 150) is None  # a window this small cannot show the shift at any reference size


def test_a_short_window_is_named_before_a_short_reference() -> None:
    rng = _rng(21)
    report = drift_report(_profile(_sample(rng, 600)), _sample(rng, 500, shift=1.0))
    assert report["features"]["x"]["short"] == "current"
    assert report["features"]["x"]["status"] == "insufficient_data"
