"""Deployments: recorded as reported, but one without an approval in force for its environment's stage is a
violation: marked on the row, an audit event `deployment.unapproved` (and so a webhook), shown on the version."""

import json

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from audits.selectors import audit_trail_verify
from registry.models import Deployment
from registry.stages import environment_stage
from tests.factories import PASSWORD
from tests.registry.test_webhooks import Receiver, _subscribe
from tests.registry_fixtures import decide, request_approval

pytestmark = pytest.mark.django_db
URL = reverse("v1:deployments", args=["credit-scoring", "1.0.0"])
BODY = {
    "environment": "prod-eu",
    "strategy": "canary",
    "traffic_percent": "5",
    "serving_platform": "kserve",
    "rollback_threshold": {"metric": "error_rate", "above": 0.02, "window_minutes": 10},
}


def _events(action: str) -> list[dict]:
    bodies = AuditEvent.objects.filter(action=action).order_by("seq").values_list("body", flat=True)
    return [json.loads(bytes(body)) for body in bodies]


def _version(client) -> dict:
    return client.get(reverse("v1:model-version", args=["credit-scoring", "1.0.0"])).json()


@pytest.mark.parametrize(
    ("environment", "stage"),
    [
        ("prod-eu", "production"),
        ("Production", "production"),
        ("eu_prd_2", "production"),
        ("live", "production"),
        ("prod-test", "production"),  # a production word wins
        ("staging", "staging"),
        ("eu-stg-1", "staging"),
        ("preprod", "staging"),
        ("uat", "staging"),
        ("dev", None),
        ("qa-3", None),
        ("local sandbox", None),
        ("eu-west-1", "production"),  # a name the service cannot place fails closed
        ("k8s-cluster-a", "production"),
    ],
)
def test_the_environment_decides_the_approval_it_needs(environment, stage):
    assert environment_stage(environment) == stage


def test_a_deployment_with_an_approval_in_force_is_recorded_and_no_violation(approved, ci_client):
    response = ci_client.post(URL, BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["violation"], body["violation_reasons"], body["approval_stage"]) == (False, [], "production")
    assert body["serving_platform"] == "kserve"
    assert body["rollback_threshold"] == {
        "metric": "error_rate",
        "above": 0.02,
        "window_minutes": 10,
        "min_requests": 100,
    }
    [reported] = _events("deployment.reported")
    assert reported["data"]["serving_platform"] == "kserve"
    assert reported["data"]["approval_request"] == approved
    assert reported["data"]["violation"] is False
    assert _events("deployment.unapproved") == []
    assert _version(ci_client)["deployment_violations"] == []


def test_an_unapproved_deployment_is_recorded_as_a_violation(registered, ci_client):
    response = ci_client.post(URL, BODY, format="json")
    assert response.status_code == 201, response.json()
    reasons = ["no approval has been requested for production"]
    assert response.json()["violation"] is True and response.json()["violation_reasons"] == reasons
    deployment = Deployment.objects.get()
    assert (deployment.violation, deployment.violation_reasons, deployment.serving_platform) == (
        True,
        reasons,
        "kserve",
    )
    [reported], [unapproved] = _events("deployment.reported"), _events("deployment.unapproved")
    assert reported["data"]["violation"] is True
    assert unapproved["object"] == reported["object"] == f"registry.deployment:{deployment.pk}"
    assert unapproved["data"]["reasons"] == reasons
    assert unapproved["data"]["approval_stage"] == "production"
    assert unapproved["data"]["artifact_sha256"] == registered["artifact_sha256"]
    [shown] = _version(ci_client)["deployment_violations"]
    assert (shown["id"], shown["environment"], shown["violation_reasons"]) == (deployment.pk, "prod-eu", reasons)
    assert audit_trail_verify().ok


def test_a_deployment_of_a_rejected_version_is_a_violation(registered, ci_client, client_as, officer):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id, verdict="reject").status_code == 201
    response = ci_client.post(URL, BODY, format="json")
    assert response.status_code == 201
    assert response.json()["violation_reasons"] == [
        f"the latest decided approval request for production ({request_id}) was rejected"
    ]
    assert _events("deployment.unapproved")[0]["data"]["approval_request"] == request_id


def test_a_staging_environment_needs_a_staging_approval(approved, ci_client):
    response = ci_client.post(URL, {**BODY, "environment": "eu-staging"}, format="json")
    assert response.json()["approval_stage"] == "staging"
    assert response.json()["violation_reasons"] == ["no approval has been requested for staging"]


def test_a_development_environment_needs_no_approval(registered, ci_client):
    response = ci_client.post(URL, {**BODY, "environment": "dev-3"}, format="json")
    assert response.status_code == 201
    assert (response.json()["violation"], response.json()["approval_stage"]) == (False, "")
    assert _events("deployment.unapproved") == []


def test_the_violation_reaches_a_webhook_subscriber(
    registered, ci_client, client_as, admin_user, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver listens on loopback
    server = Receiver()
    try:
        _subscribe(client_as(admin_user), server.url, ["deployment.unapproved"])
        with django_capture_on_commit_callbacks(execute=True):
            assert ci_client.post(URL, {**BODY, "environment": "dev"}, format="json").status_code == 201
            assert ci_client.post(URL, BODY, format="json").status_code == 201
    finally:
        server.close()
    [(headers, raw)] = server.received
    assert headers["X-Verity-Event"] == "deployment.unapproved"
    payload = json.loads(raw)
    assert payload["action"] == "deployment.unapproved"
    assert payload["data"]["environment"] == "prod-eu"
    assert payload["data"]["reasons"] == ["no approval has been requested for production"]


@pytest.mark.parametrize(
    ("threshold", "field"),
    [
        ({"metric": "banana", "above": 1}, "rollback_threshold.metric"),
        ({"metric": "error_rate", "above": 1.5}, "rollback_threshold.above"),
        ({"metric": "error_rate", "above": -0.1}, "rollback_threshold.above"),
        ({"metric": "latency_p99_ms", "above": 0}, "rollback_threshold.above"),
        ({"metric": "error_rate", "above": "a lot"}, "rollback_threshold.above"),
        ({"metric": "latency_p99_ms", "above": "Infinity"}, "rollback_threshold.above"),
        ({"metric": "error_rate"}, "rollback_threshold.above"),
        ({"above": 0.02}, "rollback_threshold.metric"),
        ({"metric": "error_rate", "above": 0.02, "window_minutes": 0}, "rollback_threshold.window_minutes"),
        ({"metric": "error_rate", "max": 0.02}, "rollback_threshold.max"),
        ({"metric": "error_rate", "above": 0.02, "min_requests": 0}, "rollback_threshold.min_requests"),
        ({"metric": "error_rate", "above": 0.02, "min_requests": 2.5}, "rollback_threshold.min_requests"),
        ("error_rate > 2%", "rollback_threshold"),
        (None, "rollback_threshold"),
    ],
)
def test_a_rollback_threshold_outside_its_schema_is_refused_naming_the_field(registered, ci_client, threshold, field):
    response = ci_client.post(URL, {**BODY, "rollback_threshold": threshold}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    "threshold",
    [
        {},
        {"metric": "error_rate", "above": 0},
        {"metric": "error_rate", "above": 1},
        {"metric": "latency_p99_ms", "above": 250},
        {"metric": "latency_p50_ms", "above": 40.5, "window_minutes": 1440},
        {"metric": "error_rate", "above": 0.05, "min_requests": 1},
    ],
)
def test_a_rollback_threshold_within_its_schema_is_kept(registered, ci_client, threshold):
    response = ci_client.post(URL, {**BODY, "rollback_threshold": threshold}, format="json")
    assert response.status_code == 201, response.json()
    # A threshold that leaves out min_requests is recorded with the default it is judged by.
    recorded = {"min_requests": 100, **threshold} if threshold else {}
    assert Deployment.objects.get().rollback_threshold == response.json()["rollback_threshold"] == recorded


def test_without_a_threshold_or_a_platform_the_report_keeps_empty_ones(registered, ci_client):
    body = {k: v for k, v in BODY.items() if k not in ("rollback_threshold", "serving_platform")}
    response = ci_client.post(URL, body, format="json")
    assert response.status_code == 201
    assert (response.json()["rollback_threshold"], response.json()["serving_platform"]) == ({}, "")


def test_the_admin_shows_violations_on_the_version(registered, ci_client, client, officer):
    assert ci_client.post(URL, BODY, format="json").status_code == 201
    version = Deployment.objects.get().version
    client.login(username="officer", password=PASSWORD)
    page = client.get(reverse("admin:registry_modelversion_change", args=[version.pk])).content.decode()
    assert "Deployments without an approval in force" in page
    assert "prod-eu" in page and "no approval has been requested for production" in page
    listing = client.get(reverse("admin:registry_modelversion_changelist")).content.decode()
    assert "Deployment violations" in listing
    assert client.get(reverse("admin:registry_deployment_changelist") + "?violation__exact=1").status_code == 200
