"""Separation of duties around waivers: whoever waives evidence a request needs does not approve it too.

Reproduced on the previous release: one officer waived a failed bias audit, then approved the request that
the waiver unblocked.
"""

import pytest

from registry.models import ApprovalDecision, ApprovalPolicy
from tests.registry.test_waivers_and_policy_evidence import _grant, _request_with_jobs, _strict_policy
from tests.registry_fixtures import decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_officer_policy(db):
    ApprovalPolicy.objects.update(
        requires_explanation=False,
        requires_bias_audit=True,
        requires_model_cards=False,
        requires_drift_check_for_reapproval=False,
        approvals_required=2,
        officer_approvals_required=1,
    )


@pytest.fixture
def failed_audit_request(registered, ci_client, two_officer_policy, django_capture_on_commit_callbacks) -> int:
    _strict_policy()
    return _request_with_jobs(ci_client, django_capture_on_commit_callbacks)


def test_the_grantor_of_a_waiver_may_not_approve_the_request_it_unblocks(
    failed_audit_request, client_as, officer, officer2
):
    assert _grant(client_as(officer)).status_code == 201
    refused = decide(client_as(officer), failed_audit_request)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "separation_of_duties"
    assert "You waived evidence this request needs" in refused.json()["error"]["message"]
    assert not ApprovalDecision.objects.exists()
    assert decide(client_as(officer2), failed_audit_request).status_code == 201


def test_the_grantor_may_still_reject(failed_audit_request, client_as, officer):
    assert _grant(client_as(officer)).status_code == 201
    rejected = decide(client_as(officer), failed_audit_request, verdict="reject")
    assert rejected.status_code == 201
    assert rejected.json()["request"]["status"] == "rejected"


def test_an_approver_may_not_then_waive_what_the_request_needs(failed_audit_request, client_as, officer, officer2):
    # Approving needs the evidence first: officer2 waives, officer approves, then officer may not waive again
    # (revoked and re-granted) to unblock the same request.
    waiver = _grant(client_as(officer2)).json()
    assert decide(client_as(officer), failed_audit_request).status_code == 201
    client_as(officer2).post(f"/api/v1/waivers/{waiver['id']}/revoke/", format="json")
    refused = _grant(client_as(officer))
    assert refused.status_code == 403
    assert "You approved a pending request of this version" in refused.json()["error"]["message"]
