"""Reads: the deployment gate and the state of approval requests."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from registry.evidence import evidence_status
from registry.models import ApprovalRequest, ModelVersion, Stage

GATED_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def version_get(name: str, version: str) -> ModelVersion:
    """The version named in a URL, or 404."""
    return get_object_or_404(
        ModelVersion.objects.select_related("model", "artifact", "evaluation_dataset"),
        model__name=name,
        version=version,
    )


@dataclass
class GateAnswer:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    approval_request: int | None = None
    expires_at: str | None = None
    artifact_sha256: str | None = None


# The gate is the hottest read of the service: one hand-written statement (valid on PostgreSQL
# and SQLite) reads the version, its artifact and its latest request for the stage, so no ORM
# query is compiled per call.
_GATE_SQL = """
SELECT v.stage, v.review_required, a.sha256, r.id, r.status, r.expires_at, r.artifact_sha256
FROM registry_modelversion v
JOIN registry_registeredmodel m ON m.id = v.model_id
LEFT JOIN registry_artifact a ON a.id = v.artifact_id
LEFT JOIN registry_approvalrequest r ON r.id = (
    SELECT l.id FROM registry_approvalrequest l
    WHERE l.version_id = v.id AND l.target_stage = %s
    ORDER BY l.created_at DESC, l.id DESC LIMIT 1
)
WHERE m.name = %s AND v.version = %s
"""


@dataclass(frozen=True)
class GateFacts:
    stage: str
    review_required: bool
    artifact_sha256: str | None
    request: int | None
    request_status: str | None
    expires_at: datetime | None
    approved_sha256: str | None


def _gate_facts(model_name: str, version: str, stage: str) -> GateFacts | None:
    with connection.cursor() as cursor:
        cursor.execute(_GATE_SQL, [stage, model_name, version])
        row = cursor.fetchone()
    if row is None:
        return None
    stage_, review, artifact, request, status, expires, approved = row
    if isinstance(expires, str):  # SQLite may hand back text, or a naive UTC datetime, from a raw query
        expires = parse_datetime(expires)
    if expires is not None and timezone.is_naive(expires):
        expires = timezone.make_aware(expires, UTC)
    return GateFacts(stage_, bool(review), artifact, request, status, expires, approved)


def _request_reasons(facts: GateFacts, stage: str, now) -> list[str]:
    if facts.request is None:
        return [f"no approval has been requested for {stage}"]
    if facts.request_status == ApprovalRequest.Status.APPROVED and facts.expires_at <= now:
        return [f"the approval for {stage} expired at {facts.expires_at.isoformat()}"]
    if facts.request_status != ApprovalRequest.Status.APPROVED:
        return [f"the latest approval request for {stage} is {facts.request_status}"]
    return []


def _version_reasons(facts: GateFacts, sha256: str) -> list[str]:
    reasons = []
    if facts.artifact_sha256 is None:
        reasons.append("this version has no artifact to deploy")
    elif sha256 != facts.artifact_sha256:
        reasons.append("sha256 does not match the registered artifact of this version")
    if facts.request is not None and facts.approved_sha256 and sha256 != facts.approved_sha256:
        reasons.append("sha256 does not match the artifact the approvers saw")
    if facts.stage == Stage.ARCHIVED:
        reasons.append("this version is archived")
    if facts.review_required:
        reasons.append("this version is marked 'review required'")
    return reasons


def gate_check(*, model_name: str, version: str, stage: str, sha256: str) -> GateAnswer:
    """Fails closed: anything unknown, expired, withdrawn or mismatched is not allowed."""
    facts = _gate_facts(model_name, version, stage)
    if facts is None:
        return GateAnswer(False, [f"unknown model version {model_name} {version}"])
    reasons = _request_reasons(facts, stage, timezone.now()) + _version_reasons(facts, sha256)
    answer = GateAnswer(not reasons, reasons, artifact_sha256=facts.artifact_sha256)
    if facts.request is not None:
        answer.approval_request = facts.request
        answer.expires_at = facts.expires_at.isoformat() if facts.expires_at else None
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
