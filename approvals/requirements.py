"""What evidence an approval needs, and what exists for the version.

Explanations, bias audits and drift checks come from evidence jobs (evidence.EvidenceJob) on
the version's artifact, no older than the policy allows; a checked production window that judged drift is a
drift check too (monitoring.selectors.drift_windows_judged), and the newer of the two speaks; a bias audit
counts only when judged against the policy's thresholds, and an unmet one can be waived in writing by an
officer. A model card counts when one was rendered (per framework or combined) from the version's current artifact.
Nothing is counted as done that was not computed.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone

from evidence.bias_blockers import bias_audit_blockers
from evidence.selectors import evidence_job_newest
from evidence.unexplainable import NOT_EXPLAINABLE, UNQUERYABLE
from monitoring.selectors import drift_windows_judged
from registry.evaluation_data import EVALUATION_DATASET_TAG
from registry.models import ApprovalPolicy, ModelVersion, Stage
from registry.policies import policy_days, policy_snapshot, policy_thresholds
from registry.selectors import active_waiver, waiver_discounted
from reports.checklists import applicable_frameworks

SATISFIED = ("done", "waived", "not_applicable")


@dataclass
class EvidenceItem:
    requirement: str
    status: str  # done | waived | not_applicable | missing | queued | running | failed | stale
    reason: str = ""
    digests: dict = field(default_factory=dict)

    @property
    def satisfied(self) -> bool:
        return self.status in SATISFIED

    def to_dict(self) -> dict:
        return {"requirement": self.requirement, "status": self.status, "reason": self.reason, "digests": self.digests}


def required_evidence(version: ModelVersion, policy: ApprovalPolicy | dict) -> list[str]:
    rules = policy if isinstance(policy, dict) else policy_snapshot(policy)
    needed = []
    if rules["requires_explanation"]:
        needed.append("explanation")
    if rules["requires_bias_audit"]:
        needed.append("bias_audit")
    if rules["requires_model_cards"]:
        needed.extend(f"model_card:{fw}" for fw in version.model.frameworks)
    if rules["requires_drift_check_for_reapproval"] and version.stage == Stage.PRODUCTION:
        needed.append("drift_check")
    if rules.get("requires_checklists_without_failures"):
        needed.extend(f"checklist:{fw}" for fw in applicable_frameworks(version.model))
    if rules.get("requires_model_signature"):
        needed.append("model_signature")
    return needed


def _job_item(version, kind: str, passing: tuple[str, ...], rules: dict, now) -> EvidenceItem:
    job = evidence_job_newest(version, kind, thresholds=policy_thresholds(rules) if kind == "bias_audit" else None)
    label = kind.replace("_", " ")
    if job is None:
        reason = f"no {label} has been produced for this version under this policy"
        return EvidenceItem(kind, "missing", reason + _no_evaluation_data(version))
    if job.status in ("queued", "running"):
        return EvidenceItem(kind, job.status, f"the {label} (job {job.pk}) is {job.status}")
    if job.status == "failed":
        return EvidenceItem(kind, "failed", f"the {label} (job {job.pk}) failed: {job.error[:200]}")
    digests = {
        "job": job.pk,
        "result_sha256": job.result_sha256,
        "dataset_sha256": job.dataset_sha256,
        "artifact_sha256": job.artifact_sha256 or None,
    }
    max_age = policy_days(rules, "evidence_max_age_days")
    if max_age and job.finished_at < now - max_age:
        finished = job.finished_at.date().isoformat()
        reason = f"the {label} (job {job.pk}) finished on {finished}, older than the policy's {max_age.days} days"
        return EvidenceItem(kind, "stale", reason, digests)
    if job.verdict not in passing:
        blockers = bias_audit_blockers(job.result) if kind == "bias_audit" else []
        because = f": {'; '.join(blockers)}" if blockers else ""
        return EvidenceItem(kind, "failed", f"the {label} (job {job.pk}) verdict is {job.verdict}{because}", digests)
    return EvidenceItem(kind, "done", "", digests)


def _no_evaluation_data(version: ModelVersion) -> str:
    """Where a missing job cannot be queued for want of data, the levers that name it (a version registered
    through MLflow's client has none until one is named)."""
    if version.evaluation_dataset_id is not None:
        return ""
    names = [version.model.name, version.version]
    return (
        "; the version has no evaluation data set to compute it on: name one with "
        f'PATCH {reverse("v1:model-version", args=names)} {{"evaluation_dataset": <data set id>}} '
        f"or the MLflow tag {EVALUATION_DATASET_TAG}=<data set id> (while no approval of the version is in force), "
        f"then queue it with POST {reverse('v1:evidence-request', args=names)}"
    )


def _waived(item: EvidenceItem, version: ModelVersion, now) -> EvidenceItem:
    """An unmet requirement that an officer waived in writing counts as met; the item says so and why. A
    waiver from the version's submitter or a requester of its approval never counts; the item says that too."""
    if item.satisfied:
        return item
    waiver = active_waiver(version, item.requirement, now=now)
    if waiver is None:
        return item
    discounted = waiver_discounted(waiver)
    if discounted:
        reason = f"{item.reason}; " if item.reason else ""
        return EvidenceItem(
            item.requirement, item.status, f"{reason}waiver {waiver.pk} does not count: {discounted}", item.digests
        )
    reason = (
        f"waived by user:{waiver.granted_by_id} until {waiver.expires_at.date().isoformat()} "
        f"(waiver {waiver.pk}; without it: {item.status}{', ' + item.reason if item.reason else ''})"
    )
    digests = {**item.digests, "waiver": waiver.pk, "justification_sha256": waiver.justification_digest}
    return EvidenceItem(item.requirement, "waived", reason, digests)


JOB_REQUIREMENTS = {
    "explanation": ("done",),
    "bias_audit": ("pass",),
    "drift_check": ("stable",),
}
WAIVABLE = ("bias_audit",)


def evidence_status(version: ModelVersion, policy: ApprovalPolicy | dict, *, now=None) -> list[EvidenceItem]:
    rules = policy if isinstance(policy, dict) else policy_snapshot(policy)
    now = now or timezone.now()
    items = []
    for name in required_evidence(version, rules):
        if name == "explanation" and not explainable(version, rules):
            items.append(_unexplainable_item(version, rules, now))
        elif name == "drift_check":
            items.append(_drift_item(version, rules, now))
        elif name in JOB_REQUIREMENTS:
            item = _job_item(version, name, JOB_REQUIREMENTS[name], rules, now)
            items.append(_waived(item, version, now) if name in WAIVABLE else item)
        elif name.startswith("checklist:"):
            items.append(_checklist_item(version, name.split(":", 1)[1], now))
        elif name == "model_signature":
            items.append(_signature_item(version))
        else:
            items.append(_model_card_item(version, name.split(":", 1)[1], rules, now))
    return items


def _drift_item(version: ModelVersion, rules: dict, now) -> EvidenceItem:
    """The newer of the newest drift check job and the most recently checked production window speaks."""
    judged = drift_windows_judged(version)
    job = evidence_job_newest(version, "drift_check")
    if not judged or (job is not None and (job.finished_at or job.created_at) > judged[0][0].finished_at):
        return _job_item(version, "drift_check", JOB_REQUIREMENTS["drift_check"], rules, now)
    window, reading = judged[0]
    label = f"production window {window.pk} ({window.window_start:%Y-%m-%d} to {window.window_end:%Y-%m-%d})"
    digests = {
        "window": window.pk,
        "result_sha256": window.result_sha256,
        "artifact_sha256": version.artifact.sha256 if version.artifact_id else None,
    }
    max_age = policy_days(rules, "evidence_max_age_days")
    if max_age and window.finished_at < now - max_age:
        checked = window.finished_at.date().isoformat()
        return EvidenceItem(
            "drift_check",
            "stale",
            f"{label} was checked on {checked}, older than the policy's {max_age.days} days",
            digests,
        )
    if reading["verdict"] != "stable":
        return EvidenceItem("drift_check", "failed", f"{label} found drift: {reading['reason']}", digests)
    return EvidenceItem("drift_check", "done", f"{label} is stable: {reading['reason']}", digests)


def explainable(version: ModelVersion, rules: dict) -> bool:
    """False when the version cannot be explained at all: no artifact to query, or its newest explanation
    job found no explainer that fits it (as opposed to a fault, which is retried and blocks)."""
    if version.artifact_id is None:
        return False
    job = evidence_job_newest(version, "explanation")
    return not (job and job.status == "failed" and f"{NOT_EXPLAINABLE}: " in job.error)


def unexplainable_reason(version: ModelVersion) -> str:
    if version.artifact_id is None:
        return UNQUERYABLE
    job = evidence_job_newest(version, "explanation")
    return f"the explanation (job {job.pk}) found no explainer for this model: {job.error[:300]}"


def _unexplainable_item(version: ModelVersion, rules: dict, now) -> EvidenceItem:
    """What the policy says an explanation requirement means for a version that cannot be explained."""
    setting, reason = rules.get("unexplainable", "block"), unexplainable_reason(version)
    if setting == "not_applicable":
        return EvidenceItem("explanation", "not_applicable", f"{reason}; the policy marks it not applicable")
    item = EvidenceItem("explanation", "failed", f"{reason}; the policy requires an explanation")
    if setting == "waivable":
        item = EvidenceItem("explanation", "failed", f"{reason}; the policy lets an officer waive it in writing")
        return _waived(item, version, now)
    return item


def _signature_item(version: ModelVersion) -> EvidenceItem:
    """A valid OpenSSF model-signing signature over the version's artifact, by a signer its team still trusts."""
    from registry.signatures import signature_standing

    counts, reason, digests = signature_standing(version)
    if counts:
        return EvidenceItem("model_signature", "done", "", digests)
    return EvidenceItem("model_signature", "failed" if digests else "missing", reason, digests)


def _checklist_item(version: ModelVersion, framework: str, now) -> EvidenceItem:
    """Met when no item of the framework's checklist has failed; items awaiting an answer do not block.

    Items are decided from the evidence and attestations as they stand, never from the approval being
    decided, so the requirement cannot wait on itself."""
    from reports.checklists import checklist_evaluate, checklist_summary

    results = checklist_evaluate(version, framework, now=now)
    summary = checklist_summary(results)
    failed = [r for r in results if r.status == "failed"]
    digests = {"summary": summary, "failed": [r.item_id for r in failed]}
    if not failed:
        return EvidenceItem(f"checklist:{framework}", "done", "", digests)
    listed = "; ".join(f"{r.item_id} ({r.reason})" for r in failed)
    reason = f"{len(failed)} failed {framework.upper()} checklist item(s): {listed}"
    return EvidenceItem(f"checklist:{framework}", "failed", reason, digests)


def _model_card_item(version: ModelVersion, framework: str, rules: dict, now) -> EvidenceItem:
    """A model card counts when one was rendered for this framework (or a combined card) from the
    version's current artifact, no older than the policy allows.

    The card is evidence for the decision, not its result: a card rendered while the request is pending
    (its approvals section says so) counts, and the decision records which card it relied on. The newest
    rendered card counts even while another is being rendered, so a re-render never blocks a decision."""
    from reports.models import Report

    requirement, scope = f"model_card:{framework}", framework.lower()
    artifact = version.artifact.sha256 if version.artifact else None
    reports = Report.objects.filter(version=version, scope__in=[scope, Report.Scope.COMBINED]).order_by(
        "-created_at", "-id"
    )
    report = reports.filter(status=Report.Status.SUCCEEDED).first() or reports.first()
    if report is None:
        return EvidenceItem(requirement, "missing", f"no {framework} model card has been rendered for this version")
    if report.status in (Report.Status.QUEUED, Report.Status.RUNNING):
        return EvidenceItem(requirement, report.status, f"the model card (report {report.pk}) is {report.status}")
    if report.status == Report.Status.FAILED:
        return EvidenceItem(requirement, "failed", f"the model card (report {report.pk}) failed: {report.error[:200]}")
    digests = {"report": report.pk, "pdf_sha256": report.pdf_sha256, "inputs_sha256": report.inputs_sha256}
    rendered_for = ((report.inputs or {}).get("model_details") or {}).get("artifact") or {}
    if rendered_for.get("sha256") != artifact:
        reason = f"the model card (report {report.pk}) describes another artifact than the version's current one"
        return EvidenceItem(requirement, "stale", reason, digests)
    max_age = policy_days(rules, "evidence_max_age_days")
    if max_age and report.finished_at < now - max_age:
        finished = report.finished_at.date().isoformat()
        reason = (
            f"the model card (report {report.pk}) was rendered on {finished}, "
            f"older than the policy's {max_age.days} days"
        )
        return EvidenceItem(requirement, "stale", reason, digests)
    return EvidenceItem(requirement, "done", "", digests)
