"""Officers and CI as they meet the service, end to end through the REST API and the admin.

Each journey strings together cases found when the service was used this way: a monitored production model
whose drift alert must lead to a re-review (and whose card must still render), and the separation of duties
between people who waive, people who approve, and the machines that must never decide.
"""

import json

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core import roles
from registry.models import ApprovalPolicy
from tests.registry_fixtures import FEATURES, csv_upload, decide, request_approval

pytestmark = pytest.mark.django_db


def _gate(client, sha):
    return client.get(reverse("v1:gate", args=["credit-scoring", "1.0.0"]), {"stage": "production", "sha256": sha})


def _datasets(client, shift: float) -> dict:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"income": rng.normal(50, 15, 3000), "debt_ratio": rng.uniform(0, 1, 3000)})
    schema = json.dumps({"features": FEATURES[:2], "task": "regression"})
    ids = {}
    for kind, data in (("reference", frame), ("production_sample", frame.assign(income=frame.income + shift))):
        body = {"file": csv_upload(data), "name": kind, "kind": kind, "schema": schema}
        ids[kind] = client.post(reverse("v1:datasets"), body, format="multipart").json()["id"]
    return ids


def test_a_monitored_production_model_is_re_reviewed_after_a_drift_alert(
    registered, ci_client, client_as, officer, officer2, no_evidence_policy, django_capture_on_commit_callbacks
):
    sha = registered["artifact_sha256"]
    # CI asks for production; two officers approve; CI promotes and checks the gate before deploying.
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).json()["request"]["status"] == "approved"
    stage_url = reverse("v1:stage-change", args=["credit-scoring", "1.0.0"])
    assert ci_client.post(stage_url, {"stage": "production"}, format="json").status_code == 200
    assert _gate(ci_client, sha).status_code == 200

    # Production data drifts: the alert marks the version and the service opens its re-review.
    ids = _datasets(ci_client, shift=30)
    evidence_url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    with django_capture_on_commit_callbacks(execute=True):
        body = {"kind": "drift_check", "dataset": ids["production_sample"], "reference": ids["reference"]}
        assert ci_client.post(evidence_url, body, format="json").status_code == 202
    refused = _gate(ci_client, sha)
    assert refused.status_code == 409
    assert "this version is marked 'review required'" in refused.json()["reasons"]
    pending = ci_client.get(reverse("v1:approval-requests"), {"status": "pending"}).json()["results"]
    (rereview,) = pending
    assert rereview["requested_by"] == "system" and rereview["trigger"].startswith("drift alert")

    # The officer reads the monitored version's model card (it used to fail for any drift-checked version).
    from reports.jobs import report_request
    from reports.models import Report

    with django_capture_on_commit_callbacks(execute=True):
        report_request(version=registered_version(), scope="gdpr", user=officer)
    report = Report.objects.get()
    assert report.status == "succeeded", report.error

    # Two officers approve the re-review: the mark is lifted, audited, and the gate answers yes again.
    assert decide(client_as(officer), rereview["id"]).status_code == 201
    assert decide(client_as(officer2), rereview["id"]).json()["request"]["status"] == "approved"
    allowed = _gate(ci_client, sha)
    assert allowed.status_code == 200, allowed.json()
    assert allowed.json()["approval_request"] == rereview["id"]


def registered_version():
    from registry.models import ModelVersion

    return ModelVersion.objects.select_related("model", "artifact").get(version="1.0.0")


def test_waivers_approvals_and_machines_keep_their_duties_apart(
    registered, ci_client, ci_account, client, client_as, admin_user, officer, officer2,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    ApprovalPolicy.objects.update(
        requires_explanation=False,
        requires_bias_audit=True,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
        approvals_required=1,
        bias_min_selection_rate_ratio=0.999,  # the audit fails: groups never select within 0.1 %
    )
    with django_capture_on_commit_callbacks(execute=True):
        request_id = request_approval(ci_client).json()["id"]
    blocked = decide(client_as(officer), request_id)
    assert blocked.status_code == 409
    assert any("verdict is fail" in reason for reason in blocked.json()["error"]["fields"]["reasons"])

    # An administrator tries to let the CI account decide: the admin refuses.
    client.force_login(admin_user)
    user = ci_account.user
    form = {
        "username": user.username,
        "is_active": "on",
        "groups": [Group.objects.get(name=roles.COMPLIANCE_OFFICER).pk],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    page = client.post(reverse("admin:auth_user_change", args=[user.pk]), form)
    assert "a service account may hold only ci" in page.content.decode()
    assert decide(ci_client, request_id).status_code == 403

    # Officer 1 waives the failed audit in writing; officer 1 may then not approve; officer 2 does.
    waiver = {"requirement": "bias_audit", "justification": "Pilot with a documented, accepted disparity."}
    granted = client_as(officer).post(reverse("v1:waivers", args=["credit-scoring", "1.0.0"]), waiver, format="json")
    assert granted.status_code == 201, granted.json()
    assert decide(client_as(officer), request_id).json()["error"]["code"] == "separation_of_duties"
    approved = decide(client_as(officer2), request_id)
    assert approved.json()["request"]["status"] == "approved"
    assert approved.json()["evidence_digests"]["bias_audit"]["waiver"] == granted.json()["id"]


def test_ci_meets_strict_input_and_the_deployment_guardrail(ci_client, model_bytes, client_as, auditor):
    from tests.registry_fixtures import register_model, register_version

    # A typo is refused, naming the field, and nothing is created.
    typo = register_model(ci_client, tagz={"team": "risk"})
    assert typo.status_code == 400
    assert "tagz" in typo.json()["error"]["fields"]
    assert register_model(ci_client).status_code == 201
    bad_lineage = register_version(ci_client, model_bytes, lineage={"pipline": "github-actions"})
    assert bad_lineage.status_code == 400
    assert "metadata.lineage.pipline" in bad_lineage.json()["error"]["fields"]
    assert register_version(ci_client, model_bytes).status_code == 201

    # Deploying before any approval is recorded, but as a violation everyone can see.
    deployment = {
        "environment": "prod-eu",
        "strategy": "canary",
        "traffic_percent": "5",
        "serving_platform": "kserve",
        "rollback_threshold": {"metric": "error_rate", "above": 0.02, "window_minutes": 10},
    }
    url = reverse("v1:deployments", args=["credit-scoring", "1.0.0"])
    bad_threshold = ci_client.post(url, {**deployment, "rollback_threshold": {"metric": "banana"}}, format="json")
    assert bad_threshold.status_code == 400
    recorded = ci_client.post(url, deployment, format="json")
    assert recorded.status_code == 201
    assert recorded.json()["violation"] is True
    version = client_as(auditor).get(reverse("v1:model-version", args=["credit-scoring", "1.0.0"])).json()
    (violation,) = version["deployment_violations"]
    assert violation["environment"] == "prod-eu"
    events = client_as(auditor).get(reverse("v1:audit-events"), {"action": "deployment.unapproved"}).json()
    assert events["count"] == 1
