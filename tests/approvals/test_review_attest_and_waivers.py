"""The review page's checklist answers and waivers: an officer attests an open item picked from a list (never a
typed item id), through the attestation service and its rules; the version's waivers are listed beside the
evidence; the frozen policy's raw JSON waits, folded, below the policy in words."""

import re

import pytest
from django.urls import reverse

from approvals.waivers import evidence_waiver_grant, evidence_waiver_revoke
from audits.models import AuditEvent
from registry.models import ModelVersion
from reports.models import Attestation
from tests.approvals.test_review_page import change_url, open_request, passing_bias_audit
from tests.factories import UserFactory
from tests.registry_fixtures import finished_bias_audit

pytestmark = pytest.mark.django_db
ITEM = "gdpr:GDPR-22-3"


def attest_url(request) -> str:
    return reverse("admin:registry_approvalrequest_attest", args=[request.pk])


def _options(html: str) -> list[str]:
    form = html.split('id="review-attest"', 1)[1].split("</form>", 1)[0]
    return re.findall(r'<option value="([^"]+)"', form.split('name="answer"', 1)[0])


def test_open_human_items_are_offered_to_attest_and_an_automatic_one_is_not(client, registered, requester, officer):
    request = open_request(requester)
    passing_bias_audit(request)
    client.force_login(officer)
    html = client.get(change_url(request)).content.decode()
    options = _options(html)
    assert ITEM in options and all(key.startswith(("gdpr:", "eu_ai_act:", "ccpa:", "hipaa:")) for key in options)
    assert "gdpr:GDPR-5-1-A" not in options  # decided automatically from the evidence
    assert f'href="?attest={ITEM.replace(":", "%3A")}#review-attest"' in html  # the row's Attest button
    picked = client.get(change_url(request), {"attest": ITEM}).content.decode()
    assert f'<option value="{ITEM}" selected>' in picked


def test_an_officer_attests_a_picked_item_and_it_is_no_longer_open(client, registered, requester, officer):
    request = open_request(requester)
    client.force_login(officer)
    body = {"item": ITEM, "answer": "met", "statement": "A person reviews every declined application on request."}
    response = client.post(attest_url(request), body, follow=True)
    assert response.redirect_chain[-1][0] == f"{change_url(request)}#review-checklists"
    assert "GDPR-22-3 (GDPR) attested: met." in response.content.decode()
    attestation = Attestation.objects.get(item_id="GDPR-22-3")
    assert (attestation.framework, attestation.answer, attestation.answered_by) == ("gdpr", "met", officer)
    assert attestation.version == request.version and attestation.statement_digest
    assert AuditEvent.objects.filter(action="attestation.answered").count() == 1
    assert ITEM not in _options(response.content.decode())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"answer": "met", "statement": "Checked."}, "Pick the checklist item you attest."),
        ({"item": ITEM, "answer": "met", "statement": "  "}, "statement: a written statement is required."),
        ({"item": ITEM, "answer": "maybe", "statement": "Checked."}, "answer: one of met, not_met, not_applicable."),
        ({"item": "gdpr:GDPR-5-1-A", "answer": "met", "statement": "Checked."}, "decided automatically"),
        ({"item": "gdpr:NO-SUCH", "answer": "met", "statement": "Checked."}, "gdpr has no item &#x27;NO-SUCH&#x27;."),
    ],
)
def test_a_refused_attestation_says_why_and_records_nothing(client, registered, requester, officer, body, message):
    request = open_request(requester)
    client.force_login(officer)
    response = client.post(attest_url(request), body, follow=True)
    html = response.content.decode()
    assert message in html and 'class="error"' in html
    assert not Attestation.objects.exists()
    assert not AuditEvent.objects.filter(action="attestation.answered").exists()


def test_auditors_and_the_versions_submitter_get_no_attest_form(client, registered, requester, auditor):
    request = open_request(requester)
    client.force_login(auditor)
    html = client.get(change_url(request)).content.decode()
    assert 'id="review-attest"' not in html and ">Attest</a>" not in html
    body = {"item": ITEM, "answer": "met", "statement": "An auditor may not answer."}
    assert client.post(attest_url(request), body).status_code == 403
    submitter = UserFactory(username="officer-who-submitted", roles=["compliance_officer"], is_staff=True)
    ModelVersion.objects.filter(pk=request.version.pk).update(submitted_by=submitter)
    client.force_login(submitter)
    assert 'id="review-attest"' not in client.get(change_url(request)).content.decode()
    refused = client.post(attest_url(request), body, follow=True).content.decode()
    assert "You submitted this version; someone else must attest it." in refused
    assert not Attestation.objects.exists()


def test_the_versions_waivers_are_listed_with_their_state(client, registered, requester, officer):
    request = open_request(requester)
    client.force_login(officer)
    html = client.get(change_url(request)).content.decode()
    assert "No waiver has been granted for this version." in html
    grantor = UserFactory(username="waiving-officer", roles=["compliance_officer"])
    finished_bias_audit(request.version)
    waiver = evidence_waiver_grant(
        version=request.version,
        requirement="bias_audit",
        justification="The sensitive attribute is not collected for this product line.",
        user=grantor,
    )
    html = client.get(change_url(request)).content.decode()
    row = html.split('id="review-waivers"', 1)[1].split("</table>", 1)[0]
    assert f">#{waiver.pk}</a>" in row and "<td>bias_audit</td><td>active</td>" in row
    assert reverse("admin:registry_evidencewaiver_change", args=[waiver.pk]) in row
    evidence_waiver_revoke(waiver=waiver, user=grantor)
    row = client.get(change_url(request)).content.decode().split('id="review-waivers"', 1)[1].split("</table>", 1)[0]
    assert "<td>bias_audit</td><td>revoked</td>" in row


def test_the_raw_policy_json_is_folded_below_the_policy_in_words(client, registered, requester, auditor):
    request = open_request(requester)
    client.force_login(auditor)
    html = client.get(change_url(request)).content.decode()
    assert "approvals required: <strong>2</strong>" in html
    folded = html.split("Frozen policy (JSON, as recorded)", 1)
    assert len(folded) == 2 and "&quot;approvals_required&quot;: 2" in folded[1]
    assert "&quot;approvals_required&quot;" not in folded[0]
    folded_fieldset = r'<fieldset class="module aligned collapse"[^>]*>\s*<details><summary>\s*<h2[^>]*>Frozen policy'
    assert re.search(folded_fieldset, html)
