"""Service accounts are machines: no path gives them a deciding role, and a decision re-checks it anyway.

Reproduced on the previous release: a superuser's group edit in the admin gave the CI account the
compliance_officer role, and its token then approved a request.
"""

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from core import roles
from registry.models import ApprovalDecision
from tests.factories import OTHER_TEAM, PERSONA_TEAM, team
from tests.registry_fixtures import decide, request_approval

pytestmark = pytest.mark.django_db

TRIGGERS = {
    "postgresql": ["DROP TRIGGER service_account_groups ON auth_user_groups"],
    "sqlite": ["DROP TRIGGER service_account_groups_insert"],
}


def _admin_form(user, groups: list[Group], **changes) -> dict:
    joined = user.date_joined
    return {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "groups": [group.pk for group in groups],
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": joined.strftime("%H:%M:%S"),
        **changes,
    }


def test_the_admin_refuses_a_deciding_role_for_a_service_account(client, admin_user, ci_account):
    user = ci_account.user
    client.force_login(admin_user)
    officers = Group.objects.get(name=roles.COMPLIANCE_OFFICER)
    url = reverse("admin:auth_user_change", args=[user.pk])
    response = client.post(url, _admin_form(user, [Group.objects.get(name=roles.CI), officers]))
    assert response.status_code == 200  # the form again, with the error
    assert "a service account may hold only ci, not compliance_officer" in response.content.decode()
    assert set(user.groups.values_list("name", flat=True)) == {roles.CI, PERSONA_TEAM}


def test_the_admin_refuses_to_make_a_service_account_superuser(client, admin_user, ci_account):
    user = ci_account.user
    client.force_login(admin_user)
    url = reverse("admin:auth_user_change", args=[user.pk])
    response = client.post(url, _admin_form(user, [Group.objects.get(name=roles.CI)], is_superuser="on"))
    assert response.status_code == 200
    assert "not superuser" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_superuser


def test_the_admin_still_edits_people(client, admin_user, officer):
    client.force_login(admin_user)
    auditors = Group.objects.get(name=roles.AUDITOR)
    url = reverse("admin:auth_user_change", args=[officer.pk])
    response = client.post(url, _admin_form(officer, [auditors], is_staff="on"))
    assert response.status_code == 302
    assert list(officer.groups.values_list("name", flat=True)) == [roles.AUDITOR]


def test_the_database_refuses_it_from_a_shell(ci_account):
    user = ci_account.user
    with pytest.raises(IntegrityError), transaction.atomic():
        user.groups.add(Group.objects.get(name=roles.COMPLIANCE_OFFICER))
    user.is_superuser = True
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()
    assert set(user.groups.values_list("name", flat=True)) == {roles.CI, PERSONA_TEAM}


def test_a_team_is_no_role_a_service_account_may_join_it(client, admin_user, ci_account):
    user = ci_account.user
    other = team(OTHER_TEAM)
    user.groups.add(other)  # the database lets a team through, from a shell ...
    user.groups.remove(other)
    client.force_login(admin_user)
    url = reverse("admin:auth_user_change", args=[user.pk])
    groups = [Group.objects.get(name=roles.CI), team(PERSONA_TEAM), other]
    assert client.post(url, _admin_form(user, groups)).status_code == 302  # ... and so does the admin
    assert set(user.groups.values_list("name", flat=True)) == {roles.CI, PERSONA_TEAM, OTHER_TEAM}


def test_the_api_refuses_it(client_as, admin_user):
    body = {"name": "deployer", "role": roles.COMPLIANCE_OFFICER}
    response = client_as(admin_user).post(reverse("v1:service-accounts"), body, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]


def test_a_decision_rechecks_that_a_person_decides(registered, ci_client, ci_account, client_as, officer):
    """Should a deciding role reach a service account anyway (a restored backup, a dropped trigger), its token
    still cannot approve, reject or waive."""
    request_id = request_approval(ci_client).json()["id"]
    with connection.cursor() as cursor:
        for statement in TRIGGERS[connection.vendor]:
            cursor.execute(statement)  # undone when the test's transaction rolls back
    ci_account.user.groups.add(Group.objects.get(name=roles.COMPLIANCE_OFFICER))
    for verdict in ("approve", "reject"):
        refused = decide(ci_client, request_id, verdict=verdict)
        assert refused.status_code == 403
        assert refused.json()["error"]["message"] == "Service accounts never decide: a person must."
    assert not ApprovalDecision.objects.exists()
    waiver = {"requirement": "bias_audit", "justification": "Known vendor limitation, reviewed."}
    url = reverse("v1:waivers", args=["credit-scoring", "1.0.0"])
    assert ci_client.post(url, waiver, format="json").status_code == 403
    assert decide(client_as(officer), request_id, verdict="reject").status_code == 201
