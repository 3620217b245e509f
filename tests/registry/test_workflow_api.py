"""The whole CI workflow through the API, with the personas of the service."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent
from audits.selectors import audit_trail_verify
from registry.models import ApprovalRequest, ModelVersion, RegisteredModel
from tests.registry_fixtures import decide, register_model, register_version, request_approval

pytestmark = pytest.mark.django_db


def _actions() -> list[str]:
    """The registry's events, without the set-up of the personas' accounts."""
    actions = [json.loads(bytes(body))["action"] for body in AuditEvent.objects.values_list("body", flat=True)]
    return [a for a in actions if not a.startswith(("service_account.", "api_token."))]


def _gate(client, sha, version="1.0.0", stage="production"):
    url = reverse("v1:gate", args=["credit-scoring", version])
    return client.get(url, {"stage": stage, "sha256": sha})


def test_a_registered_version_carries_its_artifact_digest_and_probe(registered, model_bytes):
    import hashlib

    assert registered["artifact_sha256"] == hashlib.sha256(model_bytes).hexdigest()
    assert registered["stage"] == "none"
    assert registered["lineage"] == {"code_commit": "a1b2c3d", "pipeline": "github-actions"}
    assert registered["artifact_report"]["format"] == "skops"


def test_the_whole_workflow(registered, ci_client, client_as, officer, officer2, auditor, no_evidence_policy):
    submitted = request_approval(ci_client)
    assert submitted.status_code == 202
    request_id = submitted.json()["id"]
    polled = ci_client.get(reverse("v1:approval-request", args=[request_id])).json()
    assert polled["status"] == "pending"
    assert polled["progress"]["approvals_required"] == 2
    sha = registered["artifact_sha256"]
    assert _gate(ci_client, sha).status_code == 409
    first = decide(client_as(officer), request_id)
    assert first.status_code == 201
    assert first.json()["artifact_sha256"] == sha
    assert first.json()["request"]["status"] == "pending"
    second = decide(client_as(officer2), request_id).json()
    assert second["request"]["status"] == "approved"
    assert second["request"]["expires_at"]
    gate = _gate(ci_client, sha)
    assert gate.status_code == 200
    assert gate.json()["allowed"] is True
    promoted = ci_client.post(
        reverse("v1:stage-change", args=["credit-scoring", "1.0.0"]), {"stage": "production"}, format="json"
    )
    assert promoted.json()["stage"] == "production"
    assert _actions() == [
        "model.registered",
        "dataset.registered",
        "model_version.registered",
        "approval.requested",
        "approval.decided",
        "approval.decided",
        "approval.approved",
        "approval.attested",
        "model_version.stage_changed",
    ]
    assert client_as(auditor).post(reverse("v1:audit-verify")).json()["ok"] is True


def test_missing_evidence_blocks_approval_and_lists_the_reasons(registered, ci_client, client_as, officer):
    request_id = request_approval(ci_client).json()["id"]
    response = decide(client_as(officer), request_id)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "evidence_missing"
    reasons = error["fields"]["reasons"]
    assert any(r.startswith("explanation:") for r in reasons)
    assert any(r.startswith("bias_audit:") for r in reasons)
    assert any(r.startswith("model_card:GDPR:") for r in reasons)
    assert not ApprovalRequest.objects.get(pk=request_id).decisions.exists()


def test_a_rejection_needs_no_evidence_and_one_reject_rejects(
    registered, ci_client, client_as, officer, officer2, no_evidence_policy
):
    request_id = request_approval(ci_client).json()["id"]
    decide(client_as(officer), request_id)
    rejected = decide(client_as(officer2), request_id, "reject").json()
    assert rejected["request"]["status"] == "rejected"
    assert _gate(ci_client, registered["artifact_sha256"]).status_code == 409


def test_the_requester_may_not_decide(registered, client_as, officer, requester, no_evidence_policy):
    requester.groups.add(*officer.groups.all())  # a scientist who is also an officer
    request_id = request_approval(client_as(requester)).json()["id"]
    response = decide(client_as(requester), request_id)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "separation_of_duties"


def test_the_submitter_may_not_decide(
    ci_client, client_as, requester, officer, applicants, model_bytes, no_evidence_policy
):
    requester.groups.add(*officer.groups.all())
    register_model(client_as(requester))
    register_version(client_as(requester), model_bytes)
    request_id = request_approval(ci_client).json()["id"]
    response = decide(client_as(requester), request_id)
    assert response.status_code == 403
    assert "submitted this version" in response.json()["error"]["message"]


def test_one_decision_per_person(registered, ci_client, client_as, officer, no_evidence_policy):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    again = decide(client_as(officer), request_id)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_decided"


@pytest.mark.parametrize("persona", ["auditor", "requester", "outsider"])
def test_only_officers_decide(request, registered, ci_client, client_as, persona):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(request.getfixturevalue(persona)), request_id).status_code == 403


def test_ci_never_approves(registered, ci_client):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(ci_client, request_id).status_code == 403


def test_a_second_pending_request_for_the_same_stage_conflicts(registered, ci_client):
    assert request_approval(ci_client).status_code == 202
    assert request_approval(ci_client).status_code == 409


class TestTheGateFailsClosed:
    def test_unknown_version(self, ci_client, registered):
        response = _gate(ci_client, registered["artifact_sha256"], version="9.9.9")
        assert response.status_code == 409
        assert response.json()["reasons"] == ["unknown model version credit-scoring 9.9.9"]

    def test_no_request(self, ci_client, registered):
        reasons = _gate(ci_client, registered["artifact_sha256"]).json()["reasons"]
        assert reasons == ["no approval has been requested for production"]

    def test_pending(self, ci_client, registered):
        request_approval(ci_client)
        assert "is pending" in _gate(ci_client, registered["artifact_sha256"]).json()["reasons"][0]

    def test_expired(self, ci_client, registered, approved):
        ApprovalRequest.objects.filter(pk=approved).update(expires_at=timezone.now() - timedelta(seconds=1))
        response = _gate(ci_client, registered["artifact_sha256"])
        assert response.status_code == 409
        assert "expired" in response.json()["reasons"][0]

    def test_withdrawn(self, ci_client, registered, approved):
        assert ci_client.post(reverse("v1:approval-withdraw", args=[approved])).status_code == 200
        assert "withdrawn" in _gate(ci_client, registered["artifact_sha256"]).json()["reasons"][0]

    def test_other_bytes(self, ci_client, registered, approved):
        response = _gate(ci_client, "0" * 64)
        assert response.status_code == 409
        assert "sha256 does not match the registered artifact of this version" in response.json()["reasons"]

    def test_approved_for_staging_is_not_production(
        self, ci_client, registered, client_as, officer, officer2, no_evidence_policy
    ):
        request_id = request_approval(ci_client, stage="staging").json()["id"]
        decide(client_as(officer), request_id)
        decide(client_as(officer2), request_id)
        assert _gate(ci_client, registered["artifact_sha256"], stage="staging").status_code == 200
        assert _gate(ci_client, registered["artifact_sha256"], stage="production").status_code == 409

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"stage": "production", "sha256": "xyz"}, "sha256"),
            ({"stage": "moon", "sha256": "0" * 64}, "stage"),
            ({"stage": "production"}, "sha256"),
        ],
    )
    def test_bad_questions_are_400(self, ci_client, registered, query, field):
        response = ci_client.get(reverse("v1:gate", args=["credit-scoring", "1.0.0"]), query)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


def test_expiry_is_recorded_by_the_periodic_job(registered, approved):
    from approvals.services import approvals_expire

    ApprovalRequest.objects.filter(pk=approved).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert approvals_expire() == 1
    assert ApprovalRequest.objects.get(pk=approved).status == "expired"
    assert _actions()[-1] == "approval.expired"


def test_production_needs_an_approval(ci_client, registered):
    response = ci_client.post(
        reverse("v1:stage-change", args=["credit-scoring", "1.0.0"]), {"stage": "production"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_approved"
    assert ModelVersion.objects.get(version="1.0.0").stage == "none"


def _approve_and_promote(ci_client, client_as, officer, officer2, version):
    request_id = request_approval(ci_client, version=version).json()["id"]
    decide(client_as(officer), request_id)
    decide(client_as(officer2), request_id)
    url = reverse("v1:stage-change", args=["credit-scoring", version])
    return ci_client.post(url, {"stage": "production"}, format="json")


def test_promotion_keeps_the_previous_version_for_one_call_rollback(
    registered, ci_client, client_as, officer, officer2, other_model_bytes, no_evidence_policy
):
    assert _approve_and_promote(ci_client, client_as, officer, officer2, "1.0.0").status_code == 200
    assert register_version(ci_client, other_model_bytes, version="1.1.0").status_code == 201
    assert _approve_and_promote(ci_client, client_as, officer, officer2, "1.1.0").status_code == 200
    model = RegisteredModel.objects.get(name="credit-scoring")
    assert model.rollback_target.version == "1.0.0"
    assert ModelVersion.objects.get(version="1.0.0").stage == "archived"
    rolled = ci_client.post(
        reverse("v1:model-rollback", args=["credit-scoring"]), {"reason": "error rate 4%"}, format="json"
    )
    assert rolled.status_code == 200, rolled.json()
    assert rolled.json()["version"] == "1.0.0" and rolled.json()["stage"] == "production"
    assert ModelVersion.objects.get(version="1.1.0").stage == "archived"
    assert "model.rolled_back" in _actions()
    assert audit_trail_verify().ok


def test_rollback_without_a_previous_version_conflicts(ci_client, registered):
    response = ci_client.post(reverse("v1:model-rollback", args=["credit-scoring"]), {"reason": "x"}, format="json")
    assert response.status_code == 409


def test_deployments_are_recorded(ci_client, registered):
    url = reverse("v1:deployments", args=["credit-scoring", "1.0.0"])
    body = {
        "environment": "prod-eu",
        "strategy": "canary",
        "traffic_percent": "5",
        "rollback_threshold": {"metric": "error_rate", "above": 0.02},
    }
    response = ci_client.post(url, body, format="json")
    assert response.status_code == 201
    assert ModelVersion.objects.get(version="1.0.0").deployments.get().strategy == "canary"
    bad = ci_client.post(url, {**body, "traffic_percent": "150"}, format="json")
    assert bad.status_code == 400 and "traffic_percent" in bad.json()["error"]["fields"]


def test_policy_changes_are_for_superusers_and_audited(client_as, admin_user, officer):
    url = reverse("v1:policy", args=["high"])
    assert client_as(officer).patch(url, {"validity_days": 30}, format="json").status_code == 403
    response = client_as(admin_user).patch(url, {"validity_days": 30}, format="json")
    assert response.json()["validity_days"] == 30
    assert _actions() == ["policy.changed"]
    bad = client_as(admin_user).patch(url, {"officer_approvals_required": 5}, format="json")
    assert bad.status_code == 400


def test_a_request_keeps_the_policy_it_was_made_under(registered, ci_client, client_as, admin_user):
    request_id = request_approval(ci_client).json()["id"]
    client_as(admin_user).patch(reverse("v1:policy", args=["medium"]), {"approvals_required": 3}, format="json")
    assert ApprovalRequest.objects.get(pk=request_id).policy["approvals_required"] == 2
