"""Reads of the approval workflow: a request's progress as CI polls it."""

from approvals.requirements import evidence_status
from registry.models import ApprovalRequest


def approval_request_state(request: ApprovalRequest) -> dict:
    """Status and evidence progress, as CI polls it."""
    decisions = list(request.decisions.select_related("decided_by"))
    approvals = sum(d.verdict == "approve" for d in decisions)
    return {
        "approvals": approvals,
        "approvals_required": request.policy["approvals_required"],
        "officer_approvals_required": request.policy["officer_approvals_required"],
        "evidence": [item.to_dict() for item in evidence_status(request.version, request.policy)],
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
