"""One answer to "is an approval in force?": the gate, the stage change and the admin ask approval_valid().

The request decided last governs. A newer pending request (a re-review, a renewal) leaves the approval in
force until it is decided; a newer rejection, or withdrawing the approval, ends it.
"""

import pytest
from django.urls import reverse

from approvals.admin import ApprovalRequestAdmin
from registry.models import ApprovalRequest, ModelVersion
from registry.selectors import approval_valid
from tests.registry_fixtures import decide, request_approval

pytestmark = pytest.mark.django_db


def _gate(client, sha):
    url = reverse("v1:gate", args=["credit-scoring", "1.0.0"])
    return client.get(url, {"stage": "production", "sha256": sha})


def _promote(client):
    url = reverse("v1:stage-change", args=["credit-scoring", "1.0.0"])
    return client.post(url, {"stage": "production"}, format="json")


def _version() -> ModelVersion:
    return ModelVersion.objects.select_related("artifact").get(version="1.0.0")


def _in_force(request_id: int) -> str:
    from django.contrib import admin

    return ApprovalRequestAdmin(ApprovalRequest, admin.site).in_force(ApprovalRequest.objects.get(pk=request_id))


def test_a_newer_pending_request_leaves_the_approval_in_force_everywhere(registered, approved, ci_client):
    sha = registered["artifact_sha256"]
    pending = request_approval(ci_client)
    assert pending.status_code == 202
    validity = approval_valid(_version(), "production", sha)
    assert validity.valid and validity.request == approved
    gate = _gate(ci_client, sha)
    assert gate.status_code == 200, gate.json()
    assert gate.json()["approval_request"] == approved
    assert _in_force(approved).startswith("yes")
    assert _in_force(pending.json()["id"]).startswith(f"no: request #{approved}")
    assert _promote(ci_client).status_code == 200
    assert _version().stage == "production"


def test_a_newer_rejection_ends_the_approval_everywhere(registered, approved, ci_client, client_as, officer):
    sha = registered["artifact_sha256"]
    rejected = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), rejected, verdict="reject").status_code == 201
    validity = approval_valid(_version(), "production", sha)
    assert not validity and validity.request == rejected
    assert "was rejected" in validity.reasons[0]
    assert _gate(ci_client, sha).status_code == 409
    assert _gate(ci_client, sha).json()["reasons"] == validity.reasons
    refused = _promote(ci_client)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_approved"
    assert _in_force(approved).startswith("no: the latest decided")


def test_a_withdrawn_approval_is_no_longer_in_force_anywhere(registered, approved, ci_client):
    sha = registered["artifact_sha256"]
    assert ci_client.post(reverse("v1:approval-withdraw", args=[approved])).status_code == 200
    validity = approval_valid(_version(), "production", sha)
    assert not validity and "withdrawn" in validity.reasons[0]
    assert _gate(ci_client, sha).status_code == 409
    assert _promote(ci_client).status_code == 409


def test_other_bytes_than_the_approved_ones_are_refused_with_the_same_reason(registered, approved, ci_client):
    validity = approval_valid(_version(), "production", "0" * 64)
    assert validity.code == "artifact_mismatch"
    assert validity.reasons == ["sha256 does not match the artifact the approvers saw"]
    assert validity.reasons[0] in _gate(ci_client, "0" * 64).json()["reasons"]
