"""The ProPublica COMPAS records, a real fairness data set, when the shared copy is present."""

from pathlib import Path

import pandas as pd
import pytest

from mlio.datasets import DatasetFormat, inspect_dataset, load_frame
from tests.mlio.datasets.builders import schema_of

COMPAS = Path("/work/shared/datasets/compas-scores-two-years.csv")
pytestmark = pytest.mark.skipif(not COMPAS.exists(), reason="the shared COMPAS file is not on this machine")

SCHEMA = {
    "features": ["age", "priors_count", "juv_fel_count"],
    "sensitive_features": ["race", "sex"],
    "target": "two_year_recid",
    "positive_label": 1,
    "task": "binary_classification",
}


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(COMPAS, usecols=["race", "sex", "two_year_recid"])


@pytest.fixture(scope="module")
def profile():
    return inspect_dataset(COMPAS, schema_of(SCHEMA), max_bytes=50 << 20)


def test_compas_is_accepted_with_every_defendant(profile):
    assert profile.format is DatasetFormat.CSV
    assert profile.rows == 7214


def test_compas_race_groups_match_a_direct_count(profile, expected):
    counts = expected["race"].value_counts()

    assert profile.groups["race"] == {str(race): int(count) for race, count in counts.items()}
    assert sum(profile.groups["race"].values()) == 7214


def test_compas_positive_rate_is_the_recidivism_rate(profile, expected):
    assert profile.positive_rate == pytest.approx((expected["two_year_recid"] == 1).mean())


def test_compas_repeated_columns_are_accepted_because_their_copies_agree(profile):
    # priors_count, a declared feature, and decile_score are each written twice in the published file.
    assert profile.warnings == [
        "column 'decile_score' appears more than once; a copy is read as 'decile_score.1'",
        "column 'priors_count' appears more than once; a copy is read as 'priors_count.1'",
    ]
    assert profile.column("priors_count")["role"] == "feature"


def test_compas_loads_the_declared_columns_for_an_audit(profile):
    frame = load_frame(COMPAS, profile.format, columns=[*SCHEMA["features"], "race", "two_year_recid"])

    assert frame.shape == (7214, 5)
    assert frame["priors_count"].dtype == "int64"
