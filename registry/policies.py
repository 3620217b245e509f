"""What a risk tier's approval policy says, as the plain data that requests and evidence jobs record."""

from core.errors import DomainError
from mlio.confinement import EvaluationLimits, limits_problems
from registry.models import ApprovalPolicy

# What one evaluation of a model may use, per risk tier (mlio.confinement): policy fields of their own.
EVALUATION_LIMIT_FIELDS = {
    "evaluation_cpu_seconds": "cpu_seconds",
    "evaluation_memory_mb": "memory_mb",
    "evaluation_wall_seconds": "wall_seconds",
    "evaluation_output_mb": "output_mb",
}

# What a superuser may change in a policy (the API, the admin and the snapshot all name these).
POLICY_FIELDS = (
    "approvals_required",
    "officer_approvals_required",
    "requires_explanation",
    "requires_bias_audit",
    "requires_model_cards",
    "requires_drift_check_for_reapproval",
    "requires_checklists_without_failures",
    "unexplainable",
    "validity_days",
    "evidence_max_age_days",
    "bias_min_selection_rate_ratio",
    "bias_max_equalized_odds_difference",
    "rollback_on_breach",
    *EVALUATION_LIMIT_FIELDS,
)


def policy_snapshot(policy: ApprovalPolicy) -> dict:
    """The policy as it stands, frozen into each approval request."""
    return {"risk_tier": policy.risk_tier, **{name: getattr(policy, name) for name in POLICY_FIELDS}}


def policy_for(version) -> ApprovalPolicy | None:
    """The policy of the version's risk tier."""
    return ApprovalPolicy.objects.filter(risk_tier=version.model.risk_tier).first()


def policy_thresholds(policy: ApprovalPolicy | dict | None) -> dict | None:
    """The bias thresholds a policy (or a snapshot of one) sets, in the form a bias audit records them.

    None for no policy, and for snapshots taken before policies had thresholds.
    """
    if policy is None:
        return None
    rules = policy if isinstance(policy, dict) else policy_snapshot(policy)
    if "bias_min_selection_rate_ratio" not in rules:
        return None
    return {
        "min_selection_rate_ratio": rules["bias_min_selection_rate_ratio"],
        "max_equalized_odds_difference": rules["bias_max_equalized_odds_difference"],
    }


def evaluation_limits_for(version) -> tuple[EvaluationLimits, str]:
    """The limits the version's risk tier sets for evaluating its model, and where they come from (for messages)."""
    policy = policy_for(version)
    if policy is None:
        return EvaluationLimits(), "the service's defaults (no policy for this risk tier)"
    limits = EvaluationLimits(**{limit: getattr(policy, field) for field, limit in EVALUATION_LIMIT_FIELDS.items()})
    return limits, f"the approval policy for {policy.risk_tier} risk"


def evaluation_limits_check(policy: ApprovalPolicy) -> None:
    """Refuses a limit outside its range, naming the policy field."""
    values = {limit: getattr(policy, field) for field, limit in EVALUATION_LIMIT_FIELDS.items()}
    problems = {f"evaluation_{name}": problem for name, problem in limits_problems(values).items()}
    if problems:
        name, problem = next(iter(problems.items()))
        raise DomainError(
            "invalid", f"{name}: {problem[0].lower()}{problem[1:]}", fields={k: [v] for k, v in problems.items()}
        )
