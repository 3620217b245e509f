"""The reference profile fixed at registration: bins, ties, the KS sample, categories and input errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evidence.drift import KS_SAMPLE_MAX, DriftInputError, drift_report, reference_profile


def _numeric(values, **options) -> dict:
    profile = reference_profile(pd.DataFrame({"x": values}), numeric=["x"], categorical=[], **options)
    return profile["features"]["x"]


def test_cuts_are_the_reference_deciles() -> None:
    entry = _numeric(np.arange(1.0, 1001.0)[::-1])
    # The k-th decile is the smallest value with k/10 of 1..1000 at or below it: 100 k.
    assert entry["cuts"] == [100.0 * k for k in range(1, 10)]
    assert entry["counts"] == [100] * 10
    assert entry["proportions"] == pytest.approx([0.1] * 10)


def test_constant_column_gets_bins_below_at_and_above_the_constant() -> None:
    entry = _numeric(np.full(500, 7.0))
    assert entry["cuts"] == [np.nextafter(7.0, -np.inf), 7.0]
    assert entry["counts"] == [0, 500, 0]
    assert entry["std"] == 0.0


def test_an_atom_of_a_zero_inflated_feature_is_a_bin_of_its_own() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([np.zeros(6_000), rng.exponential(size=4_000)])
    entry = _numeric(values)
    cuts = np.asarray(entry["cuts"])
    assert np.all(np.diff(cuts) > 0)  # duplicate deciles (six of them are 0) collapsed
    at_zero = int(np.searchsorted(cuts, 0.0))
    assert entry["counts"][at_zero] == 6_000
    assert sum(entry["counts"]) == 10_000
    assert len(entry["counts"]) == 2 + 4  # below 0, at 0, then the bins cut by the three deciles above 0


def test_each_level_of_a_coarse_integer_feature_is_binned_apart() -> None:
    entry = _numeric(np.tile(np.arange(5.0), 200))
    occupied = [count for count in entry["counts"] if count]
    assert occupied == [200] * 5


def test_small_reference_is_kept_whole_for_ks() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=1_234)
    entry = _numeric(values)
    assert entry["ks_sample_exact"] is True
    assert entry["ks_sample"] == sorted(values.tolist())


def test_large_reference_keeps_evenly_ranked_order_statistics_for_ks() -> None:
    values = np.arange(100_000.0)[::-1]
    entry = _numeric(values)
    sample = np.asarray(entry["ks_sample"])
    assert entry["ks_sample_exact"] is False
    assert len(sample) == KS_SAMPLE_MAX
    assert sample[0] == 5.0 and sample[-1] == 99_995.0  # ranks floor((i + 0.5) * 10)
    assert np.all(np.diff(sample) == 10.0)


def test_profile_does_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"x": rng.normal(size=20_000), "c": rng.choice(["a", "b", "c"], size=20_000)})
    shuffled = frame.sample(frac=1.0, random_state=1)
    first = reference_profile(frame, numeric=["x"], categorical=["c"])
    second = reference_profile(shuffled, numeric=["x"], categorical=["c"])
    assert json.dumps(first) == json.dumps(second)


def test_missing_and_infinite_reference_values_are_counted_and_left_out() -> None:
    values = np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 3.0, np.nan, 4.0])
    entry = _numeric(values, bins=2)
    assert (entry["n"], entry["missing"], entry["infinite"]) == (4, 2, 2)
    assert entry["cuts"] == [2.0]
    json.dumps(entry, allow_nan=False)


def test_categories_are_ranked_by_count_with_their_proportions() -> None:
    frame = pd.DataFrame({"c": ["b"] * 5 + ["a"] * 3 + ["c"] * 3 + [None] * 2})
    entry = reference_profile(frame, numeric=[], categorical=["c"])["features"]["c"]
    assert entry["categories"] == ["b", "a", "c"]
    assert entry["counts"] == [5, 3, 3]
    assert entry["proportions"] == pytest.approx([5 / 11, 3 / 11, 3 / 11])
    assert (entry["n"], entry["missing"], entry["other_count"]) == (11, 2, 0)


def test_categories_beyond_the_cap_fall_into_other() -> None:
    frame = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 2 + ["d"]})
    entry = reference_profile(frame, numeric=[], categorical=["c"], max_categories=2)["features"]["c"]
    assert entry["categories"] == ["a", "b"]
    assert entry["other_count"] == 3


def test_integer_codes_match_the_same_codes_read_as_float() -> None:
    reference = pd.DataFrame({"c": np.tile([1, 2, 3], 400)})
    current = pd.DataFrame({"c": np.tile([1.0, 2.0, 3.0, np.nan], 300)})
    profile = reference_profile(reference, numeric=[], categorical=["c"])
    feature = drift_report(profile, current)["features"]["c"]
    assert profile["features"]["c"]["categories"] == ["1", "2", "3"]
    assert feature["new_categories"] == []
    assert feature["missing"]["current"] == 300
    assert feature["psi"] == pytest.approx(0.0, abs=1e-12)


def test_missing_reference_column_is_named() -> None:
    with pytest.raises(DriftInputError, match="'income'") as caught:
        reference_profile(pd.DataFrame({"age": [1.0]}), numeric=["age", "income"], categorical=[])
    assert caught.value.columns == ["income"]


@pytest.mark.parametrize(
    ("frame", "numeric", "categorical", "message"),
    [
        (pd.DataFrame({"x": ["a", "b"]}), ["x"], [], "declared numeric"),
        (pd.DataFrame({"x": [np.nan, np.inf]}), ["x"], [], "no finite values"),
        (pd.DataFrame({"c": [None, None]}, dtype=object), [], ["c"], "no values"),
        (pd.DataFrame({"x": [1.0]}), ["x"], ["x"], "more than once"),
        (pd.DataFrame({"x": [1.0]}), [], [], "at least one"),
    ],
)
def test_reference_that_cannot_be_profiled_is_refused(frame, numeric, categorical, message) -> None:
    with pytest.raises(DriftInputError, match=message):
        reference_profile(frame, numeric=numeric, categorical=categorical)


def test_fewer_than_two_bins_is_refused() -> None:
    with pytest.raises(ValueError, match="bins"):
        reference_profile(pd.DataFrame({"x": [1.0, 2.0]}), numeric=["x"], categorical=[], bins=1)
