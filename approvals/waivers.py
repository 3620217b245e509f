"""Evidence waivers: an officer's written decision that an unmet evidence requirement (today: the
bias audit) need not block one artifact of one version. Granting and revoking are audited; the
justification text stays outside the chain, which keeps its digest."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import decider_check
from approvals.requirements import explainable
from audits.services import actor_for, audit_event_append, object_ref, personal_record_store
from core import roles
from core.errors import DomainError
from evidence.selectors import evidence_jobs_current
from registry.models import ApprovalPolicy, ApprovalRequest, EvidenceWaiver, ModelVersion
from registry.policies import policy_days, policy_snapshot

MIN_JUSTIFICATION = 20


def _check_officer(user, doing: str) -> None:
    """Waiving and revoking are decisions: an officer's, never an administrator's as such."""
    decider_check(user)
    if not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        raise DomainError(
            "permission_denied",
            f"Only compliance officers {doing} waivers; administrators without the role do not decide.",
            status_code=403,
        )


def _check_grantor(version: ModelVersion, user) -> None:
    _check_officer(user, "grant")
    if user.pk == version.submitted_by_id:
        raise DomainError(
            "separation_of_duties", "You submitted this version; someone else must waive its evidence.", status_code=403
        )
    if ApprovalRequest.objects.filter(version=version, requested_by=user).exists():
        raise DomainError(
            "separation_of_duties",
            "You requested approval of this version; someone else must waive its evidence.",
            status_code=403,
        )
    pending = ApprovalRequest.objects.filter(version=version, status=ApprovalRequest.Status.PENDING)
    if pending.filter(decisions__decided_by=user, decisions__verdict="approve").exists():
        raise DomainError(
            "separation_of_duties",
            "You approved a pending request of this version; someone else must waive its evidence.",
            status_code=403,
        )


def _check_evidence_exists(version: ModelVersion, requirement: str) -> None:
    """A waiver answers evidence that was produced and found wanting, never evidence nobody has seen yet: a
    bias audit is waived only once one finished on the version's current artifact. (An explanation is waived
    only where it cannot exist, which _check_explanation_waivable establishes.)"""
    if requirement != EvidenceWaiver.Requirement.BIAS_AUDIT:
        return
    if not evidence_jobs_current(version, "bias_audit", succeeded=True).exists():
        raise DomainError(
            "evidence_missing",
            f"requirement: no bias audit of {version}'s current artifact has finished yet; run it and read its "
            "result before waiving it.",
            fields={"requirement": ["No finished bias audit of this artifact to waive."]},
            status_code=409,
        )


def evidence_waiver_check(*, version: ModelVersion, requirement: str, user) -> None:
    """Whether this person may waive this requirement of this version now (the grant asks it, and the admin's
    form before it, so a refusal is shown on the form with its reason)."""
    _check_grantor(version, user)
    _check_evidence_exists(version, requirement)


def _check_explanation_waivable(version: ModelVersion) -> None:
    """An explanation is waived only where it cannot exist and the version's policy says it may be waived."""
    rules = policy_snapshot(ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier))
    if explainable(version, rules):
        raise DomainError(
            "not_waivable",
            "requirement: this version can be explained; run its explanation instead of waiving it.",
            fields={"requirement": ["Explanation is waivable only for a version that cannot be explained."]},
        )
    if rules["unexplainable"] != "waivable":
        raise DomainError(
            "not_waivable",
            f"requirement: the {version.model.risk_tier} policy does not let an unexplainable model's "
            f"explanation be waived (it says {rules['unexplainable']!r}).",
            fields={"requirement": ["Not waivable under this policy."]},
        )


def waiver_expiry_limit(version: ModelVersion, now=None):
    """The longest a waiver of this version may last: the validity of its risk tier's current policy."""
    now = now or timezone.now()
    return now + policy_days(ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier), "validity_days")


def waiver_may_grant(*, version: ModelVersion, requirement: str, user) -> str:
    """Empty when this person may waive this requirement of this version now; else why not, in words."""
    try:
        if requirement == EvidenceWaiver.Requirement.EXPLANATION:
            _check_explanation_waivable(version)
        evidence_waiver_check(version=version, requirement=requirement, user=user)
    except DomainError as exc:
        return exc.message
    return ""


def _expiry(version: ModelVersion, expires_at, now):
    limit = waiver_expiry_limit(version, now)
    if expires_at is None:
        return limit
    if not now < expires_at <= limit:
        raise DomainError(
            "invalid",
            "expires_at: must be in the future and within the policy's validity period.",
            fields={"expires_at": [f"Must be after now and no later than {limit.isoformat()}."]},
        )
    return expires_at


@transaction.atomic
def evidence_waiver_grant(
    *, version: ModelVersion, requirement: str, justification: str, user, expires_at=None
) -> EvidenceWaiver:
    if requirement not in EvidenceWaiver.Requirement.values:
        raise DomainError(
            "invalid",
            f"requirement: {requirement!r} cannot be waived.",
            fields={"requirement": [f"One of: {', '.join(EvidenceWaiver.Requirement.values)}."]},
        )
    if requirement == EvidenceWaiver.Requirement.EXPLANATION:
        _check_explanation_waivable(version)
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise DomainError(
            "invalid",
            "justification: a waiver needs a written justification.",
            fields={"justification": [f"At least {MIN_JUSTIFICATION} characters."]},
        )
    evidence_waiver_check(version=version, requirement=requirement, user=user)
    now = timezone.now()
    actor = actor_for(user)
    digest = personal_record_store(subject=actor, kind="waiver_justification", text=justification)
    try:
        with transaction.atomic():
            waiver = EvidenceWaiver.objects.create(
                version=version,
                requirement=requirement,
                artifact_sha256=version.artifact.sha256 if version.artifact else "",
                justification_digest=digest,
                granted_by=user,
                expires_at=_expiry(version, expires_at, now),
            )
    except IntegrityError:
        raise DomainError(
            "conflict", f"{requirement} of {version} is already waived; revoke that waiver first.", status_code=409
        ) from None
    audit_event_append(actor=actor, action="evidence.waived", object_ref=object_ref(waiver), data=_facts(waiver))
    return waiver


@transaction.atomic
def evidence_waiver_revoke(*, waiver: EvidenceWaiver, user) -> EvidenceWaiver:
    _check_officer(user, "revoke")
    waiver = EvidenceWaiver.objects.select_for_update().select_related("version__model").get(pk=waiver.pk)
    if waiver.revoked_at is not None:
        raise DomainError("conflict", f"Waiver {waiver.pk} is already revoked.", status_code=409)
    waiver.revoked_at, waiver.revoked_by = timezone.now(), user
    waiver.save(update_fields=["revoked_at", "revoked_by"])
    audit_event_append(
        actor=actor_for(user), action="evidence.waiver_revoked", object_ref=object_ref(waiver), data=_facts(waiver)
    )
    return waiver


def _facts(waiver: EvidenceWaiver) -> dict:
    return {
        "model": waiver.version.model.name,
        "version": waiver.version.version,
        "requirement": waiver.requirement,
        "artifact_sha256": waiver.artifact_sha256 or None,
        "justification_sha256": waiver.justification_digest,
        "expires_at": waiver.expires_at.isoformat(),
    }
