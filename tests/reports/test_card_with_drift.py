"""A monitored version (one with a drift check on production data) gets its model card, drift section and all."""

import json

import numpy as np
import pandas as pd
import pytest
from django.urls import reverse

from reports.card import card_build
from tests.registry_fixtures import FEATURES, csv_upload
from tests.reports.card_fixtures import evidenced, run_evidence  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def drift_checked(evidenced, ci_client, django_capture_on_commit_callbacks):  # noqa: F811
    """credit-scoring 1.0.0 with its evidence and a drift check whose production sample drifted in income."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"income": rng.normal(50, 15, 2000), "debt_ratio": rng.uniform(0, 1, 2000)})
    schema = json.dumps({"features": FEATURES[:2], "task": "regression"})
    ids = {}
    for kind, data in (("reference", frame), ("production_sample", frame.assign(income=frame.income + 30))):
        body = {"file": csv_upload(data), "name": kind, "kind": kind, "schema": schema}
        ids[kind] = ci_client.post(reverse("v1:datasets"), body, format="multipart").json()["id"]
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    with django_capture_on_commit_callbacks(execute=True):
        body = {"kind": "drift_check", "dataset": ids["production_sample"], "reference": ids["reference"]}
        assert ci_client.post(url, body, format="json").status_code == 202
    return evidenced


def test_a_card_is_built_for_a_version_with_a_drift_check(drift_checked):
    card = card_build(version=drift_checked, scope="gdpr")
    assert card["drift"]["verdict"] == "drift"
    assert card["drift"]["drifted_features"] == ["income"]
    assert card["executive_summary"]["verdicts"]["drift_check"] == "drift"
    caveats = card["limitations"]["computed"]
    assert not any("No drift check" in caveat for caveat in caveats)
    assert "The latest drift check's verdict is drift." in caveats


def test_the_card_of_a_monitored_version_renders(drift_checked, officer, django_capture_on_commit_callbacks):
    from reports.jobs import report_request

    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(version=drift_checked, scope="gdpr", user=officer)
    report.refresh_from_db()
    assert report.status == "succeeded", report.error
