"""The policy judges the evidence: its bias thresholds go into the audit, old evidence does not count,
and an officer can waive an unmet bias audit in writing (audited, separated from the requester)."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent, PersonalRecord
from evidence.models import EvidenceJob
from registry.models import ApprovalPolicy, EvidenceWaiver
from tests.registry_fixtures import decide, request_approval

pytestmark = pytest.mark.django_db
JUSTIFICATION = "Groups differ by design in this pilot; reviewed with legal on the DPIA of 2026-11-02."


def _request_with_jobs(client, capture) -> int:
    with capture(execute=True):
        response = request_approval(client)
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def _bias_job() -> EvidenceJob:
    return EvidenceJob.objects.get(kind="bias_audit")


def _waiver_url(version="1.0.0"):
    return reverse("v1:waivers", args=["credit-scoring", version])


def _grant(client, **extra):
    return client.post(_waiver_url(), {"requirement": "bias_audit", "justification": JUSTIFICATION, **extra}, "json")


def _strict_policy():
    ApprovalPolicy.objects.update(bias_min_selection_rate_ratio=0.999)


def test_the_bias_audit_is_judged_against_the_policy_thresholds(
    registered, ci_client, bias_only_policy, django_capture_on_commit_callbacks
):
    _strict_policy()
    _request_with_jobs(ci_client, django_capture_on_commit_callbacks)
    job = _bias_job()
    assert job.params["thresholds"] == {"min_selection_rate_ratio": 0.999, "max_equalized_odds_difference": 0.1}
    limits = job.result["thresholds"]
    assert limits["min_selection_rate_ratio"] == {"value": 0.999, "source": "approval policy for medium risk"}
    assert limits["max_equalized_odds_difference"]["source"] == "policy default"
    assert job.verdict == "fail"  # two groups of ~200 rows never select within 0.1 % of each other


def test_default_thresholds_keep_the_four_fifths_source(
    registered, ci_client, bias_only_policy, django_capture_on_commit_callbacks
):
    _request_with_jobs(ci_client, django_capture_on_commit_callbacks)
    source = _bias_job().result["thresholds"]["min_selection_rate_ratio"]["source"]
    assert "29 CFR 1607.4(D)" in source


def test_an_audit_judged_under_other_thresholds_does_not_count(
    registered, ci_client, client_as, officer, bias_only_policy, django_capture_on_commit_callbacks
):
    request_id = _request_with_jobs(ci_client, django_capture_on_commit_callbacks)
    first = _bias_job()
    ApprovalPolicy.objects.update(bias_min_selection_rate_ratio=0.95)
    ci_client.post(reverse("v1:approval-withdraw", args=[request_id]), format="json")
    second = request_approval(ci_client).json()["id"]  # queues a new audit under the new limits
    queued = EvidenceJob.objects.filter(kind="bias_audit").exclude(pk=first.pk).get()
    assert queued.status == "queued" and queued.params["thresholds"]["min_selection_rate_ratio"] == 0.95
    reasons = decide(client_as(officer), second).json()["error"]["fields"]["reasons"]
    assert f"bias_audit: the bias audit (job {queued.pk}) is queued" in reasons


def test_a_failed_bias_audit_blocks_until_an_officer_waives_it(
    registered, ci_client, client_as, officer, officer2, bias_only_policy, django_capture_on_commit_callbacks
):
    _strict_policy()
    request_id = _request_with_jobs(ci_client, django_capture_on_commit_callbacks)
    blocked = decide(client_as(officer), request_id)
    assert blocked.status_code == 409
    assert any("verdict is fail" in r for r in blocked.json()["error"]["fields"]["reasons"])

    granted = _grant(client_as(officer2))
    assert granted.status_code == 201, granted.json()
    assert granted.json()["active"] is True
    assert granted.json()["artifact_sha256"] == registered["artifact_sha256"]

    detail = ci_client.get(reverse("v1:approval-request", args=[request_id])).json()
    item = next(e for e in detail["progress"]["evidence"] if e["requirement"] == "bias_audit")
    assert item["status"] == "waived"
    assert "without it: failed" in item["reason"]

    approved = decide(client_as(officer), request_id)
    assert approved.status_code == 201, approved.json()
    assert approved.json()["request"]["status"] == "approved"
    assert approved.json()["evidence_digests"]["bias_audit"]["waiver"] == granted.json()["id"]


def test_a_waiver_is_audited_and_its_text_stays_out_of_the_chain(
    audited, ci_client, client_as, officer, bias_only_policy
):
    waiver = _grant(client_as(officer)).json()
    event = AuditEvent.objects.order_by("-seq").first()
    record = json.loads(bytes(event.body))
    assert record["action"] == "evidence.waived"
    assert record["data"]["justification_sha256"] == waiver["justification_digest"]
    assert JUSTIFICATION.encode() not in bytes(event.body)
    assert PersonalRecord.objects.get(digest=waiver["justification_digest"]).text == JUSTIFICATION

    revoked = client_as(officer).post(reverse("v1:waiver-revoke", args=[waiver["id"]]), format="json")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert json.loads(bytes(AuditEvent.objects.order_by("-seq").first().body))["action"] == "evidence.waiver_revoked"
    again = client_as(officer).post(reverse("v1:waiver-revoke", args=[waiver["id"]]), format="json")
    assert again.status_code == 409


def test_a_revoked_waiver_blocks_again(
    registered, ci_client, client_as, officer, officer2, bias_only_policy, django_capture_on_commit_callbacks
):
    _strict_policy()
    request_id = _request_with_jobs(ci_client, django_capture_on_commit_callbacks)
    waiver = _grant(client_as(officer2)).json()
    client_as(officer2).post(reverse("v1:waiver-revoke", args=[waiver["id"]]), format="json")
    assert decide(client_as(officer), request_id).status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requirement": "explanation", "justification": JUSTIFICATION}, "requirement"),
        ({"requirement": "bias_audit", "justification": "too short"}, "justification"),
        ({"requirement": "bias_audit"}, "justification"),
        (
            {"requirement": "bias_audit", "justification": JUSTIFICATION, "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
    ],
)
def test_bad_waivers_name_the_field(audited, client_as, officer, body, field):
    response = client_as(officer).post(_waiver_url(), body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not EvidenceWaiver.objects.exists()


def test_one_active_waiver_per_requirement(audited, client_as, officer):
    assert _grant(client_as(officer)).status_code == 201
    assert _grant(client_as(officer)).status_code == 409


def test_who_may_waive(audited, ci_client, client_as, officer, auditor, outsider, requester):
    assert _grant(ci_client).status_code == 403
    assert _grant(client_as(auditor)).status_code == 403
    assert _grant(client_as(outsider)).status_code == 403
    requester.groups.add(*officer.groups.all())  # a scientist who is also an officer asks for approval ...
    assert request_approval(client_as(requester)).status_code == 202
    refused = _grant(client_as(requester))  # ... and may not waive the evidence of that request
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "separation_of_duties"
    assert client_as(auditor).get(_waiver_url()).status_code == 200
    assert client_as(outsider).get(_waiver_url()).status_code == 403


def test_the_submitter_may_not_waive(audited, client_as, officer):
    from registry.models import ModelVersion

    ModelVersion.objects.filter(version="1.0.0").update(submitted_by=officer)
    refused = _grant(client_as(officer))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "separation_of_duties"


def test_evidence_older_than_the_policy_allows_does_not_count(
    registered, ci_client, client_as, officer, bias_only_policy, django_capture_on_commit_callbacks
):
    request_id = _request_with_jobs(ci_client, django_capture_on_commit_callbacks)
    ApprovalPolicy.objects.update(evidence_max_age_days=1)
    ci_client.post(reverse("v1:approval-withdraw", args=[request_id]), format="json")
    EvidenceJob.objects.update(finished_at=timezone.now() - timedelta(days=3))
    second = request_approval(ci_client).json()["id"]
    reasons = decide(client_as(officer), second).json()["error"]["fields"]["reasons"]
    assert any("older than the policy's 1 days" in r for r in reasons), reasons


def test_policy_thresholds_are_changed_through_the_audited_service(client_as, admin_user, officer):
    url = reverse("v1:policy", args=["high"])
    changed = client_as(admin_user).patch(
        url, {"bias_min_selection_rate_ratio": 0.9, "evidence_max_age_days": 30}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["bias_min_selection_rate_ratio"] == 0.9
    record = json.loads(bytes(AuditEvent.objects.order_by("-seq").first().body))
    assert record["action"] == "policy.changed"
    assert record["data"]["after"]["bias_min_selection_rate_ratio"] == 0.9
    assert record["data"]["before"]["bias_min_selection_rate_ratio"] == 0.8
    bad = client_as(admin_user).patch(url, {"bias_min_selection_rate_ratio": 1.5}, format="json")
    assert bad.status_code == 400 and "bias_min_selection_rate_ratio" in bad.json()["error"]["fields"]
    assert client_as(officer).patch(url, {"evidence_max_age_days": 5}, format="json").status_code == 403


def _card(version_id, status="succeeded", sha256=None, scope="gdpr", days_old=0):
    from reports.models import Report

    finished = timezone.now() - timedelta(days=days_old)
    inputs = {"model_details": {"artifact": {"sha256": sha256}}} if sha256 else None
    return Report.objects.create(
        version_id=version_id,
        scope=scope,
        status=status,
        requested_by="user:1",
        inputs=inputs,
        pdf_sha256="ab" * 32 if status == "succeeded" else "",
        finished_at=finished if status in ("succeeded", "failed") else None,
        error="renderer crashed" if status == "failed" else "",
    )


def _card_item(version):
    from approvals.requirements import evidence_status

    policy = ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier)
    return next(i for i in evidence_status(version, policy) if i.requirement == "model_card:GDPR")


def test_a_model_card_counts_once_rendered_from_the_current_artifact(registered):
    from registry.models import ModelVersion

    version = ModelVersion.objects.select_related("model", "artifact").get(version="1.0.0")
    sha = registered["artifact_sha256"]
    assert _card_item(version).status == "missing"
    _card(version.pk, status="queued")
    assert _card_item(version).status == "queued"
    _card(version.pk, status="failed")
    assert "renderer crashed" in _card_item(version).reason
    _card(version.pk, sha256="cd" * 32)
    assert _card_item(version).status == "stale"
    ApprovalPolicy.objects.update(evidence_max_age_days=30)
    _card(version.pk, sha256=sha, days_old=45)
    assert "older than the policy's 30 days" in _card_item(version).reason
    combined = _card(version.pk, sha256=sha, scope="combined")
    item = _card_item(version)
    assert item.status == "done" and item.digests["report"] == combined.pk
    _card(version.pk, sha256=sha, scope="hipaa")  # another framework's card does not answer for GDPR
    assert _card_item(version).digests["report"] == combined.pk
