"""Bad inputs are refused with a message that says what is wrong; odd but valid ones are read correctly."""

import numpy as np
import pandas as pd
import pytest

from evidence.fairness import BiasAuditInputError, Thresholds, bias_audit

BASE = {
    "y_true": [0, 1, 0, 1],
    "y_pred": [0, 1, 1, 0],
    "sensitive": pd.DataFrame({"sex": ["f", "f", "m", "m"]}),
    "task": "binary_classification",
    "n_bootstrap": 10,
}

CASES = {
    "length mismatch": (
        {"y_pred": [0, 1, 1]},
        "length mismatch: y_true has 4 rows, y_pred has 3 rows, sensitive has 4 rows",
    ),
    "NaN label": ({"y_true": [0, np.nan, 0, 1]}, "y_true has 1 missing value(s) (NaN/None), first at row 1"),
    "None prediction": ({"y_pred": [0, 1, None, 0]}, "y_pred has 1 missing value(s) (NaN/None), first at row 2"),
    "NaN sensitive value": (
        {"sensitive": pd.DataFrame({"sex": ["f", None, "m", "m"]})},
        "sensitive feature 'sex' has 1 missing value(s) (NaN/None), first at row 1",
    ),
    "single group": (
        {"sensitive": pd.DataFrame({"sex": ["f"] * 4})},
        "sensitive feature 'sex' has a single group: 'f'",
    ),
    "three label values": (
        {"y_true": [0, 1, 2, 1]},
        "binary_classification needs at most two label values across y_true and y_pred; "
        "y_true has [0, 1, 2], y_pred has [0, 1]",
    ),
    "scores given as predictions": (
        {"y_pred": [0.0, 0.3, 0.9, 1.0]},
        "y_true has [0, 1], y_pred has [0.0, 0.3, 0.9, 1.0]",
    ),
    "positive label absent": (
        {"y_true": ["no", "yes", "no", "yes"], "y_pred": ["no", "yes", "yes", "no"]},
        "positive_label 1 is not one of the labels seen: ['no', 'yes']",
    ),
    "empty input": (
        {"y_true": [], "y_pred": [], "sensitive": pd.DataFrame({"sex": []})},
        "empty input: there are no rows to audit",
    ),
    "unknown task": ({"task": "multiclass"}, "task must be one of ['binary_classification', 'regression']"),
    "sensitive as a list": ({"sensitive": ["f", "f", "m", "m"]}, "sensitive must be a pandas DataFrame"),
    "no sensitive column": ({"sensitive": pd.DataFrame(index=range(4))}, "sensitive has no columns"),
    "two-dimensional labels": ({"y_true": [[0, 1]] * 4}, "y_true must be one-dimensional; got shape (4, 2)"),
    "minimum group size zero": ({"min_group_size": 0}, "min_group_size must be an integer >= 1; got 0"),
    "negative resamples": ({"n_bootstrap": -1}, "n_bootstrap must be an integer >= 0; got -1"),
    "ratio above one": (
        {"thresholds": Thresholds(min_selection_rate_ratio=1.5)},
        "min_selection_rate_ratio must be a number in (0, 1]; got 1.5",
    ),
    "limit given as text": (
        {"thresholds": Thresholds(max_equalized_odds_difference="0.1")},
        "max_equalized_odds_difference must be a number in [0, 1]; got '0.1'",
    ),
    "text regression target": (
        {"task": "regression", "y_true": ["a", "b", "c", "d"]},
        "y_true must be numeric; got dtype",
    ),
    "infinite regression prediction": (
        {"task": "regression", "y_pred": [0.0, np.inf, 1.0, 2.0]},
        "y_pred has 1 infinite value(s), first at row 1",
    ),
    "score in a regression": (
        {"task": "regression", "score": [0.1] * 4},
        "score is only used by binary_classification audits",
    ),
    "score of another length": ({"score": [0.1, 0.2]}, "score has 2 rows"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_with_its_message(case):
    changes, message = CASES[case]

    with pytest.raises(BiasAuditInputError) as raised:
        bias_audit(**{**BASE, **changes})

    assert message in str(raised.value)


def test_text_labels_with_their_positive_label_give_the_numeric_result():
    words = {"y_true": ["no", "yes", "no", "yes"], "y_pred": ["no", "yes", "yes", "no"], "positive_label": "yes"}

    assert bias_audit(**{**BASE, **words}).features == bias_audit(**BASE).features


def test_rows_are_matched_by_position_not_by_pandas_index():
    shuffled = pd.Index([3, 0, 2, 1])
    series = {
        "y_true": pd.Series(BASE["y_true"], index=shuffled),
        "y_pred": pd.Series(BASE["y_pred"], index=shuffled[::-1]),
        "sensitive": BASE["sensitive"].set_axis(shuffled),
    }

    assert bias_audit(**{**BASE, **series}).features == bias_audit(**BASE).features


def test_a_positive_label_never_seen_is_accepted_when_only_one_value_is():
    result = bias_audit(**{**BASE, "y_true": [0, 0, 0, 0], "y_pred": [0, 0, 0, 0]})

    assert result.feature("sex").group("f").metrics["selection_rate"].value == 0.0
    assert result.feature("sex").group("f").metrics["true_positive_rate"].value is None
