"""Deployment guardrails: the traffic a strategy allows, health reports of live traffic, and what a breach of
the rollback threshold leads to: a recommendation (event and webhook) or, where the policy says so, the
rollback done by the service itself, audited."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent
from audits.selectors import audit_trail_verify
from registry.models import ApprovalPolicy, Deployment, DeploymentHealthReport, ModelVersion
from tests.factories import PASSWORD
from tests.registry.test_webhooks import Receiver, _subscribe
from tests.registry_fixtures import decide, register_version, request_approval

pytestmark = pytest.mark.django_db
THRESHOLD = {"metric": "error_rate", "above": 0.02, "window_minutes": 10, "min_requests": 200}
BODY = {
    "environment": "prod-eu",
    "strategy": "canary",
    "traffic_percent": "5",
    "serving_platform": "kserve",
    "rollback_threshold": THRESHOLD,
}
START = timezone.now().replace(microsecond=0) - timedelta(hours=2)


def _events(action: str) -> list[dict]:
    bodies = AuditEvent.objects.filter(action=action).order_by("seq").values_list("body", flat=True)
    return [json.loads(bytes(body)) for body in bodies]


def _deploy(client, version="1.0.0", **overrides) -> int:
    url = reverse("v1:deployments", args=["credit-scoring", version])
    response = client.post(url, {**BODY, **overrides}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _window(minute: int, requests: int, errors: int, length: int = 5, **extra) -> dict:
    start = START + timedelta(minutes=minute)
    end = start + timedelta(minutes=length)
    return {
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "requests": requests,
        "errors": errors,
        **extra,
    }


def _report(client, deployment: int, body: dict):
    return client.post(reverse("v1:deployment-health", args=[deployment]), body, format="json")


def _promote(client, version: str):
    url = reverse("v1:stage-change", args=["credit-scoring", version])
    response = client.post(url, {"stage": "production"}, format="json")
    assert response.status_code == 200, response.json()


def _approve(ci_client, client_as, officer, officer2, version: str) -> None:
    request_id = request_approval(ci_client, version=version).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201


@pytest.mark.parametrize(
    ("strategy", "percent"),
    [("canary", "100"), ("canary", "0"), ("blue_green", "50"), ("shadow", "0"), ("all_at_once", "10")],
)
def test_a_traffic_share_the_strategy_cannot_have_is_refused_naming_the_field(registered, ci_client, strategy, percent):
    url = reverse("v1:deployments", args=["credit-scoring", "1.0.0"])
    response = ci_client.post(url, {**BODY, "strategy": strategy, "traffic_percent": percent}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["traffic_percent"]
    assert strategy in response.json()["error"]["message"]
    assert not Deployment.objects.exists() and not _events("deployment.reported")


@pytest.mark.parametrize(("strategy", "percent"), [("blue_green", "0"), ("blue_green", "100"), ("shadow", "100")])
def test_a_traffic_share_the_strategy_allows_is_recorded(registered, ci_client, strategy, percent):
    _deploy(ci_client, strategy=strategy, traffic_percent=percent)
    assert Deployment.objects.get().strategy == strategy


def test_healthy_windows_are_stored_audited_and_listed(approved, ci_client, client_as, auditor):
    _promote(ci_client, "1.0.0")
    deployment = _deploy(ci_client)
    response = _report(ci_client, deployment, _window(0, 1000, 5, latency_p99_ms=120.5))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["requests"], body["errors"], body["error_rate"], body["latency_p99_ms"]) == (1000, 5, 0.005, 120.5)
    assert (body["breached"], body["response"], body["verdict"]["breached"]) == (False, "", False)
    [event] = _events("deployment.health_reported")
    assert event["object"] == f"registry.deployment:{deployment}"
    assert (event["data"]["requests"], event["data"]["errors"], event["data"]["report"]) == (1000, 5, body["id"])
    assert event["data"]["verdict"]["reason"].startswith("error_rate 0.005 over 1000 requests")
    assert not _events("deployment.rollback_recommended")
    listed = client_as(auditor).get(reverse("v1:deployment-health", args=[deployment])).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    versions = client_as(auditor).get(reverse("v1:deployments", args=["credit-scoring", "1.0.0"])).json()
    assert [row["id"] for row in versions["results"]] == [deployment]
    assert versions["results"][0]["rollback_response"] is None


def test_a_breach_is_recommended_for_rollback_once_and_reaches_a_webhook(
    approved, ci_client, client_as, admin_user, django_capture_on_commit_callbacks, settings
):
    _promote(ci_client, "1.0.0")
    deployment = _deploy(ci_client)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver listens on loopback
    server = Receiver()
    try:
        _subscribe(client_as(admin_user), server.url, ["deployment.rollback_recommended"])
        with django_capture_on_commit_callbacks(execute=True):
            # 150 requests alone are too few to judge; with the next window (10 minutes pooled) they are not.
            assert _report(ci_client, deployment, _window(0, 150, 30)).json()["breached"] is False
            breach = _report(ci_client, deployment, _window(5, 150, 3)).json()
            again = _report(ci_client, deployment, _window(10, 1000, 900)).json()
    finally:
        server.close()
    assert (breach["breached"], breach["response"]) == (True, "recommended")
    assert breach["verdict"]["requests"] == 300 and breach["verdict"]["observed"] == pytest.approx(33 / 300)
    assert (again["breached"], again["response"]) == (True, "")  # recorded, not announced again
    [recommended] = _events("deployment.rollback_recommended")
    assert recommended["actor"] == "system"
    assert (recommended["data"]["report"], recommended["data"]["policy"]) == (breach["id"], "recommend")
    assert recommended["data"]["environment"] == "prod-eu" and "automatic_rollback_refused" not in recommended["data"]
    [(headers, raw)] = server.received
    assert headers["X-Verity-Event"] == "deployment.rollback_recommended"
    assert json.loads(raw)["data"]["deployment"] == deployment
    shown = ci_client.get(reverse("v1:deployment", args=[deployment])).json()
    assert shown["rollback_response"]["report"] == breach["id"]
    assert shown["rollback_response"]["response"] == "recommended"
    assert ModelVersion.objects.get(version="1.0.0").stage == "production"  # nothing was rolled back
    assert audit_trail_verify().ok


def test_where_the_policy_says_so_the_service_rolls_back_itself(
    approved, ci_client, client_as, officer, officer2, other_model_bytes
):
    ApprovalPolicy.objects.filter(risk_tier="medium").update(rollback_on_breach="automatic")
    _promote(ci_client, "1.0.0")
    assert register_version(ci_client, other_model_bytes, version="1.1.0").status_code == 201
    _approve(ci_client, client_as, officer, officer2, "1.1.0")
    _promote(ci_client, "1.1.0")
    deployment = _deploy(ci_client, version="1.1.0")
    breach = _report(ci_client, deployment, _window(0, 400, 40)).json()
    assert (breach["breached"], breach["response"]) == (True, "rolled_back")
    assert ModelVersion.objects.get(version="1.0.0").stage == "production"
    assert ModelVersion.objects.get(version="1.1.0").stage == "archived"
    [rolled] = _events("model.rolled_back")
    assert (rolled["actor"], rolled["data"]["from"], rolled["data"]["to"]) == ("system", "1.1.0", "1.0.0")
    [guardrail] = _events("deployment.rolled_back")
    assert (guardrail["data"]["rolled_back_to"], guardrail["data"]["report"]) == ("1.0.0", breach["id"])
    assert guardrail["data"]["policy"] == "automatic"
    assert not _events("deployment.rollback_recommended")
    assert audit_trail_verify().ok


@pytest.mark.parametrize(
    ("setup", "refusal"),
    [
        ("only_version", "credit-scoring has no previous production version."),
        ("staging", "eu-staging is not a production environment"),
        ("not_promoted", "credit-scoring@1.0.0 is not the model's production version (its stage is none)"),
    ],
)
def test_an_automatic_rollback_that_cannot_be_done_is_a_recommendation_saying_why(approved, ci_client, setup, refusal):
    ApprovalPolicy.objects.filter(risk_tier="medium").update(rollback_on_breach="automatic")
    if setup != "not_promoted":
        _promote(ci_client, "1.0.0")
    deployment = _deploy(ci_client, environment="eu-staging" if setup == "staging" else "prod-eu")
    breach = _report(ci_client, deployment, _window(0, 400, 40)).json()
    assert breach["response"] == "recommended"
    [recommended] = _events("deployment.rollback_recommended")
    assert recommended["data"]["automatic_rollback_refused"] == refusal
    assert not _events("model.rolled_back") and not _events("deployment.rolled_back")


def test_a_latency_threshold_needs_that_latency_in_each_report(registered, ci_client):
    threshold = {"metric": "latency_p99_ms", "above": 250}
    deployment = _deploy(ci_client, environment="dev", rollback_threshold=threshold)
    missing = _report(ci_client, deployment, _window(0, 500, 0, latency_p50_ms=40))
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["latency_p99_ms"]
    slow = _report(ci_client, deployment, _window(0, 500, 0, latency_p99_ms=400)).json()
    assert (slow["breached"], slow["response"]) == (True, "recommended")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"errors": 11, "requests": 10}, "errors", 400),
        ({"requests": -1}, "requests", 400),
        ({"window_end": START.isoformat()}, "window_end", 400),
        ({"window_end": (timezone.now() + timedelta(hours=1)).isoformat()}, "window_end", 400),
        ({"window_start": "yesterday"}, "window_start", 400),
        ({"latency_p99_ms": -3}, "latency_p99_ms", 400),
        ({"error_count": 3}, "error_count", 400),
    ],
)
def test_a_bad_window_is_refused_naming_the_field(registered, ci_client, change, field, code):
    deployment = _deploy(ci_client, environment="dev")
    response = _report(ci_client, deployment, {**_window(0, 10, 1), **change})
    assert response.status_code == code, response.json()
    assert field in response.json()["error"]["fields"], response.json()
    assert not DeploymentHealthReport.objects.exists() and not _events("deployment.health_reported")


def test_overlapping_windows_are_refused_so_no_request_counts_twice(registered, ci_client):
    deployment = _deploy(ci_client, environment="dev")
    assert _report(ci_client, deployment, _window(0, 10, 1)).status_code == 201
    overlapping = _report(ci_client, deployment, _window(3, 10, 1))
    assert overlapping.status_code == 409
    assert overlapping.json()["error"]["code"] == "overlapping_window"
    assert _report(ci_client, deployment, _window(5, 10, 1)).status_code == 201  # adjacent is fine
    assert DeploymentHealthReport.objects.count() == 2


def test_who_may_report_and_read_health(registered, ci_client, client_as, auditor, outsider, requester):
    deployment = _deploy(ci_client, environment="dev")
    assert _report(client_as(auditor), deployment, _window(0, 10, 1)).status_code == 403
    assert _report(client_as(outsider), deployment, _window(0, 10, 1)).status_code == 403
    assert _report(client_as(requester), deployment, _window(0, 10, 1)).status_code == 201
    assert client_as(outsider).get(reverse("v1:deployment-health", args=[deployment])).status_code == 403
    assert client_as(outsider).get(reverse("v1:deployment", args=[deployment])).status_code == 403
    assert client_as(auditor).get(reverse("v1:deployment", args=[deployment])).status_code == 200
    listing = reverse("v1:deployments", args=["credit-scoring", "1.0.0"])
    assert client_as(outsider).get(listing).status_code == 403
    assert client_as(auditor).get(listing).json()["count"] == 1
    assert _report(ci_client, 999999, _window(0, 10, 1)).status_code == 404


def test_the_policy_sets_the_response_to_a_breach(db, client_as, admin_user, officer):
    url = reverse("v1:policy", args=["high"])
    refused = client_as(admin_user).patch(url, {"rollback_on_breach": "sometimes"}, format="json")
    assert refused.status_code == 400 and "rollback_on_breach" in refused.json()["error"]["fields"]
    assert client_as(officer).patch(url, {"rollback_on_breach": "automatic"}, format="json").status_code == 403
    changed = client_as(admin_user).patch(url, {"rollback_on_breach": "automatic"}, format="json")
    assert changed.status_code == 200 and changed.json()["rollback_on_breach"] == "automatic"
    [event] = _events("policy.changed")
    assert (event["data"]["before"]["rollback_on_breach"], event["data"]["after"]["rollback_on_breach"]) == (
        "recommend",
        "automatic",
    )


def test_the_admin_lists_health_reports_on_the_deployment_and_the_version(approved, ci_client, client):
    _promote(ci_client, "1.0.0")
    deployment = _deploy(ci_client)
    assert _report(ci_client, deployment, _window(0, 400, 40)).status_code == 201
    client.login(username="officer", password=PASSWORD)
    page = client.get(reverse("admin:registry_deployment_change", args=[deployment])).content.decode()
    assert "Health reports (newest first)" in page and "rollback recommended" in page
    assert "error_rate 0.1 over 400 requests" in page
    version = Deployment.objects.get().version
    page = client.get(reverse("admin:registry_modelversion_change", args=[version.pk])).content.decode()
    assert "Deployments and their health" in page and "1 health report(s), 1 breaching; rollback recommended" in page
    listing = client.get(reverse("admin:registry_deployment_changelist")).content.decode()
    assert "Rollback threshold breach" in listing
