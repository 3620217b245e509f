"""PSI, its expected value under no drift and the KS statistic, checked against hand arithmetic and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidence.drift import KS_SAMPLE_MAX, drift_report, expected_psi, psi, reference_profile


def _numeric_report(reference: np.ndarray, current: np.ndarray, **options) -> dict:
    profile = reference_profile(pd.DataFrame({"x": reference}), numeric=["x"], categorical=[], **options)
    return drift_report(profile, pd.DataFrame({"x": current}), min_rows=1)["features"]["x"]


def test_psi_by_hand_on_three_bins() -> None:
    reference = [0.25, 0.25, 0.50]
    current = [0.50, 0.25, 0.25]
    # (0.5 - 0.25) ln(0.5 / 0.25) + 0 + (0.25 - 0.5) ln(0.25 / 0.5) = 0.25 ln 2 + 0.25 ln 2
    assert psi(reference, current, epsilon=1e-4) == pytest.approx(0.5 * math.log(2), rel=1e-12)


def test_psi_counts_an_empty_bin_as_epsilon() -> None:
    reference = [0.5, 0.5, 0.0]
    current = [0.5, 0.25, 0.25]
    by_hand = 0.0 + (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - 1e-4) * math.log(0.25 / 1e-4)
    assert psi(reference, current, epsilon=1e-4) == pytest.approx(by_hand, rel=1e-12)


def test_psi_reads_counts_as_proportions() -> None:
    assert psi([10, 10, 20], [200, 100, 100], epsilon=1e-4) == pytest.approx(0.5 * math.log(2), rel=1e-12)


def test_psi_refuses_binnings_of_different_bins() -> None:
    with pytest.raises(ValueError, match="same bins"):
        psi([1, 1], [1, 1, 1], epsilon=1e-4)


def test_expected_psi_is_bins_minus_one_times_the_inverse_sizes() -> None:
    assert expected_psi(10, 100, 100) == pytest.approx(9 * (1 / 100 + 1 / 100))
    assert expected_psi(10, 100_000, 1_000_000) == pytest.approx(9 * 1.1e-5)
    assert expected_psi(1, 50, 50) == 0.0
    assert expected_psi(10, 100, 0) is None


def test_report_psi_matches_the_hand_computation() -> None:
    # Reference 1, 2, 3, 4 with two bins: the median 2 cuts it into (-inf, 2] and (2, inf), 0.5 and 0.5.
    # Current 1, 1, 1, 4: proportions 0.75 and 0.25.
    feature = _numeric_report(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0, 4.0]), bins=2)
    by_hand = (0.75 - 0.5) * math.log(0.75 / 0.5) + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert feature["psi"] == pytest.approx(by_hand, rel=1e-12)
    assert feature["psi_expected"] == pytest.approx((2 - 1) * (1 / 4 + 1 / 4))


@pytest.mark.parametrize("shift", [-0.1, 0.1])
@pytest.mark.parametrize("decimals", [None, 1])
def test_ks_matches_scipy_when_the_reference_is_kept_whole(decimals: int | None, shift: float) -> None:
    rng = np.random.default_rng(7)
    reference, current = rng.normal(size=3_000), rng.normal(shift, 1.0, size=5_000)
    if decimals is not None:  # heavy ties: every value shared by dozens of rows in both samples
        reference, current = reference.round(decimals), current.round(decimals)
    feature = _numeric_report(reference, current)
    expected = stats.ks_2samp(reference, current, method="asymp")
    assert feature["ks_statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    assert feature["ks_pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)


def test_ks_statistic_catches_current_values_beyond_the_reference_on_both_sides() -> None:
    reference = np.arange(100.0)
    current = np.concatenate([np.full(60, -1_000.0), np.arange(100.0), np.full(40, 1_000.0)])
    feature = _numeric_report(reference, current)
    # Below the reference the current ECDF leads by 60/200; above it the reference leads by 40/200.
    assert feature["ks_statistic"] == pytest.approx(0.3, abs=1e-12)
    assert feature["ks_statistic"] == pytest.approx(stats.ks_2samp(reference, current).statistic, abs=1e-12)


def test_mean_and_median_by_hand() -> None:
    feature = _numeric_report(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 10.0]), bins=2)
    assert (feature["mean_current"], feature["median_current"]) == (4.0, 2.5)


def test_shifts_are_in_reference_standard_deviations() -> None:
    rng = np.random.default_rng(13)
    feature = _numeric_report(rng.normal(10.0, 4.0, size=50_000), rng.normal(12.0, 4.0, size=50_000))
    assert feature["mean_shift_sd"] == pytest.approx(0.5, abs=0.02)
    assert feature["median_shift_sd"] == pytest.approx(0.5, abs=0.03)


def test_chi_square_and_cramers_v_by_hand() -> None:
    reference = pd.DataFrame({"c": ["a"] * 60 + ["b"] * 40})
    current = pd.DataFrame({"c": ["a"] * 40 + ["b"] * 60})
    profile = reference_profile(reference, numeric=[], categorical=["c"])
    feature = drift_report(profile, current, min_rows=1)["features"]["c"]
    # Pooled, every cell of [[60, 40], [40, 60]] expects 50: chi2 = 4 * 10**2 / 50 = 8, no continuity correction.
    assert feature["chi2_statistic"] == pytest.approx(8.0)
    assert feature["chi2_pvalue"] == pytest.approx(stats.chi2.sf(8.0, 1))
    assert feature["cramers_v"] == pytest.approx((8.0 / 200) ** 0.5)


def test_ks_on_the_sampled_reference_stays_within_half_a_sample_step() -> None:
    rng = np.random.default_rng(11)
    reference, current = rng.normal(size=200_000), rng.normal(0.02, 1.0, size=50_000)
    feature = _numeric_report(reference, current)
    full = stats.ks_2samp(reference, current, method="asymp")
    assert abs(feature["ks_statistic"] - full.statistic) <= 1 / (2 * KS_SAMPLE_MAX) + 1e-12
    assert feature["ks_pvalue"] == pytest.approx(full.pvalue, rel=0.2)
