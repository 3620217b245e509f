"""What evidence an approval needs, and what exists for the version.

Explanations, bias audits and drift checks come from evidence jobs (audits.EvidenceJob) on
the version's artifact. Model cards arrive with the reports; until then they report
"missing". Nothing is counted as done that was not computed.
"""

from dataclasses import dataclass, field

from registry.models import ApprovalPolicy, ModelVersion, Stage


@dataclass
class EvidenceItem:
    requirement: str
    status: str  # done | missing | running | failed
    reason: str = ""
    digests: dict = field(default_factory=dict)

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


def _latest_job(version: ModelVersion, kind: str):
    from audits.models import EvidenceJob

    artifact = version.artifact.sha256 if version.artifact else ""
    return (
        EvidenceJob.objects.filter(version=version, kind=kind, artifact_sha256=artifact).order_by("-created_at").first()
    )


def _job_item(version: ModelVersion, kind: str, passing: tuple[str, ...]) -> EvidenceItem:
    job = _latest_job(version, kind)
    label = kind.replace("_", " ")
    if job is None:
        return EvidenceItem(kind, "missing", f"no {label} has been produced for this version")
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
    if job.verdict not in passing:
        return EvidenceItem(kind, "failed", f"the {label} (job {job.pk}) verdict is {job.verdict}", digests)
    return EvidenceItem(kind, "done", "", digests)


def evidence_status(version: ModelVersion, policy: ApprovalPolicy | dict) -> list[EvidenceItem]:
    items = []
    for name in required_evidence(version, policy):
        if name == "explanation":
            items.append(_job_item(version, "explanation", ("done",)))
        elif name == "bias_audit":
            items.append(_job_item(version, "bias_audit", ("pass",)))
        elif name == "drift_check":
            items.append(_job_item(version, "drift_check", ("stable",)))
        else:
            items.append(EvidenceItem(name, "missing", f"no {name.replace('_', ' ')} has been rendered yet"))
    return items


def policy_snapshot(policy: ApprovalPolicy) -> dict:
    return {
        "risk_tier": policy.risk_tier,
        "approvals_required": policy.approvals_required,
        "officer_approvals_required": policy.officer_approvals_required,
        "requires_explanation": policy.requires_explanation,
        "requires_bias_audit": policy.requires_bias_audit,
        "requires_model_cards": policy.requires_model_cards,
        "requires_drift_check_for_reapproval": policy.requires_drift_check_for_reapproval,
        "validity_days": policy.validity_days,
    }
