"""The LIME and SHAP agreement is shown with what it means, not as a bare correlation."""

import pytest

from evidence.admin import _explanation
from evidence.readings import agreement_words


@pytest.mark.parametrize(
    ("rho", "words"),
    [
        (1.0, "LIME and SHAP rank the features alike"),
        (0.5, "they broadly agree, with some features ranked differently"),
        (0.0, "they hardly agree: the two rankings are close to unrelated"),
        (-0.5, "they disagree: what one ranks high the other tends to rank low"),
        (-1.0, "they rank the features in opposite orders: what one finds most important the other finds least"),
    ],
)
def test_each_band_has_its_words(rho, words):
    assert agreement_words(rho) == words


def test_an_undefined_agreement_has_no_words():
    assert agreement_words(None) is None


def test_the_evidence_page_reads_the_lowest_row_for_the_officer():
    summary = {"mean": 0.6, "min": -1.0, "rows_compared": 5, "rows_undefined": 0, "top_feature_matches": 3}
    facts = dict(_explanation({"lime": {"agreement": {"summary": summary}}})["facts"])
    lowest = facts["LIME and SHAP agreement (lowest row)"]
    assert lowest.startswith("-1: on this row they rank the features in opposite orders")
    assert "from 1 (the same order) through 0 (unrelated) to -1 (reversed)" in lowest
    assert facts["LIME and SHAP agreement (mean)"].startswith("0.6: on average they broadly agree")
