"""Words for figures the evidence pages show bare. Django-free, and light to import (the admin loads it).

LIME and SHAP agreement is Spearman's rank correlation of the two explainers' feature weights on a row
(evidence.explain.lime_sample): 1 the same order, 0 unrelated, -1 reversed. The bands are the usual verbal
scale for the size of a correlation (0.8 and over very strong, 0.4 to 0.8 moderate to strong, under 0.4
weak), read with its sign.
"""

from __future__ import annotations

AGREEMENT_BANDS = (
    (0.8, "LIME and SHAP rank the features alike"),
    (0.4, "they broadly agree, with some features ranked differently"),
    (-0.4, "they hardly agree: the two rankings are close to unrelated"),
    (-0.8, "they disagree: what one ranks high the other tends to rank low"),
)
REVERSED = "they rank the features in opposite orders: what one finds most important the other finds least"
SCALE = "Spearman's rank correlation, from 1 (the same order) through 0 (unrelated) to -1 (reversed)"


def agreement_words(rho: float | None) -> str | None:
    """What a Spearman rank correlation of LIME's and SHAP's feature weights (-1 to 1) says."""
    if rho is None:
        return None
    return next((words for floor, words in AGREEMENT_BANDS if rho >= floor), REVERSED)
