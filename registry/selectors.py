"""Reads: the deployment gate and the state of approval requests."""

from dataclasses import dataclass, field

from django.utils import timezone

from registry.evidence import evidence_status
from registry.models import ApprovalRequest, ModelVersion, Stage

GATED_STAGES = (Stage.STAGING, Stage.PRODUCTION)


@dataclass
class GateAnswer:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    approval_request: int | None = None
    expires_at: str | None = None
    artifact_sha256: str | None = None


def _latest_request(version: ModelVersion, stage: str) -> ApprovalRequest | None:
    return version.approval_requests.filter(target_stage=stage).order_by("-created_at").first()


def _request_reasons(request: ApprovalRequest | None, stage: str, now) -> list[str]:
    if request is None:
        return [f"no approval has been requested for {stage}"]
    if request.status == ApprovalRequest.Status.APPROVED and request.expires_at <= now:
        return [f"the approval for {stage} expired at {request.expires_at.isoformat()}"]
    if request.status != ApprovalRequest.Status.APPROVED:
        return [f"the latest approval request for {stage} is {request.status}"]
    return []


def _version_reasons(version: ModelVersion, sha256: str, request: ApprovalRequest | None) -> list[str]:
    reasons = []
    if version.artifact is None:
        reasons.append("this version has no artifact to deploy")
    elif sha256 != version.artifact.sha256:
        reasons.append("sha256 does not match the registered artifact of this version")
    if request and request.artifact_sha256 and sha256 != request.artifact_sha256:
        reasons.append("sha256 does not match the artifact the approvers saw")
    if version.stage == Stage.ARCHIVED:
        reasons.append("this version is archived")
    if version.review_required:
        reasons.append("this version is marked 'review required'")
    return reasons


def gate_check(*, model_name: str, version: str, stage: str, sha256: str) -> GateAnswer:
    """Fails closed: anything unknown, expired, withdrawn or mismatched is not allowed."""
    found = ModelVersion.objects.select_related("artifact").filter(model__name=model_name, version=version).first()
    if found is None:
        return GateAnswer(False, [f"unknown model version {model_name} {version}"])
    request = _latest_request(found, stage)
    reasons = _request_reasons(request, stage, timezone.now()) + _version_reasons(found, sha256, request)
    answer = GateAnswer(not reasons, reasons, artifact_sha256=found.artifact.sha256 if found.artifact else None)
    if request:
        answer.approval_request = request.pk
        answer.expires_at = request.expires_at.isoformat() if request.expires_at else None
    return answer


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
