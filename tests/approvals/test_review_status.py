"""The review page leads with its answer: whether the request can be approved now, every blocker in words with
the action that clears it, the approvals so far, who may still decide and why the reader may not; the decision
form right under it; the evidence folded below. Evidence is run and waived in place, through the services."""

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.review import review_status
from approvals.waivers import waiver_expiry_limit
from evidence.models import EvidenceJob
from registry.models import ApprovalRequest, Dataset, EvidenceWaiver
from registry.policies import policy_thresholds
from tests.approvals.test_review_page import change_url, open_request, passing_bias_audit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def failing_bias_audit(request: ApprovalRequest) -> EvidenceJob:
    job = passing_bias_audit(request)
    EvidenceJob.objects.filter(pk=job.pk).update(verdict="fail")
    return job


def _page(client, request) -> str:
    response = client.get(change_url(request))
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"', 1)[1].split("</section>", 1)[0]


def test_the_status_panel_comes_first_then_the_form_then_the_folded_evidence(client, registered, requester, officer):
    request = open_request(requester)
    passing_bias_audit(request)
    client.force_login(officer)
    html = _page(client, request)
    assert html.index('id="review-status"') < html.index('id="review-decide"') < html.index('id="review-evidence"')
    panel = _section(html, "review-status")
    assert "Approval is possible now" in panel
    assert "0 of 2 approvals (at least 1 from officers)" in panel
    assert "2 more approvals needed" in panel and "You may decide this request." in panel
    assert '<details class="review-evidence-item" id="evidence-bias_audit">' in html
    assert "<summary><h3>bias_audit: done</h3>" in html


def test_a_missing_audit_is_a_blocker_that_the_page_runs_through_the_evidence_service(
    client, registered, requester, officer, django_capture_on_commit_callbacks
):
    request = open_request(requester)  # no bias audit exists
    client.force_login(officer)
    panel = _section(_page(client, request), "review-status")
    assert "Approval is blocked now" in panel
    assert "<strong>bias_audit</strong>: no bias audit has been produced" in panel
    assert "To clear it: run the missing evidence." in panel
    run_url = reverse("admin:registry_approvalrequest_run_evidence", args=[request.pk])
    assert f'action="{run_url}"' in panel and 'value="Run the missing evidence"' in panel
    response = client.post(run_url, follow=True)
    job = EvidenceJob.objects.get(kind="bias_audit", version=request.version)
    assert job.status == "queued" and job.params["thresholds"] == policy_thresholds(request.policy)
    html = response.content.decode()
    assert f"Queued: bias_audit (job {job.pk})." in html
    assert f"wait for job {job.pk}" in html and 'http-equiv="refresh"' in html  # progress, refreshed
    again = client.post(run_url, follow=True).content.decode()
    assert "Nothing was queued" in again and EvidenceJob.objects.filter(kind="bias_audit").count() == 1


def test_running_evidence_is_refused_to_whoever_may_not_write_the_model(client, registered, requester, auditor):
    request = open_request(requester)
    client.force_login(auditor)
    client.post(reverse("admin:registry_approvalrequest_run_evidence", args=[request.pk]))
    assert not EvidenceJob.objects.exists()


def test_a_failed_audit_is_waived_in_place_and_the_waiver_may_then_only_reject(
    client, registered, requester, officer, officer2
):
    request = open_request(requester)
    failing_bias_audit(request)
    client.force_login(officer)
    panel = _section(_page(client, request), "review-status")
    assert "an officer may waive bias_audit in writing" in panel
    limit = waiver_expiry_limit(request.version)
    assert '<input type="hidden" name="requirement" value="bias_audit">' in panel
    assert f'max="{limit:%Y-%m-%d}" value="{limit:%Y-%m-%d}"' in panel
    assert f"The longest the policy allows: {limit:%Y-%m-%d}" in panel
    waive = reverse("admin:registry_approvalrequest_waive", args=[request.pk])
    body = {"requirement": "bias_audit", "justification": "Group sizes too small to judge; reviewed by hand."}
    response = client.post(waive, {**body, "expires_on": ""}, follow=True)
    waiver = EvidenceWaiver.objects.get()
    assert (waiver.granted_by, waiver.version) == (officer, request.version)
    assert f"Waiver {waiver.pk}: bias_audit is waived until {waiver.expires_at:%Y-%m-%d}." in response.content.decode()
    panel = _section(response.content.decode(), "review-status")
    assert "Approval is possible now" in panel
    assert "you waived bias_audit, so you may reject it but not approve it" in panel
    assert "May still decide: officer (waived bias_audit: may reject, not approve), officer2." in panel
    assert "Not enough officers may still approve it" in panel  # two approvals, one officer may give one


def test_a_waiver_past_the_policys_limit_is_refused_on_the_page(client, registered, requester, officer):
    request = open_request(requester)
    failing_bias_audit(request)
    client.force_login(officer)
    late = (waiver_expiry_limit(request.version) + timezone.timedelta(days=3)).date().isoformat()
    body = {"requirement": "bias_audit", "justification": "Group sizes too small to judge; reviewed by hand."}
    waive = reverse("admin:registry_approvalrequest_waive", args=[request.pk])
    response = client.post(waive, {**body, "expires_on": late}, follow=True)
    assert "The waiver of bias_audit was refused" in response.content.decode()
    assert not EvidenceWaiver.objects.exists()


def test_the_reader_is_told_why_they_may_not_decide(registered, requester, officer, admin_user):
    request = open_request(officer)  # an officer who asked for it
    assert "you requested this" in review_status(request, officer)["reader_reasons"]
    assert review_status(request, admin_user)["reader_reasons"] == [
        "administrators without the compliance officer role do not decide"
    ]
    other = UserFactory(username="officer3", roles=["compliance_officer"], is_staff=True)
    status = review_status(request, other)
    assert status["reader_reasons"] == [] and [d.user for d in status["deciders"]] == [other]


def test_the_checklist_shows_every_item_with_its_text_and_who_attested_it(client, registered, requester, officer):
    request = open_request(requester)
    passing_bias_audit(request)
    client.force_login(officer)
    body = {"item": "gdpr:GDPR-22-3", "answer": "met", "statement": "A person reviews every declined application."}
    client.post(reverse("admin:registry_approvalrequest_attest", args=[request.pk]), body)
    html = _page(client, request)
    row = html.split('id="item-gdpr-22-3"', 1)[1].split("</tr>", 1)[0]
    assert "passed" in row and "attested by officer on" in row
    assert "GDPR-5-1-A" in html.split('id="checklist-gdpr"', 1)[1]  # passed automatic items are listed too
    assert Dataset.objects.exists()


def test_waiving_in_place_is_refused_to_whoever_is_not_an_officer(client, registered, requester, auditor):
    request = open_request(requester)
    failing_bias_audit(request)
    client.force_login(auditor)
    assert 'id="review-waive-bias_audit"' not in _page(client, request)
    body = {"requirement": "bias_audit", "justification": "Group sizes too small to judge; reviewed by hand."}
    response = client.post(reverse("admin:registry_approvalrequest_waive", args=[request.pk]), body)
    assert response.status_code == 403 and not EvidenceWaiver.objects.exists()
