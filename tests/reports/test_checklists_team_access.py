"""Checklists and attestations of a version are read by its model's team, officers and auditors; a member
of another team is refused (403: model names are listed to every role, their evidence is not). Model card
reports are requested by the team and their state read by it; another team's report is absent (404)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
ARGS = ["credit-scoring", "1.0.0"]


@pytest.mark.parametrize(
    ("name", "args"),
    [("v1:checklists", ARGS), ("v1:checklist", [*ARGS, "gdpr"]), ("v1:attestations", ARGS)],
)
def test_only_the_team_officers_and_auditors_read_a_versions_checklists(
    registered, client_as, requester, officer, auditor, other_team_scientist, name, args
):
    url = reverse(name, args=args)
    for reader in (requester, officer, auditor):
        assert client_as(reader).get(url).status_code == 200, reader
    refused = client_as(other_team_scientist).get(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"


def test_model_cards_are_requested_by_the_team_and_their_state_read_by_it(registered, ci_client, other_team_ci_client):
    url = reverse("v1:report-request", args=ARGS)
    refused = other_team_ci_client.post(url, {"scope": "gdpr"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    requested = ci_client.post(url, {"scope": "gdpr"}, format="json")
    assert requested.status_code == 202, requested.json()
    state = reverse("v1:report", args=[requested.json()["id"]])
    assert ci_client.get(state).status_code == 200
    assert other_team_ci_client.get(state).status_code == 404
