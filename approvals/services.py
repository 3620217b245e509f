"""The approval workflow: requests, decisions with separation of duties, withdrawal, expiry."""

from django.db import transaction
from django.utils import timezone

from accounts.selectors import decider_check
from approvals.attestations import approval_attestation_issue
from approvals.requirements import evidence_status
from audits.services import actor_for, audit_event_append, object_ref, personal_record_store
from core import roles
from core.errors import DomainError
from core.permissions import model_write_check
from registry import models as registry_models
from registry.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest, EvidenceWaiver, ModelVersion, Stage
from registry.policies import (
    POLICY_FIELDS,
    evaluation_limits_check,
    policy_days,
    policy_number_problems,
    policy_snapshot,
)

Status = ApprovalRequest.Status


def _conflict(code: str, message: str, **extra) -> DomainError:
    error = DomainError(code, message, status_code=409)
    error.fields.update(extra)
    return error


@transaction.atomic
def approval_request_submit(*, version: ModelVersion, target_stage: str, user, justification: str = ""):
    model_write_check(user, version.model)
    if target_stage not in (Stage.STAGING, Stage.PRODUCTION):
        raise DomainError(
            "invalid",
            "target_stage: must be staging or production.",
            fields={"target_stage": ["Must be staging or production."]},
        )
    if version.stage == Stage.ARCHIVED:
        raise _conflict("archived", f"{version} is archived; register a new version instead.")
    if ApprovalRequest.objects.filter(version=version, target_stage=target_stage, status=Status.PENDING).exists():
        raise _conflict("conflict", f"{version} already has a pending request for {target_stage}.")
    return _request_open(version, target_stage, user=user, justification=justification)


@transaction.atomic
def approval_rereview_open(*, version: ModelVersion, trigger: str, trigger_ref: str = "") -> ApprovalRequest | None:
    """The service opens the production re-review of a version marked 'review required' (after a drift
    alert), unless a production request is already pending; that one is the re-review then."""
    version = (
        ModelVersion.objects.select_for_update(of=("self",)).select_related("model", "artifact").get(pk=version.pk)
    )
    pending = ApprovalRequest.objects.filter(version=version, target_stage=Stage.PRODUCTION, status=Status.PENDING)
    if version.stage != Stage.PRODUCTION or not version.review_required or pending.exists():
        return None
    return _request_open(version, Stage.PRODUCTION, user=None, trigger=trigger, trigger_ref=trigger_ref)


def _request_open(
    version: ModelVersion, target_stage: str, *, user, justification: str = "", trigger: str = "", trigger_ref: str = ""
):
    policy = ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier)
    subject = actor_for(user)
    digest = personal_record_store(subject=subject, kind="justification", text=justification) if justification else ""
    request = ApprovalRequest.objects.create(
        version=version,
        target_stage=target_stage,
        requested_by=user,
        trigger=trigger,
        trigger_ref=trigger_ref,
        justification_digest=digest,
        policy=policy_snapshot(policy),
        artifact_sha256=version.artifact.sha256 if version.artifact else "",
    )
    queued = _queue_evidence(version, request.policy, subject)
    evidence = [item.to_dict() for item in evidence_status(version, request.policy)]
    audit_event_append(
        actor=subject,
        action="approval.requested",
        object_ref=object_ref(request),
        data={
            "evidence_jobs": queued,
            "model": version.model.name,
            "version": version.version,
            "target_stage": target_stage,
            "artifact_sha256": request.artifact_sha256,
            "policy": request.policy,
            "justification_sha256": digest or None,
            "evidence": evidence,
            **({"trigger": trigger, "trigger_ref": trigger_ref or None} if trigger else {}),
        },
    )
    return request


def _queue_evidence(version: ModelVersion, policy: dict, actor: str) -> list[int]:
    """Queues the jobs the policy names that can run on the version's evaluation data."""
    from evidence.services import evidence_job_request

    dataset = version.evaluation_dataset
    if dataset is None:
        return []
    kinds = [
        kind
        for kind, rule in (("explanation", "requires_explanation"), ("bias_audit", "requires_bias_audit"))
        if policy[rule] and (kind != "bias_audit" or dataset.schema.get("sensitive_features"))
    ]
    if version.artifact is None:
        kinds = [kind for kind in kinds if kind == "bias_audit" and dataset.schema.get("prediction")]
    return [evidence_job_request(kind=kind, version=version, dataset=dataset, actor=actor).pk for kind in kinds]


@transaction.atomic
def approval_evidence_run(*, request: ApprovalRequest, user) -> list[dict]:
    """Queues what the request's policy needs and nobody has produced yet (approvals.review.evidence_runnable),
    through the services the evidence and report APIs use; each job writes its own event. Returns what was
    queued: [{requirement, job | report}]."""
    from approvals.review import evidence_runnable
    from evidence.services import evidence_job_request
    from reports.jobs import report_request

    version = request.version
    model_write_check(user, version.model)
    if request.status != Status.PENDING:
        raise _conflict("not_pending", f"This request is {request.status}; evidence is run for pending requests.")
    runnable = evidence_runnable(request)
    if not runnable:
        raise _conflict("nothing_to_run", "No evidence this request needs can be run from here; see the blockers.")
    queued = []
    for requirement in runnable:
        if requirement.startswith("model_card:"):
            report = report_request(version=version, scope=requirement.split(":", 1)[1].lower(), user=user)
            queued.append({"requirement": requirement, "report": report.pk})
        else:
            dataset = version.evaluation_dataset
            job = evidence_job_request(kind=requirement, version=version, dataset=dataset, actor=actor_for(user))
            queued.append({"requirement": requirement, "job": job.pk})
    return queued


def _check_decider(request: ApprovalRequest, user) -> None:
    decider_check(user)
    if not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        raise DomainError("permission_denied", "Only compliance officers decide approval requests.", status_code=403)
    if user.pk == request.requested_by_id:
        raise DomainError(
            "separation_of_duties", "You requested this approval; someone else must decide it.", status_code=403
        )
    if user.pk == request.version.submitted_by_id:
        raise DomainError(
            "separation_of_duties", "You submitted this version; someone else must decide it.", status_code=403
        )
    if request.decisions.filter(decided_by=user).exists():
        raise _conflict("already_decided", "You have already decided this request; one decision per person.")


def _check_not_own_waiver(evidence: dict, user) -> None:
    """Separation of duties: whoever waived evidence a request needs does not also approve it."""
    waivers = [digests["waiver"] for digests in evidence.values() if "waiver" in digests]
    if waivers and EvidenceWaiver.objects.filter(pk__in=waivers, granted_by=user).exists():
        raise DomainError(
            "separation_of_duties",
            "You waived evidence this request needs; someone else must approve it.",
            status_code=403,
        )


def _evidence_for_approval(request: ApprovalRequest) -> dict:
    items = evidence_status(request.version, request.policy)
    missing = [f"{item.requirement}: {item.reason}" for item in items if not item.satisfied]
    if missing:
        raise _conflict(
            "evidence_missing", "Approval is blocked until the evidence the policy requires exists.", reasons=missing
        )
    return {item.requirement: item.digests for item in items}


@transaction.atomic
def approval_decide(*, request: ApprovalRequest, user, verdict: str, comment: str = "") -> ApprovalDecision:
    # The row lock makes concurrent deciders take turns, so counts are never stale.
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("version__model", "version__artifact")
        .get(pk=request.pk)
    )
    if request.status != Status.PENDING:
        raise _conflict("not_pending", f"This request is {request.status}; only pending requests are decided.")
    _check_decider(request, user)
    evidence = _evidence_for_approval(request) if verdict == ApprovalDecision.Verdict.APPROVE else {}
    _check_not_own_waiver(evidence, user)
    actor = actor_for(user)
    digest = personal_record_store(subject=actor, kind="comment", text=comment) if comment else ""
    decision = ApprovalDecision.objects.create(
        request=request,
        decided_by=user,
        verdict=verdict,
        as_officer=True,
        comment_digest=digest,
        artifact_sha256=request.artifact_sha256,
        evidence_digests=evidence,
    )
    audit_event_append(
        actor=actor,
        action="approval.decided",
        object_ref=object_ref(request),
        data={
            "verdict": verdict,
            "artifact_sha256": request.artifact_sha256,
            "evidence": evidence,
            "comment_sha256": digest or None,
        },
    )
    _settle(request, actor)
    return decision


def _settle(request: ApprovalRequest, actor: str) -> None:
    decisions = list(request.decisions.all())
    if any(d.verdict == ApprovalDecision.Verdict.REJECT for d in decisions):
        return _close(request, Status.REJECTED, actor)
    approvals = [d for d in decisions if d.verdict == ApprovalDecision.Verdict.APPROVE]
    officers = sum(d.as_officer for d in approvals)
    policy = request.policy
    if len(approvals) >= policy["approvals_required"] and officers >= policy["officer_approvals_required"]:
        request.expires_at = timezone.now() + policy_days(policy, "validity_days")
        event = _close(request, Status.APPROVED, actor)
        approval_attestation_issue(request=request, event=event, actor=actor)
        if request.target_stage == Stage.PRODUCTION:
            _review_clear(request, actor)


def _review_clear(request: ApprovalRequest, actor: str) -> None:
    """An approved production request is the re-review a 'review required' mark asks for: it lifts the mark."""
    if not ModelVersion.objects.filter(pk=request.version_id, review_required=True).update(review_required=False):
        return
    audit_event_append(
        actor=actor,
        action="model_version.review_cleared",
        object_ref=object_ref(request.version),
        data={
            "model": request.version.model.name,
            "version": request.version.version,
            "approval_request": request.pk,
            "artifact_sha256": request.artifact_sha256,
        },
    )


def _close(request: ApprovalRequest, status: str, actor: str):
    request.status = status
    if status in (Status.APPROVED, Status.REJECTED):
        request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at", "expires_at"])
    return audit_event_append(
        actor=actor,
        action=f"approval.{status}",
        object_ref=object_ref(request),
        data={
            "model": request.version.model.name,
            "version": request.version.version,
            "target_stage": request.target_stage,
            "artifact_sha256": request.artifact_sha256,
            "expires_at": request.expires_at.isoformat() if request.expires_at else None,
        },
    )


@transaction.atomic
def approval_withdraw(*, request: ApprovalRequest, user) -> ApprovalRequest:
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",)).select_related("version__model").get(pk=request.pk)
    )
    if user.pk != request.requested_by_id and not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        raise DomainError(
            "permission_denied", "Only the requester or a compliance officer may withdraw.", status_code=403
        )
    if request.status not in (Status.PENDING, Status.APPROVED):
        raise _conflict("not_withdrawable", f"This request is {request.status}.")
    _close(request, Status.WITHDRAWN, actor_for(user))
    return request


def approvals_expire(*, now=None) -> int:
    """Marks approvals past their validity as expired, each with its event. The gate checks the
    date itself, so an approval is never honoured late even before this runs."""
    now = now or timezone.now()
    due = ApprovalRequest.objects.filter(status=Status.APPROVED, expires_at__lte=now).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        with transaction.atomic():
            request = (
                ApprovalRequest.objects.select_for_update(of=("self",)).select_related("version__model").get(pk=pk)
            )
            if request.status == Status.APPROVED and request.expires_at <= now:
                _close(request, Status.EXPIRED, "system")
                count += 1
    return count


UNEXPLAINABLE = tuple(value for value, _ in registry_models.UNEXPLAINABLE)
ROLLBACK_ON_BREACH = tuple(value for value, _ in registry_models.ROLLBACK_ON_BREACH)


def _check_policy_ranges(policy: ApprovalPolicy) -> None:
    ranges = (
        ("bias_min_selection_rate_ratio", 0 < policy.bias_min_selection_rate_ratio <= 1, "Must be in (0, 1]."),
        (
            "bias_max_equalized_odds_difference",
            0 <= policy.bias_max_equalized_odds_difference <= 1,
            "Must be in [0, 1].",
        ),
        ("unexplainable", policy.unexplainable in UNEXPLAINABLE, f"Must be one of: {', '.join(UNEXPLAINABLE)}."),
        (
            "rollback_on_breach",
            policy.rollback_on_breach in ROLLBACK_ON_BREACH,
            f"Must be one of: {', '.join(ROLLBACK_ON_BREACH)}.",
        ),
    )
    problems = policy_number_problems({name: getattr(policy, name) for name in POLICY_FIELDS})
    problems.update({name: [problem] for name, ok, problem in ranges if not ok})
    if problems:
        name, (problem, *_) = next(iter(problems.items()))
        raise DomainError("invalid", f"{name}: {problem[0].lower()}{problem[1:]}", fields=problems)


@transaction.atomic
def approval_policy_update(*, policy: ApprovalPolicy, user, changes: dict) -> ApprovalPolicy:
    """Applies to requests made after the change: each request keeps the policy it was made under."""
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise DomainError("invalid", f"{unknown[0]}: not a policy setting.", fields={k: ["Unknown."] for k in unknown})
    policy = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
    before = policy_snapshot(policy)
    for name, value in changes.items():
        setattr(policy, name, value)
    if policy.officer_approvals_required > policy.approvals_required:
        raise DomainError(
            "invalid",
            "officer_approvals_required: cannot exceed approvals_required.",
            fields={"officer_approvals_required": ["Exceeds approvals_required."]},
        )
    _check_policy_ranges(policy)
    evaluation_limits_check(policy)
    policy.save()
    audit_event_append(
        actor=actor_for(user),
        action="policy.changed",
        object_ref=object_ref(policy),
        data={"before": before, "after": policy_snapshot(policy)},
    )
    return policy
