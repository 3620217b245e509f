"""Waivers in the admin: officers list and revoke them (audited), auditors read them, others are kept out."""

import json

import pytest
from django.urls import reverse

from approvals.waivers import evidence_waiver_grant
from audits.models import AuditEvent
from core import roles
from registry.models import EvidenceWaiver, ModelVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:registry_evidencewaiver_changelist")
JUSTIFICATION = "Groups differ by design in this pilot; reviewed with legal on the DPIA of 2026-11-02."


@pytest.fixture
def waiver(audited, officer2) -> EvidenceWaiver:
    version = ModelVersion.objects.get(model__name="credit-scoring", version="1.0.0")
    return evidence_waiver_grant(version=version, requirement="bias_audit", justification=JUSTIFICATION, user=officer2)


def _revoked_events() -> list[dict]:
    bodies = AuditEvent.objects.filter(action="evidence.waiver_revoked").values_list("body", flat=True)
    return [json.loads(bytes(body)) for body in bodies]


def _revoke(client, waiver):
    return client.post(CHANGELIST, {"action": "revoke", "_selected_action": [waiver.pk], "index": 0})


def test_an_officer_lists_the_waivers_and_revokes_one(client, officer, waiver):
    client.force_login(officer)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert reverse("admin:registry_evidencewaiver_change", args=[waiver.pk]) in html
    assert '<td class="field-state">active</td>' in html and 'value="revoke"' in html

    response = _revoke(client, waiver)
    assert response.status_code == 302
    revoked = EvidenceWaiver.objects.get(pk=waiver.pk)
    assert revoked.revoked_at is not None and revoked.revoked_by == officer
    [event] = _revoked_events()
    assert event["actor"] == f"user:{officer.pk}" and event["data"]["requirement"] == "bias_audit"
    assert '<td class="field-state">revoked</td>' in client.get(CHANGELIST).content.decode()


def test_revoking_twice_says_so_and_records_once(client, officer, waiver):
    client.force_login(officer)
    _revoke(client, waiver)
    again = client.post(CHANGELIST, {"action": "revoke", "_selected_action": [waiver.pk]}, follow=True)
    assert f"Waiver {waiver.pk} is already revoked." in again.content.decode()
    assert len(_revoked_events()) == 1


def test_an_auditor_reads_the_waivers_but_cannot_revoke(client, auditor, waiver):
    client.force_login(auditor)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert reverse("admin:registry_evidencewaiver_change", args=[waiver.pk]) in html
    assert 'value="revoke"' not in html
    assert client.get(reverse("admin:registry_evidencewaiver_change", args=[waiver.pk])).status_code == 200
    _revoke(client, waiver)  # not an action offered to an auditor: nothing happens
    assert EvidenceWaiver.objects.get(pk=waiver.pk).revoked_at is None
    assert _revoked_events() == []
    assert client.get(reverse("admin:registry_evidencewaiver_add")).status_code == 403


def test_others_are_kept_out_of_the_waivers(client, requester, outsider, waiver):
    staff_scientist = UserFactory(username="staff-scientist", roles=[roles.DATA_SCIENTIST], is_staff=True)
    staff_without_role = UserFactory(username="staff-nobody", is_staff=True)
    for user in (staff_scientist, staff_without_role):
        client.force_login(user)
        assert client.get(CHANGELIST).status_code == 403
        assert _revoke(client, waiver).status_code == 403
        assert CHANGELIST not in client.get(reverse("admin:index")).content.decode()
    client.force_login(outsider)  # not staff: the admin sends them to its login page
    assert client.get(CHANGELIST).status_code == 302
    assert EvidenceWaiver.objects.get(pk=waiver.pk).revoked_at is None


def test_officers_and_auditors_list_a_versions_waivers_over_the_api(client_as, officer, auditor, outsider, waiver):
    url = reverse("v1:waivers", args=["credit-scoring", "1.0.0"])
    for reader in (officer, auditor):
        response = client_as(reader).get(url)
        assert response.status_code == 200
        assert [item["id"] for item in response.json()] == [waiver.pk]
    assert client_as(outsider).get(url).status_code == 403


def test_the_waiver_forms_date_and_time_boxes_each_have_a_label(client, officer):
    client.force_login(officer)
    html = client.get(reverse("admin:registry_evidencewaiver_add")).content.decode()
    assert '<label for="id_expires_at_0">Date:</label>' in html
    assert '<label for="id_expires_at_1">Time:</label>' in html
    assert 'id="id_expires_at_0"' in html and 'id="id_expires_at_1"' in html
