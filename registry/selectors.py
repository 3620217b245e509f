"""Reads: the version named in a URL, whether an approval is in force (for the gate, the stage change
and the admin alike), and the active waiver of a requirement."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audits.models import AuditEvent
from audits.selectors import event_record
from audits.services import object_ref
from core.permissions import reads_everything
from core.teams import team_ids_of
from registry.models import ApprovalRequest, Dataset, EvidenceWaiver, ModelVersion, Stage

GATED_STAGES = (Stage.STAGING, Stage.PRODUCTION)


def version_get(name: str, version: str) -> ModelVersion:
    """The version named in a URL, or 404."""
    return get_object_or_404(
        ModelVersion.objects.select_related("model", "artifact", "evaluation_dataset"),
        model__name=name,
        version=version,
    )


def datasets_readable(user):
    """Data sets (and their profiles) the user may read: every one for readers of everything; else those of
    the user's teams' models, and those tied to no model that the user or a teammate registered."""
    datasets = Dataset.objects.select_related("model")
    if reads_everything(user):
        return datasets
    teams = team_ids_of(user)
    unbound = Q(model__isnull=True) & (Q(registered_by=user) | Q(registered_by__groups__in=teams))
    return datasets.filter(Q(model__team__in=teams) | unbound).distinct()


def waiver_discounted(waiver: EvidenceWaiver) -> str:
    """Why a waiver never counts, or "": its grantor submitted the version, or requested its approval (before
    or after waiving); the one who waives must be someone else than the one who asks."""
    version = waiver.version
    if waiver.granted_by_id == version.submitted_by_id:
        return f"its grantor (user:{waiver.granted_by_id}) submitted this version"
    if ApprovalRequest.objects.filter(version_id=waiver.version_id, requested_by_id=waiver.granted_by_id).exists():
        return f"its grantor (user:{waiver.granted_by_id}) requested approval of this version"
    return ""


def active_waiver(version: ModelVersion, requirement: str, *, now=None) -> EvidenceWaiver | None:
    """The unrevoked, unexpired waiver of a requirement for the version's current artifact."""
    artifact = version.artifact.sha256 if version.artifact_id else ""
    return (
        EvidenceWaiver.objects.filter(
            version=version,
            requirement=requirement,
            artifact_sha256=artifact,
            revoked_at__isnull=True,
            expires_at__gt=now or timezone.now(),
        )
        .order_by("-created_at")
        .first()
    )


# The gate is the hottest read of the service: one hand-written statement (valid on PostgreSQL and
# SQLite) reads the version, its artifact, the decision in force for the stage and any pending request,
# so no ORM query is compiled per call. The stage change reads the same facts by the version's id.
_FACTS_SQL = """
SELECT v.stage, v.review_required, a.sha256, r.id, r.status, r.expires_at, r.artifact_sha256, t.sha256, (
    SELECT p.id FROM registry_approvalrequest p
    WHERE p.version_id = v.id AND p.target_stage = %s AND p.status = 'pending'
    ORDER BY p.created_at DESC, p.id DESC LIMIT 1
)
FROM registry_modelversion v
JOIN registry_registeredmodel m ON m.id = v.model_id
LEFT JOIN registry_artifact a ON a.id = v.artifact_id
LEFT JOIN registry_approvalrequest r ON r.id = (
    SELECT l.id FROM registry_approvalrequest l
    WHERE l.version_id = v.id AND l.target_stage = %s AND l.decided_at IS NOT NULL
    ORDER BY l.decided_at DESC, l.id DESC LIMIT 1
)
LEFT JOIN registry_approvalattestation t ON t.request_id = r.id
WHERE {where}
"""
_BY_NAME = _FACTS_SQL.format(where="m.name = %s AND v.version = %s")
_BY_ID = _FACTS_SQL.format(where="v.id = %s")


@dataclass(frozen=True)
class ApprovalFacts:
    """What the approval rule looks at, read in one statement."""

    stage: str
    review_required: bool
    artifact_sha256: str | None
    request: int | None  # the request decided last for the stage
    request_status: str | None
    expires_at: datetime | None
    approved_sha256: str | None
    attestation_sha256: str | None  # the signed attestation of that request's approval, if it has one
    pending: int | None  # a newer request still waiting for its decision


def _facts(sql: str, params: list) -> ApprovalFacts | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    stage, review, artifact, request, status, expires, approved, attestation, pending = row
    if isinstance(expires, str):  # SQLite may hand back text, or a naive UTC datetime, from a raw query
        expires = parse_datetime(expires)
    if expires is not None and timezone.is_naive(expires):
        expires = timezone.make_aware(expires, UTC)
    return ApprovalFacts(stage, bool(review), artifact, request, status, expires, approved, attestation, pending)


@dataclass
class ApprovalValidity:
    valid: bool
    reasons: list[str]
    request: int | None = None
    expires_at: datetime | None = None
    code: str = ""  # not_approved | artifact_mismatch, when not valid

    def __bool__(self) -> bool:
        return self.valid


def approval_valid(version: ModelVersion | ApprovalFacts, stage: str, sha256: str, *, now=None) -> ApprovalValidity:
    """Whether an approval is in force for these exact bytes of the version in this stage.

    The request decided last governs (approved or rejected, including an approval that has since expired
    or was withdrawn); a request still pending, or withdrawn before any decision, decides nothing. So a
    newer pending request (a re-review, a renewal) leaves an approval in force until it is decided, and a
    newer rejection, or withdrawing the approval, ends it. In force means: approved, unexpired, not
    withdrawn, and approved for these bytes. ``version`` may be the facts the gate already read.
    """
    facts = version if isinstance(version, ApprovalFacts) else _facts(_BY_ID, [stage, stage, version.pk])
    problem = _approval_problem(facts, stage, sha256, now or timezone.now())
    if problem is None:
        return ApprovalValidity(True, [], facts.request, facts.expires_at)
    code, reason = problem
    return ApprovalValidity(False, [reason], facts.request, facts.expires_at, code)


def _approval_problem(facts: ApprovalFacts, stage: str, sha256: str, now) -> tuple[str, str] | None:
    if facts.request is None:
        if facts.pending is not None:
            return "not_approved", f"the approval request for {stage} ({facts.pending}) is pending"
        return "not_approved", f"no approval has been requested for {stage}"
    if facts.request_status == ApprovalRequest.Status.REJECTED:
        return "not_approved", f"the latest decided approval request for {stage} ({facts.request}) was rejected"
    if facts.request_status == ApprovalRequest.Status.WITHDRAWN:
        return "not_approved", f"the approval for {stage} ({facts.request}) was withdrawn"
    if facts.request_status == ApprovalRequest.Status.EXPIRED or facts.expires_at <= now:
        return "not_approved", f"the approval for {stage} expired at {facts.expires_at.isoformat()}"
    if facts.approved_sha256 and sha256 != facts.approved_sha256:
        return "artifact_mismatch", "sha256 does not match the artifact the approvers saw"
    return None


@dataclass
class GateAnswer:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    approval_request: int | None = None
    expires_at: str | None = None
    artifact_sha256: str | None = None
    # Where the approval's signed attestation is served, and its SHA-256: a deploy step may check it offline.
    attestation: str | None = None
    attestation_sha256: str | None = None


def _version_reasons(facts: ApprovalFacts, sha256: str) -> list[str]:
    reasons = []
    if facts.artifact_sha256 is None:
        reasons.append("this version has no artifact to deploy")
    elif sha256 != facts.artifact_sha256:
        reasons.append("sha256 does not match the registered artifact of this version")
    if facts.stage == Stage.ARCHIVED:
        reasons.append("this version is archived")
    if facts.review_required:
        reasons.append("this version is marked 'review required'")
    return reasons


def gate_check(*, model_name: str, version: str, stage: str, sha256: str) -> GateAnswer:
    """Fails closed: anything unknown, expired, rejected or mismatched is not allowed."""
    facts = _facts(_BY_NAME, [stage, stage, model_name, version])
    if facts is None:
        return GateAnswer(False, [f"unknown model version {model_name} {version}"])
    approval = approval_valid(facts, stage, sha256)
    reasons = approval.reasons + _version_reasons(facts, sha256)
    answer = GateAnswer(not reasons, reasons, artifact_sha256=facts.artifact_sha256)
    if facts.request is not None:
        answer.approval_request = facts.request
        answer.expires_at = facts.expires_at.isoformat() if facts.expires_at else None
    if answer.allowed and facts.attestation_sha256 is not None:
        answer.attestation = reverse("v1:approval-attestation", args=[facts.request])
        answer.attestation_sha256 = facts.attestation_sha256
    return answer


def risk_tier_origin(model) -> str:
    """The setting a model's risk tier came from when its registration gave none (MLflow's create call has no
    tier: MLFLOW_API_DEFAULT_RISK_TIER), as its `model.registered` event recorded it; "" when it was given."""
    event = AuditEvent.objects.filter(action="model.registered", object_ref=object_ref(model)).first()
    return str((event_record(event).get("data") or {}).get("risk_tier_from") or "") if event else ""
