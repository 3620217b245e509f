"""What evidence an approval needs, and what exists for the version.

Explanations, bias audits and drift checks come from evidence jobs (evidence.EvidenceJob) on
the version's artifact, no older than the policy allows; a bias audit counts only when judged
against the policy's thresholds, and an unmet one can be waived in writing by an officer. A model
card counts when one was rendered (per framework or combined) from the version's current artifact.
Nothing is counted as done that was not computed.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from evidence.selectors import evidence_job_newest
from registry.models import ApprovalPolicy, ModelVersion, Stage
from registry.policies import policy_snapshot, policy_thresholds
from registry.selectors import active_waiver

SATISFIED = ("done", "waived")


@dataclass
class EvidenceItem:
    requirement: str
    status: str  # done | waived | missing | running | failed | stale
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
    return needed


def _job_item(version, kind: str, passing: tuple[str, ...], rules: dict, now) -> EvidenceItem:
    job = evidence_job_newest(version, kind, thresholds=policy_thresholds(rules) if kind == "bias_audit" else None)
    label = kind.replace("_", " ")
    if job is None:
        return EvidenceItem(kind, "missing", f"no {label} has been produced for this version under this policy")
    if job.status in ("queued", "running"):
        return EvidenceItem(kind, "running", f"the {label} (job {job.pk}) is {job.status}")
    if job.status == "failed":
        return EvidenceItem(kind, "failed", f"the {label} (job {job.pk}) failed: {job.error[:200]}")
    digests = {
        "job": job.pk,
        "result_sha256": job.result_sha256,
        "dataset_sha256": job.dataset_sha256,
        "artifact_sha256": job.artifact_sha256 or None,
    }
    max_age = rules.get("evidence_max_age_days")
    if max_age and job.finished_at < now - timedelta(days=max_age):
        finished = job.finished_at.date().isoformat()
        reason = f"the {label} (job {job.pk}) finished on {finished}, older than the policy's {max_age} days"
        return EvidenceItem(kind, "stale", reason, digests)
    if job.verdict not in passing:
        return EvidenceItem(kind, "failed", f"the {label} (job {job.pk}) verdict is {job.verdict}", digests)
    return EvidenceItem(kind, "done", "", digests)


def _waived(item: EvidenceItem, version: ModelVersion, now) -> EvidenceItem:
    """An unmet requirement that an officer waived in writing counts as met; the item says so and why."""
    if item.satisfied:
        return item
    waiver = active_waiver(version, item.requirement, now=now)
    if waiver is None:
        return item
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
        if name in JOB_REQUIREMENTS:
            item = _job_item(version, name, JOB_REQUIREMENTS[name], rules, now)
            items.append(_waived(item, version, now) if name in WAIVABLE else item)
        else:
            items.append(_model_card_item(version, name.split(":", 1)[1], rules, now))
    return items


def _model_card_item(version: ModelVersion, framework: str, rules: dict, now) -> EvidenceItem:
    """A model card counts when one was rendered for this framework (or a combined card) from the
    version's current artifact, no older than the policy allows."""
    from reports.models import Report

    requirement, scope = f"model_card:{framework}", framework.lower()
    artifact = version.artifact.sha256 if version.artifact else None
    report = (
        Report.objects.filter(version=version, scope__in=[scope, Report.Scope.COMBINED])
        .order_by("-created_at", "-id")
        .first()
    )
    if report is None:
        return EvidenceItem(requirement, "missing", f"no {framework} model card has been rendered for this version")
    if report.status in (Report.Status.QUEUED, Report.Status.RUNNING):
        return EvidenceItem(requirement, "running", f"the model card (report {report.pk}) is {report.status}")
    if report.status == Report.Status.FAILED:
        return EvidenceItem(requirement, "failed", f"the model card (report {report.pk}) failed: {report.error[:200]}")
    digests = {"report": report.pk, "pdf_sha256": report.pdf_sha256, "inputs_sha256": report.inputs_sha256}
    rendered_for = ((report.inputs or {}).get("model_details") or {}).get("artifact") or {}
    if rendered_for.get("sha256") != artifact:
        reason = f"the model card (report {report.pk}) describes another artifact than the version's current one"
        return EvidenceItem(requirement, "stale", reason, digests)
    max_age = rules.get("evidence_max_age_days")
    if max_age and report.finished_at < now - timedelta(days=max_age):
        finished = report.finished_at.date().isoformat()
        reason = (
            f"the model card (report {report.pk}) was rendered on {finished}, older than the policy's {max_age} days"
        )
        return EvidenceItem(requirement, "stale", reason, digests)
    return EvidenceItem(requirement, "done", "", digests)
