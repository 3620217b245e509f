"""What an approval request's review page leads with: can it be approved now; if not, every blocker in words
with the action that clears it; who has decided, who may still decide, and why the reader may not.

Reads only. The rules are those approval_decide and the waiver service enforce, asked here of each officer,
so the page never promises a decision the service would refuse.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from approvals.requirements import EvidenceItem, evidence_status, explainable
from core import roles
from evidence.selectors import evidence_job_newest
from registry.models import ApprovalRequest, EvidenceWaiver

JOB_KINDS = ("explanation", "bias_audit")


@dataclass(frozen=True)
class Blocker:
    requirement: str
    text: str
    action: str  # run | wait | waive | attest | produce | decide
    todo: str  # the action in words
    job: int | None = None


def evidence_runnable(request: ApprovalRequest, items: list[EvidenceItem] | None = None) -> list[str]:
    """The requirements a click can produce: explanations and bias audits never run (or failed to run) on the
    version's evaluation data, and model cards not rendered from its current artifact. A finished job is not
    re-run: the same inputs give the same answer."""
    version = request.version
    items = evidence_status(version, request.policy) if items is None else items
    dataset = version.evaluation_dataset
    runnable = []
    for item in items:
        if item.satisfied or item.status in ("queued", "running"):
            continue
        card = item.requirement.startswith("model_card:") and version.artifact_id is not None
        job = item.requirement in JOB_KINDS and dataset is not None and _job_may_run(version, item, dataset)
        if card or job:
            runnable.append(item.requirement)
    return runnable


def _job_may_run(version, item: EvidenceItem, dataset) -> bool:
    if item.requirement == "bias_audit" and not dataset.schema.get("sensitive_features"):
        return False
    if item.requirement == "explanation" and not explainable(version, {}):
        return False  # no explainer fits it: running it again finds none again
    if version.artifact_id is None and not (item.requirement == "bias_audit" and dataset.schema.get("prediction")):
        return False
    job = evidence_job_newest(version, item.requirement)
    return item.status == "missing" or (job is not None and job.status == "failed" and "job" not in item.digests)


def _evidence_blocker(request: ApprovalRequest, item: EvidenceItem, runnable: list[str]) -> Blocker:
    name = item.requirement
    if item.status in ("queued", "running"):
        job = evidence_job_newest(request.version, name) if name in JOB_KINDS + ("drift_check",) else None
        todo = f"wait for job {job.pk}" if job else f"wait: {item.reason}"
        return Blocker(name, item.reason, "wait", todo, job.pk if job else None)
    if name in runnable:
        return Blocker(name, item.reason, "run", "run the missing evidence")
    if _waivable(request, item):
        if "does not count" in item.reason:
            return Blocker(name, item.reason, "waive", "revoke that waiver; another officer may waive it in writing")
        return Blocker(name, item.reason, "waive", f"an officer may waive {name} in writing")
    if name.startswith("checklist:"):
        return Blocker(name, item.reason, "attest", "fix the evidence behind the failed items, or attest them anew")
    if name == "drift_check":
        todo = "upload a production window, or request a drift check on production data, that judges drift"
        return Blocker(name, item.reason, "produce", todo)
    return Blocker(name, item.reason, "produce", "produce this evidence (see its reason)")


def _waivable(request: ApprovalRequest, item: EvidenceItem) -> bool:
    """What the waiver service would accept: a bias audit that ran and failed, an explanation that cannot exist
    where the request's policy lets it be waived."""
    if item.status != "failed":
        return False
    if item.requirement == "bias_audit":
        return "job" in item.digests
    return (
        item.requirement == "explanation"
        and request.policy.get("unexplainable") == "waivable"
        and not explainable(request.version, request.policy)
    )


@dataclass(frozen=True)
class Decider:
    user: object
    may_approve: bool
    note: str  # why only rejecting, or ""


def _officers():
    return get_user_model().objects.filter(groups__name=roles.COMPLIANCE_OFFICER, is_active=True).order_by("username")


def _waived_by(items: list[EvidenceItem]) -> dict[int, list[str]]:
    """Who waived which requirement the request counts: they may reject it, never approve it."""
    waiver_ids = {item.digests["waiver"]: item.requirement for item in items if "waiver" in item.digests}
    found: dict[int, list[str]] = {}
    for waiver in EvidenceWaiver.objects.filter(pk__in=waiver_ids):
        found.setdefault(waiver.granted_by_id, []).append(waiver_ids[waiver.pk])
    return found


def reader_reasons(request: ApprovalRequest, user, items: list[EvidenceItem]) -> list[str]:
    """Why this reader may not decide (or may only reject), in the words of the rules; empty when they may."""
    if not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        if user.is_superuser:
            return ["administrators without the compliance officer role do not decide"]
        return ["only compliance officers decide approval requests"]
    reasons = []
    if request.status != ApprovalRequest.Status.PENDING:
        reasons.append(f"it is {request.status}")
    if user.pk == request.requested_by_id:
        reasons.append("you requested this")
    if user.pk == request.version.submitted_by_id:
        reasons.append("you submitted this version")
    decided = request.decisions.filter(decided_by=user).first()
    if decided is not None:
        reasons.append(f"you decided it already ({decided.verdict}, {decided.created_at:%Y-%m-%d})")
    for requirement in _waived_by(items).get(user.pk, []):
        reasons.append(f"you waived {requirement}, so you may reject it but not approve it")
    return reasons


def review_status(request: ApprovalRequest, user) -> dict:
    """The status panel: blockers with their actions, the approvals so far, who may still decide."""
    items = evidence_status(request.version, request.policy)
    runnable = evidence_runnable(request, items)
    blockers = [_evidence_blocker(request, item, runnable) for item in items if not item.satisfied]
    decisions = list(request.decisions.select_related("decided_by").order_by("created_at"))
    approvals = [d for d in decisions if d.verdict == "approve"]
    needed = max(request.policy["approvals_required"] - len(approvals), 0)
    officers_needed = max(request.policy["officer_approvals_required"] - sum(d.as_officer for d in approvals), 0)
    deciders = _deciders(request, decisions, items) if request.status == ApprovalRequest.Status.PENDING else []
    approvers = sum(d.may_approve for d in deciders)
    pending = request.status == ApprovalRequest.Status.PENDING
    if pending and needed:
        text = f"{needed} more approval{'s' if needed != 1 else ''} needed ({len(approvals)} of "
        text += f"{request.policy['approvals_required']}"
        text += f", at least {officers_needed} more from officers)" if officers_needed else ")"
        if approvers < needed:
            text += f"; only {approvers} officer{'s' if approvers != 1 else ''} may still approve it"
        blockers.append(Blocker("approvals", text, "decide", "an officer listed below approves"))
    return {
        "pending": pending,
        "evidence_complete": all(item.satisfied for item in items),
        "approvable_now": pending and all(item.satisfied for item in items),
        "blockers": blockers,
        "runnable": runnable,
        "decisions": decisions,
        "approvals": len(approvals),
        "approvals_needed": needed,
        "deciders": deciders,
        "enough_deciders": approvers >= needed,
        "reader_reasons": reader_reasons(request, user, items),
        "in_progress": any(item.status in ("queued", "running") for item in items),
    }


def _deciders(request: ApprovalRequest, decisions: list, items: list[EvidenceItem]) -> list[Decider]:
    decided = {d.decided_by_id for d in decisions}
    excluded = decided | {request.requested_by_id, request.version.submitted_by_id}
    waived = _waived_by(items)
    return [
        Decider(
            officer,
            officer.pk not in waived,
            f"waived {', '.join(waived[officer.pk])}: may reject, not approve" if officer.pk in waived else "",
        )
        for officer in _officers()
        if officer.pk not in excluded
    ]
