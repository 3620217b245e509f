"""The review page of an approval request in the admin: the decision's context, its evidence with the jobs'
findings, the checklists, links to its trail and model cards, and, for officers, a decision with a comment."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent
from evidence.models import EvidenceJob
from registry.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest, Dataset, ModelVersion
from registry.policies import policy_snapshot, policy_thresholds

pytestmark = pytest.mark.django_db

BIAS_RESULT = {
    "n_rows": 400,
    "min_group_size": 30,
    "verdict": {"status": "pass", "reasons": []},
    "features": [
        {
            "name": "gender",
            "verdict": {
                "status": "pass",
                "checks": [{"name": "selection_rate_ratio", "value": 0.91, "threshold": 0.8, "status": "pass"}],
                "reasons": [],
            },
            "groups": [{"group": "female", "count": 196}, {"group": "male", "count": 204}],
        }
    ],
}


def open_request(requester) -> ApprovalRequest:
    """A pending production request for the registered version whose policy asks for a bias audit only."""
    version = ModelVersion.objects.get(model__name="credit-scoring", version="1.0.0")
    policy = policy_snapshot(ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier))
    policy.update(
        requires_explanation=False,
        requires_bias_audit=True,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
        requires_checklists_without_failures=False,
        approvals_required=2,
        officer_approvals_required=1,
    )
    return ApprovalRequest.objects.create(
        version=version,
        target_stage="production",
        requested_by=requester,
        policy=policy,
        artifact_sha256=version.artifact.sha256,
    )


def passing_bias_audit(request: ApprovalRequest) -> EvidenceJob:
    version = request.version
    return EvidenceJob.objects.create(
        kind=EvidenceJob.Kind.BIAS_AUDIT,
        version=version,
        dataset=Dataset.objects.get(),
        params={"thresholds": policy_thresholds(request.policy)},
        status=EvidenceJob.Status.SUCCEEDED,
        artifact_sha256=version.artifact.sha256,
        dataset_sha256="d" * 64,
        result=BIAS_RESULT,
        result_sha256="r" * 64,
        verdict="pass",
        requested_by="system",
        finished_at=timezone.now(),
    )


def change_url(request: ApprovalRequest) -> str:
    return reverse("admin:registry_approvalrequest_change", args=[request.pk])


def decide_url(request: ApprovalRequest) -> str:
    return reverse("admin:registry_approvalrequest_decide", args=[request.pk])


def _page(client, request) -> str:
    response = client.get(change_url(request))
    assert response.status_code == 200
    return response.content.decode()


def _sections_shown(html: str, request: ApprovalRequest, job: EvidenceJob) -> None:
    for section in ("review-context", "review-lineage", "review-policy", "review-evidence", "review-checklists"):
        assert f'id="{section}"' in html
    assert request.artifact_sha256 in html
    assert '<th scope="row">code_commit</th><td>a1b2c3d</td>' in html  # lineage as a table, not JSON
    assert "approvals required: <strong>2</strong>" in html and "validity: <strong>" in html
    assert "bias_audit: done" in html
    assert reverse("admin:evidence_evidencejob_change", args=[job.pk]) in html
    assert 'class="evidence-findings"' in html and "female (196), male (204)" in html
    assert "GDPR" in html  # the checklist of the model's framework


def test_an_officer_sees_the_sections_and_the_decision_form(client, registered, requester, officer):
    request = open_request(requester)
    job = passing_bias_audit(request)
    client.force_login(officer)
    html = _page(client, request)
    _sections_shown(html, request, job)
    assert f'action="{decide_url(request)}"' in html and 'name="comment"' in html
    assert 'id="review-no-decision"' not in html
    assert "1 of 2 approvals." not in html and "0 of 2 approvals." in html  # the existing progress line stays


def test_the_links_lead_to_the_requests_trail_and_the_versions_model_cards(client, registered, requester, auditor):
    request = open_request(requester)
    passing_bias_audit(request)
    client.force_login(auditor)
    html = _page(client, request)
    ref = f"registry.approvalrequest:{request.pk}"
    audit_link = f"{reverse('admin:audits_auditevent_changelist')}?object_ref={ref.replace(':', '%3A')}"
    assert audit_link in html
    assert client.get(audit_link).status_code == 200
    reports_link = f"{reverse('admin:reports_report_changelist')}?version__id__exact={request.version_id}"
    assert reports_link in html
    reports = client.get(reports_link)
    assert reports.status_code == 200  # an unknown lookup would redirect to ?e=1


def test_an_auditor_sees_the_sections_but_no_form_and_may_not_decide(client, registered, requester, auditor):
    request = open_request(requester)
    job = passing_bias_audit(request)
    client.force_login(auditor)
    html = _page(client, request)
    _sections_shown(html, request, job)
    assert decide_url(request) not in html and 'name="comment"' not in html
    assert 'id="review-no-decision"' not in html
    refused = client.post(decide_url(request), {"verdict": "approve", "comment": "Looks fine to me."})
    assert refused.status_code == 403
    assert not ApprovalDecision.objects.exists()


def test_a_decision_needs_a_comment(client, registered, requester, officer):
    request = open_request(requester)
    passing_bias_audit(request)
    client.force_login(officer)
    response = client.post(decide_url(request), {"verdict": "approve", "comment": "   "}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(request)
    assert "A comment is required" in response.content.decode()
    no_verdict = client.post(decide_url(request), {"verdict": "", "comment": "Reviewed."}, follow=True)
    assert "Choose approve or reject." in no_verdict.content.decode()
    assert not ApprovalDecision.objects.exists()
    assert not AuditEvent.objects.filter(action="approval.decided").exists()


def test_a_blocked_approval_shows_the_reasons(client, registered, requester, officer):
    request = open_request(requester)  # no bias audit exists
    client.force_login(officer)
    response = client.post(decide_url(request), {"verdict": "approve", "comment": "Evidence reviewed."}, follow=True)
    html = response.content.decode()
    assert "Approval is blocked until the evidence the policy requires exists." in html
    assert "bias_audit: no bias audit has been produced for this version under this policy" in html
    assert 'class="error"' in html
    assert not ApprovalDecision.objects.exists()


def test_an_approval_is_recorded_with_its_comment(client, registered, requester, officer):
    request = open_request(requester)
    job = passing_bias_audit(request)
    client.force_login(officer)
    response = client.post(
        decide_url(request), {"verdict": "approve", "comment": "Bias audit passes; lineage checked."}, follow=True
    )
    assert f"Your approve is recorded on request #{request.pk}; it is now pending." in response.content.decode()
    decision = ApprovalDecision.objects.get(request=request)
    assert decision.decided_by == officer and decision.verdict == "approve" and decision.comment_digest
    assert decision.evidence_digests["bias_audit"]["job"] == job.pk
    [row] = AuditEvent.objects.filter(action="approval.decided")
    assert row.object_ref == f"registry.approvalrequest:{request.pk}"
    event = json.loads(bytes(row.body))
    assert event["data"]["verdict"] == "approve" and event["data"]["comment_sha256"] == decision.comment_digest
    audit_link = f"{reverse('admin:audits_auditevent_changelist')}?object_ref={row.object_ref.replace(':', '%3A')}"
    assert audit_link in response.content.decode()
    listing = client.get(audit_link).content.decode()
    assert "approval.decided" in listing and "1 audit event" in listing
    assert 'name="comment"' not in response.content.decode()  # one decision per person: the form is gone
    assert 'id="review-no-decision"' in response.content.decode()
