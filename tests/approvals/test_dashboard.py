"""The admin's home page: what waits for an officer, what expires, drifts and fails; auditors read the same
without the queue, everyone else sees the stock index; the page's cost does not grow with its rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.dashboard import dashboard_for
from audits.services import audit_event_append, object_ref
from core import roles
from evidence.models import EvidenceJob
from registry.models import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalRequest,
    Dataset,
    ModelVersion,
    RegisteredModel,
    Stage,
)
from registry.policies import policy_snapshot
from tests.factories import UserFactory, team

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")
PANELS = ("Waiting for you", "Approvals expiring within 30 days", "Under review", "In production by risk tier")


def _version(model, number, *, by, stage=Stage.NONE, review=False) -> ModelVersion:
    return ModelVersion.objects.create(
        model=model, version=number, submitted_by=by, stage=stage, review_required=review
    )


def _request(version, *, by, status=ApprovalRequest.Status.PENDING, stage=Stage.PRODUCTION, **extra):
    policy = policy_snapshot(ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier))
    policy.update(approvals_required=2, officer_approvals_required=1)
    return ApprovalRequest.objects.create(
        version=version, target_stage=stage, requested_by=by, status=status, policy=policy, **extra
    )


def _decide(request, user, verdict=ApprovalDecision.Verdict.APPROVE) -> None:
    ApprovalDecision.objects.create(request=request, decided_by=user, verdict=verdict, as_officer=True)


def _failed_job(version, dataset, *, age=timedelta(hours=1), error="worker lost") -> EvidenceJob:
    job = EvidenceJob.objects.create(
        kind=EvidenceJob.Kind.BIAS_AUDIT,
        version=version,
        dataset=dataset,
        status=EvidenceJob.Status.FAILED,
        dataset_sha256="0" * 64,
        error=error,
        requested_by="system",
        finished_at=timezone.now() - age,
    )
    EvidenceJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - age)
    return job


@pytest.fixture
def scene(requester, officer, officer2):
    """Three models (one per tier); the officer may decide exactly one pending request, approved by officer2."""
    now = timezone.now()
    credit = RegisteredModel.objects.create(name="credit-scoring", owner=requester, risk_tier="high", team=team())
    churn = RegisteredModel.objects.create(name="churn", owner=requester, risk_tier="low", team=team())
    pricing = RegisteredModel.objects.create(name="pricing", owner=requester, risk_tier="high", team=team())
    live = _version(credit, "1.0.0", by=requester, stage=Stage.PRODUCTION, review=True)
    candidate = _version(credit, "2.0.0", by=requester, stage=Stage.STAGING)
    _version(churn, "0.3.0", by=requester, stage=Stage.PRODUCTION)
    _version(pricing, "5.1.0", by=requester, stage=Stage.PRODUCTION)
    own = _version(churn, "0.4.0", by=officer)

    waiting = _request(candidate, by=requester)
    _decide(waiting, officer2)
    _decide(_request(candidate, by=requester, stage=Stage.STAGING), officer)  # decided by the officer already
    _request(_version(pricing, "5.2.0", by=requester), by=officer)  # requested by the officer
    _request(own, by=requester)  # a version the officer submitted
    expiring = _request(
        live, by=requester, status=ApprovalRequest.Status.APPROVED, decided_at=now, expires_at=now + timedelta(days=12)
    )
    later = _version(pricing, "4.0.0", by=requester)
    _request(later, by=requester, status="approved", decided_at=now, expires_at=now + timedelta(days=90))
    _request(later, by=requester, status="approved", decided_at=now, expires_at=now - timedelta(days=1))

    audit_event_append(
        actor="system", action="drift.alert", object_ref=object_ref(live), data={"job": 1, "review_required": False}
    )
    dataset = Dataset.objects.create(
        name="applicants", kind="evaluation", sha256="0" * 64, size=1, format="csv", schema={}, registered_by=requester
    )
    failed = _failed_job(live, dataset)
    _failed_job(live, dataset, age=timedelta(days=45), error="an old failure")
    return {"waiting": waiting, "expiring": expiring, "live": live, "failed": failed, "dataset": dataset}


def _html(client, user) -> str:
    client.force_login(user)
    response = client.get(INDEX)
    assert response.status_code == 200
    return response.content.decode()


def _panel(html: str, panel_id: str) -> str:
    start = html.index(f'id="panel-{panel_id}"')
    return (
        html[start : html.index('<div class="module verity-panel"', start + 1)]
        if panel_id != "failed-jobs"
        else html[start:]
    )


def test_an_officer_sees_what_waits_for_them_and_what_needs_attention(client, officer, scene):
    html = _html(client, officer)
    waiting = _panel(html, "waiting")
    request_url = reverse("admin:registry_approvalrequest_change", args=[scene["waiting"].pk])
    assert f'<a href="{request_url}">Request #{scene["waiting"].pk}</a>' in waiting
    assert "<td>credit-scoring</td>" in waiting and "<td>2.0.0</td>" in waiting and "<td>production</td>" in waiting
    assert "1 of 2 approvals" in waiting
    assert waiting.count("Request #") == 1  # not the ones requested, submitted or already decided by the officer

    expiring = _panel(html, "expiring")
    assert f"Request #{scene['expiring'].pk}" in expiring
    assert scene["expiring"].expires_at.strftime("%Y-%m-%d") in expiring
    assert expiring.count("Request #") == 1  # neither the one beyond 30 days nor the expired one

    review = _panel(html, "review")
    version_url = reverse("admin:registry_modelversion_change", args=[scene["live"].pk])
    assert f'<a href="{version_url}">credit-scoring@1.0.0</a>' in review
    assert "none recorded" not in review  # the drift alert's time is shown

    production = _panel(html, "production")
    assert '<th scope="row">Low risk</th><td>1 in production</td>' in production
    assert '<th scope="row">Medium risk</th><td>0 in production</td>' in production
    assert '<th scope="row">High risk</th><td>2 in production</td>' in production

    failed = _panel(html, "failed-jobs")
    job_url = reverse("admin:evidence_evidencejob_change", args=[scene["failed"].pk])
    assert f'<a href="{job_url}">Job #{scene["failed"].pk}</a>' in failed
    assert "worker lost" in failed and "an old failure" not in failed
    assert "Approval requests" in html  # the usual app list is still there, below


def test_the_drift_alert_shown_is_the_versions_latest(officer, scene):
    first = dashboard_for(officer).under_review[0].drift_alert_at
    audit_event_append(
        actor="system",
        action="drift.alert",
        object_ref=object_ref(scene["live"]),
        data={"job": 2, "review_required": False},
    )
    assert dashboard_for(officer).under_review[0].drift_alert_at > first


def test_an_auditor_sees_the_panels_but_no_queue(client, auditor, scene):
    html = _html(client, auditor)
    assert "Waiting for you" not in html
    for title in PANELS[1:]:
        assert title in html
    assert f"Request #{scene['expiring'].pk}" in html and f"Job #{scene['failed'].pk}" in html


def test_a_superuser_sees_the_panels(client, admin_user, scene):
    html = _html(client, admin_user)
    assert "Approvals expiring within 30 days" in html and "Waiting for you" not in html


def test_a_data_scientist_and_a_user_without_role_see_the_stock_index(client, scene):
    for user in (
        UserFactory(username="staff-scientist", roles=[roles.DATA_SCIENTIST], is_staff=True),
        UserFactory(username="staff-nobody", is_staff=True),
    ):
        html = _html(client, user)
        assert "dashboard-panels" not in html
        for title in PANELS:
            assert title not in html


def test_empty_panels_say_so(client, officer):
    html = _html(client, officer)
    for sentence in (
        "No request is waiting for your decision.",
        "No approval expires within 30 days.",
        "No version is under review.",
        "No evidence job failed in the last 30 days.",
    ):
        assert sentence in html
    assert '<th scope="row">High risk</th><td>0 in production</td>' in html


def test_the_dashboard_costs_a_few_queries_whatever_its_rows(
    client, officer, requester, scene, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):  # the officer's roles, then one query per panel
        dashboard_for(officer)

    client.force_login(officer)
    with CaptureQueriesContext(connection) as before:
        client.get(INDEX)
    model = scene["live"].model
    for n in range(4):
        version = _version(model, f"3.{n}.0", by=requester, review=True)
        _request(version, by=requester)
        _request(
            version, by=requester, stage=Stage.STAGING, status="approved", expires_at=timezone.now() + timedelta(days=3)
        )
        _failed_job(version, scene["dataset"])
    with CaptureQueriesContext(connection) as after:
        html = client.get(INDEX).content.decode()
    assert _panel(html, "waiting").count("Request #") == 5
    assert len(after.captured_queries) == len(before.captured_queries)
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(INDEX)
