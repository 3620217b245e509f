"""What evidence an approval needs, and what exists.

The evidence jobs (explanations, bias audits, model cards, drift checks) land in later work;
until they do, every requirement a policy names reports "missing". Nothing is faked as done.
"""

from dataclasses import dataclass, field

from registry.models import ApprovalPolicy, ModelVersion, Stage


@dataclass
class EvidenceItem:
    requirement: str
    status: str  # done | missing | waived
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


def evidence_status(version: ModelVersion, policy: ApprovalPolicy | dict) -> list[EvidenceItem]:
    return [
        EvidenceItem(name, "missing", f"no {name.replace('_', ' ')} has been produced for this version")
        for name in required_evidence(version, policy)
    ]


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
