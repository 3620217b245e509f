"""Checklists and attestations of a version are read by its model's team, officers and auditors; a member
of another team is refused (403: model names are listed to every role, their evidence is not)."""

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
