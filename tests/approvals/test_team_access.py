"""Approval requests belong to the model's team: asking is a write on the model (its team, officers and
superusers); the requests, their progress and the version's waivers are read by the team, officers and
auditors. Reproduced on the previous release: every role read every team's approval progress."""

import pytest
from django.urls import reverse

from registry.models import ApprovalRequest
from tests.registry_fixtures import request_approval

pytestmark = pytest.mark.django_db


def test_another_team_may_not_ask_for_approval(registered, client_as, other_team_scientist, other_team_ci_client):
    for client in (client_as(other_team_scientist), other_team_ci_client):
        refused = request_approval(client)
        assert refused.status_code == 403 and "belongs to another team" in refused.json()["error"]["message"]
    assert not ApprovalRequest.objects.exists()


def test_requests_and_their_progress_are_read_by_the_team_officers_and_auditors(
    registered, ci_client, client_as, requester, officer, auditor, other_team_scientist
):
    request_id = request_approval(ci_client).json()["id"]
    detail = reverse("v1:approval-request", args=[request_id])
    for reader in (requester, officer, auditor):
        assert client_as(reader).get(detail).json()["progress"]
        listed = client_as(reader).get(reverse("v1:approval-requests")).json()["results"]
        assert [row["id"] for row in listed] == [request_id]
    other = client_as(other_team_scientist)
    assert other.get(detail).status_code == 404
    assert other.get(reverse("v1:approval-requests")).json()["results"] == []


def test_a_versions_waivers_are_read_by_the_team_officers_and_auditors(
    registered, client_as, requester, auditor, other_team_scientist
):
    url = reverse("v1:waivers", args=["credit-scoring", "1.0.0"])
    assert client_as(requester).get(url).status_code == 200
    assert client_as(auditor).get(url).status_code == 200
    refused = client_as(other_team_scientist).get(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
