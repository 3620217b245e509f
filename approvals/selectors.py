"""Reads of the approval workflow: a request's progress as CI polls it, and who may decide what."""

from django.db.models import QuerySet

from approvals.requirements import evidence_status
from core import roles
from registry.models import ApprovalRequest
from registry.policies import policy_changes_since


def approval_request_state(request: ApprovalRequest) -> dict:
    """Status and evidence progress, as CI polls it."""
    decisions = list(request.decisions.select_related("decided_by"))
    approvals = sum(d.verdict == "approve" for d in decisions)
    return {
        "approvals": approvals,
        "approvals_required": request.policy["approvals_required"],
        "officer_approvals_required": request.policy["officer_approvals_required"],
        "evidence": [item.to_dict() for item in evidence_status(request.version, request.policy)],
        "policy_changed": _policy_changed(request),
        "decisions": [
            {
                "verdict": d.verdict,
                "decided_by": f"user:{d.decided_by_id}",
                "at": d.created_at.isoformat(),
                "comment_sha256": d.comment_digest or None,
            }
            for d in decisions
        ],
    }


def _policy_changed(request: ApprovalRequest) -> dict | None:
    """A request is judged by the policy it froze; where the policy has changed since, it says how, so no one
    reads the frozen rules as the current ones."""
    changes = policy_changes_since(request.policy, request.version)
    if not changes:
        return None
    return {
        "message": (
            f"This request was made under an earlier policy ({request.created_at:%Y-%m-%d}) and is judged by it; "
            "the policy has changed since. A new request would be judged by the current one."
        ),
        "changes": changes,
    }


def approval_requests_awaiting(user) -> QuerySet[ApprovalRequest]:
    """Pending requests this person may decide: an officer who neither requested the request, nor submitted its
    version, nor has decided it already (separation of duties, as approval_decide enforces it)."""
    if not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        return ApprovalRequest.objects.none()
    return (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
        .exclude(requested_by=user)
        .exclude(version__submitted_by=user)
        .exclude(decisions__decided_by=user)
    )
