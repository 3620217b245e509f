"""Who may waive, and which waivers count. Reproduced on the previous release: a superuser without the officer
role registered a model, waived its bias audit before the audit had run, and requested approval, on one
account. Waiving is an officer's act; a waiver from the version's submitter or from anyone who requests its
approval (before or after) never counts; a waiver before the evidence exists is refused."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from approvals.requirements import evidence_status
from core import roles
from evidence.models import EvidenceJob
from registry.models import ApprovalPolicy, EvidenceWaiver, ModelVersion
from tests.factories import UserFactory, team
from tests.registry_fixtures import decide, finished_bias_audit, request_approval

pytestmark = pytest.mark.django_db
JUSTIFICATION = "Groups differ by design in this pilot; reviewed with legal on the DPIA of 2026-11-02."
URL = reverse("v1:waivers", args=["credit-scoring", "1.0.0"])
ADD = reverse("admin:registry_evidencewaiver_add")


def _version() -> ModelVersion:
    return ModelVersion.objects.get(model__name="credit-scoring", version="1.0.0")


def _grant(client):
    return client.post(URL, {"requirement": "bias_audit", "justification": JUSTIFICATION}, format="json")


def _admin_form() -> dict:
    expires = timezone.localtime() + timedelta(days=30)
    return {
        "version": _version().pk,
        "requirement": "bias_audit",
        "justification": JUSTIFICATION,
        "expires_at_0": expires.strftime("%Y-%m-%d"),
        "expires_at_1": expires.strftime("%H:%M:%S"),
    }


def _bias_item(request_id: int, client) -> dict:
    detail = client.get(reverse("v1:approval-request", args=[request_id])).json()
    return next(item for item in detail["progress"]["evidence"] if item["requirement"] == "bias_audit")


def test_a_superuser_without_the_officer_role_does_not_waive(audited, client, client_as, admin_user):
    refused = _grant(client_as(admin_user))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert "administrators without the role do not decide" in refused.json()["error"]["message"]
    client.force_login(admin_user)
    assert client.get(ADD).status_code == 403  # the admin offers no waiving either
    assert client.post(ADD, _admin_form()).status_code == 403
    assert not EvidenceWaiver.objects.exists()


def test_a_superuser_who_is_also_an_officer_waives_and_revokes(audited, client_as):
    both = UserFactory(username="root-officer", is_superuser=True, is_staff=True, roles=[roles.COMPLIANCE_OFFICER])
    granted = _grant(client_as(both))
    assert granted.status_code == 201, granted.json()
    admin_only = UserFactory(username="root-only", is_superuser=True, is_staff=True)
    revoke = reverse("v1:waiver-revoke", args=[granted.json()["id"]])
    assert client_as(admin_only).post(revoke, format="json").status_code == 403
    assert client_as(both).post(revoke, format="json").status_code == 200


def test_a_waiver_before_the_audit_has_finished_is_refused_naming_why(registered, client, client_as, officer):
    refused = _grant(client_as(officer))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "evidence_missing" and "no bias audit" in error["message"]
    assert error["fields"] == {"requirement": ["No finished bias audit of this artifact to waive."]}
    queued = finished_bias_audit(_version())
    EvidenceJob.objects.filter(pk=queued.pk).update(status="running", finished_at=None)
    assert _grant(client_as(officer)).status_code == 409  # running is not finished
    client.force_login(officer)
    page = client.post(ADD, _admin_form())  # the form says why, and nothing is granted
    assert "no bias audit of credit-scoring@1.0.0" in page.content.decode().replace("&#x27;", "'")
    assert not EvidenceWaiver.objects.exists()
    EvidenceJob.objects.filter(pk=queued.pk).update(status="succeeded", finished_at=timezone.now())
    assert client.post(ADD, _admin_form()).status_code == 302  # the officer waives in the admin once it has
    assert EvidenceWaiver.objects.get().granted_by == officer


def test_an_officer_who_asked_for_approval_before_may_not_waive(audited, client_as, officer, bias_only_policy):
    officer.groups.add(Group.objects.get(name=roles.DATA_SCIENTIST), team())  # also a scientist of the team
    request_id = request_approval(client_as(officer)).json()["id"]
    withdrawn = client_as(officer).post(reverse("v1:approval-withdraw", args=[request_id]), format="json")
    assert withdrawn.status_code == 200  # no longer pending, still the one who asked
    refused = _grant(client_as(officer))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "separation_of_duties"


def test_a_waiver_whose_grantor_later_asks_for_approval_never_counts(
    audited, client, client_as, officer, officer2, auditor, bias_only_policy
):
    waiver = _grant(client_as(officer2)).json()
    assert waiver["not_counted"] is None
    officer2.groups.add(Group.objects.get(name=roles.DATA_SCIENTIST), team())  # also a scientist of the team
    officer2 = type(officer2).objects.get(pk=officer2.pk)  # roles are read once per request's user
    request_id = request_approval(client_as(officer2)).json()["id"]

    item = _bias_item(request_id, client_as(auditor))
    assert item["status"] != "waived"
    why = f"waiver {waiver['id']} does not count: its grantor (user:{officer2.pk}) requested approval"
    assert why in item["reason"]
    listed = client_as(auditor).get(URL).json()
    assert listed[0]["not_counted"] == f"its grantor (user:{officer2.pk}) requested approval of this version"
    blocked = decide(client_as(officer), request_id)
    assert blocked.status_code == 409
    client.force_login(officer)
    page = client.get(reverse("admin:registry_approvalrequest_change", args=[request_id])).content.decode()
    assert "does not count: its grantor" in page


def test_a_waiver_by_the_versions_submitter_never_counts(audited, ci_account, bias_only_policy):
    version = _version()
    EvidenceWaiver.objects.create(  # the grant refuses the submitter; a row written around it still does not count
        version=version,
        requirement="bias_audit",
        artifact_sha256=version.artifact.sha256,
        justification_digest="j" * 64,
        granted_by=ci_account.user,
        expires_at=timezone.now() + timedelta(days=30),
    )
    [item] = evidence_status(version, ApprovalPolicy.objects.get(risk_tier="medium"))
    assert item.status != "waived" and "submitted this version" in item.reason


def test_a_waiver_by_someone_else_still_counts(audited, client_as, officer, ci_client, bias_only_policy):
    assert _grant(client_as(officer)).status_code == 201
    request_id = request_approval(ci_client).json()["id"]
    assert _bias_item(request_id, client_as(officer))["status"] == "waived"
