"""A version that cannot be explained (a vendor model known only by its recorded predictions) is judged as its
policy says: blocked, explanation not applicable, or explanation waivable in writing, with the reason shown.

Reproduced on the previous release: such versions could never be approved under the default policies, and
the refusal said "the dataset records no predictions", which was untrue.
"""

import json

import pytest
from django.urls import reverse

from registry.models import ApprovalPolicy, ModelVersion
from reports.card import card_build
from tests.registry_fixtures import SCHEMA, decide, register_dataset, register_model, request_approval
from tests.reports.test_checklists import _people

pytestmark = pytest.mark.django_db
JUSTIFICATION = "Vendor scoring service: the contract gives us decisions only; reviewed with legal."


@pytest.fixture
def vendor(ci_client) -> ModelVersion:
    assert register_model(ci_client, name="credit-scoring").status_code == 201
    frame = _people(biased=False).assign(decision=lambda f: (f.debt_ratio > 0.5).astype(int))
    dataset = register_dataset(
        ci_client, frame, schema={**SCHEMA, "features": ["income", "debt_ratio"], "prediction": "decision"}
    ).json()
    body = {"metadata": json.dumps({"version": "1.0.0", "sample_dataset": dataset["id"]})}
    url = reverse("v1:model-versions", args=["credit-scoring"])
    assert ci_client.post(url, body, format="multipart").status_code == 201
    return ModelVersion.objects.get()


def _policy(setting: str) -> None:
    ApprovalPolicy.objects.update(
        requires_explanation=True,
        requires_bias_audit=False,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
        unexplainable=setting,
    )


def _waive(client):
    url = reverse("v1:waivers", args=["credit-scoring", "1.0.0"])
    return client.post(url, {"requirement": "explanation", "justification": JUSTIFICATION}, format="json")


def test_asking_to_explain_it_says_why_it_cannot_be(vendor, ci_client):
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    refused = ci_client.post(url, {"kind": "explanation", "dataset": vendor.evaluation_dataset_id}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "not_explainable"
    assert "only has recorded predictions" in error["message"] and "version" in error["fields"]


def test_by_default_the_policy_blocks_it_and_says_why(vendor, ci_client, client_as, officer):
    _policy("block")
    request_id = request_approval(ci_client).json()["id"]
    reasons = decide(client_as(officer), request_id).json()["error"]["fields"]["reasons"]
    (reason,) = [r for r in reasons if r.startswith("explanation:")]
    assert "explanations need a model that can be queried" in reason
    assert "the policy requires an explanation" in reason
    assert _waive(client_as(officer)).status_code == 400  # not waivable under this policy


def test_a_policy_can_mark_it_not_applicable(vendor, ci_client, client_as, officer, officer2):
    _policy("not_applicable")
    request_id = request_approval(ci_client).json()["id"]
    progress = ci_client.get(reverse("v1:approval-request", args=[request_id])).json()["progress"]
    (item,) = [e for e in progress["evidence"] if e["requirement"] == "explanation"]
    assert item["status"] == "not_applicable" and "not applicable" in item["reason"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).json()["request"]["status"] == "approved"
    card = card_build(version=vendor, scope="gdpr")
    assert card["explainability"]["missing"].startswith("Not explainable: explanations need a model")
    assert "the policy marks explanation not applicable to it" in card["explainability"]["missing"]


def test_a_policy_can_let_an_officer_waive_it_in_writing(vendor, ci_client, client_as, officer, officer2):
    _policy("waivable")
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 409
    granted = _waive(client_as(officer2))
    assert granted.status_code == 201, granted.json()
    approved = decide(client_as(officer), request_id)
    assert approved.status_code == 201, approved.json()
    assert approved.json()["evidence_digests"]["explanation"]["waiver"] == granted.json()["id"]
    card = card_build(version=vendor, scope="gdpr")
    assert "waive the explanation in writing" in card["explainability"]["missing"]


def test_an_explainable_version_cannot_have_its_explanation_waived(registered, client_as, officer):
    _policy("waivable")
    refused = _waive(client_as(officer))
    assert refused.status_code == 400
    assert "run its explanation instead" in refused.json()["error"]["message"]


def test_the_policy_settings_are_changed_over_the_api_audited(client_as, admin_user):
    url = reverse("v1:policy", args=["medium"])
    body = {"unexplainable": "not_applicable", "requires_checklists_without_failures": True}
    changed = client_as(admin_user).patch(url, body, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["unexplainable"], changed.json()["requires_checklists_without_failures"]) == (
        "not_applicable",
        True,
    )
    from audits.models import AuditEvent

    event = json.loads(bytes(AuditEvent.objects.filter(action="policy.changed").last().body))
    assert event["data"]["after"]["unexplainable"] == "not_applicable"
    refused = client_as(admin_user).patch(url, {"unexplainable": "maybe"}, format="json")
    assert refused.status_code == 400
    assert "unexplainable" in refused.json()["error"]["fields"]
