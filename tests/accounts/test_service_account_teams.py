"""A service account joins a team when it is created (API, command), so the models it registers belong to that
team; a team that does not exist, or a role named as a team, is refused."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ServiceAccount
from audits.models import AuditEvent
from core import roles
from tests.factories import PERSONA_TEAM, team

pytestmark = pytest.mark.django_db
URL = reverse("v1:service-accounts")


def test_a_superuser_creates_a_service_account_in_a_team(client_as, admin_user, anon_client):
    team(PERSONA_TEAM)
    created = client_as(admin_user).post(URL, {"name": "ci-risk", "team": PERSONA_TEAM}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["roles"], created.json()["teams"]) == (["ci"], [PERSONA_TEAM])
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.json()['token']}")
    assert anon_client.get(reverse("v1:me")).json()["teams"] == [PERSONA_TEAM]
    event = AuditEvent.objects.filter(action="service_account.created").get()
    assert f'"team":"{PERSONA_TEAM}"' in bytes(event.body).decode()


@pytest.mark.parametrize("name", ["team:absent", roles.COMPLIANCE_OFFICER, "team:"])
def test_only_an_existing_team_is_joined(client_as, admin_user, name):
    refused = client_as(admin_user).post(URL, {"name": "ci-risk", "team": name}, format="json")
    assert refused.status_code == 400 and "team" in refused.json()["error"]["fields"]
    assert not ServiceAccount.objects.exists()


def test_the_command_takes_a_team(capsys):
    team(PERSONA_TEAM)
    call_command("create_service_account", "ci-cli", "--team", PERSONA_TEAM)
    account = ServiceAccount.objects.get(name="ci-cli")
    assert set(account.user.groups.values_list("name", flat=True)) == {roles.CI, PERSONA_TEAM}
