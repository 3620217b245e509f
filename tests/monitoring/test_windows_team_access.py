"""Production windows belong to the model's team: posting one is a write on the model (its team, officers,
superusers); reading them is for the team, officers and auditors, other teams' windows being absent."""

import pytest
from django.urls import reverse

from monitoring.models import ProductionWindow
from tests.registry_fixtures import FEATURES, csv_upload

pytestmark = pytest.mark.django_db
URL = reverse("v1:monitoring-windows", args=["credit-scoring", "1.0.0"])


def _post(client, applicants):
    rows = applicants[FEATURES].copy()
    rows["prediction"] = applicants["default"]
    body = {"file": csv_upload(rows), "window_start": "2026-11-01T00:00:00Z", "window_end": "2026-11-08T00:00:00Z"}
    return client.post(URL, body, format="multipart")


def test_another_team_may_not_post_a_window(registered, applicants, other_team_ci_client, ci_client):
    refused = _post(other_team_ci_client, applicants)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert not ProductionWindow.objects.exists()
    allowed = _post(ci_client, applicants)
    assert allowed.status_code == 202, allowed.json()


def test_windows_are_read_by_the_team_officers_and_auditors(
    registered, applicants, ci_client, client_as, requester, officer, auditor, other_team_scientist
):
    window = _post(ci_client, applicants).json()["id"]
    detail = reverse("v1:monitoring-window", args=[window])
    for reader in (requester, officer, auditor):
        assert client_as(reader).get(detail).status_code == 200
        assert [row["id"] for row in client_as(reader).get(URL).json()["results"]] == [window]
    assert client_as(other_team_scientist).get(detail).status_code == 404
    assert client_as(other_team_scientist).get(URL).json()["results"] == []
