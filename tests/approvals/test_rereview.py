"""The 'review required' mark: a drift alert sets it and opens the re-review; an approved re-review lifts it.

Reproduced on the previous release: the mark was never cleared, so after a stable re-check and an approved
re-review the gate still answered 409.
"""

import json

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from registry.models import ApprovalRequest, ModelVersion
from tests.evidence.test_evidence_drift import _check, _dataset, _frame
from tests.registry_fixtures import decide

pytestmark = pytest.mark.django_db


def _gate(client, sha):
    url = reverse("v1:gate", args=["credit-scoring", "1.0.0"])
    return client.get(url, {"stage": "production", "sha256": sha})


def _events(action: str) -> list[dict]:
    return [json.loads(bytes(b)) for b in AuditEvent.objects.filter(action=action).values_list("body", flat=True)]


@pytest.fixture
def in_production(registered, approved, ci_client):
    url = reverse("v1:stage-change", args=["credit-scoring", "1.0.0"])
    assert ci_client.post(url, {"stage": "production"}, format="json").status_code == 200
    assert _gate(ci_client, registered["artifact_sha256"]).status_code == 200
    return ModelVersion.objects.get(version="1.0.0")


def _drift(client, capture, shift: float, seed: int):
    reference = _dataset(client, _frame(3000), "reference")
    sample = _dataset(client, _frame(3000, shift=shift, seed=seed), "production_sample")
    with capture(execute=True):
        job = _check(client, reference, sample)
    job.refresh_from_db()
    return job


@pytest.fixture
def alerted(in_production, ci_client, django_capture_on_commit_callbacks):
    job = _drift(ci_client, django_capture_on_commit_callbacks, shift=0.5, seed=1)
    assert job.verdict == "drift"
    return job


def test_an_alert_marks_the_version_and_opens_its_re_review(alerted, registered, ci_client):
    version = ModelVersion.objects.get(version="1.0.0")
    assert version.review_required
    rereview = ApprovalRequest.objects.get(version=version, status="pending")
    assert rereview.target_stage == "production" and rereview.requested_by is None
    assert rereview.trigger == f"drift alert (evidence job {alerted.pk})"
    (event,) = _events("approval.requested")[-1:]
    assert event["actor"] == "system" and event["data"]["trigger"] == rereview.trigger
    gate = _gate(ci_client, registered["artifact_sha256"])
    assert gate.status_code == 409
    assert "this version is marked 'review required'" in gate.json()["reasons"]
    shown = ci_client.get(reverse("v1:approval-request", args=[rereview.pk])).json()
    assert (shown["requested_by"], shown["trigger"]) == ("system", rereview.trigger)


def test_a_second_alert_does_not_open_a_second_re_review(alerted, ci_client, django_capture_on_commit_callbacks):
    _drift(ci_client, django_capture_on_commit_callbacks, shift=0.6, seed=2)
    assert ApprovalRequest.objects.filter(status="pending").count() == 1


def test_a_stable_re_check_alone_does_not_lift_the_mark(alerted, ci_client, django_capture_on_commit_callbacks):
    assert _drift(ci_client, django_capture_on_commit_callbacks, shift=0.0, seed=3).verdict == "stable"
    assert ModelVersion.objects.get(version="1.0.0").review_required


def test_an_approved_re_review_lifts_the_mark_audited(alerted, registered, ci_client, client_as, officer, officer2):
    rereview = ApprovalRequest.objects.get(status="pending")
    assert decide(client_as(officer), rereview.pk).status_code == 201
    assert ModelVersion.objects.get(version="1.0.0").review_required  # one approval of two: still marked
    assert decide(client_as(officer2), rereview.pk).json()["request"]["status"] == "approved"
    assert not ModelVersion.objects.get(version="1.0.0").review_required
    (cleared,) = _events("model_version.review_cleared")
    assert cleared["data"]["approval_request"] == rereview.pk
    gate = _gate(ci_client, registered["artifact_sha256"])
    assert gate.status_code == 200, gate.json()
    assert gate.json()["approval_request"] == rereview.pk


def test_a_rejected_re_review_keeps_the_mark(alerted, registered, ci_client, client_as, officer):
    rereview = ApprovalRequest.objects.get(status="pending")
    assert decide(client_as(officer), rereview.pk, verdict="reject").status_code == 201
    assert ModelVersion.objects.get(version="1.0.0").review_required
    assert _gate(ci_client, registered["artifact_sha256"]).status_code == 409
