"""A policy can refuse approval while any checklist item of an applicable framework has failed.

Reproduced on the previous release: a request was approved with 5 failed checklist items.
"""

import pytest

from registry.models import ApprovalDecision, ApprovalPolicy, ModelVersion
from reports.checklists import checklist_evaluate
from tests.registry_fixtures import decide, request_approval

pytestmark = pytest.mark.django_db


@pytest.fixture
def checklist_policy(no_evidence_policy):
    ApprovalPolicy.objects.update(requires_checklists_without_failures=True)


def test_failed_items_block_approval_and_are_named(registered, ci_client, client_as, officer, checklist_policy):
    request_id = request_approval(ci_client).json()["id"]
    results = checklist_evaluate(ModelVersion.objects.get(), "gdpr")
    failed = sorted(r.item_id for r in results if r.status == "failed")
    assert failed  # no bias audit, no explanation, an input that looks sensitive left undeclared
    blocked = decide(client_as(officer), request_id)
    assert blocked.status_code == 409
    (reason,) = [r for r in blocked.json()["error"]["fields"]["reasons"] if r.startswith("checklist:gdpr")]
    assert f"{len(failed)} failed GDPR checklist item(s)" in reason
    for item_id in failed:
        assert item_id in reason
    opened = [r.item_id for r in results if r.status == "open"]
    assert opened and not any(item_id in reason for item_id in opened)  # awaiting an answer does not block
    assert not ApprovalDecision.objects.exists()


def test_the_request_shows_the_blocking_items_while_ci_polls(registered, ci_client, checklist_policy):
    request_id = request_approval(ci_client).json()["id"]
    progress = ci_client.get(f"/api/v1/approval-requests/{request_id}/").json()["progress"]
    (item,) = [e for e in progress["evidence"] if e["requirement"] == "checklist:gdpr"]
    assert item["status"] == "failed"
    assert "GDPR-9-1" in item["digests"]["failed"]


def test_without_the_policy_setting_failed_items_do_not_block(
    registered, ci_client, client_as, officer, officer2, no_evidence_policy
):
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).json()["request"]["status"] == "approved"


def test_the_high_risk_tier_requires_it_by_default(db):
    assert ApprovalPolicy.objects.get(risk_tier="high").requires_checklists_without_failures
    assert not ApprovalPolicy.objects.get(risk_tier="low").requires_checklists_without_failures
